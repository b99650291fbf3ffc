package mcpserver

// Temporary scaffolding while the transport is written; replaced by
// session.go, pending.go and transport.go.

import (
	"context"
	"net/http"
)

type sessionTable struct{}

func newSessionTable(*Server) *sessionTable { return &sessionTable{} }
func (*sessionTable) sweep(context.Context) {}
func (*sessionTable) len() int              { return 0 }
func (*sessionTable) closeAll()             {}

type pendingTable struct{}

func newPendingTable() *pendingTable { return &pendingTable{} }

// Session is a stateful protocol session.
type Session struct{}

func (s *Server) serveMCP(w http.ResponseWriter, r *http.Request) {
	http.Error(w, "not yet", http.StatusNotImplemented)
}
func (s *Server) serveHealth(w http.ResponseWriter, r *http.Request) {}

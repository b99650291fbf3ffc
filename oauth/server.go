package oauth

import (
	"log/slog"
	"net/http"
)

// Server is the OAuth 2.1 authorization server, an http.Handler.
type Server struct {
	log *slog.Logger
	mux *http.ServeMux
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

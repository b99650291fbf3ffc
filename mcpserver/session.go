package mcpserver

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcp-oauth-gateway/gateway/internal/streamable"
)

// Session is a protocol session of a 2025-03-26 .. 2025-11-25 client on a
// Stateful server. Tools get it with SessionFromContext. It is safe for
// concurrent use.
type Session struct {
	srv      *Server
	core     streamable.Session // id, owner, activity and streams
	created  time.Time
	identity *Identity // who created the session; nil for anonymous

	initialized atomic.Bool
	logLevel    atomic.Value // mcp.LoggingLevel

	ctx    context.Context // ends with the session
	cancel context.CancelFunc

	mu              sync.Mutex
	protocolVersion atomic.Pointer[string]
	clientInfo      mcp.Implementation
	clientCaps      mcp.ClientCapabilities
	subscriptions   map[string]struct{}
	filter          *mcp.SubscriptionFilter
	ephem           bool // a throwaway session of one stateless request

	values sync.Map
	conn   *conn // the session as mcp-go sees it outside of any call
}

func newSession(srv *Server, id string, identity *Identity, replay int) *Session {
	s := &Session{
		srv:      srv,
		created:  srv.cfg.Now(),
		identity: identity,
	}
	s.core.Init(id, ownerKey(identity), replay, srv.cfg.Now)
	s.logLevel.Store(mcp.LoggingLevelInfo)
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.conn = &conn{Session: s}
	return s
}

// ID is the session id, as sent in the Mcp-Session-Id header.
func (s *Session) ID() string { return s.core.ID }

// Created is when the client initialized the session.
func (s *Session) Created() time.Time { return s.created }

// LastActive is when the session last saw a request.
func (s *Session) LastActive() time.Time { return s.core.LastActive() }

// Identity is who created the session; nil for an anonymous caller.
func (s *Session) Identity() *Identity { return s.identity }

// ProtocolVersion is the protocol version negotiated at initialize.
func (s *Session) ProtocolVersion() string {
	if v := s.protocolVersion.Load(); v != nil {
		return *v
	}
	return ""
}

func (s *Session) setProtocolVersion(v string) { s.protocolVersion.Store(&v) }

// Client is the client's name and version as given at initialize.
func (s *Session) Client() mcp.Implementation {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.clientInfo
}

// Load returns a value a tool stored in the session.
func (s *Session) Load(key string) (any, bool) { return s.values.Load(key) }

// Store keeps a value in the session for later calls of the same client.
func (s *Session) Store(key string, value any) { s.values.Store(key, value) }

// Delete removes a value from the session.
func (s *Session) Delete(key string) { s.values.Delete(key) }

func (s *Session) ephemeral() bool { return s.ephem }

// standaloneStream returns the session's GET stream, creating it on first
// use: what the server sends outside of calls waits there (within the
// replay window) for the client to open it. Nil once the session ended.
func (s *Session) standaloneStream() *streamable.Stream {
	if s.ephem {
		return nil
	}
	return s.core.Streams.Standalone(true)
}

// end ends the session: its streams close, calls still running are
// cancelled, server requests waiting for the client fail.
func (s *Session) end() {
	if s.core.End() {
		s.cancel()
	}
}

func (s *Session) isEnded() bool { return s.core.Ended() }

// ownerKey is what a session is bound to: the subject and the client.
func ownerKey(id *Identity) string {
	if id == nil {
		return ""
	}
	return streamable.OwnerKey(id.Subject, id.ClientID)
}

// endSession ends a session and forgets it.
func (s *Server) endSession(sess *Session) {
	s.sessions.Remove(&sess.core)
	sess.end()
	s.mcp.UnregisterSession(context.Background(), sess.ID())
	s.pending.failSession(sess.ID())
}

func (s *Server) closeSessions() {
	for _, sess := range s.sessions.All() {
		s.endSession(sess)
	}
}

// sweep ends idle sessions and forgets old streams until ctx ends.
func (s *Server) sweep(ctx context.Context) {
	timeout := s.cfg.SessionIdleTimeout
	streamable.Every(ctx, streamable.SweepEvery(timeout), func(time.Time) {
		now := s.cfg.Now()
		if timeout > 0 {
			for _, sess := range s.sessions.Idle(now, timeout) {
				s.cfg.Logger.Info("mcpserver: session expired", "session", streamable.ShortID(sess.ID()), "idle", now.Sub(sess.LastActive()).Round(time.Second))
				s.endSession(sess)
			}
		}
		s.sessions.Sweep(time.Now())
	})
}

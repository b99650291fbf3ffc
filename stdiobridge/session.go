package stdiobridge

import (
	"bytes"

	"github.com/mcp-oauth-gateway/gateway/internal/streamable"
)

// session is a protocol session of a client of the 2025-03-26 .. 2025-11-25
// era: the Mcp-Session-Id it was given, the owner it is bound to, its
// streams (see streamable.Session) and the child that serves it.
type session struct {
	px      *Proxy
	core    streamable.Session
	ch      *child
	version string // negotiated protocol version
}

func (px *Proxy) newSession(owner string, ch *child, version string) *session {
	s := &session{px: px, ch: ch, version: version}
	s.core.Init(streamable.NewID(24), owner, px.cfg.ReplayEvents, nil)
	return s
}

func (s *session) id() string { return s.core.ID }

// track and untrack count the requests in flight; a session with one is
// not idle.
func (s *session) track(*call)   { s.core.Begin() }
func (s *session) untrack(*call) { s.core.Done() }

// lookup finds the session's request in flight with the client's id, for
// notifications/cancelled.
func (s *session) lookup(clientID []byte) *call {
	s.ch.mu.Lock()
	defer s.ch.mu.Unlock()
	for _, c := range s.ch.calls {
		if c.sess == s && bytes.Equal(c.clientID, clientID) {
			return c
		}
	}
	return nil
}

// pending returns the session's requests in flight.
func (s *session) pending() []*call {
	s.ch.mu.Lock()
	defer s.ch.mu.Unlock()
	var out []*call
	for _, c := range s.ch.calls {
		if c.sess == s {
			out = append(out, c)
		}
	}
	return out
}

// standaloneStream returns the session's GET stream, or nil when the client
// never opened one. Messages pushed to it while no connection is open wait
// there (within the replay window) for the client to come back.
func (s *session) standaloneStream() *streamable.Stream {
	return s.core.Streams.Standalone(false)
}

// close marks the session ended, ends its open streams and fails its
// requests in flight. It reports whether it was still open.
func (s *session) close() bool {
	if !s.core.End() {
		return false
	}
	for _, c := range s.pending() {
		if s.ch.forget(c) {
			c.fail(streamable.CodeServerError, "the session has ended")
		}
	}
	return true
}

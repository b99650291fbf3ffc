package stdiobridge

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"sync"
	"sync/atomic"
	"time"
)

// session is a protocol session of a client of the 2025-03-26 .. 2025-11-25
// era: the Mcp-Session-Id it was given, the identity that created it and the
// child that serves it.
type session struct {
	px      *Proxy
	id      string
	owner   string
	ch      *child
	version string // negotiated protocol version

	mu         sync.Mutex
	streams    map[int64]*stream // resumable streams, for Last-Event-ID
	standalone *stream
	standStop  chan struct{} // closed to retire the standalone connection
	nextStream int64
	inflight   atomic.Int64 // requests in flight
	lastActive time.Time
	open       int // live HTTP connections writing this session's streams
	ended      bool
}

func newSessionID() string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func (s *session) touch() {
	s.mu.Lock()
	s.lastActive = time.Now()
	s.mu.Unlock()
}

// track and untrack count the requests in flight; a session with one is
// not idle.
func (s *session) track(*call) { s.inflight.Add(1) }

func (s *session) untrack(*call) {
	s.inflight.Add(-1)
	s.touch()
}

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

// resumable reports whether the session's streams carry event ids.
func (s *session) resumable() bool { return s.px.cfg.ReplayEvents > 0 }

// newStream makes the stream of a POST.
func (s *session) newStream() *stream {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextStream++
	return newStream(s.nextStream, s.px.cfg.ReplayEvents)
}

// keep registers a stream that is being sent as SSE for resumption.
func (s *session) keep(st *stream) {
	if !s.resumable() {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended {
		return
	}
	if s.streams == nil {
		s.streams = map[int64]*stream{}
	}
	s.streams[st.id] = st
	// Bound what a session keeps: forget the oldest finished streams.
	const maxKept = 32
	for len(s.streams) > maxKept {
		var oldest *stream
		for _, o := range s.streams {
			if o != s.standalone && o.done() && (oldest == nil || o.id < oldest.id) {
				oldest = o
			}
		}
		if oldest == nil {
			for _, o := range s.streams {
				if o != s.standalone && (oldest == nil || o.id < oldest.id) {
					oldest = o
				}
			}
		}
		if oldest == nil {
			break
		}
		delete(s.streams, oldest.id)
	}
}

// release forgets a stream that was written out completely.
func (s *session) release(st *stream) {
	s.mu.Lock()
	if s.streams[st.id] == st && st != s.standalone {
		delete(s.streams, st.id)
	}
	s.mu.Unlock()
}

func (s *session) stream(id int64) *stream {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.streams[id]
}

// standaloneStream returns the session's GET stream, or nil when the client
// never opened one. Messages pushed to it while no connection is open wait
// there (within the replay bound) for the client to come back.
func (s *session) standaloneStream() *stream {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.standalone
}

// openStandalone returns the session's GET stream, creating it on first use,
// and a channel that is closed when a newer GET takes over.
func (s *session) openStandalone() (*stream, chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.standalone == nil {
		s.nextStream++
		s.standalone = newStream(s.nextStream, max(s.px.cfg.ReplayEvents, 1))
		if s.resumable() {
			if s.streams == nil {
				s.streams = map[int64]*stream{}
			}
			s.streams[s.standalone.id] = s.standalone
		}
	}
	if s.standStop != nil {
		close(s.standStop)
	}
	s.standStop = make(chan struct{})
	return s.standalone, s.standStop
}

// connected counts a live HTTP connection writing one of the session's
// streams: a session with one is never idle.
func (s *session) connected(delta int) {
	s.mu.Lock()
	s.open += delta
	s.lastActive = time.Now()
	s.mu.Unlock()
}

// idleSince reports whether the session has had no request in flight, no
// open stream and no activity since t.
func (s *session) idleSince(t time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.open == 0 && s.inflight.Load() == 0 && s.lastActive.Before(t)
}

// sweepStreams forgets finished streams nobody resumed before t.
func (s *session) sweepStreams(t time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, st := range s.streams {
		if st != s.standalone && st.endedBefore(t) {
			delete(s.streams, id)
		}
	}
}

// close marks the session ended and ends its open streams. It reports
// whether it was still open.
func (s *session) close() bool {
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return false
	}
	s.ended = true
	streams := make([]*stream, 0, len(s.streams)+1)
	for _, st := range s.streams {
		streams = append(streams, st)
	}
	if s.standalone != nil {
		streams = append(streams, s.standalone)
	}
	s.mu.Unlock()
	for _, c := range s.pending() {
		if s.ch.forget(c) {
			c.fail(codeServerError, "the session has ended")
		}
	}
	for _, st := range streams {
		st.end()
	}
	return true
}

// sessionTable holds the live sessions by id.
type sessionTable struct {
	mu sync.Mutex
	m  map[string]*session
}

func (t *sessionTable) get(id string) *session {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.m[id]
}

func (t *sessionTable) add(s *session) {
	t.mu.Lock()
	t.m[s.id] = s
	t.mu.Unlock()
}

func (t *sessionTable) remove(s *session) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m[s.id] != s {
		return false
	}
	delete(t.m, s.id)
	return true
}

func (t *sessionTable) all() []*session {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]*session, 0, len(t.m))
	for _, s := range t.m {
		out = append(out, s)
	}
	return out
}

func (t *sessionTable) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.m)
}

package mcpserver

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
)

// Bounds of what a session keeps so clients can resume POST streams: how
// many interrupted streams, and how large a completed one may be.
const (
	maxResumableStreams = 32
	maxRetainedBytes    = 64 << 10
)

// Session is a protocol session of a 2025-03-26 .. 2025-11-25 client on a
// Stateful server. Tools get it with SessionFromContext. It is safe for
// concurrent use.
type Session struct {
	srv      *Server
	id       string
	created  time.Time
	identity *Identity // who created the session; nil for anonymous
	owner    string    // identity key the session is bound to

	lastActive  atomic.Int64 // unix nanoseconds
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
	standalone      *stream            // the GET stream
	streams         map[string]*stream // POST streams a client may resume
	order           []string           // interrupted stream ids, oldest first
	recent          [4]*stream         // recently completed streams
	recentNext      int
	streamSeq       atomic.Uint64
	ended           atomic.Bool
	ephem           bool // a throwaway session of one stateless request

	values sync.Map
	conn   *conn // the session as mcp-go sees it outside of any call
}

func newSession(srv *Server, id string, identity *Identity) *Session {
	now := srv.cfg.Now()
	s := &Session{
		srv:      srv,
		id:       id,
		created:  now,
		identity: identity,
		owner:    ownerKey(identity),
	}
	s.lastActive.Store(now.UnixNano())
	s.logLevel.Store(mcp.LoggingLevelInfo)
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.conn = &conn{Session: s}
	return s
}

// ID is the session id, as sent in the Mcp-Session-Id header.
func (s *Session) ID() string { return s.id }

// Created is when the client initialized the session.
func (s *Session) Created() time.Time { return s.created }

// LastActive is when the session last saw a request.
func (s *Session) LastActive() time.Time { return time.Unix(0, s.lastActive.Load()) }

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

func (s *Session) touch() { s.lastActive.Store(s.srv.cfg.Now().UnixNano()) }

// standaloneStream returns the session's GET stream, creating it on first use.
func (s *Session) standaloneStream() *stream {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended.Load() {
		return nil
	}
	if s.streams == nil {
		s.streams = map[string]*stream{}
	}
	if s.standalone == nil {
		s.standalone = newStream(s.newStreamID(), s.srv.cfg.ReplayEvents)
		s.streams[s.standalone.id] = s.standalone
	}
	return s.standalone
}

// newCallStream returns the stream of one POST: resumable when the session
// keeps events for replay.
func (s *Session) newCallStream() *stream {
	if s.srv.cfg.ReplayEvents < 0 || s.ephem {
		return newStream("", 0)
	}
	return newStream(s.newStreamID(), s.srv.cfg.ReplayEvents)
}

// newStreamID numbers the session's streams; event ids need only be unique
// within their session.
func (s *Session) newStreamID() string {
	return strconv.FormatUint(s.streamSeq.Add(1), 36)
}

// keepForResume remembers a POST stream so the client can resume it with
// GET and Last-Event-ID. An interrupted stream is kept until the session
// holds maxResumableStreams of them; a completed one goes into a small ring
// of recent streams, since a response written just as the connection broke
// may never have reached the client.
func (s *Session) keepForResume(st *stream, complete bool) {
	if st.id == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended.Load() {
		return
	}
	if s.streams == nil {
		s.streams = map[string]*stream{}
	}
	if complete {
		if st.logBytes() > maxRetainedBytes {
			return
		}
		if old := s.recent[s.recentNext]; old != nil {
			delete(s.streams, old.id)
		}
		s.recent[s.recentNext] = st
		s.recentNext = (s.recentNext + 1) % len(s.recent)
		s.streams[st.id] = st
		return
	}
	if _, ok := s.streams[st.id]; ok {
		return
	}
	s.streams[st.id] = st
	s.order = append(s.order, st.id)
	for len(s.order) > maxResumableStreams {
		id := s.order[0]
		s.order = s.order[1:]
		if o := s.streams[id]; o != nil {
			o.end()
		}
		delete(s.streams, id)
	}
}

func (s *Session) streamByID(id string) *stream {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.streams[id]
}

// end ends the session: its streams close, calls still running are
// cancelled, server requests waiting for the client fail.
func (s *Session) end() {
	s.mu.Lock()
	if s.ended.Swap(true) {
		s.mu.Unlock()
		return
	}
	streams := make([]*stream, 0, len(s.streams))
	for _, st := range s.streams {
		streams = append(streams, st)
	}
	s.mu.Unlock()
	for _, st := range streams {
		st.end()
	}
	s.cancel()
}

func (s *Session) isEnded() bool { return s.ended.Load() }

// idle reports whether the session has had no request for d and holds no
// open stream.
func (s *Session) idle(now time.Time, d time.Duration) bool {
	if now.Sub(s.LastActive()) < d {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, st := range s.streams {
		st.mu.Lock()
		busy := st.attached
		st.mu.Unlock()
		if busy {
			return false
		}
	}
	return true
}

// ownerKey is what a session is bound to: the subject and the client.
func ownerKey(id *Identity) string {
	if id == nil {
		return ""
	}
	return id.Subject + "\x00" + id.ClientID
}

// randomID returns n random bytes, base64url encoded.
func randomID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// sessionTable holds the live sessions of a Stateful server.
type sessionTable struct {
	srv *Server
	mu  sync.RWMutex
	m   map[string]*Session
}

func newSessionTable(srv *Server) *sessionTable {
	return &sessionTable{srv: srv, m: map[string]*Session{}}
}

func (t *sessionTable) len() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.m)
}

func (t *sessionTable) get(id string) *Session {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.m[id]
}

// add stores s unless the table is full.
func (t *sessionTable) add(s *Session) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if max := t.srv.cfg.MaxSessions; max > 0 && len(t.m) >= max {
		return false
	}
	t.m[s.id] = s
	return true
}

// remove ends s and forgets it.
func (t *sessionTable) remove(s *Session) {
	t.mu.Lock()
	if t.m[s.id] == s {
		delete(t.m, s.id)
	}
	t.mu.Unlock()
	s.end()
	t.srv.mcp.UnregisterSession(context.Background(), s.id)
	t.srv.pending.failSession(s.id)
}

func (t *sessionTable) closeAll() {
	t.mu.RLock()
	all := make([]*Session, 0, len(t.m))
	for _, s := range t.m {
		all = append(all, s)
	}
	t.mu.RUnlock()
	for _, s := range all {
		t.remove(s)
	}
}

// sweep ends idle sessions until ctx ends.
func (t *sessionTable) sweep(ctx context.Context) {
	timeout := t.srv.cfg.SessionIdleTimeout
	if timeout < 0 {
		return
	}
	every := min(timeout/4, 30*time.Second)
	every = max(every, 10*time.Millisecond)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		now := t.srv.cfg.Now()
		t.mu.RLock()
		var expired []*Session
		for _, s := range t.m {
			if s.idle(now, timeout) {
				expired = append(expired, s)
			}
		}
		t.mu.RUnlock()
		for _, s := range expired {
			t.srv.cfg.Logger.Info("mcpserver: session expired", "session", shortID(s.id), "idle", now.Sub(s.LastActive()).Round(time.Second))
			t.remove(s)
		}
	}
}

// shortID is a session id shortened for logs.
func shortID(id string) string {
	if len(id) > 6 {
		return id[:6] + "…"
	}
	return id
}

package streamable

import (
	"context"
	"net/http"
	"sync"
	"time"
)

// Table holds the live sessions of an endpoint by id, up to a cap, with
// each its package's own session value S.
type Table[S any] struct {
	max int // <= 0: no cap
	mu  sync.RWMutex
	m   map[string]tableEntry[S]
}

type tableEntry[S any] struct {
	core *Session
	s    S
}

// NewTable returns an empty table that holds at most max sessions (zero or
// negative: no cap).
func NewTable[S any](max int) *Table[S] {
	return &Table[S]{max: max, m: map[string]tableEntry[S]{}}
}

// Len is the number of live sessions.
func (t *Table[S]) Len() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.m)
}

// Full reports whether the cap is reached.
func (t *Table[S]) Full() bool { return t.max > 0 && t.Len() >= t.max }

// Add stores a session unless the table is full.
func (t *Table[S]) Add(core *Session, s S) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.max > 0 && len(t.m) >= t.max {
		return false
	}
	t.m[core.ID] = tableEntry[S]{core, s}
	return true
}

// Remove forgets a session; it reports whether the table held it.
func (t *Table[S]) Remove(core *Session) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e, ok := t.m[core.ID]; !ok || e.core != core {
		return false
	}
	delete(t.m, core.ID)
	return true
}

// All returns the live sessions.
func (t *Table[S]) All() []S {
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := make([]S, 0, len(t.m))
	for _, e := range t.m {
		out = append(out, e.s)
	}
	return out
}

// Lookup finds the session a request names in its Mcp-Session-Id header,
// for the caller with owner key owner. It answers the request itself and
// returns ok false: 400 without a session id, 404 for a session that is
// unknown, ended, or bound to another owner (another user, or another
// client of the same user), which a client answers by initializing anew.
// id is the request's raw JSON-RPC id, for the error.
func (t *Table[S]) Lookup(w http.ResponseWriter, r *http.Request, owner string, id []byte) (s S, core *Session, ok bool) {
	sid := r.Header.Get(HeaderSessionID)
	if sid == "" {
		WriteError(w, http.StatusBadRequest, id, CodeInvalidRequest, "missing Mcp-Session-Id header; send initialize first")
		return s, nil, false
	}
	t.mu.RLock()
	e, found := t.m[sid]
	t.mu.RUnlock()
	if !found || e.core.Ended() || e.core.Owner != owner {
		WriteError(w, http.StatusNotFound, id, CodeInvalidRequest, "session not found; it ended or never existed: initialize a new one")
		return s, nil, false
	}
	e.core.Touch()
	return e.s, e.core, true
}

// Idle returns the sessions idle for d at now.
func (t *Table[S]) Idle(now time.Time, d time.Duration) []S {
	t.mu.RLock()
	defer t.mu.RUnlock()
	var out []S
	for _, e := range t.m {
		if e.core.Idle(now, d) {
			out = append(out, e.s)
		}
	}
	return out
}

// Sweep forgets, in every live session, the streams that finished long
// enough ago (Streams.Sweep).
func (t *Table[S]) Sweep(now time.Time) {
	t.mu.RLock()
	cores := make([]*Session, 0, len(t.m))
	for _, e := range t.m {
		cores = append(cores, e.core)
	}
	t.mu.RUnlock()
	for _, c := range cores {
		c.Streams.Sweep(now)
	}
}

// SweepEvery is how often to look for idle sessions and old streams: a
// quarter of the idle timeout, between 10 ms and 30 s.
func SweepEvery(idle time.Duration) time.Duration {
	every := 30 * time.Second
	if idle > 0 && idle/4 < every {
		every = max(idle/4, 10*time.Millisecond)
	}
	return every
}

// Every calls fn every d until ctx ends.
func Every(ctx context.Context, d time.Duration, fn func(now time.Time)) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			fn(now)
		}
	}
}

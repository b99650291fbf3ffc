package streamable

import (
	"sync/atomic"
	"time"
)

// Session is the transport's part of a protocol session: its id, the owner
// it is bound to (OwnerKey), its streams and its activity. A session is
// idle when it saw no request for the idle timeout and nothing is going on
// in it: no request in flight, no stream being read.
type Session struct {
	ID      string
	Owner   string
	Streams Streams

	now        func() time.Time
	lastActive atomic.Int64 // unix nanoseconds
	busy       atomic.Int64 // requests in flight and streams being read
	ended      atomic.Bool
}

// Init sets a new session up; now is its clock (nil: time.Now) and replay
// as in Streams.Init.
func (s *Session) Init(id, owner string, replay int, now func() time.Time) {
	if now == nil {
		now = time.Now
	}
	s.ID, s.Owner, s.now = id, owner, now
	s.Streams.Init(replay)
	s.Touch()
}

// Touch records activity.
func (s *Session) Touch() { s.lastActive.Store(s.now().UnixNano()) }

// LastActive is when the session last saw activity.
func (s *Session) LastActive() time.Time { return time.Unix(0, s.lastActive.Load()) }

// Begin and Done bracket what keeps a session busy: a request in flight, a
// connection reading one of its streams. Done counts as activity.
func (s *Session) Begin() { s.busy.Add(1) }

func (s *Session) Done() {
	s.busy.Add(-1)
	s.Touch()
}

// Idle reports whether the session has been idle for d at now.
func (s *Session) Idle(now time.Time, d time.Duration) bool {
	return s.busy.Load() <= 0 && now.Sub(s.LastActive()) >= d
}

// End marks the session ended and ends its streams; it reports whether it
// was still live.
func (s *Session) End() bool {
	if s.ended.Swap(true) {
		return false
	}
	s.Streams.End()
	return true
}

// Ended reports whether the session ended.
func (s *Session) Ended() bool { return s.ended.Load() }

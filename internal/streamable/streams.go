package streamable

import (
	"errors"
	"sync"
	"time"
)

// Retention of the streams one session keeps so that its client can resume
// them with Last-Event-ID.
const (
	// MaxKeptStreams is how many POST streams a session keeps.
	MaxKeptStreams = 32
	// SessionBytes is how many bytes of events those streams keep together.
	SessionBytes = 16 << 20
	// KeepFinished is how long a stream is kept after it finished (its
	// response was written, or it ended without one): a response written
	// just as the connection broke may never have reached the client.
	KeepFinished = 5 * time.Minute
)

// Errors of Streams.Resume.
var (
	// ErrBadEventID: the Last-Event-ID is not one this session gave out.
	ErrBadEventID = errors.New("streamable: Last-Event-ID is not an event id of this server")
	// ErrNotResumable: the session keeps no streams for resumption.
	ErrNotResumable = errors.New("streamable: this server does not resume streams")
	// ErrStreamGone: the stream is no longer kept.
	ErrStreamGone = errors.New("streamable: the stream is no longer kept")
)

// Streams are the SSE streams of one session: its GET stream and the POST
// streams its client may resume. The zero value is not usable; see Init.
//
// The retention rule: a POST stream is kept once its client was given event
// ids (it was answered as SSE); the session keeps at most MaxKeptStreams of
// them and SessionBytes of their events, and forgets a stream KeepFinished
// after it finished. When over a bound it forgets the oldest finished
// stream first, then the oldest unfinished one (which then ends), never one
// a connection is reading and never the newest.
type Streams struct {
	win       Window
	resumable bool

	mu         sync.Mutex
	next       int64
	standalone *Stream
	kept       []*Stream // oldest first
	ended      bool
}

// Init sets the streams up for a session that keeps replay events of each
// stream (zero: the default); a negative replay makes streams not
// resumable: they carry no event ids.
func (ss *Streams) Init(replay int) {
	ss.win = WindowOf(replay)
	ss.resumable = replay >= 0
}

// New returns the stream of a POST.
func (ss *Streams) New() *Stream {
	if !ss.resumable {
		return NewStream(0, ss.win)
	}
	ss.mu.Lock()
	ss.next++
	id := ss.next
	ss.mu.Unlock()
	return NewStream(id, ss.win)
}

// Standalone returns the session's GET stream, creating it when create is
// set; nil when there is none, or the session ended.
func (ss *Streams) Standalone(create bool) *Stream {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.ended {
		return nil
	}
	if ss.standalone == nil && create {
		var id int64
		if ss.resumable {
			ss.next++
			id = ss.next
		}
		ss.standalone = NewStream(id, ss.win)
	}
	return ss.standalone
}

// Keep registers a POST stream whose event ids its client was given.
func (ss *Streams) Keep(st *Stream) {
	if st.ID() == 0 {
		return
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.ended {
		return
	}
	for _, o := range ss.kept {
		if o == st {
			return
		}
	}
	ss.kept = append(ss.kept, st)
	ss.enforceLocked()
}

// enforceLocked forgets streams until the session is within its bounds.
func (ss *Streams) enforceLocked() {
	for len(ss.kept) > 1 {
		total := 0
		for _, st := range ss.kept {
			total += st.Bytes()
		}
		if len(ss.kept) <= MaxKeptStreams && total <= SessionBytes {
			return
		}
		victim := -1
		for pass := 0; pass < 2 && victim < 0; pass++ {
			for i, st := range ss.kept[:len(ss.kept)-1] {
				if !st.Attached() && (pass == 1 || st.Finished(time.Time{})) {
					victim = i
					break
				}
			}
		}
		if victim < 0 {
			return
		}
		ss.forgetLocked(victim)
	}
}

func (ss *Streams) forgetLocked(i int) {
	st := ss.kept[i]
	ss.kept = append(ss.kept[:i], ss.kept[i+1:]...)
	st.End()
	st.Abandon()
}

// Resume finds the stream a Last-Event-ID names, and the seq to write the
// events after.
func (ss *Streams) Resume(lastEventID string) (*Stream, uint64, error) {
	if !ss.resumable {
		return nil, 0, ErrNotResumable
	}
	id, seq, ok := ParseEventID(lastEventID)
	if !ok {
		return nil, 0, ErrBadEventID
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.standalone != nil && ss.standalone.ID() == id {
		return ss.standalone, seq, nil
	}
	for _, st := range ss.kept {
		if st.ID() == id {
			return st, seq, nil
		}
	}
	if id > ss.next {
		return nil, 0, ErrBadEventID
	}
	return nil, 0, ErrStreamGone
}

// Sweep forgets the streams that finished before now - KeepFinished.
func (ss *Streams) Sweep(now time.Time) {
	before := now.Add(-KeepFinished)
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for i := 0; i < len(ss.kept); {
		if st := ss.kept[i]; !st.Attached() && st.Finished(before) {
			ss.forgetLocked(i)
			continue
		}
		i++
	}
	ss.enforceLocked()
}

// Kept is how many POST streams the session keeps.
func (ss *Streams) Kept() int {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return len(ss.kept)
}

// End ends every stream of the session; later streams are not kept.
func (ss *Streams) End() {
	ss.mu.Lock()
	ss.ended = true
	all := append([]*Stream(nil), ss.kept...)
	if ss.standalone != nil {
		all = append(all, ss.standalone)
	}
	ss.kept = nil
	ss.mu.Unlock()
	for _, st := range all {
		st.End()
	}
}

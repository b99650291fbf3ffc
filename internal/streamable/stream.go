package streamable

import (
	"context"
	"sync"
	"time"
)

// Bounds of the event log of one stream.
const (
	// DefaultReplayEvents is how many events a stream keeps by default.
	DefaultReplayEvents = 256
	// StreamBytes is how many bytes of events a stream keeps.
	StreamBytes = 4 << 20
	// A reader attached to a stream is not cut short by the window until it
	// falls this far behind what the stream is given: a slow reader of a
	// chatty call loses nothing, and the memory stays bounded even so.
	behindEvents = 4096
	behindBytes  = 64 << 20
)

// Window bounds what a stream keeps: its newest Events events and at most
// Bytes bytes of them, whether they were written to a client or not. The
// newest event is always kept, whatever its size, and events a reader
// attached to the stream has not been written yet are kept up to far larger
// bounds (4096 events, 64 MiB).
type Window struct {
	Events int
	Bytes  int
}

// WindowOf is the window of a stream of a session that keeps replay events
// (ReplayEvents): zero means the default, and a session that keeps none
// still holds what waits for a reader within the default.
func WindowOf(replay int) Window {
	if replay <= 0 {
		replay = DefaultReplayEvents
	}
	return Window{Events: replay, Bytes: StreamBytes}
}

// Later is a message whose bytes are not known yet when its place in a
// stream is taken, such as a notification mcp-go sends on the channel it
// was just given. It returns the bytes and true once they are there; with
// wait it waits a moment for them, and false then means they never come
// (the entry is skipped); without wait, false means not yet.
type Later func(wait bool) ([]byte, bool)

// A Stream is the ordered messages of one SSE stream: the messages related
// to one POST and then its response, or a session's GET stream. Producers
// append without blocking; one reader at a time (an HTTP connection, see
// Attach) writes them out. A resumable stream (id > 0) numbers its events
// and keeps them within its window after they were written, so that a
// client whose connection broke resumes after the last event id it saw.
type Stream struct {
	id  int64
	win Window

	mu      sync.Mutex
	log     []entry // kept events, oldest first
	inline  [1]entry
	size    int    // bytes of the kept events
	next    uint64 // seq of the next event; seq 0 is the priming event
	sent    uint64 // newest seq written to a connection
	dropped uint64 // newest seq that fell out of the window
	final   bool   // the last message (a response) is in
	ended   bool   // nothing more will come
	nobody  bool   // no client will read it: appends are dropped
	endAt   time.Time
	att     uint64 // number of the current attachment; 0 when none
	atts    uint64 // attachments so far
	// wake is signalled whenever the stream changes. Each attachment has
	// its own: retiring a reader closes its channel, so that it wakes even
	// when the reader that took over was first to take a signal.
	wake chan struct{}
}

type entry struct {
	seq   uint64
	data  []byte
	later Later
	final bool
}

// NewStream returns an empty stream; id > 0 makes it resumable.
func NewStream(id int64, win Window) *Stream {
	if win.Events <= 0 {
		win.Events = DefaultReplayEvents
	}
	if win.Bytes <= 0 {
		win.Bytes = StreamBytes
	}
	s := &Stream{id: id, win: win, next: 1, wake: make(chan struct{}, 1)}
	s.log = s.inline[:0]
	return s
}

// ID is the stream's number in its session; 0 when it is not resumable.
func (s *Stream) ID() int64 { return s.id }

// signalLocked wakes the reader; s.mu is held.
func (s *Stream) signalLocked() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// retireLocked wakes the current reader for good and gives the next one a
// channel of its own; s.mu is held.
func (s *Stream) retireLocked() {
	close(s.wake)
	s.wake = make(chan struct{}, 1)
}

// Push appends an encoded message; final marks a call's response, the last
// message of its stream. It reports false when the stream has ended (or has
// its response), and the message is dropped.
func (s *Stream) Push(data []byte, final bool) bool {
	return s.push(entry{data: data, final: final})
}

// PushLater appends a message whose bytes come later; see Later.
func (s *Stream) PushLater(resolve Later) bool {
	return s.push(entry{later: resolve})
}

func (s *Stream) push(e entry) bool {
	s.mu.Lock()
	if s.ended || s.final {
		s.mu.Unlock()
		return false
	}
	if e.final {
		s.final, s.ended, s.endAt = true, true, time.Now()
	}
	if s.nobody {
		s.mu.Unlock()
		return true
	}
	e.seq = s.next
	s.next++
	s.log = append(s.log, e)
	s.size += len(e.data)
	s.trimLocked()
	s.signalLocked()
	s.mu.Unlock()
	return true
}

// trimLocked keeps the log within the window.
func (s *Stream) trimLocked() {
	for len(s.log) > 1 && (len(s.log) > s.win.Events || s.size > s.win.Bytes) {
		e := &s.log[0]
		if s.att != 0 && e.seq > s.sent && len(s.log) <= max(behindEvents, 4*s.win.Events) && s.size <= max(behindBytes, 4*s.win.Bytes) {
			return // a reader is on its way to it
		}
		s.size -= len(e.data)
		s.dropped = e.seq
		*e = entry{}
		s.log = s.log[1:]
	}
}

// find returns the index of the first kept event after seq.
func (s *Stream) find(after uint64) int {
	lo, hi := 0, len(s.log)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if s.log[m].seq <= after {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// Event is one message of a stream.
type Event struct {
	Seq   uint64
	Data  []byte
	Final bool // the call's response: nothing follows
}

// Step is what Next found.
type Step struct {
	Event      // the next event, when Ready
	Ready bool // an event is there
	More  bool // another one is ready behind it
	Lost  bool // events after the seq asked for fell out of the window: Event is the oldest kept
	Ended bool // nothing is ready and nothing more will come
}

// Next returns the first event after seq after. It may wait a moment for
// the bytes of a Later entry.
func (s *Stream) Next(after uint64) Step {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		i := s.find(after)
		if i == len(s.log) {
			return Step{Lost: after < s.dropped, Ended: s.ended}
		}
		e := s.log[i]
		if e.later != nil {
			seq := e.seq
			s.mu.Unlock()
			data, got := e.later(true)
			s.mu.Lock()
			j := s.find(seq - 1)
			if j == len(s.log) || s.log[j].seq != seq {
				continue // it fell out of the window meanwhile
			}
			if s.log[j].later != nil {
				if !got { // the sender never sent: skip its place
					s.log = append(s.log[:j], s.log[j+1:]...)
					continue
				}
				s.log[j].data, s.log[j].later = data, nil
				s.size += len(data)
			}
			e, i = s.log[j], j
		}
		if i+1 < len(s.log) && s.log[i+1].later != nil {
			if data, got := s.log[i+1].later(false); got {
				s.log[i+1].data, s.log[i+1].later = data, nil
				s.size += len(data)
			}
		}
		return Step{
			Event: Event{Seq: e.seq, Data: e.data, Final: e.final},
			Ready: true,
			More:  i+1 < len(s.log) && s.log[i+1].later == nil,
			Lost:  after < s.dropped,
		}
	}
}

// MarkSent records that the events up to seq were written to a client. A
// stream that is not resumable forgets them.
func (s *Stream) MarkSent(seq uint64) {
	s.mu.Lock()
	if seq > s.sent {
		s.sent = seq
	}
	if s.id == 0 {
		i := s.find(seq)
		for k := range s.log[:i] {
			s.size -= len(s.log[k].data)
			s.log[k] = entry{}
		}
		s.log = s.log[i:]
	}
	s.mu.Unlock()
}

// Sent is the newest seq written to a client.
func (s *Stream) Sent() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sent
}

// Attach makes the caller the stream's reader and returns its attachment.
// A reader already attached is retired: the newest connection takes a
// stream over, since a client reconnects when it believes the older one is
// dead, and that one may only look alive (a silent network drop).
func (s *Stream) Attach() uint64 {
	s.mu.Lock()
	s.retireLocked()
	s.atts++
	s.att = s.atts
	a := s.att
	s.mu.Unlock()
	return a
}

// Retired reports whether attachment a no longer holds the stream.
func (s *Stream) Retired(a uint64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.att != a
}

// Release ends attachment a, if it still holds the stream.
func (s *Stream) Release(a uint64) {
	s.mu.Lock()
	if s.att == a {
		s.att = 0
		s.trimLocked()
	}
	s.mu.Unlock()
}

// LetGo retires the current reader without a new one taking over: its HTTP
// response ends, the stream goes on, and the client may resume it. It
// reports whether a reader was attached.
func (s *Stream) LetGo() bool {
	s.mu.Lock()
	held := s.att != 0
	if held {
		s.att = 0
		s.retireLocked()
	}
	s.mu.Unlock()
	return held
}

// Attached reports whether a reader holds the stream.
func (s *Stream) Attached() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.att != 0
}

// Wake is signalled whenever the stream changes, for a reader that did
// not attach (one at a time); an attached reader waits on WakeFor.
func (s *Stream) Wake() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.wake
}

// WakeFor is signalled whenever the stream changes, for the reader holding
// attachment a, and closed once a no longer holds the stream (a newer
// reader took it over, or LetGo).
func (s *Stream) WakeFor(a uint64) <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.att != a {
		c := make(chan struct{})
		close(c)
		return c
	}
	return s.wake
}

// End closes the stream without a response (a cancelled call, an ended
// session); an attached reader returns once it wrote what is there.
func (s *Stream) End() {
	s.mu.Lock()
	if !s.ended {
		s.ended, s.endAt = true, time.Now()
	}
	s.signalLocked()
	s.mu.Unlock()
}

// Abandon marks a stream no client will read: what it holds is dropped and
// so is what comes later.
func (s *Stream) Abandon() {
	s.mu.Lock()
	s.nobody = true
	clear(s.log)
	s.log, s.size = s.log[:0], 0
	s.mu.Unlock()
}

// Ended reports whether nothing more will come.
func (s *Stream) Ended() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ended
}

// Complete reports whether the stream has its response and every event was
// written to a client.
func (s *Stream) Complete() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.final && s.sent+1 >= s.next
}

// Finished reports whether the stream ended before t (true for any ended
// stream when t is zero).
func (s *Stream) Finished(t time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ended && (t.IsZero() || s.endAt.Before(t))
}

// Bytes is the size of the events the stream keeps.
func (s *Stream) Bytes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.size
}

// Final waits for the stream's response and returns it, dropping what came
// before it; ok is false when the stream ended without one or ctx ended
// first.
func (s *Stream) Final(ctx context.Context) (data []byte, ok bool) {
	var after uint64
	for {
		step := s.Next(after)
		switch {
		case step.Ready && step.Final:
			s.MarkSent(step.Seq)
			return step.Data, true
		case step.Ready:
			after = step.Seq
			continue
		case step.Ended:
			return nil, false
		}
		select {
		case <-s.Wake():
		case <-ctx.Done():
			return nil, false
		}
	}
}

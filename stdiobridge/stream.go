package stdiobridge

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// stream is one flow of messages to a client: the answer to one POST (its
// response and the messages related to it), or a session's standalone GET
// stream. Producers append without ever blocking; at most one HTTP
// connection at a time writes the stream out. A resumable stream keeps its
// last events so that a client whose connection broke can pick up after the
// last event id it saw.
type stream struct {
	id        int64
	maxEvents int // events kept; at least the unsent ones are kept up to this
	maxBytes  int

	mu     sync.Mutex
	evs    []event
	next   uint64 // seq of the next event; seq 0 is the priming event
	size   int
	ended  bool // nothing more will be appended
	final  bool // ended with a response
	wake   chan struct{}
	att    uint64    // current attachment; a new one retires the old
	sent   uint64    // highest seq written to some connection + 1
	endAt  time.Time // when it ended
	nobody bool      // no client will ever read it; appends are dropped
}

type event struct {
	seq  uint64
	data []byte
}

func newStream(id int64, maxEvents int) *stream {
	if maxEvents <= 0 {
		maxEvents = DefaultReplayEvents
	}
	return &stream{id: id, maxEvents: maxEvents, maxBytes: 64 << 20, next: 1, wake: make(chan struct{})}
}

// push appends a message; final marks the response that ends the stream.
func (s *stream) push(data []byte, final bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended || s.nobody {
		if final {
			s.ended, s.final = true, true
		}
		return
	}
	s.evs = append(s.evs, event{seq: s.next, data: data})
	s.next++
	s.size += len(data)
	for len(s.evs) > 1 && (len(s.evs) > s.maxEvents || s.size > s.maxBytes) {
		s.size -= len(s.evs[0].data)
		s.evs[0] = event{}
		s.evs = s.evs[1:]
	}
	if final {
		s.ended, s.final = true, true
		s.endAt = time.Now()
	}
	close(s.wake)
	s.wake = make(chan struct{})
}

// end closes the stream without a response (a cancelled request, an ended
// session).
func (s *stream) end() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended {
		return
	}
	s.ended = true
	s.endAt = time.Now()
	close(s.wake)
	s.wake = make(chan struct{})
}

// abandon marks a stream nobody will read: later appends are dropped.
func (s *stream) abandon() {
	s.mu.Lock()
	s.nobody = true
	s.evs = nil
	s.size = 0
	s.mu.Unlock()
}

// first waits for the first event and reports whether it is the final
// response with nothing before it, in which case it is returned: the caller
// may then answer with plain JSON.
func (s *stream) first(ctx context.Context) (data []byte, only bool, ok bool) {
	for {
		s.mu.Lock()
		if len(s.evs) > 0 || s.ended {
			if s.final && len(s.evs) == 1 && s.evs[0].seq == 1 {
				d := s.evs[0].data
				s.sent = s.next
				s.mu.Unlock()
				return d, true, true
			}
			s.mu.Unlock()
			return nil, false, true
		}
		wake := s.wake
		s.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return nil, false, false
		}
	}
}

// done reports whether the stream ended and every event was written out.
func (s *stream) done() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ended && s.sent >= s.next
}

// endedBefore reports whether the stream ended before t.
func (s *stream) endedBefore(t time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ended && s.endAt.Before(t)
}

// sseWriter writes server-sent events to one HTTP response.
type sseWriter struct {
	w  http.ResponseWriter
	rc *http.ResponseController
	b  []byte
}

const sseWriteTimeout = 30 * time.Second

// startSSE sends the headers of an event stream.
func startSSE(w http.ResponseWriter) *sseWriter {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)
	sw := &sseWriter{w: w, rc: http.NewResponseController(w)}
	_ = sw.flush()
	return sw
}

func (sw *sseWriter) event(stream int64, seq uint64, data []byte) {
	sw.b = sw.b[:0]
	if stream > 0 {
		sw.b = append(sw.b, "id: "...)
		sw.b = appendEventID(sw.b, stream, seq)
		sw.b = append(sw.b, '\n')
	}
	sw.b = append(sw.b, "event: message\ndata: "...)
	_, _ = sw.w.Write(sw.b)
	_, _ = sw.w.Write(data)
	_, _ = sw.w.Write([]byte("\n\n"))
}

// prime sends the event that gives a client an id to resume from before any
// message was sent (MCP 2025-11-25), with the reconnection delay.
func (sw *sseWriter) prime(stream int64) {
	sw.b = append(sw.b[:0], "id: "...)
	sw.b = appendEventID(sw.b, stream, 0)
	sw.b = append(sw.b, "\nretry: 1000\ndata: \n\n"...)
	_, _ = sw.w.Write(sw.b)
}

func (sw *sseWriter) comment() {
	_, _ = sw.w.Write([]byte(": keep-alive\n\n"))
}

func (sw *sseWriter) flush() error {
	_ = sw.rc.SetWriteDeadline(time.Now().Add(sseWriteTimeout))
	return sw.rc.Flush()
}

func appendEventID(b []byte, stream int64, seq uint64) []byte {
	b = strconv.AppendInt(b, stream, 10)
	b = append(b, '-')
	return strconv.AppendUint(b, seq, 10)
}

// parseEventID reads an event id written by appendEventID.
func parseEventID(s string) (stream int64, seq uint64, ok bool) {
	a, b, found := strings.Cut(s, "-")
	if !found {
		return 0, 0, false
	}
	st, err1 := strconv.ParseInt(a, 10, 64)
	sq, err2 := strconv.ParseUint(b, 10, 64)
	if err1 != nil || err2 != nil || st <= 0 {
		return 0, 0, false
	}
	return st, sq, true
}

// serve writes the stream's events after seq from to sw until the stream
// has ended and everything was written (true), or the client went away, a
// newer connection took the stream over, or stop was closed (false).
// Events carry ids when ids is set (the stream can be resumed).
func (s *stream) serve(ctx context.Context, sw *sseWriter, from uint64, keepAlive time.Duration, stop <-chan struct{}, ids bool) bool {
	var sid int64
	if ids {
		sid = s.id
	}
	s.mu.Lock()
	s.att++
	me := s.att
	s.mu.Unlock()
	var tick <-chan time.Time
	if keepAlive > 0 {
		t := time.NewTicker(keepAlive)
		defer t.Stop()
		tick = t.C
	}
	var batch []event
	for {
		s.mu.Lock()
		if s.att != me {
			s.mu.Unlock()
			return false
		}
		batch = batch[:0]
		for _, e := range s.evs {
			if e.seq >= from {
				batch = append(batch, e)
			}
		}
		ended, wake := s.ended, s.wake
		s.mu.Unlock()
		for _, e := range batch {
			sw.event(sid, e.seq, e.data)
			from = e.seq + 1
		}
		if len(batch) > 0 {
			if err := sw.flush(); err != nil {
				return false
			}
			s.mu.Lock()
			if from > s.sent {
				s.sent = from
			}
			s.mu.Unlock()
		}
		if ended {
			return true
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return false
		case <-stop:
			return false
		case <-tick:
			sw.comment()
			if err := sw.flush(); err != nil {
				return false
			}
		}
	}
}

package mcpserver

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
)

// A stream is the ordered list of messages the server sends on one SSE
// stream: the stream of one POST (notifications and server requests tied to
// a call, then its response), or a session's standalone GET stream.
//
// Messages come from any goroutine; exactly one goroutine at a time (the
// HTTP handler attached to the stream) writes them out. mcp-go hands a
// notification to a session with a non-blocking channel send, which drops
// it when the channel is full; a stream instead gives every send its own
// one-slot channel (see notificationChannel), so no notification is ever
// dropped, and the slots keep the order in which they were handed out.
//
// A resumable stream numbers its events and keeps the last few, so a client
// whose connection broke can ask for the rest with Last-Event-ID.
type stream struct {
	id   string // event id prefix; "" when the stream is not resumable
	keep int    // events kept for replay once written

	mu        sync.Mutex
	queue     []slot  // messages not yet turned into events, in order
	log       []event // numbered events, oldest first; bounded by keep when written
	seq       uint64  // number of the newest event
	delivered uint64  // newest event written to a client
	final     bool    // the last message (a call's response) is queued
	ended     bool    // no more messages will come
	attached  bool    // a writer holds the stream
	noSSE     bool    // the client cannot read SSE: what a call sends before its response is dropped
	usedSSE   bool    // a writer sent events (set and read by writers only)
	detach    chan struct{}
	tag       any                      // subscriptions/listen request id to tag notifications with
	rpcErr    atomic.Pointer[RPCError] // a handler's JSON-RPC error for the call's response

	detachable  bool              // CloseStream may end the HTTP response before the call ends
	startWriter func(chan<- bool) // starts a writer when a message precedes the response
	writerDone  chan bool         // the started writer's result
	wake        chan struct{}
}

// slot is one queued message: an encoded message, or the channel a
// notification is being sent on.
type slot struct {
	ch    chan mcp.JSONRPCNotification
	data  []byte
	final bool
}

type event struct {
	seq  uint64
	data []byte
}

func newStream(id string, keep int) *stream {
	return &stream{id: id, keep: keep, wake: make(chan struct{}, 1)}
}

func (st *stream) signal() {
	select {
	case st.wake <- struct{}{}:
	default:
	}
}

// notificationChannel returns a channel that takes exactly one notification
// and queues it in order. mcp-go sends on the channel right after asking for
// it, with a non-blocking send that always succeeds on the empty slot.
func (st *stream) notificationChannel() (chan<- mcp.JSONRPCNotification, bool) {
	ch := make(chan mcp.JSONRPCNotification, 1)
	st.mu.Lock()
	if st.ended || st.final {
		st.mu.Unlock()
		return nil, false
	}
	st.queue = append(st.queue, slot{ch: ch})
	st.trimLocked()
	start, done := st.writerNeededLocked()
	st.mu.Unlock()
	st.signal()
	if start != nil {
		go start(done)
	}
	return ch, true
}

// send queues an already encoded message; final marks a call's response, the
// last message of its stream. It reports false when the stream has ended.
func (st *stream) send(data []byte, final bool) bool {
	st.mu.Lock()
	if st.ended || st.final {
		st.mu.Unlock()
		return false
	}
	st.queue = append(st.queue, slot{data: data, final: final})
	st.final = final
	st.trimLocked()
	var start func(chan<- bool)
	var done chan bool
	if !final {
		start, done = st.writerNeededLocked()
	}
	st.mu.Unlock()
	st.signal()
	if start != nil {
		go start(done)
	}
	return true
}

// writerNeededLocked returns the writer to start, once, when a message
// comes before the response of a call handled on its HTTP handler's
// goroutine.
func (st *stream) writerNeededLocked() (func(chan<- bool), chan bool) {
	if st.startWriter == nil || st.writerDone != nil {
		return nil, nil
	}
	st.writerDone = make(chan bool, 1)
	return st.startWriter, st.writerDone
}

// writerStarted returns the result channel of the writer started for the
// call, or nil when none was; no writer starts afterwards.
func (st *stream) writerStarted() chan bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.startWriter = nil
	return st.writerDone
}

// trimLocked bounds the memory of a stream nobody is reading: once more than
// keep messages wait, the oldest ready ones become events, and events past
// keep are dropped. A slow reader is never cut short: trimming happens only
// while no writer is attached.
func (st *stream) trimLocked() {
	if st.attached || st.keep <= 0 || len(st.queue) <= st.keep {
		return
	}
	for len(st.queue) > st.keep {
		s := st.queue[0]
		data := s.data
		if s.ch != nil {
			select {
			case n := <-s.ch:
				data = st.encodeNotification(n)
			default:
				return // the sender is between asking and sending; try later
			}
		}
		st.queue = st.queue[1:]
		st.appendEventLocked(data)
	}
}

func (st *stream) appendEventLocked(data []byte) uint64 {
	st.seq++
	if st.id != "" || !st.attached {
		st.log = append(st.log, event{seq: st.seq, data: data})
		if over := len(st.log) - st.keep; st.keep > 0 && over > 0 {
			st.log = append(st.log[:0], st.log[over:]...)
		}
	}
	return st.seq
}

func (st *stream) encodeNotification(n mcp.JSONRPCNotification) []byte {
	if st.tag != nil {
		meta := make(map[string]any, len(n.Params.Meta)+1)
		for k, v := range n.Params.Meta {
			meta[k] = v
		}
		meta[mcp.MetaKeySubscriptionID] = st.tag
		n.Params.Meta = meta
	}
	data, err := json.Marshal(n)
	if err != nil {
		data, _ = json.Marshal(mcp.NewJSONRPCErrorDetails(mcp.INTERNAL_ERROR, "unencodable notification "+n.Method, nil))
	}
	return data
}

// next returns the next event to write after seq, waiting for a notification
// that is being sent. ok is false when nothing is ready.
func (st *stream) next(after uint64) (ev event, final, ok bool) {
	st.mu.Lock()
	// Events already numbered (replay, or trimmed while detached).
	for _, e := range st.log {
		if e.seq > after {
			last := st.final && len(st.queue) == 0 && e.seq == st.seq
			st.mu.Unlock()
			return e, last, true
		}
	}
	if len(st.queue) == 0 {
		st.mu.Unlock()
		return event{}, false, false
	}
	s := st.queue[0]
	st.mu.Unlock()
	data := s.data
	if s.ch != nil {
		select {
		case n := <-s.ch:
			data = st.encodeNotification(n)
		case <-time.After(time.Second):
			// A sender asked for a channel and never used it; skip it.
			data = nil
		}
	}
	st.mu.Lock()
	st.queue = st.queue[1:]
	if data == nil {
		st.mu.Unlock()
		return event{}, false, false
	}
	seq := st.appendEventLocked(data)
	last := s.final
	st.mu.Unlock()
	return event{seq: seq, data: data}, last, true
}

func (st *stream) markDelivered(seq uint64) {
	st.mu.Lock()
	if seq > st.delivered {
		st.delivered = seq
	}
	if st.id == "" {
		// Not resumable: written events need not be kept.
		i := 0
		for i < len(st.log) && st.log[i].seq <= seq {
			i++
		}
		st.log = append(st.log[:0], st.log[i:]...)
	}
	st.mu.Unlock()
}

// attach makes the caller the stream's only writer; it reports false when
// another writer holds it.
func (st *stream) attach() (detach <-chan struct{}, ok bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.attached {
		return nil, false
	}
	st.attached = true
	st.detach = make(chan struct{})
	return st.detach, true
}

func (st *stream) release() {
	st.mu.Lock()
	st.attached = false
	st.trimLocked()
	st.mu.Unlock()
}

// letGo asks the attached writer to end its HTTP response (the stream goes
// on; the client may resume it).
func (st *stream) letGo() bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	if !st.detachable || !st.attached || st.detach == nil {
		return false
	}
	select {
	case <-st.detach:
	default:
		close(st.detach)
	}
	return true
}

// end stops the stream: no more messages, and an attached writer returns.
func (st *stream) end() {
	st.mu.Lock()
	st.ended = true
	st.mu.Unlock()
	st.signal()
}

// complete reports whether every message, including the last, was written.
func (st *stream) complete() bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.final && len(st.queue) == 0 && st.delivered == st.seq
}

// logBytes is the size of the events kept for replay.
func (st *stream) logBytes() int {
	st.mu.Lock()
	defer st.mu.Unlock()
	n := 0
	for _, e := range st.log {
		n += len(e.data)
	}
	return n
}

func (st *stream) isEnded() bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.ended
}

// eventID formats the SSE id of an event of this stream.
func (st *stream) eventID(seq uint64) string {
	return st.id + "_" + strconv.FormatUint(seq, 10)
}

// parseEventID splits a Last-Event-ID into stream id and sequence number.
func parseEventID(s string) (streamID string, seq uint64, ok bool) {
	i := strings.LastIndexByte(s, '_')
	if i <= 0 {
		return "", 0, false
	}
	seq, err := strconv.ParseUint(s[i+1:], 10, 64)
	if err != nil {
		return "", 0, false
	}
	return s[:i], seq, true
}

// sseWriter writes SSE events to one HTTP response.
type sseWriter struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	started bool
}

func (sw *sseWriter) start(h http.Header) {
	if sw.started {
		return
	}
	sw.started = true
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache, no-transform")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	sw.w.WriteHeader(http.StatusOK)
}

func (sw *sseWriter) priming(st *stream, seq uint64, retry time.Duration) error {
	_, err := fmt.Fprintf(sw.w, "id: %s\nretry: %d\ndata: \n\n", st.eventID(seq), retry.Milliseconds())
	return err
}

func (sw *sseWriter) event(st *stream, ev event) error {
	var err error
	if st.id != "" {
		_, err = fmt.Fprintf(sw.w, "id: %s\nevent: message\ndata: ", st.eventID(ev.seq))
	} else {
		_, err = sw.w.Write([]byte("event: message\ndata: "))
	}
	if err == nil {
		_, err = sw.w.Write(ev.data)
	}
	if err == nil {
		_, err = sw.w.Write([]byte("\n\n"))
	}
	return err
}

func (sw *sseWriter) comment(text string) error {
	_, err := fmt.Fprintf(sw.w, ": %s\n\n", text)
	return err
}

func (sw *sseWriter) flush() error { return sw.rc.Flush() }

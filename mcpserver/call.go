package mcpserver

import (
	"encoding/json"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcp-oauth-gateway/gateway/internal/streamable"
)

// callStream is the stream of one call (see streamable.Stream), with what
// mcpserver adds: how notifications of mcp-go join it, and what the call
// learns while it runs.
//
// mcp-go hands a notification to a session with a non-blocking send on the
// session's channel, which drops it when the channel is full; a stream
// instead gives every send a one-slot channel of its own and takes its place
// in the stream at once (notificationChannel), so no notification is ever
// dropped and they keep the order in which they were handed out.
type callStream struct {
	*streamable.Stream
	noSSE      bool                     // the client cannot read SSE: server requests fail at once
	tag        any                      // subscriptions/listen request id to tag notifications with
	rpcErr     atomic.Pointer[RPCError] // a handler's JSON-RPC error for the call's response
	detachable bool                     // CloseStream may end the HTTP response before the call ends

	mu          sync.Mutex
	startWriter func(chan<- streamable.Outcome) // starts a writer when a message precedes the response
	writerDone  chan streamable.Outcome         // the started writer's outcome
}

func newCallStream(st *streamable.Stream) *callStream { return &callStream{Stream: st} }

// send queues an encoded message of the call; final marks its response. It
// reports false when the stream has ended.
func (cs *callStream) send(data []byte, final bool) bool {
	if !cs.Push(data, final) {
		return false
	}
	if !final {
		cs.needWriter()
	}
	return true
}

// notificationChannel returns a channel that takes exactly one notification
// for the call's stream.
func (cs *callStream) notificationChannel() (chan<- mcp.JSONRPCNotification, bool) {
	ch, ok := notificationChannel(cs.Stream, cs.tag)
	if ok {
		cs.needWriter()
	}
	return ch, ok
}

// needWriter starts the writer, once, when a message comes before the
// response of a call handled on its HTTP handler's goroutine.
func (cs *callStream) needWriter() {
	cs.mu.Lock()
	if cs.startWriter == nil || cs.writerDone != nil {
		cs.mu.Unlock()
		return
	}
	cs.writerDone = make(chan streamable.Outcome, 1)
	start, done := cs.startWriter, cs.writerDone
	cs.mu.Unlock()
	go start(done)
}

// writerStarted returns the outcome channel of the writer started for the
// call, or nil when none was; no writer starts afterwards.
func (cs *callStream) writerStarted() chan streamable.Outcome {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	cs.startWriter = nil
	return cs.writerDone
}

// notificationChannel returns a channel that takes exactly one notification
// and gives it its place in st. mcp-go sends on the channel right after
// asking for it, with a non-blocking send that always succeeds on the empty
// slot.
func notificationChannel(st *streamable.Stream, tag any) (chan<- mcp.JSONRPCNotification, bool) {
	ch := make(chan mcp.JSONRPCNotification, 1)
	ok := st.PushLater(func(wait bool) ([]byte, bool) {
		select {
		case n := <-ch:
			return encodeNotification(n, tag), true
		default:
		}
		if !wait {
			return nil, false
		}
		t := time.NewTimer(time.Second)
		defer t.Stop()
		select {
		case n := <-ch:
			return encodeNotification(n, tag), true
		case <-t.C:
			return nil, false // a sender asked for a channel and never used it
		}
	})
	return ch, ok
}

func encodeNotification(n mcp.JSONRPCNotification, tag any) []byte {
	if tag != nil {
		meta := make(map[string]any, len(n.Params.Meta)+1)
		for k, v := range n.Params.Meta {
			meta[k] = v
		}
		meta[mcp.MetaKeySubscriptionID] = tag
		n.Params.Meta = meta
	}
	data, err := json.Marshal(n)
	if err != nil {
		data, _ = json.Marshal(mcp.NewJSONRPCErrorDetails(mcp.INTERNAL_ERROR, "unencodable notification "+n.Method, nil))
	}
	return data
}

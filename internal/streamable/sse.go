package streamable

import (
	"net/http"
	"time"
)

// Defaults of the SSE writer.
const (
	// DefaultKeepAlive is how often an idle SSE stream gets a comment, so
	// reverse proxies with idle timeouts (Traefik, nginx) keep it open.
	DefaultKeepAlive = 15 * time.Second
	// DefaultWriteTimeout bounds each write to an SSE stream: a client that
	// stops reading loses its connection after it, and the handler returns
	// instead of being held forever.
	DefaultWriteTimeout = 30 * time.Second
	// retryMillis is the reconnection delay a priming event asks for.
	retryMillis = "1000"
	// largeBody is the size from which a plain JSON answer is written under
	// the write deadline too; a smaller one fits the socket buffers.
	largeBody = 64 << 10
)

// sseWriter writes server-sent events to one HTTP response.
type sseWriter struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	b       []byte
	timeout time.Duration
	armed   bool // a write deadline is set on the connection
}

func newSSEWriter(w http.ResponseWriter, timeout time.Duration) *sseWriter {
	return &sseWriter{w: w, rc: http.NewResponseController(w), timeout: timeout}
}

// start sends the headers of an event stream.
func (sw *sseWriter) start() {
	h := sw.w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache, no-transform")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	h.Del("Content-Length")
	sw.w.WriteHeader(http.StatusOK)
}

// arm sets the write deadline for what is written next.
func (sw *sseWriter) arm() {
	if sw.timeout > 0 {
		sw.armed = sw.rc.SetWriteDeadline(time.Now().Add(sw.timeout)) == nil
	}
}

// disarm clears the deadline, so the connection's next request (HTTP
// keep-alive) does not inherit it.
func (sw *sseWriter) disarm() {
	if sw.armed {
		_ = sw.rc.SetWriteDeadline(time.Time{})
		sw.armed = false
	}
}

func (sw *sseWriter) event(stream int64, seq uint64, data []byte) error {
	sw.b = sw.b[:0]
	if stream > 0 {
		sw.b = append(sw.b, "id: "...)
		sw.b = AppendEventID(sw.b, stream, seq)
		sw.b = append(sw.b, '\n')
	}
	sw.b = append(sw.b, "event: message\ndata: "...)
	if _, err := sw.w.Write(sw.b); err != nil {
		return err
	}
	if _, err := sw.w.Write(data); err != nil {
		return err
	}
	_, err := sw.w.Write([]byte("\n\n"))
	return err
}

// priming sends the event that gives a client an id to resume from before
// any message came (MCP 2025-11-25), with the reconnection delay.
func (sw *sseWriter) priming(stream int64, seq uint64) error {
	sw.b = append(sw.b[:0], "id: "...)
	sw.b = AppendEventID(sw.b, stream, seq)
	sw.b = append(sw.b, "\nretry: "+retryMillis+"\ndata: \n\n"...)
	_, err := sw.w.Write(sw.b)
	return err
}

func (sw *sseWriter) comment(text string) error {
	sw.b = append(append(append(sw.b[:0], ": "...), text...), "\n\n"...)
	_, err := sw.w.Write(sw.b)
	return err
}

func (sw *sseWriter) flush() error { return sw.rc.Flush() }

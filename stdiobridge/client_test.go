package stdiobridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// A hundred requests in flight at once all get their own answer.
func TestClientConcurrentRequests(t *testing.T) {
	rs := newRemoteServer(t)
	b := startBridge(t, rs.url(), nil)
	b.initialize()
	for i := 1; i <= 100; i++ {
		b.send(toolCallLine(i, "echo", fmt.Sprintf(`{"message":"m%d"}`, i)))
	}
	got := map[int]string{}
	for range 100 {
		var m struct {
			ID     int `json:"id"`
			Result struct {
				Content []struct{ Text string } `json:"content"`
			} `json:"result"`
		}
		l := b.next()
		if err := json.Unmarshal([]byte(l), &m); err != nil || len(m.Result.Content) != 1 {
			t.Fatalf("bad line %s", l)
		}
		got[m.ID] = m.Result.Content[0].Text
	}
	for i := 1; i <= 100; i++ {
		if got[i] != fmt.Sprintf("m%d", i) {
			t.Fatalf("id %d: %q", i, got[i])
		}
	}
	b.close()
	if _, deleted := rs.stats(); len(deleted) != 1 || deleted[0] != "s1" {
		t.Fatalf("deleted sessions %v", deleted)
	}
	// Every request after initialize carried the session and the
	// negotiated version.
	rs.mu.Lock()
	defer rs.mu.Unlock()
	for _, h := range rs.headers[1:] {
		if h.Get("Mcp-Session-Id") != "s1" || h.Get("Mcp-Protocol-Version") != "2025-11-25" {
			t.Fatalf("headers %v", h)
		}
	}
}

// The server's own request (elicitation) reaches the client on stdout; the
// client's answer goes back and the tool completes with it.
func TestClientServerRequestAnsweredThroughStdio(t *testing.T) {
	rs := newRemoteServer(t)
	b := startBridge(t, rs.url(), nil)
	b.initialize()
	b.send(toolCallLine(7, "ask", `{}`))
	req := b.next()
	if !strings.Contains(req, `"method":"elicitation/create"`) || !strings.Contains(req, `"id":"srv-1"`) {
		t.Fatalf("server request: %s", req)
	}
	b.send(`{"jsonrpc":"2.0","id":"srv-1","result":{"action":"accept","content":{"name":"Ada"}}}`)
	if l := b.next(); !strings.Contains(l, `"id":7`) || !strings.Contains(l, `Ada`) {
		t.Fatalf("answer: %s", l)
	}
	b.close()
}

// Ten mebibytes each way, byte for byte.
func TestClientLargeMessages(t *testing.T) {
	rs := newRemoteServer(t)
	b := startBridge(t, rs.url(), nil)
	b.initialize()
	big := strings.Repeat("a", 10<<20)
	b.send(toolCallLine(1, "echo", `{"message":"`+big+`"}`))
	if l := b.next(); len(l) < 10<<20 || !strings.Contains(l, big) {
		t.Fatalf("echo of 10 MiB: %d bytes", len(l))
	}
	b.send(toolCallLine(2, "big", `{}`))
	if l := b.next(); !strings.Contains(l, strings.Repeat("b", 10<<20)) {
		t.Fatalf("10 MiB result: %d bytes", len(l))
	}
	b.close()
}

// A session the server forgot is re-created by replaying initialize; the
// client sees only its answer.
func TestClientSession404Recovered(t *testing.T) {
	rs := newRemoteServer(t)
	b := startBridge(t, rs.url(), nil)
	b.initialize()
	b.send(toolCallLine(1, "echo", `{"message":"before"}`))
	if l := b.next(); !strings.Contains(l, "before") {
		t.Fatal(l)
	}
	rs.expire()
	b.send(toolCallLine(2, "echo", `{"message":"after"}`))
	if l := b.next(); !strings.Contains(l, `"id":2`) || !strings.Contains(l, "after") {
		t.Fatalf("after expiry: %s", l)
	}
	if inits, _ := rs.stats(); inits != 2 {
		t.Fatalf("%d initializations", inits)
	}
	if s := b.c.Session(); s != "s2" {
		t.Fatalf("session %q", s)
	}
	b.close()
}

// A response stream the server breaks after an event is resumed with GET
// and Last-Event-ID after the server's retry delay.
func TestClientStreamResumed(t *testing.T) {
	rs := newRemoteServer(t)
	b := startBridge(t, rs.url(), nil)
	b.initialize()
	b.send(toolCallLine(3, "drop", `{}`))
	if l := b.next(); !strings.Contains(l, `"progressToken":"d"`) {
		t.Fatalf("first event: %s", l)
	}
	if l := b.next(); !strings.Contains(l, `"id":3`) || !strings.Contains(l, "resumed") {
		t.Fatalf("answer: %s", l)
	}
	b.close()
}

// Progress notifications arrive in order, before the answer.
func TestClientProgressInOrder(t *testing.T) {
	rs := newRemoteServer(t)
	b := startBridge(t, rs.url(), nil)
	b.initialize()
	b.send(toolCallLine(5, "progress", `{}`))
	for i := range 20 {
		if l := b.next(); !strings.Contains(l, fmt.Sprintf(`"progress":%d}`, i)) {
			t.Fatalf("notification %d: %s", i, l)
		}
	}
	if l := b.next(); !strings.Contains(l, `"id":5`) {
		t.Fatalf("answer: %s", l)
	}
	b.close()
}

// What the server sends on the session's GET stream reaches the client.
func TestClientGETStream(t *testing.T) {
	rs := newRemoteServer(t)
	b := startBridge(t, rs.url(), nil)
	b.initialize()
	rs.getStream <- `{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}`
	if l := b.next(); !strings.Contains(l, "list_changed") {
		t.Fatal(l)
	}
	b.close()
}

// Lines that are not JSON-RPC get a JSON-RPC error; the bridge goes on.
func TestClientBadInput(t *testing.T) {
	rs := newRemoteServer(t)
	b := startBridge(t, rs.url(), nil)
	b.send(`not json`)
	if l := b.next(); !strings.Contains(l, `-32700`) {
		t.Fatal(l)
	}
	b.send(`{"jsonrpc":"2.0","id":1,"method":7}`)
	if l := b.next(); !strings.Contains(l, `-32600`) || !strings.Contains(l, `"id":1`) {
		t.Fatal(l)
	}
	b.initialize()
	b.close()
}

// 2026-07-28 requests carry their own version and the Mcp-Method and
// Mcp-Name headers.
func TestClientModernHeaders(t *testing.T) {
	rs := newRemoteServer(t)
	b := startBridge(t, rs.url(), nil)
	b.initialize()
	b.send(`{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"echo","arguments":{"message":"x"},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}`)
	b.next()
	rs.mu.Lock()
	h := rs.headers[len(rs.headers)-1]
	rs.mu.Unlock()
	if h.Get("Mcp-Protocol-Version") != "2026-07-28" || h.Get("Mcp-Method") != "tools/call" || h.Get("Mcp-Name") != "echo" {
		t.Fatalf("headers %v", h)
	}
	b.close()
	_ = time.Second
}

// The goroutines that read and relay end with Run: after a burst of
// concurrent requests (which leaves goroutines waiting for their turn to
// read) and the end of the input, none is left.
func TestClientGoroutinesEndWithRun(t *testing.T) {
	rs := newRemoteServer(t)
	b := startBridge(t, rs.url(), nil)
	b.initialize()
	for i := 1; i <= 50; i++ {
		b.send(toolCallLine(i, "echo", `{"message":"m"}`))
	}
	for range 50 {
		b.next()
	}
	if n := relayGoroutines(); n < 2 {
		t.Fatalf("%d goroutines wait for input after the burst, want several", n)
	}
	b.close()
	waitFor(t, "the relay goroutines to end", 10*time.Second, func() bool { return relayGoroutines() == 0 })
}

// relayGoroutines counts the goroutines in the Client's read loop.
func relayGoroutines() int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	return strings.Count(string(buf), "stdiobridge.(*Client).read(")
}

// When Run's context ends with a response stream still open, Run waits
// for its relay to stop: nothing reaches the output after Run returned. A
// second Run is refused.
func TestClientWritesNothingAfterRun(t *testing.T) {
	hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.Method != http.MethodPost {
			return &http.Response{StatusCode: http.StatusMethodNotAllowed, Body: http.NoBody, Header: http.Header{}, Request: r}, nil
		}
		pr, pw := io.Pipe()
		go func() { // progress until 200 ms after the request is canceled: a transport slow to stop
			var stop <-chan time.Time
			for i := 0; ; i++ {
				select {
				case <-r.Context().Done():
					if stop == nil {
						stop = time.After(200 * time.Millisecond)
					}
				default:
				}
				select {
				case <-stop:
					pw.CloseWithError(r.Context().Err())
					return
				case <-time.After(5 * time.Millisecond):
				}
				fmt.Fprintf(pw, "data: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{\"progress\":%d}}\n\n", i)
			}
		}()
		return &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"text/event-stream"}}, Body: pr, ContentLength: -1, Request: r}, nil
	})}
	c, err := NewClient("http://127.0.0.1:1/mcp", &ClientOptions{HTTPClient: hc, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	out := &lockedWriter{}
	ctx, cancel := context.WithCancel(context.Background())
	inR, inW := io.Pipe()
	defer inW.Close()
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, inR, out) }()
	io.WriteString(inW, toolCallLine(1, "slow", `{}`)+"\n")
	waitFor(t, "progress on the output", 10*time.Second, func() bool { return out.len() > 0 })
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	n := out.len()
	time.Sleep(300 * time.Millisecond)
	if out.len() != n {
		t.Fatalf("%d bytes written after Run returned", out.len()-n)
	}
	if err := c.Run(context.Background(), strings.NewReader(""), io.Discard); !errors.Is(err, ErrClientRan) {
		t.Fatalf("second Run: %v", err)
	}
}

type lockedWriter struct {
	mu sync.Mutex
	b  []byte
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.b = append(w.b, p...)
	return len(p), nil
}

func (w *lockedWriter) len() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.b)
}

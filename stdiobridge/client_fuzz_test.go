package stdiobridge

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"
)

// roundTripFunc is an http.RoundTripper of a test.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// Whatever a server answers to a request (any content type, any body,
// JSON or SSE), the bridge writes only whole JSON-RPC messages, one per
// line, and the client gets an answer to its request: the server's, or a
// JSON-RPC error.
func FuzzClientResponse(f *testing.F) {
	f.Add("application/json", []byte(`{"jsonrpc":"2.0","id":7,"result":{}}`))
	f.Add("application/json; charset=utf-8", []byte("{\n  \"jsonrpc\": \"2.0\",\n  \"id\": 7,\n  \"result\": {\"a\": \"b\\nc\"}\n}\n"))
	f.Add("application/json", []byte(`{"jsonrpc":"2.0","id":8,"result":{}}`))
	f.Add("application/json", []byte(`[{"jsonrpc":"2.0","id":7,"result":{}}]`))
	f.Add("text/event-stream", []byte("id: 1\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{}}\n\ndata: {\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{}}\n\n"))
	f.Add("text/event-stream", []byte("retry: 99999999\nid: x\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"m\"}\n\n"))
	f.Add("TEXT/EVENT-STREAM", []byte("data: {\"jsonrpc\":\r\ndata: \"2.0\",\"id\":7,\"result\":1}\r\n\r\n"))
	f.Add("text/html", []byte("<html>502 Bad Gateway</html>"))
	f.Add("", []byte{})
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if r.Method != http.MethodPost {
				return &http.Response{StatusCode: http.StatusMethodNotAllowed, Body: http.NoBody, Header: http.Header{}, Request: r}, nil
			}
			return &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {contentType}},
				Body: io.NopCloser(bytes.NewReader(body)), ContentLength: -1, Request: r}, nil
		})}
		c, err := NewClient("http://127.0.0.1:1/mcp", &ClientOptions{HTTPClient: hc, RetryDelay: time.Millisecond, MaxMessageBytes: 1 << 16,
			Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		var out bytes.Buffer
		err = c.Run(ctx, strings.NewReader(`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"t"}}`+"\n"), &out)
		timedOut := ctx.Err() != nil // a retry delay longer than the test waits
		if err != nil && !timedOut {
			t.Fatalf("Run: %v", err)
		}
		if !bytes.HasSuffix(out.Bytes(), []byte("\n")) && out.Len() > 0 {
			t.Fatalf("output does not end in a newline: %q", out.Bytes())
		}
		answered := false
		for l := range bytes.Lines(out.Bytes()) {
			l = bytes.TrimSuffix(l, []byte("\n"))
			if len(l) == 0 {
				t.Fatalf("empty line in %q", out.Bytes())
			}
			if l[0] == '[' {
				answered = true // a batch: the client reads its answers in it
				continue
			}
			m, err := parseMessage(l)
			if err != nil {
				t.Fatalf("line %q: %v", l, err)
			}
			if m.kind == kindResponse && string(m.idBytes()) == "7" {
				answered = true
			}
		}
		if !answered && !timedOut {
			t.Fatalf("no answer for the request in %q", out.Bytes())
		}
	})
}

package streamable_test

// The decisions of the package documentation, each tested once against both
// transports that use the core: mcpserver (an mcp-go server) and stdiobridge
// (a proxy in front of the stdiotest server, a real child process).

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcp-oauth-gateway/gateway/mcpserver"
	"github.com/mcp-oauth-gateway/gateway/stdiobridge"
	"github.com/mcp-oauth-gateway/gateway/stdiobridge/stdiotest"
)

func TestMain(m *testing.M) {
	if stdiotest.Enabled() {
		os.Exit(stdiotest.Main(os.Args[1:]))
	}
	os.Exit(m.Run())
}

// options are what a test asks of the transport under test.
type options struct {
	auth         mcpserver.AuthFunc
	maxSessions  int
	replay       int
	writeTimeout time.Duration
}

// side is one transport: serve starts it and returns its endpoint's URL.
type side struct {
	name  string
	serve func(t *testing.T, o options) string
}

var sides = []side{
	{"mcpserver", func(t *testing.T, o options) string {
		s, err := mcpserver.New("decisions", "1.0.0", &mcpserver.Options{
			Authenticate: o.auth, MaxSessions: o.maxSessions, ReplayEvents: o.replay, WriteTimeout: o.writeTimeout,
			Logger: slog.New(slog.DiscardHandler),
		})
		if err != nil {
			t.Fatal(err)
		}
		addTools(s)
		srv := httptest.NewServer(s.Handler())
		t.Cleanup(func() {
			srv.Close()
			s.Close()
		})
		return srv.URL + "/mcp"
	}},
	{"stdiobridge", func(t *testing.T, o options) string {
		path, args, env := stdiotest.Command()
		px, err := stdiobridge.NewProxy(stdiobridge.Command{Path: path, Args: args, Env: env}, &stdiobridge.ProxyOptions{
			Authenticate: o.auth, MaxSessions: o.maxSessions, ReplayEvents: o.replay, WriteTimeout: o.writeTimeout,
			Logger: slog.New(slog.DiscardHandler), StopGrace: 300 * time.Millisecond,
		})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(px)
		t.Cleanup(func() {
			srv.Close()
			px.Close()
		})
		return srv.URL + "/mcp"
	}},
}

// addTools gives the mcpserver side the stdiotest tools the tests call.
func addTools(s *mcpserver.Server) {
	s.AddTool(mcp.NewTool("echo", mcp.WithString("text", mcp.Required())),
		func(_ context.Context, r mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return mcp.NewToolResultText(r.GetString("text", "")), nil
		})
	s.AddTool(mcp.NewTool("progress", mcp.WithNumber("steps"), mcp.WithNumber("delay_ms")),
		func(ctx context.Context, r mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			steps := r.GetInt("steps", 3)
			for i := 1; i <= steps; i++ {
				_ = mcpserver.Progress(ctx, r, float64(i), float64(steps), fmt.Sprintf("step %d", i))
				time.Sleep(time.Duration(r.GetInt("delay_ms", 0)) * time.Millisecond)
			}
			return mcp.NewToolResultText(fmt.Sprintf("done %d steps", steps)), nil
		})
	s.AddTool(mcp.NewTool("big", mcp.WithNumber("bytes", mcp.Required())),
		func(_ context.Context, r mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return mcp.NewToolResultText(strings.Repeat("x", r.GetInt("bytes", 0))), nil
		})
	s.AddTool(mcp.NewTool("add_tool", mcp.WithString("name", mcp.Required())),
		func(_ context.Context, r mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			s.AddTool(mcp.NewTool(r.GetString("name", "extra")), func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				return mcp.NewToolResultText("extra"), nil
			})
			return mcp.NewToolResultText("added"), nil
		})
}

// forBoth runs test against each side.
func forBoth(t *testing.T, test func(t *testing.T, serve func(options) *client)) {
	for _, sd := range sides {
		t.Run(sd.name, func(t *testing.T) {
			t.Parallel()
			test(t, func(o options) *client { return &client{t: t, url: sd.serve(t, o), header: map[string]string{}} })
		})
	}
}

// client speaks raw StreamableHTTP at protocol version 2025-11-25.
type client struct {
	t       *testing.T
	url     string
	session string
	header  map[string]string // sent with every request
	nextID  int
}

type event struct{ id, data string }

type answer struct {
	status int
	header http.Header
	body   []byte
	events []event
}

func (c *client) request(method, body string, header map[string]string) *http.Request {
	req, err := http.NewRequest(method, c.url, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("MCP-Protocol-Version", "2025-11-25")
	if c.session != "" {
		req.Header.Set("Mcp-Session-Id", c.session)
	}
	for _, h := range []map[string]string{c.header, header} {
		for k, v := range h {
			req.Header.Set(k, v)
		}
	}
	return req
}

// open sends a request and returns the response as it comes.
func (c *client) open(req *http.Request) *http.Response {
	c.t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// do sends a request and reads the whole answer.
func (c *client) do(req *http.Request) *answer {
	c.t.Helper()
	resp := c.open(req)
	a := &answer{status: resp.StatusCode, header: resp.Header}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		a.events = readEvents(resp.Body, 0)
	} else {
		a.body, _ = io.ReadAll(resp.Body)
	}
	return a
}

func (c *client) body(method string, params any) string {
	c.nextID++
	b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": c.nextID, "method": method, "params": params})
	return string(b)
}

func (c *client) post(method string, params any, header map[string]string) *answer {
	c.t.Helper()
	return c.do(c.request(http.MethodPost, c.body(method, params), header))
}

func (c *client) initialize(header map[string]string) *answer {
	c.t.Helper()
	c.session = ""
	a := c.post("initialize", map[string]any{"protocolVersion": "2025-11-25", "capabilities": map[string]any{},
		"clientInfo": map[string]any{"name": "decisions", "version": "1"}}, header)
	if a.status == http.StatusOK {
		c.session = a.header.Get("Mcp-Session-Id")
		c.do(c.request(http.MethodPost, `{"jsonrpc":"2.0","method":"notifications/initialized"}`, header))
	}
	return a
}

func (c *client) tool(name string, args map[string]any, header map[string]string) *answer {
	c.t.Helper()
	return c.post("tools/call", map[string]any{"name": name, "arguments": args, "_meta": map[string]any{"progressToken": "p"}}, header)
}

func (c *client) get(header map[string]string) *answer {
	h := map[string]string{"Accept": "text/event-stream"}
	for k, v := range header {
		h[k] = v
	}
	return c.do(c.request(http.MethodGet, "", h))
}

// readEvents parses SSE events until the stream ends, or max events.
func readEvents(r io.Reader, max int) []event {
	var out []event
	var ev event
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if ev.id != "" || ev.data != "" {
				out = append(out, ev)
				if max > 0 && len(out) == max {
					return out
				}
			}
			ev = event{}
		case strings.HasPrefix(line, "id: "):
			ev.id = line[4:]
		case strings.HasPrefix(line, "data: "):
			ev.data = line[6:]
		}
	}
	return out
}

// messages are the JSON-RPC messages among events (not priming events).
func messages(t *testing.T, events []event) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, ev := range events {
		if ev.data == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(ev.data), &m); err != nil {
			t.Fatalf("event %q: %v", ev.data, err)
		}
		out = append(out, m)
	}
	return out
}

func (a *answer) errorCode(t *testing.T) int {
	t.Helper()
	var m struct {
		Error *struct{ Code int } `json:"error"`
	}
	if json.Unmarshal(a.body, &m) != nil || m.Error == nil {
		t.Fatalf("no JSON-RPC error in %d %q", a.status, a.body)
	}
	return m.Error.Code
}

// isResponse reports whether m is the result of a tool call whose text
// starts with prefix.
func isResponse(m map[string]any, prefix string) bool {
	res, ok := m["result"].(map[string]any)
	if !ok {
		return false
	}
	content, _ := res["content"].([]any)
	if len(content) == 0 {
		return false
	}
	text, _ := content[0].(map[string]any)["text"].(string)
	return strings.HasPrefix(text, prefix)
}

func ended(r io.Reader, d time.Duration) bool {
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, r)
		close(done)
	}()
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}

// TestOwnerIsSubjectAndClient: a session belongs to the user and the client
// that created it.
func TestOwnerIsSubjectAndClient(t *testing.T) {
	auth := func(w http.ResponseWriter, r *http.Request) (*mcpserver.Identity, bool) {
		return &mcpserver.Identity{Subject: r.Header.Get("X-User"), ClientID: r.Header.Get("X-Client")}, true
	}
	forBoth(t, func(t *testing.T, serve func(options) *client) {
		c := serve(options{auth: auth})
		c.header = map[string]string{"X-User": "alice", "X-Client": "desktop"}
		if a := c.initialize(nil); a.status != http.StatusOK {
			t.Fatalf("initialize: %d", a.status)
		}
		for _, who := range []map[string]string{
			{"X-User": "alice", "X-Client": "web"},
			{"X-User": "bob", "X-Client": "desktop"},
		} {
			if a := c.tool("echo", map[string]any{"text": "x"}, who); a.status != http.StatusNotFound {
				t.Errorf("POST as %v: %d, want 404", who, a.status)
			}
			if a := c.get(who); a.status != http.StatusNotFound {
				t.Errorf("GET as %v: %d, want 404", who, a.status)
			}
			if a := c.do(c.request(http.MethodDelete, "", who)); a.status != http.StatusNotFound {
				t.Errorf("DELETE as %v: %d, want 404", who, a.status)
			}
		}
		if a := c.tool("echo", map[string]any{"text": "mine"}, nil); a.status != http.StatusOK || !strings.Contains(string(a.body), "mine") {
			t.Errorf("the owner's own call: %d %s", a.status, a.body)
		}
	})
}

// TestNewestReaderTakesOver: a client that reconnects to a stream while its
// old connection still looks alive gets the stream; the old response ends.
func TestNewestReaderTakesOver(t *testing.T) {
	forBoth(t, func(t *testing.T, serve func(options) *client) {
		c := serve(options{})
		c.initialize(nil)
		first := c.open(c.request(http.MethodGet, "", map[string]string{"Accept": "text/event-stream"}))
		second := c.open(c.request(http.MethodGet, "", map[string]string{"Accept": "text/event-stream"}))
		if second.StatusCode != http.StatusOK {
			t.Fatalf("second GET: %d, want 200", second.StatusCode)
		}
		if !ended(first.Body, 10*time.Second) {
			t.Fatal("the older GET stream stayed open")
		}
		c.tool("add_tool", map[string]any{"name": "late"}, nil)
		got := messages(t, readEvents(second.Body, 2)) // priming, list change
		if len(got) != 1 || got[0]["method"] != "notifications/tools/list_changed" {
			t.Fatalf("the newer GET stream got %v", got)
		}

		// The same for a POST stream: the client resumes it with
		// Last-Event-ID while the POST's own connection is still open.
		post := c.open(c.request(http.MethodPost, c.body("tools/call", map[string]any{"name": "progress",
			"arguments": map[string]any{"steps": 5, "delay_ms": 100}, "_meta": map[string]any{"progressToken": "p"}}), nil))
		seen := readEvents(post.Body, 2) // priming, the first progress
		if len(seen) != 2 {
			t.Fatalf("POST stream: %+v", seen)
		}
		rest := c.get(map[string]string{"Last-Event-ID": seen[1].id})
		msgs := messages(t, rest.events)
		if rest.status != http.StatusOK || len(msgs) == 0 || !isResponse(msgs[len(msgs)-1], "done 5 steps") {
			t.Fatalf("resuming the POST stream: %d %v", rest.status, msgs)
		}
		if !ended(post.Body, 10*time.Second) {
			t.Fatal("the POST's own connection stayed open after the client resumed elsewhere")
		}
	})
}

// TestStalledReaderIsDropped: a client that stops reading does not hold the
// server: once a write takes longer than the write timeout, the connection
// is closed, for an SSE stream and for a large JSON answer alike.
func TestStalledReaderIsDropped(t *testing.T) {
	const size = 24 << 20 // more than loopback socket buffers hold
	for _, accept := range []string{"text/event-stream", "application/json"} {
		t.Run(accept, func(t *testing.T) {
			forBoth(t, func(t *testing.T, serve func(options) *client) {
				c := serve(options{writeTimeout: 300 * time.Millisecond})
				c.initialize(nil)
				req := c.request(http.MethodPost, c.body("tools/call", map[string]any{"name": "big", "arguments": map[string]any{"bytes": size}}),
					map[string]string{"Accept": accept, "Connection": "close"})
				conn, err := net.Dial("tcp", req.URL.Host)
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close()
				if err := req.Write(conn); err != nil {
					t.Fatal(err)
				}
				// The answer has begun; then the client reads nothing for a
				// while, and then the rest.
				_ = conn.SetReadDeadline(time.Now().Add(60 * time.Second))
				head := make([]byte, 4096)
				if _, err := io.ReadFull(conn, head); err != nil {
					t.Fatalf("no answer: %v", err)
				}
				time.Sleep(3 * time.Second)
				n, err := io.Copy(io.Discard, conn)
				if ne, ok := err.(net.Error); ok && ne.Timeout() {
					t.Fatalf("the connection is still open after %d bytes: the server waits for the stalled reader", n)
				}
				if total := n + int64(len(head)); total >= size {
					t.Fatalf("the whole answer (%d bytes) came after the stall: the server waited for the reader", total)
				}
			})
		})
	}
}

// TestEventIDFormat: event ids are "<stream>-<seq>", the priming event's
// seq is 0.
func TestEventIDFormat(t *testing.T) {
	id := regexp.MustCompile(`^[1-9][0-9]*-[0-9]+$`)
	forBoth(t, func(t *testing.T, serve func(options) *client) {
		c := serve(options{})
		c.initialize(nil)
		a := c.tool("progress", map[string]any{"steps": 2}, nil)
		if len(a.events) != 4 || !strings.HasSuffix(a.events[0].id, "-0") || a.events[0].data != "" {
			t.Fatalf("want a priming event, two progress and the response: %+v", a.events)
		}
		for _, ev := range a.events {
			if !id.MatchString(ev.id) {
				t.Errorf("event id %q", ev.id)
			}
		}
	})
}

// TestAcceptIsReadAsMediaTypes: q=0 excludes a type; a client that takes
// only SSE gets SSE; one that takes neither gets 406.
func TestAcceptIsReadAsMediaTypes(t *testing.T) {
	forBoth(t, func(t *testing.T, serve func(options) *client) {
		c := serve(options{})
		c.initialize(nil)
		for _, tc := range []struct {
			accept string
			status int
			sse    bool
		}{
			{"application/json;q=0, text/event-stream", 200, true},
			{"text/event-stream;q=0, application/json", 200, false},
			{"text/event-stream", 200, true},
			{"*/*;q=0", 406, false},
			{"text/html", 406, false},
			{"application/json;q=0, text/event-stream;q=0, */*", 406, false},
		} {
			a := c.tool("echo", map[string]any{"text": "hi"}, map[string]string{"Accept": tc.accept})
			if a.status != tc.status || (len(a.events) > 0) != tc.sse {
				t.Errorf("Accept %q: %d, SSE %v; want %d, SSE %v", tc.accept, a.status, len(a.events) > 0, tc.status, tc.sse)
			}
		}
		if a := c.get(map[string]string{"Accept": "text/event-stream;q=0, */*;q=1"}); a.status != http.StatusNotAcceptable {
			t.Errorf("GET refusing SSE: %d, want 406", a.status)
		}
	})
}

// TestSessionCapSaysWhenToRetry: a 503 at the session cap carries
// Retry-After.
func TestSessionCapSaysWhenToRetry(t *testing.T) {
	forBoth(t, func(t *testing.T, serve func(options) *client) {
		c := serve(options{maxSessions: 1})
		c.initialize(nil)
		a := c.initialize(nil)
		if a.status != http.StatusServiceUnavailable || a.header.Get("Retry-After") == "" || a.errorCode(t) != -32000 {
			t.Fatalf("initialize over the cap: %d, Retry-After %q: %s", a.status, a.header.Get("Retry-After"), a.body)
		}
	})
}

// TestRetention: finished streams can be resumed; a stream keeps only its
// window; a client resuming a stream no longer kept gets 410, one with an id
// that is not the server's 400.
func TestRetention(t *testing.T) {
	forBoth(t, func(t *testing.T, serve func(options) *client) {
		c := serve(options{replay: 3})
		c.initialize(nil)
		full := c.tool("progress", map[string]any{"steps": 10}, nil)
		if len(full.events) != 12 {
			t.Fatalf("want priming, 10 progress and the response, got %d events", len(full.events))
		}
		// The stream finished; resuming it from its start gets the window.
		again := c.get(map[string]string{"Last-Event-ID": full.events[0].id})
		msgs := messages(t, again.events)
		if again.status != http.StatusOK || len(msgs) != 3 || !isResponse(msgs[2], "done 10 steps") {
			t.Fatalf("resuming a finished stream from its start: %d %v", again.status, msgs)
		}
		// A finished stream is still there after others finished too...
		for range 5 {
			c.tool("progress", map[string]any{"steps": 1}, nil)
		}
		if again := c.get(map[string]string{"Last-Event-ID": full.events[9].id}); again.status != http.StatusOK {
			t.Fatalf("resuming after five more calls: %d", again.status)
		}
		// ...but not after 32 more.
		for range 32 {
			c.tool("progress", map[string]any{"steps": 1}, nil)
		}
		gone := c.get(map[string]string{"Last-Event-ID": full.events[9].id})
		if gone.status != http.StatusGone || gone.errorCode(t) != -32600 {
			t.Fatalf("resuming a stream no longer kept: %d %s, want 410", gone.status, gone.body)
		}
		if bad := c.get(map[string]string{"Last-Event-ID": "not-an-id"}); bad.status != http.StatusBadRequest {
			t.Fatalf("a Last-Event-ID that is not the server's: %d, want 400", bad.status)
		}
	})
}

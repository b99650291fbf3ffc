package mcpserver_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcp-oauth-gateway/gateway/mcpserver"
)

// testServer serves s on a loopback httptest server and closes both at the
// end of the test.
func testServer(t testing.TB, opts *mcpserver.Options, register func(*mcpserver.Server)) (*mcpserver.Server, *client) {
	t.Helper()
	s, err := mcpserver.New("test-server", "1.2.3", opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if register != nil {
		register(s)
	}
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		hs.Close()
		s.Close()
	})
	return s, &client{t: t, base: hs.URL, http: hs.Client()}
}

// client speaks raw StreamableHTTP, so tests see exactly what goes over the
// wire.
type client struct {
	t       testing.TB
	base    string
	http    *http.Client
	session string
	version string
	nextID  atomic.Int64
}

type reply struct {
	status int
	header http.Header
	body   []byte
	events []sseEvent // when the response was an SSE stream
}

type sseEvent struct {
	id, event, data string
	retry           string
}

// message decodes the JSON-RPC message of a JSON reply, or of the last SSE
// event.
func (r *reply) message(t testing.TB) map[string]any {
	t.Helper()
	data := r.body
	if len(r.events) > 0 {
		data = []byte(r.events[len(r.events)-1].data)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("reply is not a JSON object: %v: %q", err, data)
	}
	return m
}

func (r *reply) errorCode(t testing.TB) int {
	t.Helper()
	e, ok := r.message(t)["error"].(map[string]any)
	if !ok {
		t.Fatalf("reply has no error: %s", r.body)
	}
	return int(e["code"].(float64))
}

func (c *client) do(req *http.Request) *reply {
	c.t.Helper()
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	r := &reply{status: resp.StatusCode, header: resp.Header}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		r.events = readEvents(c.t, resp.Body, 0)
		return r
	}
	r.body, _ = io.ReadAll(resp.Body)
	return r
}

func (c *client) newRequest(method, body string, header map[string]string) *http.Request {
	req, err := http.NewRequest(method, c.base+"/mcp", strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
	}
	if c.session != "" {
		req.Header.Set("Mcp-Session-Id", c.session)
	}
	if c.version != "" {
		req.Header.Set("MCP-Protocol-Version", c.version)
	}
	for k, v := range header {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	return req
}

func (c *client) post(body string, header map[string]string) *reply {
	c.t.Helper()
	return c.do(c.newRequest(http.MethodPost, body, header))
}

// call sends a JSON-RPC request and returns the reply.
func (c *client) call(method string, params any, header map[string]string) *reply {
	c.t.Helper()
	return c.post(c.request(method, params), header)
}

func (c *client) request(method string, params any) string {
	msg := map[string]any{"jsonrpc": "2.0", "id": c.nextID.Add(1), "method": method}
	if params != nil {
		msg["params"] = params
	}
	data, _ := json.Marshal(msg)
	return string(data)
}

// initialize opens a session at the given protocol version.
func (c *client) initialize(version string) *reply {
	c.t.Helper()
	r := c.call("initialize", map[string]any{
		"protocolVersion": version,
		"capabilities":    map[string]any{"sampling": map[string]any{}, "elicitation": map[string]any{}},
		"clientInfo":      map[string]any{"name": "raw-test-client", "version": "0.1"},
	}, nil)
	if r.status != http.StatusOK {
		c.t.Fatalf("initialize: status %d: %s", r.status, r.body)
	}
	c.session = r.header.Get("Mcp-Session-Id")
	c.version = version
	if n := c.post(`{"jsonrpc":"2.0","method":"notifications/initialized"}`, nil); n.status != http.StatusAccepted {
		c.t.Fatalf("initialized notification: status %d", n.status)
	}
	return r
}

// modern sends a 2026-07-28 request with the headers and _meta it needs.
func (c *client) modern(method string, params map[string]any, header map[string]string) *reply {
	c.t.Helper()
	if params == nil {
		params = map[string]any{}
	}
	params["_meta"] = map[string]any{
		"io.modelcontextprotocol/protocolVersion":    "2026-07-28",
		"io.modelcontextprotocol/clientInfo":         map[string]any{"name": "raw-test-client", "version": "0.1"},
		"io.modelcontextprotocol/clientCapabilities": map[string]any{},
	}
	h := map[string]string{"MCP-Protocol-Version": "2026-07-28", "Mcp-Method": method, "Mcp-Session-Id": ""}
	if name, ok := params["name"].(string); ok {
		h["Mcp-Name"] = name
	}
	if uri, ok := params["uri"].(string); ok {
		h["Mcp-Name"] = uri
	}
	for k, v := range header {
		h[k] = v
	}
	return c.post(c.request(method, params), h)
}

// readEvents parses an SSE stream until it ends (or max events, if max > 0).
func readEvents(t testing.TB, r io.Reader, max int) []sseEvent {
	var events []sseEvent
	var ev sseEvent
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if ev.data != "" || ev.id != "" {
				events = append(events, ev)
				if max > 0 && len(events) == max {
					return events
				}
			}
			ev = sseEvent{}
		case strings.HasPrefix(line, ":"):
		case strings.HasPrefix(line, "id:"):
			ev.id = strings.TrimSpace(strings.TrimPrefix(line, "id:"))
		case strings.HasPrefix(line, "event:"):
			ev.event = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
		case strings.HasPrefix(line, "retry:"):
			ev.retry = strings.TrimSpace(strings.TrimPrefix(line, "retry:"))
		case strings.HasPrefix(line, "data:"):
			d := strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " ")
			if ev.data != "" {
				ev.data += "\n"
			}
			ev.data += d
		}
	}
	return events
}

// messages decodes the data of SSE events that carry a JSON-RPC message.
func messages(t testing.TB, events []sseEvent) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, ev := range events {
		if strings.TrimSpace(ev.data) == "" {
			continue // a priming event
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(ev.data), &m); err != nil {
			t.Fatalf("SSE event is not JSON: %q", ev.data)
		}
		out = append(out, m)
	}
	return out
}

func textOf(t testing.TB, msg map[string]any) string {
	t.Helper()
	res, ok := msg["result"].(map[string]any)
	if !ok {
		t.Fatalf("no result in %v", msg)
	}
	content := res["content"].([]any)
	var b bytes.Buffer
	for _, c := range content {
		b.WriteString(c.(map[string]any)["text"].(string))
	}
	return b.String()
}

// echoTool answers with its message argument.
func echoTool(s *mcpserver.Server) {
	s.AddTool(mcp.NewTool("echo", mcp.WithDescription("Echoes a message"), mcp.WithString("message", mcp.Required())),
		func(_ context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return mcp.NewToolResultText(req.GetString("message", "")), nil
		})
}

var _ = fmt.Sprintf

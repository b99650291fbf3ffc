package stdiobridge

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mcp-oauth-gateway/gateway/stdiobridge/stdiotest"
)

func TestMain(m *testing.M) {
	if stdiotest.Enabled() {
		os.Exit(stdiotest.Main(os.Args[1:]))
	}
	if os.Getenv(proxyHelperEnv) != "" {
		os.Exit(runProxyHelper())
	}
	if os.Getenv(clientHelperEnv) != "" {
		os.Exit(runClientHelper())
	}
	os.Exit(m.Run())
}

// testCommand starts this test binary as the stdiotest server.
func testCommand(flags ...string) Command {
	path, args, env := stdiotest.Command(flags...)
	return Command{Path: path, Args: args, Env: env}
}

func quietLogger(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// newTestProxy serves a proxy in front of the stdiotest server on loopback.
func newTestProxy(t testing.TB, opts *ProxyOptions, flags ...string) (*Proxy, *httptest.Server) {
	t.Helper()
	if opts == nil {
		opts = &ProxyOptions{}
	}
	if opts.Logger == nil {
		opts.Logger = quietLogger(t)
	}
	if opts.StopGrace == 0 {
		opts.StopGrace = 300 * time.Millisecond
	}
	px, err := NewProxy(testCommand(flags...), opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(px)
	t.Cleanup(func() {
		srv.Close()
		px.Close()
	})
	return px, srv
}

// rpc is a JSON-RPC message as tests see it.
type rpc struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id,omitempty"`
	Method  string          `json:"method,omitempty"`
	Params  json.RawMessage `json:"params,omitempty"`
	Result  json.RawMessage `json:"result,omitempty"`
	Error   *struct {
		Code    int             `json:"code"`
		Message string          `json:"message"`
		Data    json.RawMessage `json:"data,omitempty"`
	} `json:"error,omitempty"`
}

// client is a minimal StreamableHTTP client that shows the wire.
type client struct {
	t       testing.TB
	url     string
	hc      *http.Client
	session string
	version string
	header  http.Header
	nextID  int
	// onRequest answers requests the server sends on a POST stream.
	onRequest func(rpc) any
}

func newClient(t testing.TB, url string) *client {
	return &client{t: t, url: url, hc: &http.Client{Timeout: 30 * time.Second}, version: "2025-11-25", header: http.Header{}}
}

func (c *client) do(method, body string, hdr map[string]string) *http.Response {
	c.t.Helper()
	req, err := http.NewRequest(method, c.url, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if c.session != "" {
		req.Header.Set("Mcp-Session-Id", c.session)
	}
	if c.version != "" {
		req.Header.Set("MCP-Protocol-Version", c.version)
	}
	for k, v := range c.header {
		req.Header[k] = v
	}
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	return resp
}

func (c *client) initialize() rpc {
	c.t.Helper()
	resp := c.do("POST", `{"jsonrpc":"2.0","id":"init","method":"initialize","params":{"protocolVersion":"`+c.version+`","capabilities":{"sampling":{},"elicitation":{},"roots":{}},"clientInfo":{"name":"test","version":"1"}}}`, map[string]string{"Mcp-Session-Id": ""})
	msgs := readAll(c.t, resp)
	if resp.StatusCode != 200 {
		c.t.Fatalf("initialize: HTTP %d: %v", resp.StatusCode, msgs)
	}
	c.session = resp.Header.Get("Mcp-Session-Id")
	if c.session == "" {
		c.t.Fatal("initialize: no Mcp-Session-Id")
	}
	r := c.do("POST", `{"jsonrpc":"2.0","method":"notifications/initialized"}`, nil)
	r.Body.Close()
	if r.StatusCode != http.StatusAccepted {
		c.t.Fatalf("notifications/initialized: HTTP %d", r.StatusCode)
	}
	return msgs[len(msgs)-1]
}

// call sends a request and returns the final response and the messages
// that came before it on the stream.
func (c *client) call(method string, params any) (rpc, []rpc) {
	c.t.Helper()
	c.nextID++
	p, _ := json.Marshal(params)
	body := fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":%q,"params":%s}`, c.nextID, method, p)
	resp := c.do("POST", body, nil)
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		c.t.Fatalf("%s: HTTP %d: %s", method, resp.StatusCode, b)
	}
	msgs := c.readStream(resp)
	if len(msgs) == 0 {
		c.t.Fatalf("%s: no response", method)
	}
	last := msgs[len(msgs)-1]
	if string(last.ID) != fmt.Sprint(c.nextID) || last.Method != "" {
		c.t.Fatalf("%s: last message is not the response: %+v", method, last)
	}
	return last, msgs[:len(msgs)-1]
}

// readStream reads a JSON or SSE response, answering server requests with
// onRequest.
func (c *client) readStream(resp *http.Response) []rpc {
	c.t.Helper()
	defer resp.Body.Close()
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		return readAll(c.t, resp)
	}
	var out []rpc
	for ev := range sseEvents(resp.Body) {
		if ev.data == "" {
			continue
		}
		var m rpc
		if err := json.Unmarshal([]byte(ev.data), &m); err != nil {
			c.t.Fatalf("bad SSE data %q: %v", ev.data, err)
		}
		out = append(out, m)
		if m.Method != "" && m.ID != nil && c.onRequest != nil {
			res, _ := json.Marshal(c.onRequest(m))
			r := c.do("POST", fmt.Sprintf(`{"jsonrpc":"2.0","id":%s,"result":%s}`, m.ID, res), nil)
			r.Body.Close()
			if r.StatusCode != http.StatusAccepted {
				c.t.Errorf("posting the answer to %s: HTTP %d", m.Method, r.StatusCode)
			}
		}
	}
	return out
}

func readAll(t testing.TB, resp *http.Response) []rpc {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		var out []rpc
		for ev := range sseEvents(bytes.NewReader(b)) {
			if ev.data == "" {
				continue
			}
			var m rpc
			if err := json.Unmarshal([]byte(ev.data), &m); err != nil {
				t.Fatalf("bad SSE data %q: %v", ev.data, err)
			}
			out = append(out, m)
		}
		return out
	}
	var m rpc
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("HTTP %d body %q: %v", resp.StatusCode, b, err)
	}
	return []rpc{m}
}

type sseEvent struct{ id, data string }

// sseEvents parses an event stream.
func sseEvents(r io.Reader) func(func(sseEvent) bool) {
	return func(yield func(sseEvent) bool) {
		br := bufio.NewReaderSize(r, 1<<20)
		var ev sseEvent
		var data []string
		has := false
		for {
			line, err := br.ReadString('\n')
			line = strings.TrimRight(line, "\r\n")
			switch {
			case line == "" && err == nil:
				if has {
					ev.data = strings.Join(data, "\n")
					if !yield(ev) {
						return
					}
				}
				ev, data, has = sseEvent{}, nil, false
			case strings.HasPrefix(line, ":"):
			case strings.HasPrefix(line, "id:"):
				ev.id, has = strings.TrimSpace(line[3:]), true
			case strings.HasPrefix(line, "data:"):
				data, has = append(data, strings.TrimPrefix(line[5:], " ")), true
			}
			if err != nil {
				return
			}
		}
	}
}

// toolText returns the first text content of a tools/call result.
func toolText(t testing.TB, r rpc) string {
	t.Helper()
	if r.Error != nil {
		t.Fatalf("error response: %d %s", r.Error.Code, r.Error.Message)
	}
	var res struct {
		Content []struct {
			Text string `json:"text"`
		} `json:"content"`
		IsError bool `json:"isError"`
	}
	if err := json.Unmarshal(r.Result, &res); err != nil || len(res.Content) == 0 {
		t.Fatalf("not a tool result: %s", r.Result)
	}
	return res.Content[0].Text
}

// alive reports whether a process with pid exists (and is not a zombie).
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the command name in parentheses.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

// waitGone waits until pid is gone.
func waitGone(t testing.TB, pid int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for alive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("process %d still alive after %s", pid, within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func waitFor(t testing.TB, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

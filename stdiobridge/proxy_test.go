package stdiobridge

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mcp-oauth-gateway/gateway/internal/streamable"
	"github.com/mcp-oauth-gateway/gateway/mcpserver"
)

func TestRelayToolsAndSessionLifecycle(t *testing.T) {
	t.Parallel()
	px, srv := newTestProxy(t, nil)
	c := newClient(t, srv.URL)
	init := c.initialize()
	var res struct {
		ProtocolVersion string `json:"protocolVersion"`
		ServerInfo      struct{ Name string }
	}
	if err := json.Unmarshal(init.Result, &res); err != nil || res.ServerInfo.Name != "stdiotest" || res.ProtocolVersion != "2025-11-25" {
		t.Fatalf("initialize result %s", init.Result)
	}
	list, _ := c.call("tools/list", map[string]any{})
	if !strings.Contains(string(list.Result), `"name":"echo"`) {
		t.Fatalf("tools/list: %s", list.Result)
	}
	r, _ := c.call("tools/call", map[string]any{"name": "echo", "arguments": map[string]any{"text": "héllo \u2603"}})
	if got := toolText(t, r); got != "héllo \u2603" {
		t.Fatalf("echo = %q", got)
	}
	pr, _ := c.call("tools/call", map[string]any{"name": "pid"})
	pid, _ := strconv.Atoi(toolText(t, pr))
	if px.Children() != 1 || px.Sessions() != 1 {
		t.Fatalf("children %d sessions %d, want 1 and 1", px.Children(), px.Sessions())
	}

	resp := c.do("DELETE", "", nil)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE: HTTP %d", resp.StatusCode)
	}
	waitGone(t, pid, 3*time.Second)
	resp = c.do("POST", `{"jsonrpc":"2.0","id":9,"method":"tools/list"}`, nil)
	msgs := readAll(t, resp)
	if resp.StatusCode != http.StatusNotFound || msgs[0].Error == nil || string(msgs[0].ID) != "9" {
		t.Fatalf("after DELETE: HTTP %d %+v", resp.StatusCode, msgs[0])
	}
	waitFor(t, "no children", 3*time.Second, func() bool { return px.Children() == 0 })
}

func TestTransportErrors(t *testing.T) {
	t.Parallel()
	_, srv := newTestProxy(t, &ProxyOptions{MaxBodyBytes: 1024})
	c := newClient(t, srv.URL)
	c.initialize()
	sid := c.session

	cases := []struct {
		name   string
		method string
		body   string
		hdr    map[string]string
		status int
		code   int
	}{
		{"no session id", "POST", `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`, map[string]string{"Mcp-Session-Id": ""}, 400, streamable.CodeInvalidRequest},
		{"unknown session", "POST", `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`, map[string]string{"Mcp-Session-Id": "nope"}, 404, streamable.CodeInvalidRequest},
		{"invalid JSON", "POST", `{"jsonrpc":"2.0",`, nil, 400, streamable.CodeParseError},
		{"not an object", "POST", `"hello"`, nil, 400, streamable.CodeParseError},
		{"no method nor result", "POST", `{"jsonrpc":"2.0","id":1}`, nil, 400, streamable.CodeInvalidRequest},
		{"batch", "POST", `[{"jsonrpc":"2.0","id":1,"method":"ping"}]`, nil, 400, streamable.CodeInvalidRequest},
		{"too large", "POST", `{"jsonrpc":"2.0","id":1,"method":"x","params":{"p":"` + strings.Repeat("a", 2000) + `"}}`, nil, 413, streamable.CodeInvalidRequest},
		{"unsupported version", "POST", `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`, map[string]string{"MCP-Protocol-Version": "1999-01-01"}, 400, streamable.CodeInvalidRequest},
		{"wrong content type", "POST", `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`, map[string]string{"Content-Type": "text/plain"}, 415, streamable.CodeInvalidRequest},
		{"PUT", "PUT", ``, nil, 405, streamable.CodeInvalidRequest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c.session = sid
			resp := c.do(tc.method, tc.body, tc.hdr)
			msgs := readAll(t, resp)
			if resp.StatusCode != tc.status || msgs[0].Error == nil || msgs[0].Error.Code != tc.code {
				t.Fatalf("HTTP %d %+v, want %d with code %d", resp.StatusCode, msgs[0].Error, tc.status, tc.code)
			}
		})
	}
	// Notifications and pretty-printed JSON are accepted.
	resp := c.do("POST", "{\n  \"jsonrpc\": \"2.0\",\n  \"method\": \"notifications/roots/list_changed\"\n}", nil)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("notification: HTTP %d", resp.StatusCode)
	}
	// A media type with parameters is application/json too.
	resp = c.do("POST", `{"jsonrpc":"2.0","method":"notifications/roots/list_changed"}`, map[string]string{"Content-Type": "Application/JSON; charset=utf-8"})
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("Content-Type with a charset: HTTP %d", resp.StatusCode)
	}
	r, _ := c.call("tools/call", map[string]any{"name": "echo", "arguments": map[string]any{"text": "still fine"}})
	if toolText(t, r) != "still fine" {
		t.Fatal("session broken after bad requests")
	}
}

func TestSessionBelongsToItsIdentity(t *testing.T) {
	t.Parallel()
	auth := func(w http.ResponseWriter, r *http.Request) (*mcpserver.Identity, bool) {
		u := r.Header.Get("X-Test-User")
		if u == "" {
			w.WriteHeader(http.StatusUnauthorized)
			return nil, false
		}
		return &mcpserver.Identity{Subject: u}, true
	}
	_, srv := newTestProxy(t, &ProxyOptions{Authenticate: auth})
	alice := newClient(t, srv.URL)
	alice.header.Set("X-Test-User", "alice")
	alice.initialize()

	bob := newClient(t, srv.URL)
	bob.header.Set("X-Test-User", "bob")
	bob.session = alice.session
	resp := bob.do("POST", `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`, nil)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("bob using alice's session: HTTP %d, want 404", resp.StatusCode)
	}
	resp = bob.do("DELETE", "", nil)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("bob deleting alice's session: HTTP %d, want 404", resp.StatusCode)
	}
	anon := newClient(t, srv.URL)
	resp = anon.do("POST", `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`, map[string]string{"Mcp-Session-Id": alice.session})
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("no identity: HTTP %d, want 401", resp.StatusCode)
	}
	r, _ := alice.call("tools/list", map[string]any{})
	if r.Error != nil {
		t.Fatalf("alice: %+v", r.Error)
	}
}

func TestProgressAndLogsOnThePostStream(t *testing.T) {
	t.Parallel()
	_, srv := newTestProxy(t, nil)
	c := newClient(t, srv.URL)
	c.initialize()
	if r, _ := c.call("logging/setLevel", map[string]any{"level": "debug"}); r.Error != nil {
		t.Fatal(r.Error.Message)
	}
	r, before := c.call("tools/call", map[string]any{
		"name": "progress", "arguments": map[string]any{"steps": 5},
		"_meta": map[string]any{"progressToken": "tok-1"},
	})
	if toolText(t, r) != "done 5 steps" {
		t.Fatalf("result %s", r.Result)
	}
	var progress, logs int
	for _, m := range before {
		switch m.Method {
		case "notifications/progress":
			var p struct {
				ProgressToken string  `json:"progressToken"`
				Progress      float64 `json:"progress"`
			}
			_ = json.Unmarshal(m.Params, &p)
			if p.ProgressToken != "tok-1" {
				t.Errorf("progress token %q", p.ProgressToken)
			}
			progress++
			if p.Progress != float64(progress) {
				t.Errorf("progress %v out of order", p.Progress)
			}
		case "notifications/message":
			logs++
		}
	}
	if progress != 5 || logs != 5 {
		t.Fatalf("got %d progress and %d log notifications before the result, want 5 and 5", progress, logs)
	}
}

func TestSamplingAndElicitationReachTheClient(t *testing.T) {
	t.Parallel()
	_, srv := newTestProxy(t, nil)
	c := newClient(t, srv.URL)
	c.onRequest = func(m rpc) any {
		switch m.Method {
		case "sampling/createMessage":
			return map[string]any{"role": "assistant", "content": map[string]any{"type": "text", "text": "from the client"}, "model": "test"}
		case "elicitation/create":
			return map[string]any{"action": "accept", "content": map[string]any{"name": "Ada"}}
		case "roots/list":
			return map[string]any{"roots": []any{map[string]any{"uri": "file:///work", "name": "work"}}}
		}
		return map[string]any{}
	}
	c.initialize()
	r, before := c.call("tools/call", map[string]any{"name": "sample", "arguments": map[string]any{"prompt": "hi"}})
	if got := toolText(t, r); got != "sampled: from the client" {
		t.Fatalf("sample = %q", got)
	}
	if len(before) != 1 || before[0].Method != "sampling/createMessage" {
		t.Fatalf("messages before the result: %+v", before)
	}
	r, _ = c.call("tools/call", map[string]any{"name": "elicit", "arguments": map[string]any{"message": "name?"}})
	if got := toolText(t, r); !strings.Contains(got, "accept") || !strings.Contains(got, "Ada") {
		t.Fatalf("elicit = %q", got)
	}
	r, _ = c.call("tools/call", map[string]any{"name": "roots"})
	if got := toolText(t, r); got != "roots: file:///work" {
		t.Fatalf("roots = %q", got)
	}
}

func TestTenMebibyteResult(t *testing.T) {
	t.Parallel()
	_, srv := newTestProxy(t, nil)
	c := newClient(t, srv.URL)
	c.initialize()
	const n = 10 << 20
	r, _ := c.call("tools/call", map[string]any{"name": "big", "arguments": map[string]any{"bytes": n}})
	got := toolText(t, r)
	if len(got) != n || strings.Trim(got, "x") != "" {
		t.Fatalf("big result: %d bytes, want %d", len(got), n)
	}
	r, _ = c.call("tools/call", map[string]any{"name": "echo", "arguments": map[string]any{"text": strings.Repeat("y", 3<<20)}})
	if len(toolText(t, r)) != 3<<20 {
		t.Fatal("3 MiB request did not round-trip")
	}
}

func TestCrashedChildEndsTheSession(t *testing.T) {
	t.Parallel()
	px, srv := newTestProxy(t, nil)
	c := newClient(t, srv.URL)
	c.initialize()
	// A slow request is pending when the server crashes: it fails too.
	slow := make(chan rpc, 1)
	go func() {
		resp := c.do("POST", `{"jsonrpc":"2.0","id":"slow","method":"tools/call","params":{"name":"sleep","arguments":{"ms":30000}}}`, nil)
		slow <- readAll(t, resp)[0]
	}()
	waitFor(t, "the slow request to be pending", 5*time.Second, func() bool {
		for _, s := range px.sessions.All() {
			if len(s.pending()) > 0 {
				return true
			}
		}
		return false
	})
	r, _ := c.call("tools/call", map[string]any{"name": "crash", "arguments": map[string]any{"code": 7}})
	if r.Error == nil || r.Error.Code != streamable.CodeServerError || !strings.Contains(r.Error.Message, "exit status 7") {
		t.Fatalf("crash answer: %+v", r.Error)
	}
	select {
	case m := <-slow:
		if m.Error == nil || string(m.ID) != `"slow"` || !strings.Contains(m.Error.Message, "exit status 7") {
			t.Fatalf("pending request after the crash: %+v", m)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the pending request hangs after the crash")
	}
	resp := c.do("POST", `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`, nil)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("after the crash: HTTP %d, want 404", resp.StatusCode)
	}
	h := px.Health()
	if h.Crashes != 1 || !strings.Contains(h.LastError, "exit status 7") || h.Children != 0 {
		t.Fatalf("health after crash: %+v", h)
	}
	// A new session gets a new process.
	c2 := newClient(t, srv.URL)
	c2.initialize()
	if r, _ := c2.call("tools/list", map[string]any{}); r.Error != nil {
		t.Fatal(r.Error.Message)
	}
}

// logRecords collects log records.
type logRecords struct {
	mu   sync.Mutex
	recs []string
}

func (l *logRecords) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecords) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool { fmt.Fprintf(&b, " %s=%v", a.Key, a.Value); return true })
	l.mu.Lock()
	l.recs = append(l.recs, b.String())
	l.mu.Unlock()
	return nil
}
func (l *logRecords) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logRecords) WithGroup(string) slog.Handler      { return l }
func (l *logRecords) has(sub ...string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
next:
	for _, r := range l.recs {
		for _, s := range sub {
			if !strings.Contains(r, s) {
				continue next
			}
		}
		return true
	}
	return false
}

func TestStderrGoesToTheLog(t *testing.T) {
	t.Parallel()
	logs := &logRecords{}
	_, srv := newTestProxy(t, &ProxyOptions{Logger: slog.New(logs)})
	c := newClient(t, srv.URL)
	c.initialize()
	c.call("tools/call", map[string]any{"name": "stderr", "arguments": map[string]any{"text": "disk almost full"}})
	waitFor(t, "the stderr line in the log", 5*time.Second, func() bool {
		return logs.has("stdio server stderr", "disk almost full")
	})
}

func TestJunkOnStdoutAndStderrIsSkipped(t *testing.T) {
	t.Parallel()
	logs := &logRecords{}
	_, srv := newTestProxy(t, &ProxyOptions{Logger: slog.New(logs)}, "-junk")
	c := newClient(t, srv.URL)
	c.initialize()
	for i := range 5 {
		r, _ := c.call("tools/call", map[string]any{"name": "echo", "arguments": map[string]any{"text": fmt.Sprint(i)}})
		if toolText(t, r) != fmt.Sprint(i) {
			t.Fatal("wrong answer")
		}
	}
	if !logs.has("not a JSON-RPC message", "junk line") || !logs.has("not a JSON-RPC message", `{"not":"a message"}`) ||
		!logs.has("stdio server stderr", "starting up") {
		t.Fatal("the junk was not logged")
	}
}

func TestStubbornChildAndItsGrandchildAreKilled(t *testing.T) {
	t.Parallel()
	px, srv := newTestProxy(t, &ProxyOptions{StopGrace: 200 * time.Millisecond}, "-ignore-sigterm", "-grandchild")
	c := newClient(t, srv.URL)
	c.initialize()
	r, _ := c.call("tools/call", map[string]any{"name": "pid"})
	var pid, kid int
	if _, err := fmt.Sscan(toolText(t, r), &pid, &kid); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	resp := c.do("DELETE", "", nil)
	resp.Body.Close()
	waitGone(t, pid, 3*time.Second)
	waitGone(t, kid, 3*time.Second)
	if d := time.Since(start); d < 400*time.Millisecond {
		t.Fatalf("a child that ignores SIGTERM was gone after %s, before the two grace periods", d)
	}
	waitFor(t, "no children", 2*time.Second, func() bool { return px.Children() == 0 })
}

func TestRequestTimeout(t *testing.T) {
	t.Parallel()
	_, srv := newTestProxy(t, &ProxyOptions{RequestTimeout: 400 * time.Millisecond})
	c := newClient(t, srv.URL)
	c.initialize()
	r, _ := c.call("tools/call", map[string]any{"name": "sleep", "arguments": map[string]any{"ms": 5000}})
	if r.Error == nil || r.Error.Code != streamable.CodeRequestTimeout {
		t.Fatalf("want a timeout error, got %+v %s", r.Error, r.Result)
	}
	// A request that sends progress keeps its clock running.
	r, _ = c.call("tools/call", map[string]any{"name": "progress", "arguments": map[string]any{"steps": 5, "delay_ms": 150},
		"_meta": map[string]any{"progressToken": 1}})
	if toolText(t, r) != "done 5 steps" {
		t.Fatal("progress did not restart the request clock")
	}
}

func TestMaxChildren(t *testing.T) {
	t.Parallel()
	_, srv := newTestProxy(t, &ProxyOptions{MaxChildren: 1})
	a := newClient(t, srv.URL)
	a.initialize()
	b := newClient(t, srv.URL)
	resp := b.do("POST", `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"b","version":"1"}}}`, nil)
	msgs := readAll(t, resp)
	if resp.StatusCode != http.StatusServiceUnavailable || msgs[0].Error == nil || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("initialize over the cap: HTTP %d %+v", resp.StatusCode, msgs[0])
	}
	resp = a.do("DELETE", "", nil)
	resp.Body.Close()
	waitFor(t, "a free slot", 3*time.Second, func() bool {
		r := b.do("POST", `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"b","version":"1"}}}`, nil)
		r.Body.Close()
		return r.StatusCode == 200
	})
}

func TestMaxSessionsOfASharedProcess(t *testing.T) {
	t.Parallel()
	_, srv := newTestProxy(t, &ProxyOptions{Shared: true, MaxSessions: 2})
	newClient(t, srv.URL).initialize()
	newClient(t, srv.URL).initialize()
	resp := newClient(t, srv.URL).do("POST", `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"c","version":"1"}}}`, nil)
	msgs := readAll(t, resp)
	if resp.StatusCode != http.StatusServiceUnavailable || msgs[0].Error == nil {
		t.Fatalf("third session: HTTP %d %+v", resp.StatusCode, msgs[0])
	}
}

func TestIdleSessionsEnd(t *testing.T) {
	t.Parallel()
	px, srv := newTestProxy(t, &ProxyOptions{IdleTimeout: 150 * time.Millisecond})
	c := newClient(t, srv.URL)
	c.initialize()
	var pid int
	px.mu.Lock()
	for ch := range px.children {
		pid = ch.proc.pid
	}
	px.mu.Unlock()
	if pid == 0 {
		t.Fatal("no process")
	}
	waitGone(t, pid, 3*time.Second)
	if px.Sessions() != 0 {
		t.Fatal("idle session still listed")
	}
	resp := c.do("POST", `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`, nil)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("idle session: HTTP %d, want 404", resp.StatusCode)
	}
}

func TestEnvironmentAndWorkingDirectory(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cmd := testCommand()
	cmd.Env = append(cmd.Env, "STDIOTEST_GREETING=bonjour")
	cmd.Dir = dir
	px, err := NewProxy(cmd, &ProxyOptions{Logger: quietLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer px.Close()
	srv := newServer(t, px)
	c := newClient(t, srv)
	c.initialize()
	r, _ := c.call("tools/call", map[string]any{"name": "env", "arguments": map[string]any{"name": "STDIOTEST_GREETING"}})
	if toolText(t, r) != "bonjour" {
		t.Fatalf("env = %q", toolText(t, r))
	}
	r, _ = c.call("tools/call", map[string]any{"name": "cwd"})
	if toolText(t, r) != dir {
		t.Fatalf("cwd = %q, want %q", toolText(t, r), dir)
	}
}

func newServer(t *testing.T, h http.Handler) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &http.Server{Handler: h}
	go s.Serve(ln)
	t.Cleanup(func() { s.Close() })
	return "http://" + ln.Addr().String()
}

func TestStartFailureShowsInHealth(t *testing.T) {
	t.Parallel()
	px, srv := newTestProxy(t, &ProxyOptions{StartupTimeout: 2 * time.Second}, "-fail-start")
	c := newClient(t, srv.URL)
	resp := c.do("POST", `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"c","version":"1"}}}`, nil)
	msgs := readAll(t, resp)
	if msgs[0].Error == nil || !strings.Contains(msgs[0].Error.Message, "exit status 3") {
		t.Fatalf("initialize of a failing server: HTTP %d %+v", resp.StatusCode, msgs[0])
	}
	if h := px.Health(); h.Status != "failing" || h.LastError == "" {
		t.Fatalf("health: %+v", h)
	}
	if err := px.Check(t.Context()); err == nil {
		t.Fatal("Check of a failing server succeeded")
	}
}

func TestCheckAndHealth(t *testing.T) {
	t.Parallel()
	px, _ := newTestProxy(t, nil)
	if err := px.Check(t.Context()); err != nil {
		t.Fatal(err)
	}
	if h := px.Health(); h.Status != "ok" || h.Started != 1 || h.Children != 0 {
		t.Fatalf("health after check: %+v", h)
	}
}

func TestSharedChild(t *testing.T) {
	t.Parallel()
	px, srv := newTestProxy(t, &ProxyOptions{Shared: true})
	var pids []string
	for i := range 3 {
		c := newClient(t, srv.URL)
		if i == 1 {
			c.version = "2025-03-26"
		}
		init := c.initialize()
		if i == 1 && !strings.Contains(string(init.Result), `"protocolVersion":"2025-03-26"`) {
			t.Fatalf("shared initialize did not negotiate the client's version: %s", init.Result)
		}
		r, _ := c.call("tools/call", map[string]any{"name": "pid"})
		pids = append(pids, toolText(t, r))
		r, before := c.call("tools/call", map[string]any{"name": "progress", "arguments": map[string]any{"steps": 2},
			"_meta": map[string]any{"progressToken": 7}})
		if toolText(t, r) != "done 2 steps" || len(before) < 2 || !strings.Contains(string(before[0].Params), `"progressToken":7`) {
			t.Fatalf("progress through the shared child: %+v", before)
		}
	}
	if pids[0] != pids[1] || pids[1] != pids[2] {
		t.Fatalf("sessions got different processes: %v", pids)
	}
	if px.Children() != 1 {
		t.Fatalf("%d children, want 1", px.Children())
	}
}

func TestStandaloneStreamGetsListChanges(t *testing.T) {
	t.Parallel()
	_, srv := newTestProxy(t, nil)
	c := newClient(t, srv.URL)
	c.initialize()
	req, _ := http.NewRequest("GET", srv.URL, nil)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Mcp-Session-Id", c.session)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET: HTTP %d", resp.StatusCode)
	}
	got := make(chan string, 4)
	go func() {
		for ev := range sseEvents(resp.Body) {
			if ev.data != "" {
				got <- ev.data
			}
		}
	}()
	// Two requests in flight at once make the list change unrelated to
	// either; it belongs on the GET stream anyway.
	c.call("tools/call", map[string]any{"name": "add_tool", "arguments": map[string]any{"name": "newcomer"}})
	select {
	case d := <-got:
		if !strings.Contains(d, "notifications/tools/list_changed") {
			t.Fatalf("GET stream got %s", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no list_changed on the GET stream")
	}
}

func TestResumeWithLastEventID(t *testing.T) {
	t.Parallel()
	_, srv := newTestProxy(t, nil)
	c := newClient(t, srv.URL)
	c.initialize()
	body := `{"jsonrpc":"2.0","id":42,"method":"tools/call","params":{"name":"progress","arguments":{"steps":6,"delay_ms":60},"_meta":{"progressToken":"r"}}}`
	resp := c.do("POST", body, nil)
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	var last string
	n := 0
	for ev := range sseEvents(resp.Body) {
		if ev.id == "" {
			t.Fatal("event without id on a resumable stream")
		}
		last = ev.id
		if ev.data != "" {
			n++
		}
		if n == 3 {
			break
		}
	}
	resp.Body.Close() // the connection breaks mid-call

	req, _ := http.NewRequest("GET", srv.URL, nil)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Mcp-Session-Id", c.session)
	req.Header.Set("Last-Event-ID", last)
	r2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	msgs := c.readStream(r2)
	if len(msgs) == 0 || string(msgs[len(msgs)-1].ID) != "42" {
		t.Fatalf("resumed stream did not end with the response: %+v", msgs)
	}
	// 6 progress + response = 7 messages (no log level was set), 3 seen
	// before the break.
	if len(msgs) != 7-3 {
		t.Fatalf("resumed stream carried %d messages, want %d", len(msgs), 4)
	}
}

func TestCloseLeavesNoProcess(t *testing.T) {
	t.Parallel()
	px, srv := newTestProxy(t, &ProxyOptions{StopGrace: 100 * time.Millisecond}, "-ignore-sigterm")
	var pids []int
	for range 3 {
		c := newClient(t, srv.URL)
		c.initialize()
		r, _ := c.call("tools/call", map[string]any{"name": "pid"})
		pid, _ := strconv.Atoi(toolText(t, r))
		pids = append(pids, pid)
	}
	px.Close()
	for _, pid := range pids {
		if alive(pid) {
			t.Fatalf("process %d survived Close", pid)
		}
	}
	c := newClient(t, srv.URL)
	resp := c.do("POST", `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"c","version":"1"}}}`, nil)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("initialize after Close: HTTP %d", resp.StatusCode)
	}
}

// proxyHelperEnv makes the test binary run a proxy on a loopback port and
// print the port, for the test of what happens when the proxy is killed.
const proxyHelperEnv = "STDIOBRIDGE_TEST_PROXY"

func runProxyHelper() int {
	path, args, env := testCommandParts()
	px, err := NewProxy(Command{Path: path, Args: args, Env: env}, &ProxyOptions{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 1
	}
	fmt.Println(ln.Addr().String())
	return func() int { _ = http.Serve(ln, px); return 0 }()
}

func testCommandParts() (string, []string, []string) {
	c := testCommand()
	return c.Path, c.Args, c.Env
}

func TestNoOrphansWhenTheProxyIsKilled(t *testing.T) {
	t.Parallel()
	exe, _ := os.Executable()
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), proxyHelperEnv+"=1")
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	buf := make([]byte, 64)
	n, err := out.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, "http://"+strings.TrimSpace(string(buf[:n])))
	c.initialize()
	r, _ := c.call("tools/call", map[string]any{"name": "pid"})
	pid, _ := strconv.Atoi(toolText(t, r))
	if !alive(pid) {
		t.Fatal("child not running")
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_, _ = cmd.Process.Wait()
	waitGone(t, pid, 3*time.Second)
	_, _ = io.Copy(io.Discard, out)
}

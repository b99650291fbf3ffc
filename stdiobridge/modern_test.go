package stdiobridge

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mcp-oauth-gateway/gateway/internal/streamable"
	"github.com/mcp-oauth-gateway/gateway/mcpserver"
)

// modern sends a 2026-07-28 request with the headers such a client sets.
func (c *client) modern(id int, method string, params map[string]any, caps map[string]any, hdr map[string]string) (*http.Response, []rpc) {
	c.t.Helper()
	if params == nil {
		params = map[string]any{}
	}
	if caps == nil {
		caps = map[string]any{}
	}
	meta := map[string]any{
		"io.modelcontextprotocol/protocolVersion":    "2026-07-28",
		"io.modelcontextprotocol/clientCapabilities": caps,
	}
	if m, ok := params["_meta"].(map[string]any); ok {
		for k, v := range m {
			meta[k] = v
		}
	}
	params["_meta"] = meta
	body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "method": method, "params": params})
	h := map[string]string{"MCP-Protocol-Version": "2026-07-28", "Mcp-Method": method, "Mcp-Session-Id": ""}
	if name, ok := params["name"].(string); ok {
		h["Mcp-Name"] = name
	}
	for k, v := range hdr {
		h[k] = v
	}
	saved := c.version
	c.version = ""
	resp := c.do("POST", string(body), h)
	c.version = saved
	return resp, c.readStream(resp)
}

func last(msgs []rpc) rpc {
	if len(msgs) == 0 {
		return rpc{}
	}
	return msgs[len(msgs)-1]
}

func TestModernPassThroughToAServerThatSpeaksIt(t *testing.T) {
	t.Parallel()
	_, srv := newTestProxy(t, nil)
	c := newClient(t, srv.URL)

	resp, msgs := c.modern(1, "server/discover", nil, nil, nil)
	if resp.StatusCode != 200 || !strings.Contains(string(last(msgs).Result), `"2026-07-28"`) {
		t.Fatalf("discover: HTTP %d %s", resp.StatusCode, last(msgs).Result)
	}
	resp, msgs = c.modern(2, "tools/call", map[string]any{"name": "echo", "arguments": map[string]any{"text": "hi"}}, nil, nil)
	if resp.StatusCode != 200 || toolText(t, last(msgs)) != "hi" {
		t.Fatalf("echo: HTTP %d %+v", resp.StatusCode, last(msgs))
	}
	if resp.Header.Get("Mcp-Session-Id") != "" {
		t.Fatal("a 2026-07-28 response carries a session id")
	}
	// The server's own input_required round trip passes through untouched.
	_, msgs = c.modern(3, "tools/call", map[string]any{"name": "input", "arguments": map[string]any{"prompt": "p"}},
		map[string]any{"sampling": map[string]any{}}, nil)
	var ir struct {
		ResultType    string                    `json:"resultType"`
		InputRequests map[string]map[string]any `json:"inputRequests"`
		RequestState  string                    `json:"requestState"`
	}
	if err := json.Unmarshal(last(msgs).Result, &ir); err != nil || ir.ResultType != "input_required" || ir.RequestState != "state-1" {
		t.Fatalf("input round 1: %s", last(msgs).Result)
	}
	_, msgs = c.modern(4, "tools/call", map[string]any{"name": "input", "arguments": map[string]any{"prompt": "p"},
		"requestState": ir.RequestState,
		"inputResponses": map[string]any{"llm": map[string]any{"role": "assistant", "model": "m",
			"content": map[string]any{"type": "text", "text": "answered"}}}},
		map[string]any{"sampling": map[string]any{}}, nil)
	if got := toolText(t, last(msgs)); got != "input: answered" {
		t.Fatalf("input round 2 = %q", got)
	}
	// Progress reaches the request's stream with the client's token.
	_, msgs = c.modern(5, "tools/call", map[string]any{"name": "progress", "arguments": map[string]any{"steps": 3},
		"_meta": map[string]any{"progressToken": "mine"}}, nil, nil)
	n := 0
	for _, m := range msgs {
		if m.Method == "notifications/progress" && strings.Contains(string(m.Params), `"progressToken":"mine"`) {
			n++
		}
	}
	if n != 3 || toolText(t, last(msgs)) != "done 3 steps" {
		t.Fatalf("progress: %d notifications, %+v", n, msgs)
	}
}

func TestModernRequestChecks(t *testing.T) {
	t.Parallel()
	_, srv := newTestProxy(t, nil)
	c := newClient(t, srv.URL)
	meta := func(m map[string]any) map[string]any { return map[string]any{"_meta": m} }
	cases := []struct {
		name   string
		method string
		params map[string]any
		hdr    map[string]string
		status int
		code   int
	}{
		{"removed method", "initialize", nil, nil, 404, streamable.CodeMethodNotFound},
		{"ping is gone", "ping", nil, nil, 404, streamable.CodeMethodNotFound},
		{"Mcp-Method mismatch", "tools/list", nil, map[string]string{"Mcp-Method": "prompts/list"}, 400, streamable.CodeHeaderMismatch},
		{"Mcp-Name missing", "tools/call", map[string]any{"name": "echo"}, map[string]string{"Mcp-Name": ""}, 400, streamable.CodeHeaderMismatch},
		{"header and _meta versions differ", "tools/list", nil, map[string]string{"MCP-Protocol-Version": "2025-11-25"}, 400, streamable.CodeHeaderMismatch},
		{"Last-Event-ID", "tools/list", nil, map[string]string{"Last-Event-ID": "1-1"}, 400, streamable.CodeHeaderMismatch},
		{"unknown version", "tools/list", meta(map[string]any{"io.modelcontextprotocol/protocolVersion": "2099-01-01"}),
			map[string]string{"MCP-Protocol-Version": "2099-01-01"}, 400, streamable.CodeUnsupportedVersion},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c.t = t
			resp, msgs := c.modern(100+i, tc.method, tc.params, nil, tc.hdr)
			m := last(msgs)
			if resp.StatusCode != tc.status || m.Error == nil || m.Error.Code != tc.code || string(m.ID) != fmt.Sprint(100+i) {
				t.Fatalf("HTTP %d %s %+v, want %d with code %d", resp.StatusCode, m.ID, m.Error, tc.status, tc.code)
			}
		})
	}
	t.Run("missing client capabilities", func(t *testing.T) {
		c.t = t
		resp := c.do("POST", `{"jsonrpc":"2.0","id":7,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}`,
			map[string]string{"MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "tools/list", "Mcp-Session-Id": ""})
		m := readAll(t, resp)[0]
		if resp.StatusCode != 400 || m.Error == nil || m.Error.Code != streamable.CodeInvalidParams {
			t.Fatalf("HTTP %d %+v", resp.StatusCode, m.Error)
		}
	})
	t.Run("GET and DELETE", func(t *testing.T) {
		c.t = t
		for _, method := range []string{"GET", "DELETE"} {
			resp := c.do(method, "", map[string]string{"MCP-Protocol-Version": "2026-07-28"})
			resp.Body.Close()
			if resp.StatusCode != http.StatusMethodNotAllowed {
				t.Fatalf("%s: HTTP %d, want 405", method, resp.StatusCode)
			}
		}
	})
}

func TestModernTranslatedForALegacyServer(t *testing.T) {
	t.Parallel()
	_, srv := newTestProxy(t, nil, "-legacy-only", "-name", "old-server")
	c := newClient(t, srv.URL)

	_, msgs := c.modern(1, "server/discover", nil, nil, nil)
	var disc struct {
		SupportedVersions []string       `json:"supportedVersions"`
		Capabilities      map[string]any `json:"capabilities"`
		Instructions      string         `json:"instructions"`
		Meta              map[string]struct {
			Name string `json:"name"`
		} `json:"_meta"`
	}
	if err := json.Unmarshal(last(msgs).Result, &disc); err != nil {
		t.Fatal(err)
	}
	if disc.Meta["io.modelcontextprotocol/serverInfo"].Name != "old-server" || disc.SupportedVersions[0] != "2026-07-28" ||
		disc.Capabilities["tools"] == nil || disc.Instructions == "" {
		t.Fatalf("translated discover: %s", last(msgs).Result)
	}
	_, msgs = c.modern(2, "tools/call", map[string]any{"name": "echo", "arguments": map[string]any{"text": "x"}}, nil, nil)
	if !strings.Contains(string(last(msgs).Result), `"resultType":"complete"`) {
		t.Fatalf("translated result lacks its type: %s", last(msgs).Result)
	}

	// No logs unless the request asks for them, then from its level up.
	_, msgs = c.modern(3, "tools/call", map[string]any{"name": "log", "arguments": map[string]any{"count": 3}}, nil, nil)
	if len(msgs) != 1 {
		t.Fatalf("logs without a logLevel: %+v", msgs)
	}

	// The server's sampling request becomes an input_required result, and
	// the client's retry answers it.
	caps := map[string]any{"sampling": map[string]any{}}
	_, msgs = c.modern(4, "tools/call", map[string]any{"name": "sample", "arguments": map[string]any{"prompt": "hello"}}, caps, nil)
	var ir struct {
		ResultType    string `json:"resultType"`
		InputRequests map[string]struct {
			Method string          `json:"method"`
			Params json.RawMessage `json:"params"`
		} `json:"inputRequests"`
		RequestState string `json:"requestState"`
	}
	if err := json.Unmarshal(last(msgs).Result, &ir); err != nil || ir.ResultType != "input_required" || len(ir.InputRequests) != 1 || ir.RequestState == "" {
		t.Fatalf("sampling as input_required: %s", last(msgs).Result)
	}
	var key string
	for k, v := range ir.InputRequests {
		key = k
		if v.Method != "sampling/createMessage" || !strings.Contains(string(v.Params), "hello") {
			t.Fatalf("input request %+v", v)
		}
	}
	answer := map[string]any{"role": "assistant", "model": "m", "content": map[string]any{"type": "text", "text": "42"}}
	retry := map[string]any{"name": "sample", "arguments": map[string]any{"prompt": "hello"},
		"requestState": ir.RequestState, "inputResponses": map[string]any{key: answer}}
	_, msgs = c.modern(5, "tools/call", retry, caps, nil)
	if got := toolText(t, last(msgs)); got != "sampled: 42" || string(last(msgs).ID) != "5" {
		t.Fatalf("after the retry: %q id %s", got, last(msgs).ID)
	}
	// A token is good for one retry only; a reused one is not the proxy's
	// any more and goes to the server, which starts over.
	_, msgs = c.modern(6, "tools/call", retry, caps, nil)
	if !strings.Contains(string(last(msgs).Result), `"input_required"`) {
		t.Fatalf("reused token: %s", last(msgs).Result)
	}

	// Without the capability the client gets -32021 and HTTP 400.
	resp, msgs := c.modern(7, "tools/call", map[string]any{"name": "sample", "arguments": map[string]any{"prompt": "x"}}, nil, nil)
	m := last(msgs)
	if resp.StatusCode != 400 || m.Error == nil || m.Error.Code != streamable.CodeMissingClientCapability || !strings.Contains(string(m.Error.Data), `"sampling"`) {
		t.Fatalf("missing capability: HTTP %d %+v %s", resp.StatusCode, m.Error, m.Result)
	}
}

func TestModernTranslatedListen(t *testing.T) {
	t.Parallel()
	_, srv := newTestProxy(t, nil, "-legacy-only")
	c := newClient(t, srv.URL)
	body := `{"jsonrpc":"2.0","id":"L","method":"subscriptions/listen","params":{"notifications":{"toolsListChanged":true,"promptsListChanged":true},` +
		`"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}`
	resp := c.do("POST", body, map[string]string{"MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "subscriptions/listen"})
	defer resp.Body.Close()
	events := make(chan string, 8)
	go func() {
		for ev := range sseEvents(resp.Body) {
			events <- ev.data
		}
		close(events)
	}()
	first := <-events
	if !strings.Contains(first, "notifications/subscriptions/acknowledged") || !strings.Contains(first, `"toolsListChanged":true`) ||
		strings.Contains(first, "promptsListChanged") || !strings.Contains(first, `"io.modelcontextprotocol/subscriptionId":"L"`) {
		t.Fatalf("first frame: %s", first)
	}
	c.modern(1, "tools/call", map[string]any{"name": "add_tool", "arguments": map[string]any{"name": "fresh"}}, nil, nil)
	select {
	case d := <-events:
		if !strings.Contains(d, "notifications/tools/list_changed") || !strings.Contains(d, `"io.modelcontextprotocol/subscriptionId":"L"`) {
			t.Fatalf("frame: %s", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no list change on the listen stream")
	}
}

func TestModernOff(t *testing.T) {
	t.Parallel()
	_, srv := newTestProxy(t, &ProxyOptions{Modern: ModernOff})
	c := newClient(t, srv.URL)
	resp, msgs := c.modern(1, "server/discover", nil, nil, nil)
	m := last(msgs)
	if resp.StatusCode != 400 || m.Error == nil || m.Error.Code != streamable.CodeUnsupportedVersion || !strings.Contains(string(m.Error.Data), `"2025-11-25"`) ||
		strings.Contains(string(m.Error.Data), `"supported":["2026`) {
		t.Fatalf("HTTP %d %+v", resp.StatusCode, m.Error)
	}
	c.initialize() // the legacy way still works
}

func TestModernCallersGetTheirOwnProcess(t *testing.T) {
	t.Parallel()
	px, srv := newTestProxy(t, &ProxyOptions{TrustGatewayHeaders: true})
	pid := func(user string) string {
		c := newClient(t, srv.URL)
		if user != "" {
			c.header.Set("X-User-Id", user)
		}
		_, msgs := c.modern(1, "tools/call", map[string]any{"name": "pid"}, nil, nil)
		return toolText(t, last(msgs))
	}
	a1, b, a2, anon := pid("alice"), pid("bob"), pid("alice"), pid("")
	if a1 != a2 || a1 == b || anon == a1 || anon == b {
		t.Fatalf("processes: alice %s and %s, bob %s, anonymous %s", a1, a2, b, anon)
	}
	if px.Children() != 3 {
		t.Fatalf("%d children, want 3", px.Children())
	}
	_ = mcpserver.Identity{}
}

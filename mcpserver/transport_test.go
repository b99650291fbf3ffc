package mcpserver_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcp-oauth-gateway/gateway/mcpserver"
)

func TestInitializeStartsSession(t *testing.T) {
	s, c := testServer(t, nil, echoTool)
	r := c.initialize("2025-11-25")
	if c.session == "" {
		t.Fatal("initialize gave no Mcp-Session-Id")
	}
	for _, ch := range c.session {
		if ch < 0x21 || ch > 0x7e {
			t.Fatalf("session id %q has a character outside visible ASCII", c.session)
		}
	}
	if len(c.session) < 32 {
		t.Errorf("session id %q is too short to be unguessable", c.session)
	}
	res := r.message(t)["result"].(map[string]any)
	if res["protocolVersion"] != "2025-11-25" {
		t.Errorf("protocolVersion = %v", res["protocolVersion"])
	}
	if got := res["serverInfo"].(map[string]any)["name"]; got != "test-server" {
		t.Errorf("serverInfo.name = %v", got)
	}
	if s.ActiveSessions() != 1 {
		t.Errorf("ActiveSessions = %d, want 1", s.ActiveSessions())
	}
	if got := textOf(t, c.call("tools/call", map[string]any{"name": "echo", "arguments": map[string]any{"message": "hi"}}, nil).message(t)); got != "hi" {
		t.Errorf("echo = %q", got)
	}
	if r := c.call("ping", nil, nil); r.status != 200 || r.message(t)["result"] == nil {
		t.Errorf("ping: %d %s", r.status, r.body)
	}
}

func TestTransportRules(t *testing.T) {
	_, c := testServer(t, &mcpserver.Options{MaxBodyBytes: 1024}, echoTool)
	c.initialize("2025-06-18")
	sid := c.session
	cases := []struct {
		name   string
		method string
		body   string
		header map[string]string
		status int
		code   int // JSON-RPC error code, when the reply carries one
	}{
		{"no session id", "POST", `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`, map[string]string{"Mcp-Session-Id": ""}, 400, mcp.INVALID_REQUEST},
		{"unknown session id", "POST", `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`, map[string]string{"Mcp-Session-Id": "nope"}, 404, mcp.INVALID_REQUEST},
		{"unsupported protocol version", "POST", `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`, map[string]string{"MCP-Protocol-Version": "1999-01-01"}, 400, mcp.INVALID_REQUEST},
		{"invalid JSON", "POST", `{"jsonrpc":"2.0",`, nil, 400, mcp.PARSE_ERROR},
		{"not an object", "POST", `42`, nil, 400, mcp.INVALID_REQUEST},
		{"not JSON-RPC 2.0", "POST", `{"jsonrpc":"1.0","id":1,"method":"ping"}`, nil, 400, mcp.INVALID_REQUEST},
		{"body over the limit", "POST", `{"jsonrpc":"2.0","id":1,"method":"ping","params":{"pad":"` + strings.Repeat("x", 2000) + `"}}`, nil, 413, mcp.INVALID_REQUEST},
		{"wrong content type", "POST", `{"jsonrpc":"2.0","id":1,"method":"ping"}`, map[string]string{"Content-Type": "text/plain"}, 415, mcp.INVALID_REQUEST},
		{"unacceptable Accept", "POST", `{"jsonrpc":"2.0","id":1,"method":"ping"}`, map[string]string{"Accept": "text/html"}, 406, mcp.INVALID_REQUEST},
		{"notification", "POST", `{"jsonrpc":"2.0","method":"notifications/roots/list_changed"}`, nil, 202, 0},
		{"response to nothing", "POST", `{"jsonrpc":"2.0","id":99,"result":{}}`, nil, 202, 0},
		{"batch in 2025-06-18", "POST", `[{"jsonrpc":"2.0","id":1,"method":"ping"}]`, nil, 400, mcp.INVALID_REQUEST},
		{"PUT", "PUT", ``, nil, 405, mcp.INVALID_REQUEST},
		{"GET without session", "GET", ``, map[string]string{"Mcp-Session-Id": "", "Accept": "text/event-stream"}, 400, mcp.INVALID_REQUEST},
		{"GET without SSE in Accept", "GET", ``, map[string]string{"Accept": "application/json"}, 406, mcp.INVALID_REQUEST},
		{"DELETE unknown session", "DELETE", ``, map[string]string{"Mcp-Session-Id": "nope"}, 404, mcp.INVALID_REQUEST},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c.session = sid
			r := c.do(c.newRequest(tc.method, tc.body, tc.header))
			if r.status != tc.status {
				t.Fatalf("status = %d, want %d (%s)", r.status, tc.status, r.body)
			}
			if tc.code != 0 {
				if got := r.errorCode(t); got != tc.code {
					t.Errorf("JSON-RPC error code = %d, want %d", got, tc.code)
				}
			}
		})
	}
}

func TestDeleteEndsSession(t *testing.T) {
	s, c := testServer(t, nil, echoTool)
	c.initialize("2025-11-25")
	if r := c.do(c.newRequest(http.MethodDelete, "", nil)); r.status != http.StatusNoContent {
		t.Fatalf("DELETE: status %d", r.status)
	}
	if r := c.call("tools/list", nil, nil); r.status != http.StatusNotFound {
		t.Errorf("request after DELETE: status %d, want 404", r.status)
	}
	if r := c.do(c.newRequest(http.MethodDelete, "", nil)); r.status != http.StatusNotFound {
		t.Errorf("second DELETE: status %d, want 404", r.status)
	}
	if s.ActiveSessions() != 0 {
		t.Errorf("ActiveSessions = %d after DELETE", s.ActiveSessions())
	}
	s.Close()
	s.Close() // a second Close is harmless
}

func TestSessionIdleTimeout(t *testing.T) {
	_, c := testServer(t, &mcpserver.Options{SessionIdleTimeout: 50 * time.Millisecond}, echoTool)
	c.initialize("2025-11-25")
	deadline := time.Now().Add(5 * time.Second)
	for {
		r := c.call("ping", nil, nil)
		if r.status == http.StatusNotFound {
			break // expired, though a ping just touched it: it was idle between pings
		}
		if time.Now().After(deadline) {
			t.Fatal("idle session never expired")
		}
		time.Sleep(150 * time.Millisecond)
	}
}

func TestSessionCap(t *testing.T) {
	_, c := testServer(t, &mcpserver.Options{MaxSessions: 2}, echoTool)
	c.initialize("2025-11-25")
	c.initialize("2025-11-25")
	c.session = ""
	r := c.call("initialize", map[string]any{"protocolVersion": "2025-11-25", "capabilities": map[string]any{},
		"clientInfo": map[string]any{"name": "x", "version": "1"}}, nil)
	if r.status != http.StatusServiceUnavailable {
		t.Fatalf("third session: status %d, want 503", r.status)
	}
	if r.header.Get("Mcp-Session-Id") != "" {
		t.Error("refused initialize still handed out a session id")
	}
}

func TestStatelessMode(t *testing.T) {
	s, c := testServer(t, &mcpserver.Options{Sessions: mcpserver.Stateless}, echoTool)
	r := c.call("initialize", map[string]any{"protocolVersion": "2025-11-25", "capabilities": map[string]any{},
		"clientInfo": map[string]any{"name": "x", "version": "1"}}, nil)
	if r.status != 200 || r.header.Get("Mcp-Session-Id") != "" {
		t.Fatalf("stateless initialize: status %d, session %q", r.status, r.header.Get("Mcp-Session-Id"))
	}
	c.version = "2025-11-25"
	if got := textOf(t, c.call("tools/call", map[string]any{"name": "echo", "arguments": map[string]any{"message": "x"}}, nil).message(t)); got != "x" {
		t.Errorf("echo = %q", got)
	}
	if s.ActiveSessions() != 0 {
		t.Errorf("stateless server keeps %d sessions", s.ActiveSessions())
	}
	for _, m := range []string{http.MethodGet, http.MethodDelete} {
		if r := c.do(c.newRequest(m, "", map[string]string{"Accept": "text/event-stream"})); r.status != http.StatusMethodNotAllowed {
			t.Errorf("%s on a stateless server: status %d, want 405", m, r.status)
		}
	}
}

func TestOriginAndHostChecks(t *testing.T) {
	_, c := testServer(t, &mcpserver.Options{AllowedOrigins: []string{"https://claude.ai"}}, echoTool)
	c.initialize("2025-11-25")
	cases := []struct {
		name   string
		method string
		header map[string]string
		status int
	}{
		{"foreign origin POST", "POST", map[string]string{"Origin": "https://evil.example"}, 403},
		{"foreign origin GET", "GET", map[string]string{"Origin": "https://evil.example", "Accept": "text/event-stream"}, 403},
		{"foreign origin DELETE", "DELETE", map[string]string{"Origin": "https://evil.example"}, 403},
		{"null origin", "POST", map[string]string{"Origin": "null"}, 403},
		{"rebinding host", "POST", map[string]string{"Host": "evil.example"}, 403},
		{"allowed origin", "POST", map[string]string{"Origin": "https://claude.ai"}, 200},
		{"loopback origin", "POST", map[string]string{"Origin": "http://localhost:6274"}, 200},
		{"localhost host", "POST", map[string]string{"Host": "localhost:8080"}, 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := c.newRequest(tc.method, c.request("ping", nil), tc.header)
			if h := tc.header["Host"]; h != "" {
				req.Host = h
			}
			r := c.do(req)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if tc.status == 200 && tc.header["Origin"] != "" && r.header.Get("Access-Control-Allow-Origin") != tc.header["Origin"] {
				t.Errorf("Access-Control-Allow-Origin = %q", r.header.Get("Access-Control-Allow-Origin"))
			}
		})
	}
}

func TestCORSPreflight(t *testing.T) {
	_, c := testServer(t, &mcpserver.Options{AllowedOrigins: []string{"https://claude.ai"}}, echoTool)
	req := c.newRequest(http.MethodOptions, "", map[string]string{
		"Origin":                         "https://claude.ai",
		"Access-Control-Request-Method":  "POST",
		"Access-Control-Request-Headers": "authorization, content-type, mcp-session-id, mcp-param-region",
	})
	r := c.do(req)
	if r.status != http.StatusNoContent {
		t.Fatalf("preflight: status %d", r.status)
	}
	allow := strings.ToLower(r.header.Get("Access-Control-Allow-Headers"))
	for _, h := range []string{"authorization", "content-type", "mcp-session-id", "mcp-protocol-version", "last-event-id", "mcp-method", "mcp-name", "mcp-param-region"} {
		if !strings.Contains(allow, h) {
			t.Errorf("Access-Control-Allow-Headers %q lacks %s", allow, h)
		}
	}
	if m := r.header.Get("Access-Control-Allow-Methods"); !strings.Contains(m, "DELETE") || !strings.Contains(m, "POST") {
		t.Errorf("Access-Control-Allow-Methods = %q", m)
	}
	expose := strings.ToLower(r.header.Get("Access-Control-Expose-Headers"))
	for _, h := range []string{"mcp-session-id", "www-authenticate", "mcp-protocol-version"} {
		if !strings.Contains(expose, h) {
			t.Errorf("Access-Control-Expose-Headers %q lacks %s", expose, h)
		}
	}
	if r := c.do(c.newRequest(http.MethodOptions, "", map[string]string{"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})); r.status != http.StatusForbidden {
		t.Errorf("preflight from a foreign origin: status %d, want 403", r.status)
	}
	// A real cross-origin call exposes the session header to the page.
	r = c.do(c.newRequest(http.MethodPost, c.request("initialize", map[string]any{"protocolVersion": "2025-11-25",
		"capabilities": map[string]any{}, "clientInfo": map[string]any{"name": "x", "version": "1"}}), map[string]string{"Origin": "https://claude.ai"}))
	if !strings.Contains(r.header.Get("Access-Control-Expose-Headers"), "Mcp-Session-Id") || r.header.Get("Mcp-Session-Id") == "" {
		t.Errorf("cross-origin initialize: expose %q, session %q", r.header.Get("Access-Control-Expose-Headers"), r.header.Get("Mcp-Session-Id"))
	}
}

func TestModernEra(t *testing.T) {
	_, c := testServer(t, nil, echoTool)
	r := c.modern("server/discover", nil, nil)
	if r.status != 200 {
		t.Fatalf("server/discover: %d %s", r.status, r.body)
	}
	res := r.message(t)["result"].(map[string]any)
	versions, _ := json.Marshal(res["supportedVersions"])
	if !strings.Contains(string(versions), "2026-07-28") {
		t.Errorf("supportedVersions = %s", versions)
	}
	if r.header.Get("Mcp-Session-Id") != "" {
		t.Error("a 2026-07-28 response carries a session id")
	}
	call := c.modern("tools/call", map[string]any{"name": "echo", "arguments": map[string]any{"message": "new era"}}, nil)
	if got := textOf(t, call.message(t)); got != "new era" {
		t.Errorf("echo = %q", got)
	}
	cases := []struct {
		name   string
		method string
		params map[string]any
		header map[string]string
		status int
		code   int
	}{
		{"Mcp-Method mismatch", "tools/list", nil, map[string]string{"Mcp-Method": "prompts/list"}, 400, mcp.HEADER_MISMATCH},
		{"Mcp-Name mismatch", "tools/call", map[string]any{"name": "echo", "arguments": map[string]any{"message": "x"}}, map[string]string{"Mcp-Name": "other"}, 400, mcp.HEADER_MISMATCH},
		{"header version missing", "tools/list", nil, map[string]string{"MCP-Protocol-Version": ""}, 400, mcp.HEADER_MISMATCH},
		{"header and _meta disagree", "tools/list", nil, map[string]string{"MCP-Protocol-Version": "2025-11-25"}, 400, mcp.HEADER_MISMATCH},
		{"unknown method", "no/such", nil, nil, 404, mcp.METHOD_NOT_FOUND},
		{"initialize removed", "initialize", nil, nil, 404, mcp.METHOD_NOT_FOUND},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := c.modern(tc.method, tc.params, tc.header)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if got := r.errorCode(t); got != tc.code {
				t.Errorf("code %d, want %d", got, tc.code)
			}
		})
	}
	for _, m := range []string{http.MethodGet, http.MethodDelete} {
		if r := c.do(c.newRequest(m, "", map[string]string{"MCP-Protocol-Version": "2026-07-28", "Accept": "text/event-stream"})); r.status != http.StatusMethodNotAllowed {
			t.Errorf("%s with 2026-07-28: status %d, want 405", m, r.status)
		}
	}
}

func TestProtocolVersionRestriction(t *testing.T) {
	_, c := testServer(t, &mcpserver.Options{ProtocolVersions: []string{"2025-06-18"}}, echoTool)
	r := c.call("initialize", map[string]any{"protocolVersion": "2025-11-25", "capabilities": map[string]any{},
		"clientInfo": map[string]any{"name": "x", "version": "1"}}, nil)
	if v := r.message(t)["result"].(map[string]any)["protocolVersion"]; v != "2025-06-18" {
		t.Errorf("negotiated %v, want the only served version 2025-06-18", v)
	}
	c.session = r.header.Get("Mcp-Session-Id")
	if r := c.call("ping", nil, map[string]string{"MCP-Protocol-Version": "2025-11-25"}); r.status != 400 {
		t.Errorf("request at an unserved version: status %d, want 400", r.status)
	}
	if r := c.modern("tools/list", nil, nil); r.status != 400 || r.errorCode(t) != mcp.UNSUPPORTED_PROTOCOL_VERSION {
		t.Errorf("2026-07-28 request to a server without it: %d %s", r.status, r.body)
	}
	if _, err := mcpserver.New("x", "1", &mcpserver.Options{ProtocolVersions: []string{"2099-01-01"}}); err == nil {
		t.Error("New accepted an unknown protocol version")
	}
}

func TestContextForTools(t *testing.T) {
	type seen struct {
		header   string
		received time.Time
		session  string
		identity *mcpserver.Identity
		version  string
	}
	got := make(chan seen, 1)
	inspect := func(s *mcpserver.Server) {
		s.AddTool(mcp.NewTool("inspect"), func(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			r := mcpserver.RequestFromContext(ctx)
			v := seen{header: r.Header.Get("X-Probe"), received: r.Received, identity: mcpserver.IdentityFromContext(ctx), version: r.ProtocolVersion}
			if sess := mcpserver.SessionFromContext(ctx); sess != nil {
				v.session = sess.ID()
			}
			got <- v
			return mcp.NewToolResultText("ok"), nil
		})
	}
	t.Run("auth hook", func(t *testing.T) {
		auth := func(w http.ResponseWriter, r *http.Request) (*mcpserver.Identity, bool) {
			if r.Header.Get("Authorization") != "Bearer good" {
				w.Header().Set("WWW-Authenticate", `Bearer resource_metadata="https://x/.well-known/oauth-protected-resource"`)
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return nil, false
			}
			return &mcpserver.Identity{Subject: "42", Name: "alice", Source: "token"}, true
		}
		_, c := testServer(t, &mcpserver.Options{Authenticate: auth}, inspect)
		if r := c.call("initialize", map[string]any{}, nil); r.status != 401 || r.header.Get("WWW-Authenticate") == "" {
			t.Fatalf("unauthenticated: status %d", r.status)
		}
		good := map[string]string{"Authorization": "Bearer good"}
		before := time.Now()
		r := c.call("initialize", map[string]any{"protocolVersion": "2025-11-25", "capabilities": map[string]any{},
			"clientInfo": map[string]any{"name": "x", "version": "1"}}, good)
		c.session = r.header.Get("Mcp-Session-Id")
		c.version = "2025-11-25"
		c.call("tools/call", map[string]any{"name": "inspect"}, map[string]string{"Authorization": "Bearer good", "X-Probe": "p1"})
		v := <-got
		if v.header != "p1" || v.session != c.session || v.identity == nil || v.identity.Name != "alice" || v.version != "2025-11-25" {
			t.Errorf("tool saw %+v", v)
		}
		if v.received.Before(before) || time.Since(v.received) > time.Minute {
			t.Errorf("received = %v", v.received)
		}
	})
	t.Run("session bound to its creator", func(t *testing.T) {
		auth := func(w http.ResponseWriter, r *http.Request) (*mcpserver.Identity, bool) {
			return &mcpserver.Identity{Subject: r.Header.Get("X-Test-User")}, true
		}
		_, c := testServer(t, &mcpserver.Options{Authenticate: auth}, inspect)
		c.call("initialize", map[string]any{"protocolVersion": "2025-11-25", "capabilities": map[string]any{},
			"clientInfo": map[string]any{"name": "x", "version": "1"}}, map[string]string{"X-Test-User": "alice"})
		r := c.call("initialize", map[string]any{"protocolVersion": "2025-11-25", "capabilities": map[string]any{},
			"clientInfo": map[string]any{"name": "x", "version": "1"}}, map[string]string{"X-Test-User": "alice"})
		c.session = r.header.Get("Mcp-Session-Id")
		if r := c.call("ping", nil, map[string]string{"X-Test-User": "mallory"}); r.status != http.StatusNotFound {
			t.Errorf("another user's request on alice's session: status %d, want 404", r.status)
		}
		if r := c.call("ping", nil, map[string]string{"X-Test-User": "alice"}); r.status != http.StatusOK {
			t.Errorf("alice's own request: status %d", r.status)
		}
	})
	t.Run("gateway headers only when trusted", func(t *testing.T) {
		for _, trust := range []bool{false, true} {
			_, c := testServer(t, &mcpserver.Options{TrustGatewayHeaders: trust, Sessions: mcpserver.Stateless}, inspect)
			c.version = "2025-11-25"
			c.call("tools/call", map[string]any{"name": "inspect"}, map[string]string{"X-User-Id": "7", "X-User-Name": "bob"})
			v := <-got
			if trust && (v.identity == nil || v.identity.Subject != "7" || v.identity.Name != "bob" || v.identity.Source != "gateway") {
				t.Errorf("trusted gateway headers: identity %+v", v.identity)
			}
			if !trust && v.identity != nil {
				t.Errorf("untrusted gateway headers were believed: %+v", v.identity)
			}
			if v.session != "" {
				t.Errorf("stateless call saw session %q", v.session)
			}
		}
	})
}

func TestHealth(t *testing.T) {
	_, c := testServer(t, nil, echoTool)
	c.initialize("2025-11-25")
	resp, err := c.http.Get(c.base + "/health")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var h map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		t.Fatal(err)
	}
	if h["status"] != "healthy" || h["version"] != "1.2.3" || h["active_sessions"] != float64(1) || h["uptime_seconds"] == nil {
		t.Errorf("health = %v", h)
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	for name, opts := range map[string]*mcpserver.Options{
		"relative path":  {Path: "mcp"},
		"negative body":  {MaxBodyBytes: -1},
		"bad origin":     {AllowedOrigins: []string{"claude.ai"}},
		"same paths":     {Path: "/x", HealthPath: "/x"},
		"unknown mode":   {Sessions: 7},
		"origin w/ path": {AllowedOrigins: []string{"https://claude.ai/chat"}},
	} {
		if _, err := mcpserver.New("x", "1", opts); err == nil {
			t.Errorf("%s: New accepted it", name)
		}
	}
}

// TestAcceptDecidesTheAnswer: the Accept header is read as a list of media
// ranges; a lone response goes out as JSON when the client takes JSON, as an
// SSE stream when it takes only SSE, and a client that takes neither gets
// 406.
func TestAcceptDecidesTheAnswer(t *testing.T) {
	_, c := testServer(t, nil, func(s *mcpserver.Server) {
		echoTool(s)
		s.AddTool(mcp.NewTool("chatty"), func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			_ = mcpserver.Progress(ctx, req, 1, 1, "")
			return mcp.NewToolResultText("said"), nil
		})
	})
	c.initialize("2025-11-25")
	cases := []struct {
		accept string
		status int
		sse    bool
	}{
		{"application/json, text/event-stream", 200, false},
		{"application/json", 200, false},
		{"APPLICATION/JSON; charset=utf-8", 200, false},
		{"text/event-stream", 200, true},
		{"*/*", 200, false},
		{"application/*", 200, false},
		{"text/*", 200, true},
		{"text/html, application/json;q=0.5", 200, false},
		{"", 200, false},
		{"text/html", 406, false},
		{"image/png, text/plain", 406, false},
		{"not a media type", 406, false},
	}
	for _, tc := range cases {
		t.Run(tc.accept, func(t *testing.T) {
			r := c.call("tools/call", map[string]any{"name": "echo", "arguments": map[string]any{"message": "m"}}, map[string]string{"Accept": tc.accept})
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if tc.status != 200 {
				if r.errorCode(t) != mcp.INVALID_REQUEST {
					t.Errorf("code %d", r.errorCode(t))
				}
				return
			}
			if got := len(r.events) > 0; got != tc.sse {
				t.Fatalf("answered as SSE: %v, want %v (Content-Type %q)", got, tc.sse, r.header.Get("Content-Type"))
			}
			if textOf(t, r.message(t)) != "m" {
				t.Errorf("wrong answer %v", r.message(t))
			}
		})
	}
	t.Run("JSON only drops what precedes the response", func(t *testing.T) {
		r := c.call("tools/call", map[string]any{"name": "chatty", "_meta": map[string]any{"progressToken": 1}}, map[string]string{"Accept": "application/json"})
		if r.status != 200 || len(r.events) != 0 || r.header.Get("Content-Type") != "application/json" {
			t.Fatalf("status %d, Content-Type %q", r.status, r.header.Get("Content-Type"))
		}
		if textOf(t, r.message(t)) != "said" {
			t.Errorf("answer %s", r.body)
		}
	})
	t.Run("a call that sends first streams", func(t *testing.T) {
		r := c.call("tools/call", map[string]any{"name": "chatty", "_meta": map[string]any{"progressToken": 1}}, nil)
		msgs := messages(t, r.events)
		if len(msgs) != 2 || msgs[0]["method"] != "notifications/progress" || textOf(t, msgs[1]) != "said" {
			t.Fatalf("stream carried %v", msgs)
		}
	})
}

// TestModernHeaderChecks: what a 2026-07-28 request carries in its headers
// must agree with its body.
func TestModernHeaderChecks(t *testing.T) {
	_, c := testServer(t, nil, func(s *mcpserver.Server) {
		echoTool(s)
		s.AddTool(mcp.NewToolWithRawSchema("regional", "Takes its region in a header too",
			json.RawMessage(`{"type":"object","properties":{"region":{"type":"string","x-mcp-header":"Region"}},"required":["region"]}`)),
			func(_ context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				return mcp.NewToolResultText("region " + req.GetString("region", "")), nil
			})
	})
	regional := map[string]any{"name": "regional", "arguments": map[string]any{"region": "eu"}}
	if r := c.modern("tools/call", regional, map[string]string{"Mcp-Param-Region": "eu"}); r.status != 200 || textOf(t, r.message(t)) != "region eu" {
		t.Fatalf("matching Mcp-Param-Region: %d %s", r.status, r.body)
	}
	cases := []struct {
		name   string
		send   func() *reply
		status int
		code   int
	}{
		{"Mcp-Param header disagrees", func() *reply {
			return c.modern("tools/call", map[string]any{"name": "regional", "arguments": map[string]any{"region": "eu"}}, map[string]string{"Mcp-Param-Region": "us"})
		}, 400, mcp.HEADER_MISMATCH},
		{"Mcp-Param header missing", func() *reply {
			return c.modern("tools/call", map[string]any{"name": "regional", "arguments": map[string]any{"region": "eu"}}, nil)
		}, 400, mcp.HEADER_MISMATCH},
		{"Last-Event-ID", func() *reply {
			return c.modern("tools/list", nil, map[string]string{"Last-Event-ID": "1_1"})
		}, 400, mcp.HEADER_MISMATCH},
		{"no _meta version in the body", func() *reply {
			return c.post(`{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}`, map[string]string{"MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "tools/list", "Mcp-Session-Id": ""})
		}, 400, mcp.INVALID_PARAMS},
		{"a client response", func() *reply {
			return c.post(`{"jsonrpc":"2.0","id":1,"result":{}}`, map[string]string{"MCP-Protocol-Version": "2026-07-28", "Mcp-Session-Id": ""})
		}, 400, mcp.INVALID_REQUEST},
		{"Mcp-Method missing", func() *reply {
			return c.modern("tools/list", nil, map[string]string{"Mcp-Method": ""})
		}, 400, mcp.HEADER_MISMATCH},
		{"unknown version in both", func() *reply {
			return c.post(`{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2099-01-01"}}}`,
				map[string]string{"MCP-Protocol-Version": "2099-01-01", "Mcp-Method": "tools/list", "Mcp-Session-Id": ""})
		}, 400, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.send()
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if tc.code != 0 && r.errorCode(t) != tc.code {
				t.Errorf("code %d, want %d: %s", r.errorCode(t), tc.code, r.body)
			}
		})
	}
	if r := c.post(`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1,"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}`,
		map[string]string{"MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "notifications/cancelled", "Mcp-Session-Id": ""}); r.status != http.StatusAccepted {
		t.Errorf("2026-07-28 notification: status %d, want 202: %s", r.status, r.body)
	}
}

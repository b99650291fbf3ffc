package echo_test

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcp-oauth-gateway/gateway/echo"
	"github.com/mcp-oauth-gateway/gateway/mcpserver"
)

var (
	statefulTools = []string{"echo", "replayLastEcho", "printHeader", "bearerDecode", "authContext", "requestTiming",
		"protocolNegotiation", "corsAnalysis", "environmentDump", "healthProbe", "sessionInfo", "whoIStheGOAT"}
	statelessTools = []string{"echo", "printHeader", "bearerDecode", "authContext", "requestTiming",
		"protocolNegotiation", "corsAnalysis", "environmentDump", "healthProbe", "whoIStheGOAT"}
)

func TestToolsList(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup setup
		want  []string
	}{
		{"stateful", setup{}, statefulTools},
		{"stateless", setup{stateless: true}, statelessTools},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url, _ := serve(t, tc.setup)
			c := connect(t, url, legacy, nil)
			res, err := c.ListTools(context.Background(), mcp.ListToolsRequest{})
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, tool := range res.Tools {
				names = append(names, tool.Name)
				if tool.Description == "" {
					t.Errorf("%s has no description", tool.Name)
				}
				if tool.InputSchema.Type != "object" {
					t.Errorf("%s: input schema type %q, want object", tool.Name, tool.InputSchema.Type)
				}
				if tool.InputSchema.AdditionalProperties != false {
					t.Errorf("%s: input schema allows additional properties", tool.Name)
				}
			}
			slices.Sort(names)
			want := slices.Sorted(slices.Values(tc.want))
			if !slices.Equal(names, want) {
				t.Errorf("tools %v, want %v", names, want)
			}
		})
	}
}

func TestToolSchemas(t *testing.T) {
	url, _ := serve(t, setup{})
	c := connect(t, url, legacy, nil)
	res, err := c.ListTools(context.Background(), mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]struct {
		param, typ string
		required   bool
	}{
		"echo":                {"message", "string", true},
		"bearerDecode":        {"includeRaw", "boolean", false},
		"environmentDump":     {"showSecrets", "boolean", false},
		"protocolNegotiation": {"testVersion", "string", false},
	}
	for _, tool := range res.Tools {
		w, ok := want[tool.Name]
		if !ok {
			if len(tool.InputSchema.Properties) != 0 {
				t.Errorf("%s takes %v, want no arguments", tool.Name, tool.InputSchema.Properties)
			}
			continue
		}
		prop, _ := tool.InputSchema.Properties[w.param].(map[string]any)
		if prop["type"] != w.typ || prop["description"] == nil {
			t.Errorf("%s.%s = %v, want type %s with a description", tool.Name, w.param, prop, w.typ)
		}
		if got := slices.Contains(tool.InputSchema.Required, w.param); got != w.required {
			t.Errorf("%s.%s required = %v, want %v", tool.Name, w.param, got, w.required)
		}
	}
}

func TestRegisterStatefulNeedsStatefulServer(t *testing.T) {
	srv, err := mcpserver.New("x", "1", &mcpserver.Options{Sessions: mcpserver.Stateless})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if err := echo.RegisterStateful(srv, nil); err == nil {
		t.Fatal("RegisterStateful on a stateless server: no error")
	}
	if err := echo.RegisterStateless(srv, nil); err != nil {
		t.Fatalf("RegisterStateless: %v", err)
	}
}

func TestStatelessEchoReturnsMessageExactly(t *testing.T) {
	url, _ := serve(t, setup{stateless: true})
	for _, version := range []string{legacy, ""} { // "": the client's default, 2026-07-28
		c := connect(t, url, version, nil)
		for _, msg := range []string{"hello", "", "  padded  ", "line one\nline two\r\n", "ünïcödé 🚀 中文", `{"json":true}`, "[Session x] not a prefix", strings.Repeat("long ", 2000)} {
			if got := mustCall(t, nil, c, "echo", map[string]any{"message": msg}); got != msg {
				t.Errorf("version %q: echo(%q) = %q", version, truncate(msg), truncate(got))
			}
		}
	}
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

func TestStatefulEchoAndReplay(t *testing.T) {
	url, _ := serve(t, setup{})
	a := connect(t, url, legacy, nil)
	b := connect(t, url, legacy, nil)
	prefix := func(c interface{ GetSessionId() string }) string { return c.GetSessionId()[:8] + "..." }

	if got := mustCall(t, nil, a, "replayLastEcho", nil); got != "No previous echo message found in this session. Use the echo tool first!" {
		t.Errorf("replay before echo = %q", got)
	}
	if got, want := mustCall(t, nil, a, "echo", map[string]any{"message": "first"}), "[Session "+prefix(a)+" from echo-test-client] first"; got != want {
		t.Errorf("echo = %q, want %q", got, want)
	}
	mustCall(t, nil, a, "echo", map[string]any{"message": "second message"})
	if got, want := mustCall(t, nil, a, "replayLastEcho", map[string]any{}), "[REPLAY - Session "+prefix(a)+" from echo-test-client] second message"; got != want {
		t.Errorf("replay = %q, want %q", got, want)
	}
	// Sessions do not share their last message.
	if got := mustCall(t, nil, b, "replayLastEcho", nil); !strings.HasPrefix(got, "No previous echo message") {
		t.Errorf("other session's replay = %q", got)
	}
	if strings.Contains(mustCall(t, nil, a, "echo", map[string]any{"message": "x"}), a.GetSessionId()) {
		t.Error("echo shows the whole session id")
	}
}

func TestModernClientOnStatefulServer(t *testing.T) {
	url, _ := serve(t, setup{})
	c := connect(t, url, "", nil) // 2026-07-28: served statelessly, no session
	if got := mustCall(t, nil, c, "echo", map[string]any{"message": "plain"}); got != "plain" {
		t.Errorf("echo without a session = %q, want the message exactly", got)
	}
	out, isErr := call(t, nil, c, "replayLastEcho", nil)
	if !isErr || !strings.Contains(out, "needs a session") {
		t.Errorf("replayLastEcho without a session: isError=%v %q", isErr, out)
	}
	contains(t, mustCall(t, nil, c, "sessionInfo", nil), "None (stateless request: protocol version 2026-07-28 has no sessions)")
}

func TestBadArgumentsAreToolErrors(t *testing.T) {
	url, _ := serve(t, setup{})
	c := connect(t, url, legacy, nil)
	for _, tc := range []struct {
		tool string
		args any
		want string
	}{
		{"echo", nil, `echo: argument "message" is required (a string)`},
		{"echo", map[string]any{"message": 42}, `echo: argument "message" must be a string, not a number`},
		{"echo", map[string]any{"message": nil}, `echo: argument "message" must be a string, not null`},
		{"echo", map[string]any{"message": "hi", "extra": true}, `echo: unknown argument "extra"; echo takes: message`},
		{"echo", []any{"hi"}, "echo: arguments must be a JSON object, not an array"},
		{"bearerDecode", map[string]any{"includeRaw": "yes"}, `bearerDecode: argument "includeRaw" must be a boolean, not a string`},
		{"environmentDump", map[string]any{"showSecrets": 1}, `environmentDump: argument "showSecrets" must be a boolean, not a number`},
		{"protocolNegotiation", map[string]any{"testVersion": []any{}}, `protocolNegotiation: argument "testVersion" must be a string, not an array`},
		{"printHeader", map[string]any{"b": 1, "a": 2}, `printHeader: unknown argument "a", "b"; printHeader takes no arguments`},
		{"healthProbe", "text", "healthProbe: arguments must be a JSON object, not a string"},
	} {
		out, isErr := call(t, nil, c, tc.tool, tc.args)
		if !isErr || out != tc.want {
			t.Errorf("%s(%v) = isError %v %q, want an error result %q", tc.tool, tc.args, isErr, out, tc.want)
		}
	}
	// An optional argument given as null counts as absent.
	mustCall(t, nil, c, "bearerDecode", map[string]any{"includeRaw": nil})
}

func TestPrintHeaderRedactsSecrets(t *testing.T) {
	url, _ := serve(t, setup{})
	c := connect(t, url, legacy, nil)
	token := testJWT(t, map[string]any{"alg": "RS256"}, map[string]any{"sub": "alice"}, "SIGNATUREsignatureSIGNATURE1234")
	ctx := withHeaders(context.Background(), map[string]string{
		"Authorization": "Bearer " + token,
		"Cookie":        "sid=supersecretcookievalue; theme=dark",
		"X-Api-Key":     "apikey-0123456789abcdef",
		"X-Auth-Token":  "tok",
		"X-Custom":      "visible value",
		"X-Upstream":    "redis://user:hunter2hunter2@db:6379/0",
	})
	out := mustCall(t, ctx, c, "printHeader", nil)
	contains(t, out,
		"HTTP Headers:\n"+strings.Repeat("-", 40)+"\n",
		"x-custom: visible value\n",
		"authorization: Bearer "+token[:4]+"..."+token[len(token)-4:]+" [redacted, "+strconv.Itoa(len(token))+" chars]\n",
		"cookie: sid=***; theme=***\n",
		"x-api-key: apik...cdef [redacted, 23 chars]\n",
		"x-auth-token: *** [redacted, 3 chars]\n",
		"x-upstream: redis://user:***@db:6379/0\n",
		"mcp-session-id: "+c.GetSessionId()[:8]+"...\n",
		"host: 127.0.0.1:",
		"mcp-protocol-version: 2025-11-25\n",
		"\nSession Context:\nSession ID: "+c.GetSessionId()[:8]+"...\nSession Initialized: Yes\n",
	)
	lacks(t, out, token, "SIGNATUREsignature", "supersecretcookievalue", "dark", "0123456789", "hunter2", c.GetSessionId())
	// Sorted by name.
	if strings.Index(out, "accept:") > strings.Index(out, "x-custom:") {
		t.Error("headers are not sorted by name")
	}
}

func TestPrintHeaderStatelessHasNoSessionContext(t *testing.T) {
	url, _ := serve(t, setup{stateless: true})
	c := connect(t, url, legacy, nil)
	out := mustCall(t, nil, c, "printHeader", nil)
	contains(t, out, "content-type: application/json")
	lacks(t, out, "Session Context:")
}

func TestBearerDecode(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	url, _ := serve(t, setup{echo: &echo.Options{Now: func() time.Time { return now }}})
	c := connect(t, url, legacy, nil)
	sig := "c2lnbmF0dXJlLXRoYXQtbXVzdC1uZXZlci1sZWFr"
	expired := testJWT(t,
		map[string]any{"alg": "RS256", "typ": "at+jwt", "kid": "key-2026"},
		map[string]any{
			"iss": "https://auth.example.com", "sub": "github|42", "aud": []string{"https://mcp.example.com/mcp", "other"},
			"jti": "j-1", "iat": now.Add(-2 * time.Hour).Unix(), "exp": now.Add(-time.Hour).Unix(), "nbf": now.Add(-2 * time.Hour).Unix(),
			"client_id": "client-abc", "scope": "mcp:read mcp:write", "roles": []string{"admin"},
		}, sig)
	fresh := testJWT(t, map[string]any{"alg": "ES256"}, map[string]any{"exp": now.Add(90 * time.Second).Unix(), "nbf": now.Add(time.Minute).Unix()}, "")
	bearer := func(v string) context.Context {
		return withHeaders(context.Background(), map[string]string{"Authorization": v})
	}

	for _, tc := range []struct {
		name       string
		ctx        context.Context
		args       map[string]any
		want, lack []string
	}{
		{"no header", nil, nil, []string{"Bearer Token Analysis\n" + strings.Repeat("=", 40) + "\n\n", "❌ No Authorization header found"}, nil},
		{"basic", bearer("Basic YWxpY2U6c2VjcmV0cGFzc3dvcmQ="), nil,
			[]string{"❌ Authorization header is not Bearer type: Basic (credentials redacted)"}, []string{"YWxpY2U6"}},
		{"opaque", bearer("Bearer opaque-token-0123456789"), nil,
			[]string{"❌ Not a decodable JWT: expected 3 dot-separated parts, got 1", "Token: opaq...6789 [redacted, 23 chars]"}, []string{"opaque-token-0123456789"}},
		{"bad base64", bearer("Bearer a!b.c.d"), nil, []string{"❌ Not a decodable JWT: header: not base64url"}, nil},
		{"expired", bearer("Bearer " + expired), nil, []string{
			"✅ Valid JWT structure (decoded only: the signature is not verified)",
			"Header:\n  Algorithm: RS256\n  Type: at+jwt\n  Key ID: key-2026\n",
			"Payload:\n  Issuer: https://auth.example.com\n  Subject: github|42\n  Audience: https://mcp.example.com/mcp, other\n  JWT ID: j-1\n",
			"  Issued At: 2026-11-27T10:00:00Z (7200s ago)\n",
			"  Expires: 2026-11-27T11:00:00Z (EXPIRED 3600s ago!)\n",
			"  Not Before: 2026-11-27T10:00:00Z (valid)\n",
			"Custom Claims:\n  client_id: \"client-abc\"\n  roles: [\"admin\"]\n  scope: \"mcp:read mcp:write\"\n",
			"Signature: Present (not verified)",
			"Session: " + c.GetSessionId()[:8] + "...",
		}, []string{sig, "Raw Parts:"}},
		{"raw parts", bearer("Bearer " + expired), map[string]any{"includeRaw": true}, []string{
			"Raw Parts:\n  Header: " + strings.Split(expired, ".")[0] + "\n  Payload: " + strings.Split(expired, ".")[1] + "\n",
			"  Signature: c2ln...ZWFr [redacted, 40 chars]\n",
		}, []string{sig}},
		{"fresh", bearer("bearer " + fresh), nil, []string{
			"  Algorithm: ES256\n  Type: unknown\n",
			"  Expires: 2026-11-27T12:01:30Z (in 90s)\n",
			"  Not Before: 2026-11-27T12:01:00Z (NOT YET VALID - 60s)\n",
			"Signature: Missing",
		}, []string{"Custom Claims:"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := mustCall(t, tc.ctx, c, "bearerDecode", tc.args)
			contains(t, out, tc.want...)
			lacks(t, out, tc.lack...)
		})
	}
}

func TestAuthContext(t *testing.T) {
	token := testJWT(t, map[string]any{"alg": "RS256"}, map[string]any{"sub": "token-subject", "client_id": "token-client"}, "sigsigsigsigsigsigsig")
	headers := map[string]string{
		"Authorization":   "Bearer " + token,
		"X-User-Id":       "42",
		"X-User-Name":     "alice",
		"X-Auth-Token":    "gateway-secret-token-value",
		"Cookie":          "mcp_session=abc; other=1",
		"Origin":          "http://localhost:6274",
		"Referer":         "https://app.example.com/callback?code=SECRETCODE&state=x",
		"X-Forwarded-For": "203.0.113.7",
	}
	t.Run("trusted gateway", func(t *testing.T) {
		url, _ := serve(t, setup{server: &mcpserver.Options{TrustGatewayHeaders: true}})
		c := connect(t, url, legacy, headers)
		out := mustCall(t, nil, c, "authContext", nil)
		contains(t, out,
			"Authentication Context Analysis\n"+strings.Repeat("=", 40),
			"Verified Identity:\n  Source: gateway (trusted X-User-* headers)\n  Subject: 42\n  Name: alice\n",
			"Bearer Token:\n  ✅ Present (length: "+strconv.Itoa(len(token))+")\n  Subject (unverified): token-subject\n  Client ID (unverified): token-client\n",
			"OAuth Headers:\n  Trusted: Yes",
			"  User ID: 42\n  User Name: alice\n  Auth Token: gate...alue [redacted, 26 chars]\n",
			"MCP Session ID: "+c.GetSessionId()[:8]+"...",
			"Session Owner: 42",
			"Cookies: 2 cookies (values not shown)\n    - mcp_session\n    - other\n",
			"Origin: http://localhost:6274",
			"Referer: https://app.example.com/callback [query redacted]",
			"X-Forwarded-For: 203.0.113.7",
			"Security Status:\n  ✅ Bearer authentication present\n  ✅ Caller identified (gateway (trusted X-User-* headers))\n  ⚠️  Non-HTTPS connection\n",
		)
		lacks(t, out, "gateway-secret-token-value", "SECRETCODE", token, "abc;")
	})
	t.Run("untrusted headers", func(t *testing.T) {
		url, _ := serve(t, setup{})
		c := connect(t, url, legacy, map[string]string{"X-User-Id": "42", "X-Forwarded-Proto": "https"})
		out := mustCall(t, nil, c, "authContext", nil)
		contains(t, out,
			"Verified Identity:\n  ❌ None: the caller is anonymous to this server (no authentication hook, and gateway headers are not trusted)",
			"Bearer Token:\n  ❌ Not present",
			"OAuth Headers:\n  Trusted: No",
			"  User ID: 42\n",
			"Cookies: None",
			"⚠️  Anonymous caller",
			"✅ HTTPS connection",
		)
	})
}

func TestRequestTiming(t *testing.T) {
	url, _ := serve(t, setup{})
	c := connect(t, url, legacy, nil)
	out := mustCall(t, nil, c, "requestTiming", nil)
	contains(t, out, "Request Timing Analysis", "Session Age: ", "Timing:\n  Request received: ", "  Current time: ",
		"Request Details:\n  Method: POST\n  URL: "+url+"\n  Protocol Version: 2025-11-25\n",
		"Performance Indicators:\n", "System Performance:\n  Goroutines: ", "Active Sessions: 1")
	m := regexp.MustCompile(`Request received: (\S+)\n  Current time: (\S+)\n  Elapsed: ([0-9.]+)ms`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no timing lines in:\n%s", out)
	}
	received, err1 := time.Parse(time.RFC3339Nano, m[1])
	now, err2 := time.Parse(time.RFC3339Nano, m[2])
	elapsed, err3 := strconv.ParseFloat(m[3], 64)
	if err1 != nil || err2 != nil || err3 != nil {
		t.Fatalf("bad timing lines: %v %v %v", err1, err2, err3)
	}
	if now.Before(received) || time.Since(received) > time.Minute {
		t.Errorf("received %v, now %v: not a recent request", received, now)
	}
	if d := float64(now.Sub(received)) / float64(time.Millisecond); d-elapsed > 0.01 || elapsed-d > 0.01 {
		t.Errorf("elapsed %.2fms, but the times differ by %.2fms", elapsed, d)
	}
	if !regexp.MustCompile(`(⚡ Excellent \(<10ms\)|✅ Good \(<50ms\)|⚠️  Acceptable \(<100ms\)|❌ Slow \(>100ms\))`).MatchString(out) {
		t.Error("no performance indicator")
	}
}

func TestProtocolNegotiation(t *testing.T) {
	url, _ := serve(t, setup{server: &mcpserver.Options{ProtocolVersions: []string{"2025-06-18", "2025-11-25"}}})
	c := connect(t, url, "2025-06-18", nil)
	out := mustCall(t, nil, c, "protocolNegotiation", map[string]any{"testVersion": "2024-11-05"})
	contains(t, out,
		"MCP Protocol Negotiation Analysis",
		"Session Protocol: 2025-06-18",
		"Current Request:\n  MCP-Protocol-Version Header: 2025-06-18\n  Header Present: ✅ Yes\n",
		"  Server Supported Versions: 2025-11-25, 2025-06-18\n  Server Default Version: 2025-11-25\n",
		"MCP-Related Headers in Request:\n",
		"  Mcp-Session-Id: "+c.GetSessionId()[:8]+"...\n",
		"Negotiation Result:\n  ✅ Compatible - Client requesting version: 2025-06-18\n",
		"Testing Version: 2024-11-05\n  ❌ This version is NOT supported by this server (it is a known MCP version)\n",
		"Version Compatibility:\n  2024-11-05: ❌ Not supported\n  2025-03-26: ❌ Not supported\n  2025-06-18: ✅ Supported\n  2025-11-25: ✅ Supported\n  2026-07-28: ❌ Not supported\n",
		"Protocol Version Features:\n  2024-11-05: ",
	)
	lacks(t, out, c.GetSessionId())
	contains(t, mustCall(t, nil, c, "protocolNegotiation", map[string]any{"testVersion": "2025-11-25"}), "Testing Version: 2025-11-25\n  ✅ This version is supported")
	contains(t, mustCall(t, nil, c, "protocolNegotiation", map[string]any{"testVersion": "1999-01-01"}), "❌ This version is NOT supported: not a known MCP version")
	lacks(t, mustCall(t, nil, c, "protocolNegotiation", nil), "Testing Version")
}

func TestCORSAnalysis(t *testing.T) {
	url, _ := serve(t, setup{server: &mcpserver.Options{AllowedOrigins: []string{"https://claude.ai"}}})
	c := connect(t, url, legacy, nil)

	out := mustCall(t, withHeaders(context.Background(), map[string]string{"Origin": "https://claude.ai"}), c, "corsAnalysis", nil)
	contains(t, out,
		"CORS Configuration Analysis",
		"Request Headers:\n  Origin: https://claude.ai\n  Method: POST",
		"Allowed Origins:\n  https://claude.ai, plus loopback origins",
		"Response CORS Headers (set by this server):\n  Access-Control-Allow-Origin: https://claude.ai\n",
		"Access-Control-Expose-Headers: Mcp-Session-Id",
		"Vary: Origin",
		"Preflight Answer (OPTIONS, simulated for this Origin):\n  Status: 204\n  Access-Control-Allow-Origin: https://claude.ai\n  Access-Control-Allow-Methods: ",
		"Authorization", "Mcp-Session-Id",
		"CORS Requirements:\n  ✅ Origin is Claude.ai - allowed",
		"Common CORS Issues:\n",
	)

	out = mustCall(t, nil, c, "corsAnalysis", nil)
	contains(t, out, "Origin: Not present (same-origin or non-browser request)",
		"Response CORS Headers (set by this server):\n  None: CORS headers are only sent to requests with an Origin",
		"✅ No Origin: CORS does not apply")
	lacks(t, out, "Preflight Answer", "preflight first")
}

func TestEnvironmentDump(t *testing.T) {
	environ := []string{
		"MCP_ECHO_PORT=3000",
		"MCP_ECHO_DEBUG=true",
		"MCP_SECRET_KEY=abcdefghijklmnopqrstuvwxyz",
		"MCP_API_TOKEN=short-tok",
		"MCP_STORE_URL=redis://app:pw-very-secret@redis:6379/0",
		"HOME=/root",
		"GITHUB_CLIENT_SECRET=never-listed-0123456789",
		"MALFORMED",
	}
	url, _ := serve(t, setup{echo: &echo.Options{Environ: func() []string { return environ }}})
	c := connect(t, url, legacy, nil)

	hidden := mustCall(t, nil, c, "environmentDump", nil)
	contains(t, hidden,
		"Environment Configuration\n"+strings.Repeat("=", 40),
		"MCP Configuration:\n  MCP_ECHO_HOST: not set\n  MCP_ECHO_PORT: 3000\n  MCP_ECHO_DEBUG: true\n",
		"  MCP_API_TOKEN: *** [redacted, 9 chars]\n",
		"  MCP_SECRET_KEY: *** [redacted, 26 chars]\n",
		"  MCP_STORE_URL: redis://app:***@redis:6379/0\n",
		"System Information:\n  Go: go",
		"Server Type: Stateful with session management",
	)
	lacks(t, hidden, "abcd", "short-tok", "pw-very-secret", "HOME", "GITHUB_CLIENT_SECRET", "never-listed")

	shown := mustCall(t, nil, c, "environmentDump", map[string]any{"showSecrets": true})
	contains(t, shown,
		"  MCP_SECRET_KEY: abcd...wxyz [redacted, 26 chars]\n",
		"  MCP_API_TOKEN: *** [redacted, 9 chars]\n", // too short to show any of it
		"  MCP_STORE_URL: redis://app:***@redis:6379/0\n",
	)
	lacks(t, shown, "efgh", "short-tok", "pw-very-secret", "never-listed")
}

func TestHealthProbe(t *testing.T) {
	url, _ := serve(t, setup{server: &mcpserver.Options{MaxSessions: 3, SessionIdleTimeout: 90 * time.Second}})
	c := connect(t, url, legacy, nil)
	out := mustCall(t, nil, c, "healthProbe", nil)
	contains(t, out,
		"Service Health Check\n"+strings.Repeat("=", 40),
		"Service Status:\n  Status: ✅ HEALTHY\n  Server: echo-test v1.2.3\n  Protocol: 2026-07-28, 2025-11-25, 2025-06-18, 2025-03-26, 2024-11-05\n  Type: Stateful with session management\n  Uptime: ",
		"Session Management:\n  Active Sessions: 1\n  Session Cap: 3\n  Session Timeout: 90s\n  Current Session Age: ",
		"System Resources:\n  Heap In Use: ",
		"Process Information:\n  PID: ",
		"Configuration Health:\n",
		"Overall Health: ✅ HEALTHY",
	)
	m := regexp.MustCompile(`Goroutines: (\d+)`).FindStringSubmatch(out)
	if m == nil || m[1] == "0" {
		t.Errorf("no goroutine count in:\n%s", out)
	}
	if !regexp.MustCompile(`Heap In Use: \d+\.\d MiB \(\d+ objects\)`).MatchString(out) {
		t.Errorf("no heap figure in:\n%s", out)
	}

	// Near the session cap, the server reports itself degraded.
	connect(t, url, legacy, nil)
	connect(t, url, legacy, nil)
	contains(t, mustCall(t, nil, c, "healthProbe", nil), "Status: ⚠️  DEGRADED (3 of 3 sessions in use)\n", "Active Sessions: 3",
		"Overall Health: ⚠️  DEGRADED (3 of 3 sessions in use)")
}

func TestHealthProbeStateless(t *testing.T) {
	url, _ := serve(t, setup{stateless: true})
	c := connect(t, url, legacy, nil)
	out := mustCall(t, nil, c, "healthProbe", nil)
	contains(t, out, "Type: Stateless (no sessions)", "Overall Health: ✅ HEALTHY")
	lacks(t, out, "Session Management:")
}

func TestSessionInfo(t *testing.T) {
	url, _ := serve(t, setup{server: &mcpserver.Options{TrustGatewayHeaders: true, SessionIdleTimeout: 2 * time.Hour}})
	c := connect(t, url, legacy, map[string]string{"X-User-Id": "42", "X-User-Name": "alice"})
	connect(t, url, legacy, nil)
	mustCall(t, nil, c, "echo", map[string]any{"message": "remember me"})
	out := mustCall(t, nil, c, "sessionInfo", nil)
	contains(t, out,
		"Session Information\n"+strings.Repeat("=", 40),
		"Current Session:\n  Session ID: "+c.GetSessionId()[:8]+"...\n  Created: ",
		"  Initialized: Yes\n  Protocol Version: 2025-11-25\n  Client: echo-test-client v1.0.0\n  Owner: alice (gateway (trusted X-User-* headers))\n  Last Echo Stored: Yes\n",
		"Server Statistics:\n  Total Active Sessions: 2\n  Server Type: Stateful with session management\n  Session Timeout: 7200 seconds\n",
	)
	lacks(t, out, c.GetSessionId())
}

func TestWhoIsTheGOAT(t *testing.T) {
	t.Run("gateway identity", func(t *testing.T) {
		url, _ := serve(t, setup{server: &mcpserver.Options{TrustGatewayHeaders: true}})
		c := connect(t, url, legacy, map[string]string{"X-User-Id": "alice", "X-User-Name": "Alice Example"})
		out := mustCall(t, nil, c, "whoIStheGOAT", nil)
		contains(t, out,
			"G.O.A.T. PROGRAMMER IDENTIFICATION SYSTEM v3.14159\n"+strings.Repeat("=", 50),
			"Client: echo-test-client v1.0.0",
			"ADVANCED AI ANALYSIS COMPLETE",
			"Subject: Alice Example\nIdentifier: alice\n",
			"Identity Source: gateway",
			"AI-IDENTIFIED EXCEPTIONAL CAPABILITIES:",
			"MACHINE LEARNING INSIGHTS:",
			"CONCLUSION:\nBased on irrefutable AI analysis, Alice Example represents",
		)
	})
	t.Run("authentication hook", func(t *testing.T) {
		auth := func(_ http.ResponseWriter, r *http.Request) (*mcpserver.Identity, bool) {
			return &mcpserver.Identity{Subject: "u-7", Email: "dev@example.com", Source: "token"}, true
		}
		url, _ := serve(t, setup{stateless: true, server: &mcpserver.Options{Authenticate: auth}})
		c := connect(t, url, legacy, nil)
		out := mustCall(t, nil, c, "whoIStheGOAT", nil)
		contains(t, out, "Subject: u-7\n", "Digital Fingerprint: dev@example.com", "Identity Source: token")
		lacks(t, out, "Client:", "Session:")
	})
	t.Run("unverified headers are not an identity", func(t *testing.T) {
		url, _ := serve(t, setup{})
		c := connect(t, url, legacy, map[string]string{"X-User-Name": "mallory"})
		out := mustCall(t, nil, c, "whoIStheGOAT", nil)
		contains(t, out, "AUTHENTICATION REQUIRED", "this server does not verify them", "--trust-gateway-headers")
		lacks(t, out, "mallory", "ADVANCED AI ANALYSIS COMPLETE")
	})
	t.Run("anonymous", func(t *testing.T) {
		url, _ := serve(t, setup{})
		c := connect(t, url, legacy, nil)
		contains(t, mustCall(t, nil, c, "whoIStheGOAT", nil), "AUTHENTICATION REQUIRED", "Call through the OAuth gateway")
	})
}

func TestStatelessServerToolsHaveNoSessionLines(t *testing.T) {
	url, _ := serve(t, setup{stateless: true})
	c := connect(t, url, legacy, nil)
	for _, name := range statelessTools {
		args := map[string]any{}
		if name == "echo" {
			args["message"] = "m"
		}
		out := mustCall(t, nil, c, name, args)
		if strings.Contains(out, "Session: ") || strings.Contains(out, "[Session") {
			t.Errorf("%s on a stateless server mentions a session:\n%s", name, out)
		}
	}
	req := mcp.CallToolRequest{}
	req.Params.Name = "replayLastEcho"
	if _, err := c.CallTool(context.Background(), req); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("replayLastEcho on a stateless server: %v, want tool not found", err)
	}
}

// TestToolResultsAreJSONText checks the wire form of a tool result: one
// text content, isError only on failure.
func TestToolResultsAreJSONText(t *testing.T) {
	url, _ := serve(t, setup{stateless: true})
	c := connect(t, url, legacy, nil)
	req := mcp.CallToolRequest{}
	req.Params.Name = "echo"
	req.Params.Arguments = map[string]any{"message": "wire"}
	res, err := c.CallTool(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(res)
	var wire struct {
		Content []struct{ Type, Text string }
		IsError bool `json:"isError"`
	}
	if err := json.Unmarshal(b, &wire); err != nil || len(wire.Content) != 1 || wire.Content[0].Type != "text" || wire.Content[0].Text != "wire" || wire.IsError {
		t.Errorf("result %s", b)
	}
}

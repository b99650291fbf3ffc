package oauth

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// The requests each proxy sends to /verify for a client's
// "POST https://mcp.example.com/mcp", from their sources and docs:
// Traefik's forwardAuth (pkg/middlewares/auth/forward.go), Caddy's
// forward_auth (a reverse_proxy with method GET, header_up
// X-Forwarded-Method/-Uri, plus reverse_proxy's X-Forwarded-For/-Proto/
// -Host and the original Host), and nginx auth_request with the
// configuration in deploy/nginx (the original method and headers,
// X-Original-URI, X-Original-Method, X-Forwarded-Proto, X-Forwarded-Host).
type proxyStyle struct {
	name  string
	build func(method, uri string, client http.Header) *http.Request
	// malformedStatus is what a malformed request gets: nginx turns
	// anything but 2xx, 401 and 403 into a 500.
	malformedStatus int
}

var proxyStyles = []proxyStyle{
	{"traefik", func(method, uri string, client http.Header) *http.Request {
		r := httptest.NewRequest("GET", "http://auth.internal:8000/verify", nil)
		for k, v := range client {
			r.Header[k] = v
		}
		r.Header.Set("X-Forwarded-For", "203.0.113.7")
		r.Header.Set("X-Forwarded-Method", method)
		r.Header.Set("X-Forwarded-Proto", "https")
		r.Header.Set("X-Forwarded-Host", "mcp.example.com")
		r.Header.Set("X-Forwarded-Uri", uri)
		return r
	}, 400},
	{"caddy", func(method, uri string, client http.Header) *http.Request {
		r := httptest.NewRequest("GET", "http://auth.internal:8000/verify", nil)
		for k, v := range client {
			r.Header[k] = v
		}
		r.Host = "mcp.example.com"
		r.Header.Set("X-Forwarded-Method", method)
		r.Header.Set("X-Forwarded-Uri", uri)
		r.Header.Set("X-Forwarded-For", "203.0.113.7")
		r.Header.Set("X-Forwarded-Proto", "https")
		r.Header.Set("X-Forwarded-Host", "mcp.example.com")
		return r
	}, 400},
	{"nginx", func(method, uri string, client http.Header) *http.Request {
		r := httptest.NewRequest(method, "http://127.0.0.1:8000/verify", nil)
		for k, v := range client {
			r.Header[k] = v
		}
		r.Host = "mcp.example.com"
		r.Header.Set("X-Original-URI", uri)
		r.Header.Set("X-Original-Method", method)
		r.Header.Set("X-Forwarded-Proto", "https")
		r.Header.Set("X-Forwarded-Host", "mcp.example.com")
		r.Header.Set("X-Real-IP", "203.0.113.7")
		return r
	}, 401},
}

// mcpClientHeaders are the headers of an MCP client's POST.
func mcpClientHeaders(auth string) http.Header {
	h := http.Header{
		"Content-Type":         {"application/json"},
		"Accept":               {"application/json, text/event-stream"},
		"Mcp-Protocol-Version": {"2025-11-25"},
		"Mcp-Session-Id":       {"f3c1"},
		"User-Agent":           {"claude-code/2.1"},
	}
	if auth != "" {
		h.Set("Authorization", auth)
	}
	return h
}

func newForwardAuth(t *testing.T, v *Verifier, opts *ForwardAuthOptions) *ForwardAuth {
	t.Helper()
	fa, err := NewForwardAuth(v, opts)
	if err != nil {
		t.Fatal(err)
	}
	return fa
}

func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

// TestForwardAuthProxies: for each proxy's request, the answers a user
// would notice: identity headers for a good token, challenges naming the
// MCP host's metadata, preflights and discovery let through.
func TestForwardAuthProxies(t *testing.T) {
	e := newEnv(t)
	rs := &countingStore{MemoryStore: e.store}
	v := newVerifier(t, e, nil, &VerifierOptions{Revocations: rs})
	fa := newForwardAuth(t, v, &ForwardAuthOptions{Default: Resource{RequiredScopes: []string{"mcp"}}})
	good := e.sign(t, e.claimsFor())
	other := e.sign(t, e.claimsFor("https://other.example.com/mcp"))
	for _, p := range proxyStyles {
		t.Run(p.name, func(t *testing.T) {
			rec := serve(fa, p.build("POST", "/mcp", mcpClientHeaders("Bearer "+good)))
			if rec.Code != 200 {
				t.Fatalf("good token: %d %s", rec.Code, rec.Body)
			}
			for h, want := range map[string]string{HeaderUserID: "4242", HeaderUserName: "octocat", HeaderEmail: "octo@example.com", HeaderClientID: "client-1", HeaderToken: ""} {
				if got := rec.Header().Get(h); got != want {
					t.Errorf("%s = %q, want %q", h, got, want)
				}
			}

			rec = serve(fa, p.build("POST", "/mcp", mcpClientHeaders("")))
			if rec.Code != 401 || rec.Header().Get("WWW-Authenticate") != `Bearer resource_metadata="`+testMetadataURL+`", scope="mcp"` {
				t.Fatalf("no token: %d %q", rec.Code, rec.Header().Get("WWW-Authenticate"))
			}
			if rec.Header().Get("Access-Control-Expose-Headers") != "WWW-Authenticate" || rec.Header().Get(HeaderUserID) != "" {
				t.Fatalf("no token: headers %v", rec.Header())
			}

			rec = serve(fa, p.build("POST", "/mcp", mcpClientHeaders("Bearer "+other)))
			if rec.Code != 401 || !strings.Contains(rec.Header().Get("WWW-Authenticate"), `error="invalid_token"`) {
				t.Fatalf("token for another resource: %d %q", rec.Code, rec.Header().Get("WWW-Authenticate"))
			}

			rec = serve(fa, p.build("POST", "/mcp", mcpClientHeaders("Bearer")))
			if rec.Code != p.malformedStatus || !strings.Contains(rec.Header().Get("WWW-Authenticate"), `error="invalid_request"`) {
				t.Fatalf("malformed header: %d %q", rec.Code, rec.Header().Get("WWW-Authenticate"))
			}
			rec = serve(fa, p.build("GET", "/mcp?access_token="+good, mcpClientHeaders("")))
			if rec.Code != p.malformedStatus || rec.Header().Get(HeaderUserID) != "" {
				t.Fatalf("token in the query: %d", rec.Code)
			}

			// A CORS preflight and the discovery documents need no token.
			pre := http.Header{"Origin": {"https://claude.ai"}, "Access-Control-Request-Method": {"POST"}, "Access-Control-Request-Headers": {"authorization, content-type"}}
			if rec = serve(fa, p.build("OPTIONS", "/mcp", pre)); rec.Code != 200 || rec.Header().Get(HeaderUserID) != "" {
				t.Fatalf("preflight: %d", rec.Code)
			}
			if rec = serve(fa, p.build("OPTIONS", "/mcp", mcpClientHeaders(""))); rec.Code != 401 {
				t.Fatalf("OPTIONS that is no preflight: %d", rec.Code)
			}
			for _, path := range []string{"/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource", "/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"} {
				if rec = serve(fa, p.build("GET", path, mcpClientHeaders(""))); rec.Code != 200 {
					t.Fatalf("%s: %d", path, rec.Code)
				}
			}
			if rec = serve(fa, p.build("GET", "/.well-known/oauth-protected-resourcex", mcpClientHeaders(""))); rec.Code != 401 {
				t.Fatalf("a path that only starts like a well-known one: %d", rec.Code)
			}

			// A URI the proxy and /verify could read differently is
			// refused (TestForwardAuthAmbiguous has the forms), even with a
			// good token for the path it cleans into.
			if rec = serve(fa, p.build("POST", "/x/../mcp?session=1", mcpClientHeaders("Bearer "+good))); rec.Code != p.malformedStatus && rec.Code != 403 || rec.Header().Get(HeaderUserID) != "" {
				t.Fatalf("/x/../mcp: %d", rec.Code)
			}
		})
	}
}

// TestForwardAuthPassToken: the original's X-Auth-Token, only on request.
func TestForwardAuthPassToken(t *testing.T) {
	e := newEnv(t)
	v := newVerifier(t, e, nil, nil)
	fa := newForwardAuth(t, v, &ForwardAuthOptions{PassToken: true})
	good := e.sign(t, e.claimsFor())
	rec := serve(fa, proxyStyles[0].build("POST", "/mcp", mcpClientHeaders("Bearer "+good)))
	if rec.Code != 200 || rec.Header().Get(HeaderToken) != good {
		t.Fatalf("%d, X-Auth-Token %q", rec.Code, rec.Header().Get(HeaderToken))
	}
}

// TestForwardAuthResources: configured resources cover their paths and
// nothing else; the most specific wins; policies and scopes apply per
// resource; SetResources takes effect at the next request.
func TestForwardAuthResources(t *testing.T) {
	e := newEnv(t)
	v := newVerifier(t, e, nil, nil)
	admins := ParsePolicy("alice")
	resources := []Resource{
		{URL: "https://mcp.example.com/svc", Name: "Service"},
		{URL: "https://mcp.example.com/svc/admin", RequiredScopes: []string{"admin"}},
		{URL: "https://mcp.example.com/private", Allow: &admins},
	}
	fa := newForwardAuth(t, v, &ForwardAuthOptions{Resources: resources})
	traefik := proxyStyles[0].build
	svc := e.sign(t, e.claimsFor("https://mcp.example.com/svc"))
	admin := e.sign(t, e.claimsFor("https://mcp.example.com/svc/admin"))
	private := e.sign(t, e.claimsFor("https://mcp.example.com/private"))
	cases := []struct {
		uri, token string
		status     int
		metadata   string
	}{
		{"/svc", svc, 200, ""},
		{"/svc/mcp", svc, 200, ""},
		{"/svc/mcp?x=1", svc, 200, ""},
		{"/svcx/mcp", svc, 403, ""},
		{"/svc/admin/mcp", svc, 401, "https://mcp.example.com/.well-known/oauth-protected-resource/svc/admin"},
		{"/svc/admin/mcp", admin, 403, "https://mcp.example.com/.well-known/oauth-protected-resource/svc/admin"},
		{"/private/mcp", private, 403, ""},
		{"/other", svc, 403, ""},
	}
	for _, c := range cases {
		rec := serve(fa, traefik("POST", c.uri, mcpClientHeaders("Bearer "+c.token)))
		if rec.Code != c.status || c.metadata != "" && !strings.Contains(rec.Header().Get("WWW-Authenticate"), `resource_metadata="`+c.metadata+`"`) {
			t.Errorf("%s: %d %q, want %d with %s", c.uri, rec.Code, rec.Header().Get("WWW-Authenticate"), c.status, c.metadata)
		}
	}
	// The operator admits octocat to /private: effective at once.
	admins = ParsePolicy("alice, octocat")
	if err := fa.SetResources(resources, Resource{}); err != nil {
		t.Fatal(err)
	}
	if rec := serve(fa, traefik("POST", "/private/mcp", mcpClientHeaders("Bearer "+private))); rec.Code != 200 {
		t.Fatalf("after SetResources: %d", rec.Code)
	}
	if err := fa.SetResources([]Resource{{URL: "https://a.example/x"}, {URL: "https://A.example:443/x/"}}, Resource{}); err == nil {
		t.Fatal("a resource listed twice in canonical form was accepted")
	}
	if rec := serve(fa, traefik("POST", "/private/mcp", mcpClientHeaders("Bearer "+private))); rec.Code != 200 {
		t.Fatalf("a failed SetResources changed the configuration: %d", rec.Code)
	}
}

// TestForwardAuthHeaders: the original request is rebuilt from the
// configured headers; a proxy that sends none gets a clear 400.
func TestForwardAuthHeaders(t *testing.T) {
	e := newEnv(t)
	v := newVerifier(t, e, nil, nil)
	fa := newForwardAuth(t, v, nil)
	claims := e.claimsFor("https://mcp.example.com:8443/mcp")
	claims["name"] = "Evil\r\nX-User-Id: 1"
	claims["preferred_username"] = ""
	delete(claims, "email")
	tok := e.sign(t, claims)

	r := httptest.NewRequest("GET", "/verify", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	r.Header.Set("X-Forwarded-Uri", "/mcp")
	r.Header.Set("X-Forwarded-Host", "MCP.example.com:8443")
	r.Header.Set("X-Forwarded-Proto", "HTTPS")
	rec := serve(fa, r)
	// Present and empty when unknown, so the proxy replaces a client's.
	if v, ok := rec.Header()[HeaderEmail]; !ok || len(v) != 1 || v[0] != "" {
		t.Fatalf("X-User-Email of a user without email: %q", v)
	}
	if rec.Code != 200 || rec.Header().Get(HeaderUserName) != "EvilX-User-Id: 1" {
		t.Fatalf("host in capitals, sanitized name: %d %q", rec.Code, rec.Header().Get(HeaderUserName))
	}
	for _, list := range []string{"mcp.example.com:8443, internal.lan", "mcp.example.com:8443, mcp.example.com:8443"} {
		r.Header.Set("X-Forwarded-Host", list)
		if rec = serve(fa, r); rec.Code != 400 || rec.Header().Get(HeaderUserID) != "" {
			t.Fatalf("a list of hosts %q: %d", list, rec.Code)
		}
	}
	r.Header.Set("X-Forwarded-Host", "mcp.example.com:8443")

	r.Header.Del("X-Forwarded-Uri")
	rec = serve(fa, r)
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), "X-Forwarded-Uri") {
		t.Fatalf("no URI header: %d %s", rec.Code, rec.Body)
	}
	r.Header.Set("X-Forwarded-Uri", "https://evil/mcp")
	if rec = serve(fa, r); rec.Code != 400 {
		t.Fatalf("absolute URI: %d", rec.Code)
	}
	r.Header.Set("X-Forwarded-Uri", "/mcp")
	r.Header.Set("X-Forwarded-Proto", "gopher")
	if rec = serve(fa, r); rec.Code != 400 {
		t.Fatalf("bad scheme: %d", rec.Code)
	}

	// Custom header names.
	fa2 := newForwardAuth(t, v, &ForwardAuthOptions{URIHeaders: []string{"X-Auth-Request-Uri"}, HostHeaders: []string{"X-Auth-Request-Host"}})
	r = httptest.NewRequest("GET", "/verify", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	r.Header.Set("X-Auth-Request-Uri", "/mcp")
	r.Header.Set("X-Auth-Request-Host", "mcp.example.com:8443")
	if rec = serve(fa2, r); rec.Code != 200 {
		t.Fatalf("custom headers: %d %s", rec.Code, rec.Body)
	}
}

// TestForwardAuthMetadata: the resources' metadata served on the MCP
// host, from the proxy's forwarded host and scheme.
func TestForwardAuthMetadata(t *testing.T) {
	e := newEnv(t)
	v := newVerifier(t, e, nil, nil)
	get := func(h http.Handler, host, path string) (int, map[string]any) {
		r := httptest.NewRequest("GET", "http://auth.internal:8000"+path, nil)
		r.Header.Set("X-Forwarded-Host", host)
		r.Header.Set("X-Forwarded-Proto", "https")
		rec := serve(h, r)
		var m map[string]any
		_ = json.Unmarshal(rec.Body.Bytes(), &m)
		return rec.Code, m
	}
	derived := newForwardAuth(t, v, &ForwardAuthOptions{Default: Resource{Name: "Gateway", Scopes: []string{"mcp"}}}).MetadataHandler()
	code, m := get(derived, "mcp.example.com", "/.well-known/oauth-protected-resource/mcp")
	if code != 200 || m["resource"] != testResource || m["resource_name"] != "Gateway" || m["authorization_servers"].([]any)[0] != e.issuer {
		t.Fatalf("derived: %d %v", code, m)
	}
	if code, m = get(derived, "echo.example.com", "/.well-known/oauth-protected-resource"); code != 200 || m["resource"] != "https://echo.example.com" {
		t.Fatalf("derived root: %d %v", code, m)
	}

	fa := newForwardAuth(t, v, &ForwardAuthOptions{Resources: []Resource{
		{URL: "https://echo.example.com/mcp", Name: "Echo"},
		{URL: "https://multi.example.com/a"}, {URL: "https://multi.example.com/b"},
	}})
	h := fa.MetadataHandler()
	for _, c := range []struct {
		host, path string
		status     int
		resource   string
	}{
		{"echo.example.com", "/.well-known/oauth-protected-resource/mcp", 200, "https://echo.example.com/mcp"},
		{"ECHO.example.com:443", "/.well-known/oauth-protected-resource/mcp/", 200, "https://echo.example.com/mcp"},
		{"echo.example.com", "/.well-known/oauth-protected-resource", 200, "https://echo.example.com/mcp"}, // the only one on its host
		{"multi.example.com", "/.well-known/oauth-protected-resource/b", 200, "https://multi.example.com/b"},
		{"multi.example.com", "/.well-known/oauth-protected-resource", 404, ""}, // two on the host: no root document
		{"echo.example.com", "/.well-known/oauth-protected-resource/other", 404, ""},
		{"evil.example.com", "/.well-known/oauth-protected-resource/mcp", 404, ""},
		{"echo.example.com", "/.well-known/oauth-protected-resourcemcp", 404, ""},
	} {
		code, m := get(h, c.host, c.path)
		if code != c.status || c.resource != "" && m["resource"] != c.resource {
			t.Errorf("%s%s: %d %v, want %d %s", c.host, c.path, code, m, c.status, c.resource)
		}
	}
}

// TestForwardAuthRevocation: a revoked token is refused at /verify too,
// within a second.
func TestForwardAuthRevocation(t *testing.T) {
	e := newEnv(t)
	v := newVerifier(t, e, nil, &VerifierOptions{Revocations: e.store})
	fa := newForwardAuth(t, v, nil)
	claims := e.claimsFor()
	tok := e.sign(t, claims)
	if rec := serve(fa, proxyStyles[1].build("POST", "/mcp", mcpClientHeaders("Bearer "+tok))); rec.Code != 200 {
		t.Fatalf("%d", rec.Code)
	}
	if err := e.store.RevokeToken(t.Context(), "client-1", claims["jti"].(string), e.clock.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Second)
	for {
		rec := serve(fa, proxyStyles[1].build("POST", "/mcp", mcpClientHeaders("Bearer "+tok)))
		if rec.Code == 401 && strings.Contains(rec.Header().Get("WWW-Authenticate"), "revoked") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still %d after a second", rec.Code)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

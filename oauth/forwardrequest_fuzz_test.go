package oauth

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mcp-oauth-gateway/gateway/internal/proxymodel"
)

// FuzzForwardRequest holds /verify's reading of a request to what each
// proxy routes on: for any request line target and Host header, and each
// proxy of deploy/ (internal/proxymodel: nginx 1.22, Caddy 2.6, Traefik 3.6
// with its defaults, with deploy/traefik's encoded-character refusal, and
// without sanitizePath), /verify, given what that proxy's forward-auth call
// carries, either refuses the request or decides on the host and path the
// proxy routed (for Caddy, whose path matcher ignores case, equal ignoring
// case). Never a decision for another path. Run it with
//
//	go test -run '^$' -fuzz FuzzForwardRequest ./oauth
func FuzzForwardRequest(f *testing.F) {
	for _, s := range [][2]string{
		{"/mcp", "mcp.example.com"},
		{"/mcp?session=1", "mcp.example.com:8443"},
		{"/mcp#/../.well-known/oauth-protected-resource", "mcp.example.com"},
		{"/mcp#/../admin/mcp", "mcp.example.com"},
		{"/mcp%2F..%2Fadmin%2Fmcp", "mcp.example.com"},
		{"/mcp%2F..%2F.well-known%2Foauth-protected-resource", "mcp.example.com"},
		{"/mcp/%2e%2e/admin/mcp", "mcp.example.com"},
		{"/mcp%252F..%252Fadmin", "mcp.example.com"},
		{"/mcp%5C..%5Cadmin", "mcp.example.com"},
		{"/%6Dcp", "mcp.example.com"},
		{"/mcp/../admin/mcp", "mcp.example.com"},
		{"/mcp/../.well-known/oauth-protected-resource", "mcp.example.com"},
		{"/.well-known/oauth-protected-resource/../../mcp", "mcp.example.com"},
		{"/.well-known/oauth-protected-resource%2F..%2F..%2Fmcp", "mcp.example.com"},
		{"//mcp", "mcp.example.com"},
		{"/admin//mcp/./", "mcp.example.com"},
		{`/mcp\..\admin`, "mcp.example.com"},
		{"/ADMIN/mcp.", "mcp.example.com"},
		{"/admin;x/mcp", "mcp.example.com"},
		{"http://admin.example.com/mcp", "mcp.example.com"},
		{"http://ADMIN.example.com:8443?x", "mcp.example.com"},
		{"/mcp", "MCP.example.com.:443"},
		{"/mcp", "mcp.example.com,admin.example.com"},
		{"*", "mcp.example.com"},
	} {
		f.Add(s[0], s[1])
	}
	fa := newFuzzForwardAuth(f)
	traefiks := map[string]proxymodel.TraefikEntryPoint{
		"traefik":                 proxymodel.TraefikDefaults,
		"traefik-deny-encoded":    {SanitizePath: true, Deny: proxymodel.TraefikDenyAll},
		"traefik-no-sanitizePath": {},
	}
	f.Fuzz(func(t *testing.T, target, host string) {
		req := proxymodel.Request{Target: target, Host: host}
		if rd, ok := proxymodel.Nginx(req, "443"); ok {
			checkDecision(t, fa, "nginx", rd, false, map[string]string{
				"X-Original-Uri": rd.URI, "X-Original-Method": "POST", "X-Forwarded-Proto": "https", "X-Forwarded-Host": rd.ForwardedHost,
			})
		}
		if rd, ok := proxymodel.Caddy(req); ok {
			checkDecision(t, fa, "caddy", rd, true, map[string]string{
				"X-Forwarded-Uri": rd.URI, "X-Forwarded-Method": "POST", "X-Forwarded-Proto": "https", "X-Forwarded-Host": rd.ForwardedHost,
			})
		}
		for name, ep := range traefiks {
			if rd, ok := proxymodel.Traefik(req, ep); ok {
				checkDecision(t, fa, name, rd, false, map[string]string{
					"X-Forwarded-Uri": rd.URI, "X-Forwarded-Method": "POST", "X-Forwarded-Proto": "https", "X-Forwarded-Host": rd.ForwardedHost,
				})
			}
		}
	})
}

// newFuzzForwardAuth is a /verify with derived resources, quiet.
func newFuzzForwardAuth(f *testing.F) *ForwardAuth {
	e := newEnv(f)
	v, err := NewVerifier(e.issuer, e.srv, &VerifierOptions{Logger: discardLogger(), Now: e.clock.Now})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = v.Close() })
	fa, err := NewForwardAuth(v, nil)
	if err != nil {
		f.Fatal(err)
	}
	return fa
}

// checkDecision asks fa about the proxy's forward-auth call with headers
// and fails unless it refuses or decides on the proxy's reading rd.
func checkDecision(t *testing.T, fa *ForwardAuth, proxy string, rd proxymodel.Reading, foldCase bool, headers map[string]string) {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, "http://auth.internal/verify", nil)
	for k, v := range headers {
		if strings.ContainsAny(v, "\r\n\x00") {
			return // a proxy cannot send it; Go's server would refuse it
		}
		r.Header.Set(k, v)
	}
	o, err := fa.original(r)
	if err != nil {
		return
	}
	decided := o.path
	if decided == "" {
		decided = "/"
	}
	routed := rd.Path
	if foldCase {
		decided = strings.ToLower(decided)
	}
	host := strings.ToLower(o.host)
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.HasSuffix(host, "]") {
		host = host[:i]
	}
	host = strings.Trim(host, "[]")
	if decided != routed || host != rd.Host {
		t.Fatalf("%s routes host %q path %q, /verify decided host %q path %q (from %v)", proxy, rd.Host, routed, o.host, o.path, headers)
	}
	// And the answer: a refusal of the whole request never depends on the
	// path being cleaned (the request is served as it was decided).
	rec := httptest.NewRecorder()
	fa.ServeHTTP(rec, r)
	if rec.Code == http.StatusOK && rec.Header().Get(HeaderUserID) == "" && !isWellKnownMetadata(o.path) {
		t.Fatalf("%s: %q passed /verify without a token, not being a discovery path", proxy, o.path)
	}
}

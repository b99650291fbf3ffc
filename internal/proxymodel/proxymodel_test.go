package proxymodel

import "testing"

// TestNginx: the model against what nginx 1.22.1 answered on this
// project's machine to a location echoing $uri, $request_uri and $host.
func TestNginx(t *testing.T) {
	for _, c := range []struct {
		target, host string
		uri, path    string // "" path: nginx refused the request (400)
		routedHost   string
	}{
		{"/mcp#/../x", "a.test", "/mcp#/../x", "/mcp", "a.test"},
		{"/x#/../mcp", "a.test", "/x#/../mcp", "/x", "a.test"},
		{"/.well-known/oauth-protected-resource#/../../mcp", "a.test", "/.well-known/oauth-protected-resource#/../../mcp", "/.well-known/oauth-protected-resource", "a.test"},
		{"/mcp%2F..%2Fx", "a.test", "/mcp%2F..%2Fx", "/x", "a.test"},
		{"/x/..%2Fmcp", "a.test", "/x/..%2Fmcp", "/mcp", "a.test"},
		{"/mcp/%2e%2e/x", "a.test", "/mcp/%2e%2e/x", "/x", "a.test"},
		{"/%6dcp", "a.test", "/%6dcp", "/mcp", "a.test"},
		{"//mcp/./x/../y", "a.test", "//mcp/./x/../y", "/mcp/y", "a.test"},
		{"/mcp%252F", "a.test", "/mcp%252F", "/mcp%2F", "a.test"},
		{"/mcp%23x", "a.test", "/mcp%23x", "/mcp#x", "a.test"},
		{"/mcp%3fx=1", "a.test", "/mcp%3fx=1", "/mcp?x=1", "a.test"},
		{"/mcp%5c..%5cx", "a.test", "/mcp%5c..%5cx", `/mcp\..\x`, "a.test"},
		{`/mcp\x`, "a.test", `/mcp\x`, `/mcp\x`, "a.test"},
		{"/mcp?a#b", "a.test", "/mcp?a#b", "/mcp", "a.test"},
		{"/mcp;x", "a.test", "/mcp;x", "/mcp;x", "a.test"},
		{"/mcp/x.", "a.test", "/mcp/x.", "/mcp/x.", "a.test"},
		{"/caf%C3%A9", "a.test", "/caf%C3%A9", "/café", "a.test"},
		{"/MCP", "A.TEST:18081", "/MCP", "/MCP", "a.test"},
		{"http://b.test/mcp", "a.test", "/mcp", "/mcp", "b.test"},
		{"/mcp%00x", "a.test", "", "", ""},
		{"/../mcp", "a.test", "", "", ""},
		{"mcp", "a.test", "", "", ""},
		{"*", "a.test", "", "", ""},
	} {
		r, ok := Nginx(Request{Target: c.target, Host: c.host}, "18081")
		if ok != (c.path != "") || ok && (r.Path != c.path || r.URI != c.uri || r.Host != c.routedHost || r.ForwardedHost != c.routedHost+":18081") {
			t.Errorf("%q: %+v %v, want $uri %q $request_uri %q $host %q", c.target, r, ok, c.path, c.uri, c.routedHost)
		}
	}
}

// TestTraefik: the model's reading of the attack forms, with Traefik's
// defaults and with deploy/traefik's refusal of encoded characters.
func TestTraefik(t *testing.T) {
	deny := TraefikEntryPoint{SanitizePath: true, Deny: TraefikDenyAll}
	for _, c := range []struct {
		ep           TraefikEntryPoint
		target, host string
		path, uri    string // "" path: refused with 400
	}{
		{TraefikDefaults, "/mcp%2F..%2Fadmin", "h", "/mcp%2F..%2Fadmin", "/mcp%2F..%2Fadmin"},
		{TraefikDefaults, "/mcp%2f..%2fadmin", "h", "/mcp%2F..%2Fadmin", "/mcp%2F..%2Fadmin"},
		{TraefikDefaults, "/mcp/%2e%2e/admin", "h", "/admin", "/admin"},
		{TraefikDefaults, "/%6Dcp", "h", "/mcp", "/mcp"},
		{TraefikDefaults, "/mcp/../admin//x", "h", "/admin/x", "/admin/x"},
		{TraefikDefaults, "/a%20b", "h", "/a b", "/a%20b"},
		{TraefikDefaults, "/mcp#/../x", "h", "", ""},
		{TraefikEntryPoint{}, "/mcp/../admin", "h", "/mcp/../admin", "/mcp/../admin"},
		{deny, "/mcp%2F..%2Fadmin", "h", "", ""},
		{deny, "/mcp%252F", "h", "", ""},
		{deny, "/mcp/%2e%2e/admin", "h", "/admin", "/admin"},
		{deny, "http://admin.test/mcp", "mcp.test", "/mcp", "/mcp"},
	} {
		r, ok := Traefik(Request{Target: c.target, Host: c.host}, c.ep)
		if ok != (c.path != "") || ok && (r.Path != c.path || r.URI != c.uri) {
			t.Errorf("%+v %q: %+v %v, want routing path %q, X-Forwarded-Uri %q", c.ep, c.target, r, ok, c.path, c.uri)
		}
	}
	if r, _ := Traefik(Request{Target: "http://Admin.Test:8443/mcp", Host: "mcp.test"}, TraefikDefaults); r.Host != "admin.test" || r.ForwardedHost != "Admin.Test:8443" {
		t.Errorf("absolute-form: %+v", r)
	}
}

// TestCaddy: Caddy's path matcher decodes, cleans, ignores case and
// trailing dots; its X-Forwarded-Uri is the request URI as Go re-escapes it.
func TestCaddy(t *testing.T) {
	for _, c := range []struct {
		target, path, uri string
	}{
		{"/ADMIN/mcp.", "/admin/mcp", "/ADMIN/mcp."},
		{"/mcp#/../x", "/x", "/mcp%23/../x"},
		{"/mcp%2F..%2Fadmin", "/admin", "/mcp%2F..%2Fadmin"},
		{"//mcp//x/", "/mcp/x/", "//mcp//x/"},
	} {
		r, ok := Caddy(Request{Target: c.target, Host: "mcp.test"})
		if !ok || r.Path != c.path || r.URI != c.uri || r.Host != "mcp.test" {
			t.Errorf("%q: %+v %v, want path %q, X-Forwarded-Uri %q", c.target, r, ok, c.path, c.uri)
		}
	}
	if _, ok := Caddy(Request{Target: "/mcp", Host: "mcp.test/admin"}); ok {
		t.Error("a Host with a path passed Go's server")
	}
}

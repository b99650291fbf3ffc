package oauth

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// ambiguityEnv is a /verify with the services of deploy/check.sh (/mcp,
// and /admin/mcp needing the admin scope) and one with a whole-site
// resource next to the admin service, with a token for each.
type ambiguityEnv struct {
	services, site         *ForwardAuth
	mcp, admin, root, none string
}

func newAmbiguityEnv(t *testing.T) ambiguityEnv {
	e := newEnv(t)
	v := newVerifier(t, e, nil, nil)
	admin := Resource{URL: "https://mcp.example.com/admin/mcp", RequiredScopes: []string{"admin"}}
	adminClaims := e.claimsFor(admin.URL)
	adminClaims["scope"] = "mcp admin"
	return ambiguityEnv{
		services: newForwardAuth(t, v, &ForwardAuthOptions{Resources: []Resource{{URL: "https://mcp.example.com/mcp"}, admin}}),
		site:     newForwardAuth(t, v, &ForwardAuthOptions{Resources: []Resource{{URL: "https://mcp.example.com"}, admin}}),
		mcp:      e.sign(t, e.claimsFor("https://mcp.example.com/mcp")),
		admin:    e.sign(t, adminClaims),
		root:     e.sign(t, e.claimsFor("https://mcp.example.com")),
	}
}

// TestForwardAuthAmbiguous: for every way a proxy's routing and /verify's
// reading of one request could differ, /verify refuses the request with
// invalid_request: 400, or for nginx 403 with X-Mcp-Oauth-Error (its
// configuration turns that into the client's 400, as nginx knows no 400
// from /verify). Before, /verify cleaned such requests into another path:
// requests with no token passed as discovery paths, and a token for one
// resource opened another resource's route.
func TestForwardAuthAmbiguous(t *testing.T) {
	env := newAmbiguityEnv(t)
	cases := []struct {
		name  string
		site  bool // the whole-site configuration, else the services one
		uri   string
		token string
		edit  func(h http.Header) // changes to the proxy's headers
	}{
		// nginx routes on the part before '#' (/mcp); /verify cleaned the whole string.
		{name: "fragment into a discovery path, no token", uri: "/mcp#/../.well-known/oauth-protected-resource"},
		{name: "fragment onto another resource", uri: "/mcp#/../admin/mcp", token: env.admin},
		{name: "fragment after the query", uri: "/mcp?x=1#/../../admin/mcp", token: env.admin},
		// Traefik routes on the encoded path (PathPrefix /mcp); /verify decoded %2F.
		{name: "encoded slash into a discovery path, no token", uri: "/mcp%2F..%2F.well-known%2Foauth-protected-resource"},
		{name: "encoded slash onto another resource", uri: "/mcp%2F..%2Fadmin%2Fmcp", token: env.admin},
		{name: "lower-case encoded slash", uri: "/mcp%2f..%2fadmin%2fmcp", token: env.admin},
		{name: "encoded dots", uri: "/mcp/%2e%2e/admin/mcp", token: env.admin},
		{name: "encoded backslash", uri: "/mcp%5C..%5Cadmin%5Cmcp", token: env.admin},
		{name: "double encoding", uri: "/mcp%252F..%252Fadmin%252Fmcp", token: env.admin},
		{name: "encoded letter", uri: "/%6Dcp", token: env.mcp},
		// Traefik without sanitizePath, and nginx, route /mcp/../x elsewhere than /mcp.
		{name: "dot segments into a discovery path, no token", uri: "/mcp/../.well-known/oauth-protected-resource"},
		{name: "dot segments onto another resource", uri: "/mcp/../admin/mcp", token: env.admin},
		{name: "single-dot segment", uri: "/./admin/mcp", token: env.admin},
		{name: "empty segment", uri: "/admin//mcp", token: env.admin},
		{name: "empty first segment", uri: "//mcp", token: env.mcp},
		{name: "backslash", uri: `/mcp\..\admin\mcp`, token: env.admin},
		{name: "semicolon path parameter", uri: "/admin;x=1/mcp", token: env.admin},
		{name: "space", uri: "/mcp /x", token: env.mcp},
		{name: "tab", uri: "/mcp\t", token: env.mcp},
		{name: "non-ASCII byte", uri: "/mcp\xc3\xa9", token: env.mcp},
		{name: "control character in the query", uri: "/mcp?a=\x01", token: env.mcp},
		{name: "absolute URI", uri: "http://mcp.example.com/admin/mcp", token: env.admin},
		{name: "asterisk", uri: "*", token: env.mcp},
		// Caddy's path matcher ignores case and trailing dots: /ADMIN/mcp and
		// /admin/mcp. reach the admin service, which the site's token must not.
		{name: "letter case of another resource", site: true, uri: "/ADMIN/mcp", token: env.root},
		{name: "letter case of a resource below", site: true, uri: "/Admin/MCP/x", token: env.root},
		{name: "letter case of a configured resource", uri: "/MCP", token: env.mcp},
		{name: "trailing dot", site: true, uri: "/admin/mcp.", token: env.root},
		// The proxy's own headers, or a client's copy of them that got through.
		{name: "URI headers disagree", uri: "/mcp", token: env.mcp, edit: func(h http.Header) {
			h.Set("X-Forwarded-Uri", "/mcp")
			h.Set("X-Original-URI", "/admin/mcp")
		}},
		{name: "URI header twice", uri: "/admin/mcp", token: env.mcp, edit: func(h http.Header) {
			for _, name := range []string{"X-Forwarded-Uri", "X-Original-Uri"} {
				if v := h.Get(name); v != "" {
					h[name] = []string{"/mcp", v}
				}
			}
		}},
		{name: "host list of different hosts", uri: "/mcp", token: env.mcp, edit: func(h http.Header) {
			h.Set("X-Forwarded-Host", "mcp.example.com, admin.example.com")
		}},
		{name: "host list of one host", uri: "/mcp", token: env.mcp, edit: func(h http.Header) {
			h.Set("X-Forwarded-Host", "mcp.example.com,mcp.example.com")
		}},
		{name: "host header twice", uri: "/mcp", token: env.mcp, edit: func(h http.Header) {
			h["X-Forwarded-Host"] = []string{"mcp.example.com", "mcp.example.com"}
		}},
		{name: "host headers disagree", uri: "/mcp", token: env.mcp, edit: func(h http.Header) {
			h.Set("X-Original-Host", "admin.example.com")
		}},
		{name: "host with a path", uri: "/mcp", token: env.admin, edit: func(h http.Header) {
			h.Set("X-Forwarded-Host", "mcp.example.com/admin")
		}},
		{name: "host with an encoded character", uri: "/mcp", token: env.mcp, edit: func(h http.Header) {
			h.Set("X-Forwarded-Host", "mcp.example.com%2e")
		}},
		{name: "host with a trailing dot", uri: "/mcp", token: env.mcp, edit: func(h http.Header) {
			h.Set("X-Forwarded-Host", "mcp.example.com.")
		}},
		{name: "host with user info", uri: "/mcp", token: env.mcp, edit: func(h http.Header) {
			h.Set("X-Forwarded-Host", "admin@mcp.example.com")
		}},
		{name: "scheme list of different schemes", uri: "/mcp", token: env.mcp, edit: func(h http.Header) {
			h.Set("X-Forwarded-Proto", "https, http")
		}},
		{name: "scheme list of one scheme", uri: "/mcp", token: env.mcp, edit: func(h http.Header) {
			h.Set("X-Forwarded-Proto", "https,https")
		}},
		{name: "method that is no token", uri: "/mcp", edit: func(h http.Header) {
			h.Set("X-Forwarded-Method", "OPTIONS, POST")
			h.Set("X-Original-Method", "OPTIONS, POST")
			h.Set("Origin", "https://claude.ai")
			h.Set("Access-Control-Request-Method", "POST")
		}},
	}
	for _, p := range proxyStyles {
		for _, c := range cases {
			t.Run(p.name+"/"+c.name, func(t *testing.T) {
				auth := ""
				if c.token != "" {
					auth = "Bearer " + c.token
				}
				r := p.build("POST", c.uri, mcpClientHeaders(auth))
				if c.edit != nil {
					c.edit(r.Header)
				}
				fa := env.services
				if c.site {
					fa = env.site
				}
				rec := serve(fa, r)
				want := http.StatusBadRequest
				if r.Header.Get("X-Original-Uri") != "" { // an nginx subrequest
					want = http.StatusForbidden
				}
				var body errorBody
				_ = json.Unmarshal(rec.Body.Bytes(), &body)
				if rec.Code != want || body.Error != ErrorInvalidRequest || rec.Header().Get(headerVerifyError) != ErrorInvalidRequest {
					t.Fatalf("%q: %d %s, want %d invalid_request", c.uri, rec.Code, rec.Body, want)
				}
				desc := rec.Header().Get(headerVerifyErrorDescription)
				if desc == "" || desc != body.Description || strings.ContainsAny(desc, "\"\\") || rec.Header().Get(HeaderUserID) != "" {
					t.Fatalf("%q: description %q, headers %v", c.uri, desc, rec.Header())
				}
				if rec.Header().Get("Access-Control-Allow-Origin") != "*" {
					t.Fatalf("%q: a browser client cannot read the refusal: %v", c.uri, rec.Header())
				}
			})
		}
	}
}

// TestForwardAuthPlainRequests: the forms every proxy reads one way still
// get their usual answer.
func TestForwardAuthPlainRequests(t *testing.T) {
	env := newAmbiguityEnv(t)
	cases := []struct {
		site        bool
		uri, token  string
		status      int
		metadataFor string // the resource named by the challenge
	}{
		{uri: "/mcp", token: env.mcp, status: 200},
		{uri: "/mcp/", token: env.mcp, status: 200},
		{uri: "/mcp/sub.dir/x-y_z~!$&'()*+,=:@", token: env.mcp, status: 200},
		{uri: "/mcp?session=%2F..%2Fadmin&a=b/c?d", token: env.mcp, status: 200},
		{uri: "/mcp?", token: env.mcp, status: 200},
		{uri: "/admin/mcp", token: env.admin, status: 200},
		{uri: "/admin/mcp", token: env.mcp, status: 401, metadataFor: "/admin/mcp"},
		{uri: "/mcp", token: env.admin, status: 401, metadataFor: "/mcp"},
		{uri: "/mcpx", token: env.mcp, status: 403},
		{uri: "/.well-known/oauth-protected-resource/mcp", status: 200},
		{uri: "/.well-known/oauth-authorization-server", status: 200},
		{site: true, uri: "/", token: env.root, status: 200},
		{site: true, uri: "/v1.2/mcp", token: env.root, status: 200},
		{site: true, uri: "/administration", token: env.root, status: 200},
		{site: true, uri: "/Other/Path", token: env.root, status: 200},
		{site: true, uri: "/admin/mcp", token: env.root, status: 401, metadataFor: "/admin/mcp"},
	}
	for _, p := range proxyStyles {
		for _, c := range cases {
			fa := env.services
			if c.site {
				fa = env.site
			}
			auth := ""
			if c.token != "" {
				auth = "Bearer " + c.token
			}
			rec := serve(fa, p.build("POST", c.uri, mcpClientHeaders(auth)))
			if rec.Code != c.status || c.status == 200 && c.token != "" && rec.Header().Get(HeaderUserID) != "4242" ||
				c.metadataFor != "" && !strings.Contains(rec.Header().Get("WWW-Authenticate"), `oauth-protected-resource`+c.metadataFor+`"`) {
				t.Errorf("%s %q: %d %q %s, want %d", p.name, c.uri, rec.Code, rec.Header().Get("WWW-Authenticate"), rec.Body, c.status)
			}
		}
	}
}

// TestForwardAuthHostForms: the host forms /verify accepts from the proxy,
// and the ones it refuses.
func TestForwardAuthHostForms(t *testing.T) {
	for host, want := range map[string]bool{
		"mcp.example.com": true, "MCP.Example.COM:8443": true, "localhost": true, "127.0.0.1:8000": true,
		"[::1]": true, "[::1]:443": true, "my_service:3000": true, "a": true,
		"": false, "mcp.example.com.": false, ".mcp.example.com": false, "a..b": false, "mcp.example.com:": false,
		"mcp.example.com:0": false, "mcp.example.com:65536": false, "mcp.example.com:1:2": false, "mcp.example.com/x": false,
		"u@mcp.example.com": false, "[::1]x": false, "[::1": false, "[fe80::1%25eth0]": false, "[127.0.0.1]": false,
		"mcp example": false, "mcp.example.com%2e": false, "::1": false, "é.example": false, strings.Repeat("a", 254): false,
	} {
		if got := validHostPort(host); got != want {
			t.Errorf("validHostPort(%q) = %v, want %v", host, got, want)
		}
	}
}

// TestCheckOriginPath: linear in the path's length; the same answers as
// the table of TestForwardAuthAmbiguous at the level of the path alone.
func TestCheckOriginPath(t *testing.T) {
	for p, ok := range map[string]bool{
		"/": true, "/mcp": true, "/mcp/": true, "/svc/mcp": true, "/a.b/c": true, "/v1.2/mcp": true, "/...x": true,
		"//mcp": false, "/a//b": false, "/.": false, "/..": false, "/a/./b": false, "/a/../b": false, "/a/..": false,
		"/...": false, "/a.": false, "/a%2Fb": false, "/a b": false, "/é": false, "/a#b": false, `/a\b`: false, "/a;b": false,
		"/a|b": false, "/a{b}": false, "/a\x7f": false, "/a\x00": false,
	} {
		if err := checkOriginPath(p); (err == nil) != ok {
			t.Errorf("checkOriginPath(%q) = %v, want ok %v", p, err, ok)
		}
	}
	if checkOriginPath("/"+strings.Repeat(".", 1<<20)) == nil {
		t.Fatal("a megabyte of dots is accepted")
	}
	if err := checkOriginPath("/" + strings.Repeat("a./", 1<<19)); err != nil {
		t.Fatalf("a megabyte of a./ is refused: %v", err)
	}
}

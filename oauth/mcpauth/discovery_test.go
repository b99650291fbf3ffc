package mcpauth

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"testing"
)

func TestBearerChallenge(t *testing.T) {
	for _, tc := range []struct {
		name, header string
		ok           bool
		want         Challenge
	}{
		{"resource metadata and scope", `Bearer resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp", scope="mcp files:read"`, true,
			Challenge{ResourceMetadata: "https://mcp.example.com/.well-known/oauth-protected-resource/mcp", Scope: "mcp files:read"}},
		{"error first, case-insensitive scheme", `bearer error="insufficient_scope", scope="a b", error_description="needs \"b\""`, true,
			Challenge{Error: "insufficient_scope", Scope: "a b", Description: `needs "b"`}},
		{"token values", `Bearer error=invalid_token,scope=mcp`, true, Challenge{Error: "invalid_token", Scope: "mcp"}},
		{"after another scheme with token68", `Basic YWxhZGRpbjpvcGVuc2VzYW1l==, Bearer scope="x"`, true, Challenge{Scope: "x"}},
		{"after another scheme with params", `Digest realm="a", nonce="b", Bearer realm="c", resource_metadata="https://r/x"`, true, Challenge{ResourceMetadata: "https://r/x"}},
		{"bare", `Bearer`, true, Challenge{}},
		{"duplicate param keeps first", `Bearer scope="a", scope="b"`, true, Challenge{Scope: "a"}},
		{"no bearer", `Basic realm="x"`, false, Challenge{}},
		{"unterminated quote", `Bearer scope="a`, true, Challenge{}},
		{"empty", ``, false, Challenge{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			h.Set("WWW-Authenticate", tc.header)
			c, ok := BearerChallenge(h)
			if ok != tc.ok || (ok && *c != tc.want) {
				t.Fatalf("got %+v %v, want %+v %v", c, ok, tc.want, tc.ok)
			}
		})
	}
}

func FuzzBearerChallenge(f *testing.F) {
	f.Add(`Bearer resource_metadata="https://a/b", scope="x y"`)
	f.Add(`Basic abc==, Bearer error="insufficient_scope"`)
	f.Add(`Bearer a=b, , c="d\"e", Negotiate`)
	f.Fuzz(func(t *testing.T, s string) {
		h := http.Header{"Www-Authenticate": {s}}
		if c, ok := BearerChallenge(h); ok {
			_ = c.Scopes()
		}
	})
}

func TestResourceCovers(t *testing.T) {
	for _, tc := range []struct {
		resource, server string
		want             bool
	}{
		{"https://mcp.example.com/mcp", "https://mcp.example.com/mcp", true},
		{"https://mcp.example.com", "https://mcp.example.com/mcp", true},
		{"https://mcp.example.com/", "https://mcp.example.com/mcp", true},
		{"https://MCP.example.com:443/mcp", "https://mcp.example.com/mcp", true},
		{"https://mcp.example.com/mcp", "https://mcp.example.com/mcp/sub", true},
		{"https://mcp.example.com/mc", "https://mcp.example.com/mcp", false},
		{"https://mcp.example.com/other", "https://mcp.example.com/mcp", false},
		{"https://evil.example.com/mcp", "https://mcp.example.com/mcp", false},
		{"http://mcp.example.com/mcp", "https://mcp.example.com/mcp", false},
		{"https://mcp.example.com:8443/mcp", "https://mcp.example.com/mcp", false},
		{"https://mcp.example.com/mcp#x", "https://mcp.example.com/mcp", false},
	} {
		s, _ := url.Parse(tc.server)
		if got := resourceCovers(tc.resource, s); got != tc.want {
			t.Errorf("resourceCovers(%q, %q) = %v", tc.resource, tc.server, got)
		}
	}
}

func TestMetadataURLsInSpecOrder(t *testing.T) {
	u, _ := url.Parse("https://mcp.example.com/public/mcp")
	if got := resourceMetadataURLs(u); !slices.Equal(got, []string{
		"https://mcp.example.com/.well-known/oauth-protected-resource/public/mcp",
		"https://mcp.example.com/.well-known/oauth-protected-resource",
	}) {
		t.Errorf("resource: %q", got)
	}
	iss, _ := url.Parse("https://auth.example.com/tenant1")
	if got := serverMetadataURLs(iss); !slices.Equal(got, []string{
		"https://auth.example.com/.well-known/oauth-authorization-server/tenant1",
		"https://auth.example.com/.well-known/openid-configuration/tenant1",
		"https://auth.example.com/tenant1/.well-known/openid-configuration",
	}) {
		t.Errorf("server with path: %q", got)
	}
	root, _ := url.Parse("https://auth.example.com")
	if got := serverMetadataURLs(root); !slices.Equal(got, []string{
		"https://auth.example.com/.well-known/oauth-authorization-server",
		"https://auth.example.com/.well-known/openid-configuration",
	}) {
		t.Errorf("server: %q", got)
	}
}

// The client refuses an authorization server that does not offer S256,
// one whose metadata names another issuer, and resource metadata for
// another resource.
func TestDiscoveryRefusals(t *testing.T) {
	var srvURL string
	meta := map[string]any{}
	prm := map[string]any{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/.well-known/oauth-authorization-server":
			json.NewEncoder(w).Encode(meta)
		case "/.well-known/oauth-protected-resource/mcp":
			json.NewEncoder(w).Encode(prm)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	srvURL = srv.URL
	base := func() map[string]any {
		return map[string]any{"issuer": srvURL, "authorization_endpoint": srvURL + "/authorize", "token_endpoint": srvURL + "/token",
			"code_challenge_methods_supported": []string{"S256"}}
	}
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		mod  func(m, p map[string]any)
		want error
	}{
		{"plain only", func(m, p map[string]any) { m["code_challenge_methods_supported"] = []string{"plain"} }, ErrNoPKCE},
		{"no methods listed", func(m, p map[string]any) { delete(m, "code_challenge_methods_supported") }, ErrNoPKCE},
		{"issuer mismatch", func(m, p map[string]any) { m["issuer"] = "https://attacker.example.com" }, ErrIssuerMismatch},
		{"issuer trailing slash", func(m, p map[string]any) { m["issuer"] = srvURL + "/" }, ErrIssuerMismatch},
		{"resource mismatch", func(m, p map[string]any) { p["resource"] = "https://evil.example.com/mcp" }, ErrResourceMismatch},
		{"good", func(m, p map[string]any) {}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clear(meta)
			for k, v := range base() {
				meta[k] = v
			}
			clear(prm)
			prm["resource"], prm["authorization_servers"] = srvURL+"/mcp", []string{srvURL}
			tc.mod(meta, prm)
			tr, err := NewTransport(srvURL+"/mcp", nil)
			if err != nil {
				t.Fatal(err)
			}
			_, err = tr.discover(ctx, nil)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

// The authorization response checks: state, RFC 9207 iss (exact, and
// required when advertised), error responses.
func TestFlowExchangeChecks(t *testing.T) {
	tr, _ := NewTransport("https://mcp.example.com/mcp", &Options{ClientID: "c"})
	mk := func(issSupported bool) *Flow {
		md := &ServerMetadata{Issuer: "https://auth.example.com", AuthorizationEndpoint: "https://auth.example.com/authorize",
			TokenEndpoint: "https://auth.example.com/token", AuthorizationResponseIssParameterSupported: issSupported}
		return &Flow{t: tr, d: &discovery{md: md, resource: "https://mcp.example.com/mcp"}}
	}
	state := func(f *Flow) string {
		u, err := f.AuthCodeURL(context.Background(), "http://127.0.0.1:9/callback")
		if err != nil {
			t.Fatal(err)
		}
		pu, _ := url.Parse(u)
		q := pu.Query()
		if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("resource") != "https://mcp.example.com/mcp" {
			t.Fatalf("authorization URL %s", u)
		}
		return q.Get("state")
	}
	for _, tc := range []struct {
		name         string
		issSupported bool
		params       func(st string) url.Values
		want         error
	}{
		{"unknown state", false, func(string) url.Values { return url.Values{"state": {"other"}, "code": {"x"}} }, ErrState},
		{"wrong iss", false, func(st string) url.Values {
			return url.Values{"state": {st}, "code": {"x"}, "iss": {"https://evil.example.com"}}
		}, ErrIss},
		{"iss not normalized", true, func(st string) url.Values {
			return url.Values{"state": {st}, "code": {"x"}, "iss": {"https://auth.example.com/"}}
		}, ErrIss},
		{"iss missing but advertised", true, func(st string) url.Values { return url.Values{"state": {st}, "code": {"x"}} }, ErrIss},
		{"denied", false, func(st string) url.Values { return url.Values{"state": {st}, "error": {"access_denied"}} }, ErrDenied},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := mk(tc.issSupported)
			st := state(f)
			_, err := f.Exchange(context.Background(), tc.params(st))
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestPastedParams(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"http://127.0.0.1:3000/callback?code=abc&state=xyz&iss=https%3A%2F%2Fa", true},
		{"?code=abc&state=xyz", true},
		{"code=abc&state=xyz", true},
		{"http://127.0.0.1:3000/callback?error=access_denied&state=xyz", true},
		{"http://127.0.0.1:3000/callback", false},
		{"hello", false},
		{"", false},
	} {
		if _, ok := pastedParams(tc.in); ok != tc.ok {
			t.Errorf("pastedParams(%q) ok = %v", tc.in, ok)
		}
	}
}

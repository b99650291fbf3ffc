package oauth

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func TestMetadata(t *testing.T) {
	for _, path := range []string{"", "/auth"} {
		t.Run("issuer path "+path, func(t *testing.T) {
			e := newEnv(t, withIssuerPath(path))
			if !strings.HasSuffix(e.issuer, path) || strings.HasSuffix(e.issuer, "/") {
				t.Fatalf("issuer %q", e.issuer)
			}
			origin := strings.TrimSuffix(e.issuer, path)
			urls := []string{origin + "/.well-known/oauth-authorization-server" + path, origin + "/.well-known/openid-configuration" + path}
			if path != "" {
				urls = append(urls, e.issuer+"/.well-known/oauth-authorization-server", e.issuer+"/.well-known/openid-configuration")
			}
			for _, u := range urls {
				resp, body := e.get(u)
				if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
					t.Fatalf("%s: %d %s", u, resp.StatusCode, resp.Header.Get("Content-Type"))
				}
				var m map[string]any
				if err := json.Unmarshal(body, &m); err != nil {
					t.Fatal(err)
				}
				if m["issuer"] != e.issuer || m["authorization_endpoint"] != e.issuer+"/authorize" || m["token_endpoint"] != e.issuer+"/token" ||
					m["registration_endpoint"] != e.issuer+"/register" || m["jwks_uri"] != e.issuer+"/jwks" {
					t.Fatalf("%s: %v", u, m)
				}
				if cm := m["code_challenge_methods_supported"].([]any); len(cm) != 1 || cm[0] != "S256" {
					t.Fatalf("PKCE methods %v", cm)
				}
				if m["authorization_response_iss_parameter_supported"] != true {
					t.Fatal("iss parameter not advertised")
				}
				if resp.Header.Get("Access-Control-Allow-Origin") != "*" {
					t.Fatal("metadata without CORS")
				}
			}
			// Every advertised endpoint answers (not 404).
			resp, body := e.get(urls[0])
			_ = resp
			var m map[string]any
			_ = json.Unmarshal(body, &m)
			for _, k := range []string{"token_endpoint", "registration_endpoint", "revocation_endpoint", "introspection_endpoint", "device_authorization_endpoint"} {
				resp, _ := e.postForm(strings.TrimPrefix(str(m[k]), e.issuer), nil)
				if resp.StatusCode == 404 || resp.StatusCode == 405 {
					t.Errorf("%s %s: %d", k, m[k], resp.StatusCode)
				}
			}
			if resp, _ := e.get(str(m["jwks_uri"])); resp.StatusCode != 200 {
				t.Errorf("jwks: %d", resp.StatusCode)
			}
			// A full flow works under the path.
			c := e.register(nil)
			if tok := e.tokens(c, nil); str(tok["access_token"]) == "" {
				t.Fatal("no token")
			}
		})
	}
}

func TestSecurityHeadersAndCORS(t *testing.T) {
	e := newEnv(t)
	for _, path := range []string{"/.well-known/oauth-authorization-server", "/jwks", "/authorize", "/nope"} {
		resp, _ := e.get(e.issuer + path)
		for h, want := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer"} {
			if resp.Header.Get(h) != want {
				t.Errorf("%s: %s = %q", path, h, resp.Header.Get(h))
			}
		}
		if !strings.Contains(resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
			t.Errorf("%s: CSP %q", path, resp.Header.Get("Content-Security-Policy"))
		}
	}
	// Preflight for a browser-based client.
	req, _ := http.NewRequest("OPTIONS", e.issuer+"/token", nil)
	req.Header.Set("Origin", "http://localhost:6274")
	req.Header.Set("Access-Control-Request-Method", "POST")
	resp, _ := e.do(req)
	if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Origin") != "*" || !strings.Contains(resp.Header.Get("Access-Control-Allow-Methods"), "POST") {
		t.Fatalf("preflight: %d %v", resp.StatusCode, resp.Header)
	}
	// The pages are not for other origins.
	resp, _ = e.get(e.issuer + "/authorize")
	if resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatal("authorization endpoint allows cross-origin reads")
	}
}

func TestNewServerValidation(t *testing.T) {
	st := NewMemoryStore(nil)
	defer st.Close()
	d, _ := NewDevLogin(nil)
	base := func() *Options {
		return &Options{SigningKey: testKey, SigningAlgorithm: ES256, Logger: discardLogger()}
	}
	bad := map[string]struct {
		issuer string
		opts   *Options
	}{
		"relative issuer":      {"/auth", base()},
		"issuer with query":    {"https://a.example.com?x=1", base()},
		"issuer with fragment": {"https://a.example.com#x", base()},
		"http public issuer":   {"http://auth.example.com", base()},
		"ftp issuer":           {"ftp://auth.example.com", base()},
		"long code lifetime":   {"http://127.0.0.1:1", func() *Options { o := base(); o.CodeLifetime = 11 * 60e9; return o }()},
		"bad scope":            {"http://127.0.0.1:1", func() *Options { o := base(); o.Scopes = []string{"a b"}; return o }()},
		"bad resource":         {"http://127.0.0.1:1", func() *Options { o := base(); o.Resources = []string{"/x"}; return o }()},
		"key for another alg":  {"http://127.0.0.1:1", func() *Options { o := base(); o.SigningAlgorithm = RS256; return o }()},
		"unknown alg":          {"http://127.0.0.1:1", &Options{SigningAlgorithm: "HS256"}},
	}
	for name, tc := range bad {
		if _, err := NewServer(t.Context(), tc.issuer, st, d, tc.opts); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := NewServer(t.Context(), "http://127.0.0.1:1", nil, d, base()); err == nil {
		t.Error("nil store accepted")
	}
	if _, err := NewServer(t.Context(), "http://127.0.0.1:1", st, nil, base()); err == nil {
		t.Error("nil identity provider accepted")
	}
	s, err := NewServer(t.Context(), "https://auth.example.com/", st, d2(t), base())
	if err != nil || s.Issuer() != "https://auth.example.com" {
		t.Fatalf("trailing slash: %v %v", s, err)
	}
}

func d2(t *testing.T) IdentityProvider {
	d, err := NewDevLogin(&DevLoginOptions{AllowPublicIssuer: true})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

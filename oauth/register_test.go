package oauth

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestRegisterValidation(t *testing.T) {
	e := newEnv(t, withOptions(func(o *Options) {
		o.RegistrationLimit = -1
		o.RedirectSchemes = []string{"cursor"}
	}))
	base := func(mod func(m map[string]any)) map[string]any {
		m := map[string]any{"client_name": "x", "redirect_uris": []string{"https://app.example.com/cb"}}
		mod(m)
		return m
	}
	redirect := func(uris ...string) map[string]any {
		return base(func(m map[string]any) { m["redirect_uris"] = uris })
	}
	bad := []struct {
		name string
		meta any
		code string
	}{
		{"no redirect_uris", base(func(m map[string]any) { delete(m, "redirect_uris") }), "invalid_redirect_uri"},
		{"empty redirect_uris", redirect(), "invalid_redirect_uri"},
		{"javascript", redirect("javascript:alert(1)"), "invalid_redirect_uri"},
		{"data", redirect("data:text/html,<script>alert(1)</script>"), "invalid_redirect_uri"},
		{"file", redirect("file:///etc/passwd"), "invalid_redirect_uri"},
		{"fragment", redirect("https://app.example.com/cb#frag"), "invalid_redirect_uri"},
		{"empty fragment", redirect("https://app.example.com/cb#"), "invalid_redirect_uri"},
		{"http non-loopback", redirect("http://app.example.com/cb"), "invalid_redirect_uri"},
		{"localhost prefix trick", redirect("http://localhost.evil.com/cb"), "invalid_redirect_uri"},
		{"127 prefix trick", redirect("http://127.0.0.1.nip.io/cb"), "invalid_redirect_uri"},
		{"localhost userinfo trick", redirect("http://localhost@evil.com/cb"), "invalid_redirect_uri"},
		{"relative", redirect("/cb"), "invalid_redirect_uri"},
		{"private scheme not reverse-domain", redirect("myapp:/cb"), "invalid_redirect_uri"},
		{"https without host", redirect("https:///cb"), "invalid_redirect_uri"},
		{"space", redirect("https://app.example.com/c b"), "invalid_redirect_uri"},
		{"too many", redirect(strings.Split(strings.Repeat("https://a.example.com/cb,", 21), ",")[:21]...), "invalid_redirect_uri"},
		{"grant implicit", base(func(m map[string]any) { m["grant_types"] = []string{"implicit"} }), "invalid_client_metadata"},
		{"grant password", base(func(m map[string]any) { m["grant_types"] = []string{"password"} }), "invalid_client_metadata"},
		{"response token", base(func(m map[string]any) { m["response_types"] = []string{"token"} }), "invalid_client_metadata"},
		{"response code without the code grant", base(func(m map[string]any) {
			m["grant_types"] = []string{GrantTypeDeviceCode}
			m["response_types"] = []string{"code"}
		}), ""},
		{"only refresh_token", base(func(m map[string]any) { m["grant_types"] = []string{"refresh_token"} }), ""},
		{"auth method private_key_jwt", base(func(m map[string]any) { m["token_endpoint_auth_method"] = "private_key_jwt" }), "invalid_client_metadata"},
		{"jwks_uri", base(func(m map[string]any) { m["jwks_uri"] = "https://app.example.com/jwks" }), "invalid_client_metadata"},
		{"application_type", base(func(m map[string]any) { m["application_type"] = "desktop" }), "invalid_client_metadata"},
		{"unknown scope", base(func(m map[string]any) { m["scope"] = "mcp admin" }), "invalid_client_metadata"},
		{"wrong type", base(func(m map[string]any) { m["redirect_uris"] = "https://app.example.com/cb" }), "invalid_client_metadata"},
		{"client_name control chars", base(func(m map[string]any) { m["client_name"] = "a\nb" }), "invalid_client_metadata"},
		{"client_name too long", base(func(m map[string]any) { m["client_name"] = strings.Repeat("a", 201) }), "invalid_client_metadata"},
		{"logo_uri javascript", base(func(m map[string]any) { m["logo_uri"] = "javascript:alert(1)" }), "invalid_client_metadata"},
		{"client_uri http", base(func(m map[string]any) { m["client_uri"] = "http://evil.example.com" }), "invalid_client_metadata"},
		{"array body", []any{1}, "invalid_client_metadata"},
		{"not json", "{", "invalid_client_metadata"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			resp, m := e.postJSON("POST", "/register", tc.meta, "")
			code := tc.code
			if code == "" {
				code = "invalid_client_metadata"
			}
			wantOAuthError(t, resp, m, 400, code)
		})
	}

	good := []struct {
		name string
		meta map[string]any
	}{
		{"loopback any host form", redirect("http://localhost:3000/cb", "http://127.0.0.1/cb", "http://[::1]:8080/cb")},
		{"reverse-domain scheme", redirect("com.example.app:/oauth2redirect")},
		{"allowed extra scheme", redirect("cursor://anysphere.cursor-retrieval/oauth/callback")},
		{"query kept", redirect("https://app.example.com/cb?x=1")},
		{"device only", base(func(m map[string]any) {
			delete(m, "redirect_uris")
			m["grant_types"] = []string{GrantTypeDeviceCode}
		})},
	}
	for _, tc := range good {
		t.Run(tc.name, func(t *testing.T) {
			resp, m := e.postJSON("POST", "/register", tc.meta, "")
			if resp.StatusCode != 201 {
				t.Fatalf("status %d: %v", resp.StatusCode, m)
			}
		})
	}
}

func TestRegisterResponse(t *testing.T) {
	e := newEnv(t, withOptions(func(o *Options) { o.ClientLifetime = 24 * time.Hour }))
	resp, m := e.postJSON("POST", "/register", map[string]any{
		"client_name": "Confidential", "redirect_uris": []string{"https://app.example.com/cb"},
		"token_endpoint_auth_method": "client_secret_post", "x_vendor_extension": map[string]any{"a": 1},
		"client_id": "chosen-by-client", "software_id": "sw",
	}, "")
	if resp.StatusCode != 201 {
		t.Fatalf("status %d: %v", resp.StatusCode, m)
	}
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Error("registration response may be cached")
	}
	if m["client_id"] == "chosen-by-client" || str(m["client_secret"]) == "" || !strings.HasPrefix(str(m["client_secret"]), prefixClientSecret) {
		t.Errorf("credentials: %v", m)
	}
	if m["client_secret_expires_at"].(float64) != float64(e.clock.Now().Add(24*time.Hour).Unix()) {
		t.Errorf("client_secret_expires_at = %v", m["client_secret_expires_at"])
	}
	// Defaults filled in and the extension kept.
	if g := m["grant_types"].([]any); len(g) != 2 || g[0] != "authorization_code" || g[1] != "refresh_token" {
		t.Errorf("grant_types = %v", g)
	}
	if m["response_types"].([]any)[0] != "code" || m["application_type"] != "web" {
		t.Errorf("defaults: %v", m)
	}
	if ext, _ := m["x_vendor_extension"].(map[string]any); ext["a"] != float64(1) {
		t.Errorf("extension field lost: %v", m)
	}
	// Nothing secret is stored in plain text.
	c, err := e.store.GetClient(t.Context(), str(m["client_id"]))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(c)
	for _, secret := range []string{str(m["client_secret"]), str(m["registration_access_token"])} {
		if strings.Contains(string(raw), secret) {
			t.Errorf("store holds a secret in plain text")
		}
	}
	// The client expires with CLIENT_LIFETIME.
	e.clock.Advance(24*time.Hour + time.Second)
	if _, err := e.store.GetClient(t.Context(), str(m["client_id"])); err == nil {
		t.Error("client outlived its lifetime")
	}
}

func TestRegisterLimits(t *testing.T) {
	t.Run("rate limit per IP", func(t *testing.T) {
		e := newEnv(t, withOptions(func(o *Options) { o.RegistrationLimit = 3 }))
		for i := 0; i < 3; i++ {
			e.register(nil)
		}
		resp, m := e.postJSON("POST", "/register", map[string]any{"redirect_uris": []string{"https://a.example.com/cb"}}, "")
		wantOAuthError(t, resp, m, 429, ErrorTooManyRequests)
		if resp.Header.Get("Retry-After") == "" {
			t.Error("no Retry-After")
		}
		e.clock.Advance(DefaultRegistrationWindow + time.Second)
		e.register(nil)
	})
	t.Run("oversized body", func(t *testing.T) {
		e := newEnv(t)
		big := `{"client_name":"` + strings.Repeat("a", DefaultMaxBodyBytes) + `","redirect_uris":["https://a.example.com/cb"]}`
		resp, m := e.postJSON("POST", "/register", big, "")
		wantOAuthError(t, resp, m, 413, "invalid_client_metadata")
	})
	t.Run("wrong content type", func(t *testing.T) {
		e := newEnv(t)
		resp, m := e.postForm("/register", url.Values{"redirect_uris": {"https://a.example.com/cb"}})
		wantOAuthError(t, resp, m, 400, "invalid_client_metadata")
	})
	t.Run("initial access token", func(t *testing.T) {
		e := newEnv(t, withOptions(func(o *Options) { o.InitialAccessToken = "let-me-in" }))
		meta := map[string]any{"redirect_uris": []string{"https://a.example.com/cb"}}
		resp, m := e.postJSON("POST", "/register", meta, "")
		wantOAuthError(t, resp, m, 401, "invalid_token")
		resp, m = e.postJSON("POST", "/register", meta, "wrong")
		wantOAuthError(t, resp, m, 401, "invalid_token")
		if resp, _ := e.postJSON("POST", "/register", meta, "let-me-in"); resp.StatusCode != 201 {
			t.Fatalf("with the token: %d", resp.StatusCode)
		}
	})
}

// TestClientManagement covers RFC 7592: read, update, delete with the
// registration access token.
func TestClientManagement(t *testing.T) {
	e := newEnv(t)
	c := e.register(nil)
	other := e.register(nil)
	path := "/register/" + c.ID

	t.Run("wrong or missing token", func(t *testing.T) {
		for _, tok := range []string{"", "wrong", other.RegToken, c.RegToken + "x"} {
			for _, method := range []string{"GET", "PUT", "DELETE"} {
				resp, m := e.postJSON(method, path, map[string]any{"client_id": c.ID, "redirect_uris": []string{c.Redirect}}, tok)
				wantOAuthError(t, resp, m, 401, "invalid_token")
			}
		}
	})
	t.Run("unknown client answers like a wrong token", func(t *testing.T) {
		resp, m := e.postJSON("GET", "/register/nope", nil, c.RegToken)
		wantOAuthError(t, resp, m, 401, "invalid_token")
	})
	t.Run("read", func(t *testing.T) {
		resp, m := e.postJSON("GET", path, nil, c.RegToken)
		if resp.StatusCode != 200 || m["client_id"] != c.ID || m["client_name"] != "Test Client" || m["client_secret"] != nil {
			t.Fatalf("read: %d %v", resp.StatusCode, m)
		}
	})
	t.Run("update validates", func(t *testing.T) {
		resp, m := e.postJSON("PUT", path, map[string]any{"client_id": c.ID, "redirect_uris": []string{"javascript:alert(1)"}}, c.RegToken)
		wantOAuthError(t, resp, m, 400, "invalid_redirect_uri")
		resp, m = e.postJSON("PUT", path, map[string]any{"client_id": "someone-else", "redirect_uris": []string{c.Redirect}}, c.RegToken)
		wantOAuthError(t, resp, m, 400, "invalid_request")
		resp, m = e.postJSON("PUT", path, map[string]any{"redirect_uris": []string{c.Redirect}}, c.RegToken)
		wantOAuthError(t, resp, m, 400, "invalid_request")
	})
	t.Run("update replaces", func(t *testing.T) {
		resp, m := e.postJSON("PUT", path, map[string]any{"client_id": c.ID, "client_name": "Renamed",
			"redirect_uris": []string{"http://127.0.0.1:7777/new"}, "token_endpoint_auth_method": "none"}, c.RegToken)
		if resp.StatusCode != 200 || m["client_name"] != "Renamed" {
			t.Fatalf("update: %d %v", resp.StatusCode, m)
		}
		got, _ := e.store.GetClient(t.Context(), c.ID)
		if got.Metadata.ClientName != "Renamed" || got.Metadata.RedirectURIs[0] != "http://127.0.0.1:7777/new" {
			t.Fatalf("stored: %+v", got.Metadata)
		}
		// The old redirect URI is gone.
		_, ch := pkcePair()
		resp, _ = e.get(e.issuer + "/authorize?" + authQuery(c, ch, nil).Encode())
		if resp.StatusCode != 400 || resp.Header.Get("Location") != "" {
			t.Fatalf("old redirect URI still accepted: %d", resp.StatusCode)
		}
	})
	t.Run("public client becomes confidential", func(t *testing.T) {
		resp, m := e.postJSON("PUT", path, map[string]any{"client_id": c.ID, "redirect_uris": []string{"http://127.0.0.1:7777/new"},
			"token_endpoint_auth_method": "client_secret_basic"}, c.RegToken)
		if resp.StatusCode != 200 || !strings.HasPrefix(str(m["client_secret"]), prefixClientSecret) {
			t.Fatalf("update: %d %v", resp.StatusCode, m)
		}
	})
}

func TestClientDeleteRevokesTokens(t *testing.T) {
	e := newEnv(t)
	c := e.register(nil)
	tok := e.tokens(c, nil)
	resp, _ := e.postJSON("DELETE", "/register/"+c.ID, nil, c.RegToken)
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("delete: %d", resp.StatusCode)
	}
	if _, err := e.srv.VerifyAccessToken(t.Context(), str(tok["access_token"])); err == nil {
		t.Error("access token of a deleted client still verifies")
	}
	if _, err := e.store.GetRefresh(t.Context(), c.ID, hashSecret(str(tok["refresh_token"]))); err == nil {
		t.Error("refresh token of a deleted client still stored")
	}
	resp, m := e.refresh(c, str(tok["refresh_token"]), nil)
	wantOAuthError(t, resp, m, 401, "invalid_client")
	resp, m = e.postJSON("GET", "/register/"+c.ID, nil, c.RegToken)
	wantOAuthError(t, resp, m, 401, "invalid_token")
}

// TestRegisterLimitBehindProxy: with TrustProxyHeaders the limit counts
// the address the proxy reports, not the proxy's own.
func TestRegisterLimitBehindProxy(t *testing.T) {
	e := newEnv(t, withOptions(func(o *Options) {
		o.RegistrationLimit = 1
		o.TrustProxyHeaders = true
	}))
	post := func(xff string) int {
		req, _ := http.NewRequest("POST", e.issuer+"/register", strings.NewReader(`{"redirect_uris":["https://a.example.com/cb"]}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Forwarded-For", xff)
		resp, _ := e.do(req)
		return resp.StatusCode
	}
	if post("203.0.113.7") != 201 || post("203.0.113.8") != 201 {
		t.Fatal("distinct clients behind the proxy share a quota")
	}
	if post("198.51.100.1, 203.0.113.7") != 429 {
		t.Fatal("a spoofed left-most entry escaped the limit")
	}
}

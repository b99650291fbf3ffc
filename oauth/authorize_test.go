package oauth

import (
	"bytes"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
)

// returnLink is the href of the error page's link back to the client, ""
// when it has none.
func returnLink(t *testing.T, page []byte) string {
	t.Helper()
	doc, err := goquery.NewDocumentFromReader(bytes.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	href, _ := doc.Find("a").First().Attr("href")
	return href
}

// TestAuthorizeErrors: no authorization error reaches the client without
// the user (RFC 9700 §4.11.2). Untrusted clients, redirect URIs and
// malformed requests get a page; a well-formed request the server refuses
// gets a page with a link back to the client carrying the error, or, to a
// loopback redirect URI, the redirect itself.
func TestAuthorizeErrors(t *testing.T) {
	e := newEnv(t, withOptions(func(o *Options) { o.Resources = []string{"https://mcp.example.com/"} }))
	loopback := e.register(nil)
	web := e.register(map[string]any{"redirect_uris": []string{"https://app.example.com/cb"}, "token_endpoint_auth_method": "none"})
	private := e.register(map[string]any{"redirect_uris": []string{"com.example.app:/cb"}, "token_endpoint_auth_method": "none"})
	multi := e.register(map[string]any{"redirect_uris": []string{"https://a.example.com/1", "https://a.example.com/2"}, "token_endpoint_auth_method": "none"})
	deviceOnly := e.register(map[string]any{"redirect_uris": []string{"https://d.example.com/cb"}, "grant_types": []string{GrantTypeDeviceCode}, "token_endpoint_auth_method": "none"})
	deviceNoRedirect := e.register(map[string]any{"grant_types": []string{GrantTypeDeviceCode}, "token_endpoint_auth_method": "none"})
	_, ch := pkcePair()
	q := func(c registered, mod func(url.Values)) url.Values {
		v := authQuery(c, ch, nil)
		mod(v)
		return v
	}

	// The untrusted and the malformed: a page, no link, for every kind of
	// redirect URI.
	untrusted := []struct {
		name string
		mod  func(c registered) url.Values
	}{
		{"no client_id", func(c registered) url.Values { return q(c, func(v url.Values) { v.Del("client_id") }) }},
		{"unknown client", func(c registered) url.Values { return q(c, func(v url.Values) { v.Set("client_id", "nope") }) }},
		{"redirect path prefix", func(c registered) url.Values {
			return q(c, func(v url.Values) { v.Set("redirect_uri", c.Redirect+"/more") })
		}},
		{"redirect other host", func(c registered) url.Values {
			return q(c, func(v url.Values) { v.Set("redirect_uri", "https://evil.example.com/cb") })
		}},
		{"redirect extra query", func(c registered) url.Values {
			return q(c, func(v url.Values) { v.Set("redirect_uri", c.Redirect+"?x=1") })
		}},
		{"redirect fragment", func(c registered) url.Values {
			return q(c, func(v url.Values) { v.Set("redirect_uri", c.Redirect+"#x") })
		}},
		{"repeated parameter", func(c registered) url.Values { return q(c, func(v url.Values) { v.Add("state", "again") }) }},
		{"repeated redirect_uri", func(c registered) url.Values { return q(c, func(v url.Values) { v.Add("redirect_uri", c.Redirect) }) }},
		{"no code_challenge", func(c registered) url.Values { return q(c, func(v url.Values) { v.Del("code_challenge") }) }},
		{"PKCE plain", func(c registered) url.Values {
			return q(c, func(v url.Values) { v.Set("code_challenge_method", "plain") })
		}},
		{"no challenge method", func(c registered) url.Values { return q(c, func(v url.Values) { v.Del("code_challenge_method") }) }},
		{"malformed challenge", func(c registered) url.Values { return q(c, func(v url.Values) { v.Set("code_challenge", "short") }) }},
		{"challenge bad characters", func(c registered) url.Values {
			return q(c, func(v url.Values) { v.Set("code_challenge", strings.Repeat("+", 43)) })
		}},
		{"response_type token", func(c registered) url.Values { return q(c, func(v url.Values) { v.Set("response_type", "token") }) }},
		{"no response_type", func(c registered) url.Values { return q(c, func(v url.Values) { v.Del("response_type") }) }},
		{"request object", func(c registered) url.Values { return q(c, func(v url.Values) { v.Set("request", "eyJ...") }) }},
		{"request_uri", func(c registered) url.Values {
			return q(c, func(v url.Values) { v.Set("request_uri", "https://x.example/r") })
		}},
		{"response_mode fragment", func(c registered) url.Values { return q(c, func(v url.Values) { v.Set("response_mode", "fragment") }) }},
		{"oversized state", func(c registered) url.Values {
			return q(c, func(v url.Values) { v.Set("state", strings.Repeat("s", maxStateLen+1)) })
		}},
	}
	for _, c := range []registered{loopback, web, private} {
		for _, tc := range untrusted {
			t.Run("page/"+redirectHost(c.Redirect)+"/"+tc.name, func(t *testing.T) {
				resp, body := e.get(e.issuer + "/authorize?" + tc.mod(c).Encode())
				if resp.StatusCode != 400 || resp.Header.Get("Location") != "" {
					t.Fatalf("status %d location %q", resp.StatusCode, resp.Header.Get("Location"))
				}
				if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(string(body), "Sign-in failed") {
					t.Fatalf("not an error page: %s", body)
				}
				if link := returnLink(t, body); link != "" {
					t.Fatalf("the page links to %s", link)
				}
			})
		}
	}
	for name, query := range map[string]url.Values{
		"redirect omitted with several registered": q(multi, func(v url.Values) { v.Del("redirect_uri") }),
		"device client without redirect URIs":      q(deviceNoRedirect, func(v url.Values) { v.Set("redirect_uri", "https://x.example.com/cb") }),
	} {
		t.Run("page/"+name, func(t *testing.T) {
			resp, body := e.get(e.issuer + "/authorize?" + query.Encode())
			if resp.StatusCode != 400 || resp.Header.Get("Location") != "" || returnLink(t, body) != "" {
				t.Fatalf("status %d location %q", resp.StatusCode, resp.Header.Get("Location"))
			}
		})
	}

	// Well-formed requests the server refuses.
	refused := []struct {
		name   string
		client registered
		mod    func(url.Values)
		code   string
	}{
		{"unknown scope", web, func(v url.Values) { v.Set("scope", "mcp admin") }, "invalid_scope"},
		{"malformed scope", web, func(v url.Values) { v.Set("scope", `mcp "x"`) }, "invalid_scope"},
		{"relative resource", web, func(v url.Values) { v.Set("resource", "/mcp") }, "invalid_target"},
		{"resource with fragment", web, func(v url.Values) { v.Set("resource", "https://mcp.example.com/mcp#x") }, "invalid_target"},
		{"resource not served", web, func(v url.Values) { v.Set("resource", "https://other.example.com/mcp") }, "invalid_target"},
		{"client without the code grant", deviceOnly, func(url.Values) {}, "unauthorized_client"},
		{"private-use scheme", private, func(v url.Values) { v.Set("scope", "admin") }, "invalid_scope"},
	}
	for _, tc := range refused {
		t.Run("link/"+tc.name, func(t *testing.T) {
			resp, body := e.get(e.issuer + "/authorize?" + q(tc.client, tc.mod).Encode())
			if resp.StatusCode != 400 || resp.Header.Get("Location") != "" {
				t.Fatalf("status %d location %q: redirected without the user", resp.StatusCode, resp.Header.Get("Location"))
			}
			u, err := url.Parse(returnLink(t, body))
			if err != nil || u.Scheme+"://"+u.Host+u.Path != tc.client.Redirect && u.Scheme+":"+u.Opaque+u.Path != tc.client.Redirect ||
				u.Query().Get("error") != tc.code || u.Query().Get("state") != "st-123" || u.Query().Get("iss") != e.issuer {
				t.Fatalf("link %q; want %s with error %s, state and iss", u, tc.client.Redirect, tc.code)
			}
		})
	}
	t.Run("redirect/loopback client", func(t *testing.T) {
		for _, mod := range []func(url.Values){
			func(v url.Values) { v.Set("scope", "mcp admin") },
			func(v url.Values) { v.Set("resource", "https://other.example.com/mcp") },
		} {
			resp, _ := e.get(e.issuer + "/authorize?" + q(loopback, mod).Encode())
			u, _ := url.Parse(resp.Header.Get("Location"))
			if resp.StatusCode != http.StatusFound || u.Scheme+"://"+u.Host+u.Path != loopback.Redirect || u.Query().Get("error") == "" ||
				u.Query().Get("state") != "st-123" || u.Query().Get("iss") != e.issuer {
				t.Fatalf("status %d redirect %s", resp.StatusCode, u)
			}
		}
	})
	t.Run("unknown parameters are ignored", func(t *testing.T) {
		resp, body := e.get(e.issuer + "/authorize?" + q(web, func(v url.Values) { v.Set("prompt", "none"); v.Set("frobnicate", "1") }).Encode())
		if resp.StatusCode != 200 || !strings.Contains(string(body), "Authorize access") {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
	})
	t.Run("refusal page escapes what the request said", func(t *testing.T) {
		resp, body := e.get(e.issuer + "/authorize?" + q(web, func(v url.Values) { v.Set("resource", "https://other.example.com/<script>alert(1)</script>") }).Encode())
		if resp.StatusCode != 400 || strings.Contains(string(body), "<script>") || !strings.Contains(string(body), "&lt;script&gt;") {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
	})
}

// TestAuthorizeNoOpenRedirect is the case: with open registration
// anyone registers https://evil.example/cb, and a link to /authorize with
// that client_id must not send the victim there.
func TestAuthorizeNoOpenRedirect(t *testing.T) {
	e := newEnv(t)
	evil := e.register(map[string]any{"client_name": "Totally Legit", "redirect_uris": []string{"https://evil.example/cb"}, "token_endpoint_auth_method": "none"})
	for _, query := range []string{
		"client_id=" + url.QueryEscape(evil.ID) + "&response_type=token",
		"client_id=" + url.QueryEscape(evil.ID),
		"client_id=" + url.QueryEscape(evil.ID) + "&response_type=code",
		"client_id=" + url.QueryEscape(evil.ID) + "&response_type=code&code_challenge=x&code_challenge_method=S256",
	} {
		resp, body := e.get(e.issuer + "/authorize?" + query)
		if resp.StatusCode/100 == 3 || resp.Header.Get("Location") != "" || strings.Contains(string(body), "evil.example") {
			t.Errorf("%s: status %d location %q", query, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
}

func TestAuthorizeRedirectForms(t *testing.T) {
	e := newEnv(t)
	t.Run("loopback port may differ (RFC 8252)", func(t *testing.T) {
		c := e.register(map[string]any{"redirect_uris": []string{"http://127.0.0.1/cb"}, "token_endpoint_auth_method": "none"})
		v, ch := pkcePair()
		c.Redirect = "http://127.0.0.1:51234/cb"
		code := e.codeFor(c, ch, nil)
		if resp, m := e.exchange(c, code, v, nil); resp.StatusCode != 200 {
			t.Fatalf("token: %v", m)
		}
	})
	t.Run("omitted redirect_uri with one registered", func(t *testing.T) {
		c := e.register(nil)
		v, ch := pkcePair()
		u := e.authorize(authQuery(c, ch, url.Values{"redirect_uri": nil}))
		if u.Scheme+"://"+u.Host+u.Path != c.Redirect {
			t.Fatalf("sent to %s", u)
		}
		// Without redirect_uri at /authorize, none is needed at /token.
		form := url.Values{"grant_type": {"authorization_code"}, "code": {u.Query().Get("code")}, "code_verifier": {v}, "client_id": {c.ID}}
		if resp, m := e.postForm("/token", form); resp.StatusCode != 200 {
			t.Fatalf("token: %v", m)
		}
	})
	t.Run("existing query is kept", func(t *testing.T) {
		c := e.register(map[string]any{"redirect_uris": []string{"https://app.example.com/cb?tenant=7"}, "token_endpoint_auth_method": "none"})
		_, ch := pkcePair()
		u := e.authorize(authQuery(c, ch, nil))
		if u.Query().Get("tenant") != "7" || u.Query().Get("code") == "" {
			t.Fatalf("redirect %s", u)
		}
	})
}

// TestConsentAndCallback covers the consent form and the callback: CSRF,
// browser binding, denial, replay, expiry, upstream errors and the policy.
func TestConsentAndCallback(t *testing.T) {
	start := func(t *testing.T, e *testEnv) (action string, fields url.Values) {
		c := e.register(nil)
		_, ch := pkcePair()
		resp, page := e.get(e.issuer + "/authorize?" + authQuery(c, ch, nil).Encode())
		if resp.StatusCode != 200 {
			t.Fatalf("authorize: %d", resp.StatusCode)
		}
		return formFields(t, page)
	}
	wantClientError := func(t *testing.T, resp *http.Response, code string) {
		t.Helper()
		e := resp.Request
		_ = e
		u, _ := url.Parse(resp.Header.Get("Location"))
		if resp.StatusCode != http.StatusFound || u.Query().Get("error") != code || u.Query().Get("state") != "st-123" || u.Query().Get("iss") == "" {
			t.Fatalf("got %d to %q; want %s at the client", resp.StatusCode, u, code)
		}
	}

	t.Run("wrong csrf", func(t *testing.T) {
		e := newEnv(t)
		action, f := start(t, e)
		f.Set("csrf", "forged")
		f.Set("decision", "approve")
		if resp, _ := e.browserPost(action, f); resp.StatusCode != 403 {
			t.Fatalf("status %d", resp.StatusCode)
		}
	})
	t.Run("consent from another browser", func(t *testing.T) {
		e := newEnv(t)
		action, f := start(t, e)
		f.Set("decision", "approve")
		jar, _ := cookiejar.New(nil)
		e.browser.Jar = jar // the attacker's browser has no flow cookie
		if resp, _ := e.browserPost(action, f); resp.StatusCode != 403 {
			t.Fatalf("status %d", resp.StatusCode)
		}
	})
	t.Run("callback in another browser", func(t *testing.T) {
		// The attacker consents in their browser and lures the victim to
		// the upstream login URL; the victim's browser lacks the binding.
		e := newEnv(t)
		action, f := start(t, e)
		f.Set("decision", "approve")
		resp, _ := e.browserPost(action, f)
		loc := resp.Header.Get("Location")
		jar, _ := cookiejar.New(nil)
		e.browser.Jar = jar
		resp, _ = e.get(loc) // GitHub, which redirects to the callback
		resp, body := e.get(resp.Header.Get("Location"))
		if resp.StatusCode != 403 || resp.Header.Get("Location") != "" {
			t.Fatalf("callback: %d %s", resp.StatusCode, body)
		}
	})
	t.Run("deny", func(t *testing.T) {
		e := newEnv(t)
		action, f := start(t, e)
		f.Set("decision", "deny")
		resp, _ := e.browserPost(action, f)
		wantClientError(t, resp, "access_denied")
		if len(e.gh.Authorizes()) != 0 {
			t.Fatal("GitHub was asked after a denial")
		}
	})
	t.Run("callback replay", func(t *testing.T) {
		e := newEnv(t)
		action, f := start(t, e)
		f.Set("decision", "approve")
		resp, _ := e.browserPost(action, f)
		resp, _ = e.get(resp.Header.Get("Location"))
		cb := resp.Header.Get("Location")
		if resp, _ := e.get(cb); resp.StatusCode != http.StatusFound {
			t.Fatalf("first callback: %d", resp.StatusCode)
		}
		if resp, _ := e.get(cb); resp.StatusCode != 400 || resp.Header.Get("Location") != "" {
			t.Fatalf("replayed callback: %d", resp.StatusCode)
		}
	})
	t.Run("callback without consent", func(t *testing.T) {
		e := newEnv(t)
		_, f := start(t, e)
		// Skip the consent form: go to the callback with the state.
		resp, _ := e.get(e.issuer + "/callback?code=x&state=" + url.QueryEscape(f.Get("id")))
		if resp.StatusCode != 403 {
			t.Fatalf("status %d", resp.StatusCode)
		}
	})
	t.Run("login expired", func(t *testing.T) {
		e := newEnv(t)
		action, f := start(t, e)
		e.clock.Advance(DefaultLoginLifetime + time.Second)
		f.Set("decision", "approve")
		if resp, _ := e.browserPost(action, f); resp.StatusCode != 400 {
			t.Fatalf("status %d", resp.StatusCode)
		}
	})
	t.Run("user declines at GitHub", func(t *testing.T) {
		e := newEnv(t)
		e.gh.SetLogin("")
		action, f := start(t, e)
		f.Set("decision", "approve")
		resp, _ := e.browserPost(action, f)
		resp, _ = e.get(resp.Header.Get("Location"))
		resp, _ = e.get(resp.Header.Get("Location"))
		wantClientError(t, resp, "access_denied")
	})
	t.Run("policy refuses the user", func(t *testing.T) {
		e := newEnv(t)
		e.gh.SetLogin("mallory")
		action, f := start(t, e)
		f.Set("decision", "approve")
		resp, _ := e.browserPost(action, f)
		resp, _ = e.get(resp.Header.Get("Location"))
		resp, _ = e.get(resp.Header.Get("Location"))
		wantClientError(t, resp, "access_denied")
	})
	t.Run("empty policy refuses everyone", func(t *testing.T) {
		e := newEnv(t, withOptions(func(o *Options) { o.Policy = Policy{} }))
		action, f := start(t, e)
		f.Set("decision", "approve")
		resp, _ := e.browserPost(action, f)
		resp, _ = e.get(resp.Header.Get("Location"))
		resp, _ = e.get(resp.Header.Get("Location"))
		wantClientError(t, resp, "access_denied")
	})
	t.Run("organization member allowed", func(t *testing.T) {
		e := newEnv(t, withOptions(func(o *Options) { o.Policy = ParsePolicy("org:ACME") }))
		c := e.register(nil)
		if tok := e.tokens(c, nil); str(tok["access_token"]) == "" {
			t.Fatal("no token")
		}
	})
}

// TestPagesEscape sends XSS payloads everywhere a page shows input.
func TestPagesEscape(t *testing.T) {
	const payload = `<script>alert(1)</script>"'><img src=x onerror=alert(2)>`
	e := newEnv(t)
	c := e.register(map[string]any{"client_name": payload, "redirect_uris": []string{"https://app.example.com/cb"}, "token_endpoint_auth_method": "none"})
	_, ch := pkcePair()
	resource := "https://mcp.example.com/<script>alert(3)</script>"
	resp, page := e.get(e.issuer + "/authorize?" + authQuery(c, ch, url.Values{"resource": {resource}, "state": {payload}}).Encode())
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, page)
	}
	assertEscaped(t, page)
	if !strings.Contains(string(page), "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Fatal("client name not shown escaped")
	}

	// The development login re-shows a refused name.
	d, _ := NewDevLogin(nil)
	e2 := newEnv(t, withIDP(d))
	c2 := e2.register(nil)
	resp, page = e2.get(e2.issuer + "/authorize?" + authQuery(c2, ch, nil).Encode())
	action, f := formFields(t, page)
	f.Set("decision", "approve")
	resp, _ = e2.browserPost(action, f)
	loginURL := resp.Header.Get("Location")
	u, _ := url.Parse(loginURL)
	resp, page = e2.browserPost(e2.issuer+"/login", url.Values{"state": {u.Query().Get("state")}, "login": {payload}})
	if resp.StatusCode != 400 {
		t.Fatalf("login with a payload: %d", resp.StatusCode)
	}
	assertEscaped(t, page)

	// The device page re-shows an unknown code.
	resp, page = e.get(e.issuer + "/device?user_code=" + url.QueryEscape(payload))
	assertEscaped(t, page)
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("CSP %q", csp)
	}
}

func assertEscaped(t *testing.T, page []byte) {
	t.Helper()
	for _, raw := range []string{"<script>", "<img", "onerror=alert"} {
		if strings.Contains(strings.ToLower(string(page)), strings.ToLower(raw)) {
			if raw == "onerror=alert" && !strings.Contains(string(page), "<img") {
				continue // harmless as text once the tag is escaped
			}
			t.Fatalf("page contains unescaped %q", raw)
		}
	}
}

// TestDevLogin runs the flow with the development login form.
func TestDevLogin(t *testing.T) {
	d, err := NewDevLogin(nil)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, withIDP(d), withOptions(func(o *Options) { o.Policy = ParsePolicy("alice") }))
	c := e.register(nil)
	v, ch := pkcePair()
	resp, page := e.get(e.issuer + "/authorize?" + authQuery(c, ch, nil).Encode())
	action, f := formFields(t, page)
	f.Set("decision", "approve")
	resp, _ = e.browserPost(action, f)
	resp, page = e.get(resp.Header.Get("Location"))
	if resp.StatusCode != 200 || !strings.Contains(string(page), "Development login") {
		t.Fatalf("login page: %d", resp.StatusCode)
	}
	action, f = formFields(t, page)
	f.Set("login", "alice")
	resp, _ = e.browserPost(action, f)
	u := e.followToClient(resp.Header.Get("Location"))
	resp, tok := e.exchange(c, u.Query().Get("code"), v, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("token: %v", tok)
	}
	claims, err := e.srv.VerifyAccessToken(t.Context(), str(tok["access_token"]))
	if err != nil || claims.Login != "alice" || claims.Subject != "dev:alice" {
		t.Fatalf("claims %+v, %v", claims, err)
	}

	t.Run("refuses a public issuer", func(t *testing.T) {
		s := NewMemoryStore(nil)
		defer s.Close()
		_, err := NewServer(t.Context(), "https://auth.example.com", s, d, &Options{SigningKey: testKey, SigningAlgorithm: ES256})
		if err == nil {
			t.Fatal("dev login accepted a public issuer")
		}
		d2, _ := NewDevLogin(&DevLoginOptions{AllowPublicIssuer: true})
		if _, err := NewServer(t.Context(), "https://auth.example.com", s, d2, &Options{SigningKey: testKey, SigningAlgorithm: ES256}); err != nil {
			t.Fatalf("AllowPublicIssuer: %v", err)
		}
		d3, _ := NewDevLogin(&DevLoginOptions{User: "bot", AllowPublicIssuer: true})
		if _, err := NewServer(t.Context(), "https://auth.example.com", s, d3, &Options{SigningKey: testKey, SigningAlgorithm: ES256}); err == nil {
			t.Fatal("automatic approval accepted a public issuer")
		}
	})
	t.Run("bad dev user", func(t *testing.T) {
		if _, err := NewDevLogin(&DevLoginOptions{User: "a b"}); err == nil {
			t.Fatal("accepted")
		}
	})
}

// TestAutoApprove: the dev-user mode answers /authorize with a code at
// once.
func TestAutoApprove(t *testing.T) {
	d, _ := NewDevLogin(&DevLoginOptions{User: "robot"})
	e := newEnv(t, withIDP(d), withOptions(func(o *Options) { o.Policy = ParsePolicy("robot") }))
	c := e.register(nil)
	v, ch := pkcePair()
	resp, _ := e.get(e.issuer + "/authorize?" + authQuery(c, ch, nil).Encode())
	u, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || u.Query().Get("code") == "" || u.Query().Get("iss") != e.issuer {
		t.Fatalf("auto approval: %d %s", resp.StatusCode, u)
	}
	if resp, m := e.exchange(c, u.Query().Get("code"), v, nil); resp.StatusCode != 200 {
		t.Fatalf("token: %v", m)
	}
	// Validation still applies: no PKCE, no code.
	resp, _ = e.get(e.issuer + "/authorize?" + authQuery(c, "", url.Values{"code_challenge": nil}).Encode())
	if resp.StatusCode != 400 || resp.Header.Get("Location") != "" {
		t.Fatalf("auto approval without PKCE: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// TestResourceAllowList: with Options.Resources, only listed resources
// (or those under an entry ending in "/") get tokens.
func TestResourceAllowList(t *testing.T) {
	e := newEnv(t, withOptions(func(o *Options) {
		o.Resources = []string{"https://mcp.example.com/", "https://other.example.com/mcp"}
	}))
	c := e.register(nil)
	_, ch := pkcePair()
	for res, ok := range map[string]bool{
		"https://mcp.example.com/echo/mcp": true, "https://other.example.com/mcp": true,
		"https://other.example.com/mcp2": false, "https://mcp.example.com.evil.com/x": false, "urn:x:y": false,
	} {
		resp, _ := e.get(e.issuer + "/authorize?" + authQuery(c, ch, url.Values{"resource": {res}}).Encode())
		u, _ := url.Parse(resp.Header.Get("Location"))
		refused := u != nil && u.Query().Get("error") == "invalid_target"
		if refused == ok {
			t.Errorf("resource %s: allowed=%v, status %d %s", res, !refused, resp.StatusCode, u)
		}
	}
}

package oauth

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mcp-oauth-gateway/gateway/internal/fakegithub"
)

// wantRevoked fails t unless every access token is refused as revoked.
func wantRevoked(t *testing.T, e *testEnv, tokens ...string) {
	t.Helper()
	for i, at := range tokens {
		if _, err := e.srv.VerifyAccessToken(t.Context(), at); !errors.Is(err, ErrTokenRevoked) {
			t.Errorf("access token %d: %v, want revoked", i, err)
		}
	}
}

// refreshOK refreshes and fails t unless it worked.
func (e *testEnv) refreshOK(t *testing.T, c registered, rt string) map[string]any {
	t.Helper()
	resp, m := e.refresh(c, rt, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("refresh: %d %v", resp.StatusCode, m)
	}
	return m
}

func (e *testEnv) claims(t *testing.T, tok map[string]any) *AccessTokenClaims {
	t.Helper()
	c, err := e.srv.VerifyAccessToken(t.Context(), str(tok["access_token"]))
	if err != nil {
		t.Fatalf("access token: %v", err)
	}
	return c
}

// TestRefreshRechecksAllowList: a user removed from the allow list (the
// operator restarts with a new ALLOWED_GITHUB_USERS) cannot refresh any
// more, and the whole family dies with the refused refresh.
func TestRefreshRechecksAllowList(t *testing.T) {
	cases := []struct {
		name   string
		policy string
		admits bool
	}{
		{"still listed", "octocat, mallory", true},
		{"listed by id", "id:4242", true},
		{"removed", "mallory", false},
		{"another id", "id:666", false},
		{"nobody", "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			c := e.register(nil)
			first := e.tokens(c, nil)
			second := e.refreshOK(t, c, str(first["refresh_token"]))
			e.restart(func(o *Options) { o.Policy = ParsePolicy(tc.policy) })
			resp, m := e.refresh(c, str(second["refresh_token"]), nil)
			if tc.admits {
				if resp.StatusCode != 200 {
					t.Fatalf("refresh of an admitted user: %d %v", resp.StatusCode, m)
				}
				return
			}
			wantOAuthError(t, resp, m, 400, "invalid_grant")
			wantRevoked(t, e, str(first["access_token"]), str(second["access_token"]))
			// Nothing of the family is left to retry with.
			resp, m = e.refresh(c, str(second["refresh_token"]), nil)
			wantOAuthError(t, resp, m, 400, "invalid_grant")
		})
	}
}

// TestRefreshRechecksOrgMembership: org memberships recorded at login are
// checked with GitHub again once they are older than the interval; a user
// removed from the organization loses refresh.
func TestRefreshRechecksOrgMembership(t *testing.T) {
	const every = 10 * time.Minute
	e := newEnv(t, withOptions(func(o *Options) { o.Policy = ParsePolicy("org:acme"); o.IdentityCheckInterval = every }))
	c := e.register(nil)
	tok := e.tokens(c, nil)
	checks := e.gh.MembershipChecks()

	// Within the interval the recorded memberships stand: GitHub is not asked.
	e.clock.Advance(every / 2)
	tok = e.refreshOK(t, c, str(tok["refresh_token"]))
	if n := e.gh.MembershipChecks(); n != checks {
		t.Fatalf("GitHub asked %d times within the interval", n-checks)
	}
	// Past it, GitHub is asked; a new organization shows in the next token.
	e.gh.SetOrgs("octocat", "acme", "globex")
	e.clock.Advance(every)
	tok = e.refreshOK(t, c, str(tok["refresh_token"]))
	if n := e.gh.MembershipChecks(); n != checks+1 {
		t.Fatalf("GitHub asked %d times past the interval, want 1", n-checks)
	}
	if got := e.claims(t, tok).Orgs; !slices.Equal(got, []string{"acme", "globex"}) {
		t.Fatalf("orgs claim after the check: %v", got)
	}
	// Removed from acme: the next check refuses the refresh and revokes.
	e.gh.SetOrgs("octocat", "globex")
	e.clock.Advance(every / 2)
	tok = e.refreshOK(t, c, str(tok["refresh_token"])) // checked 5 minutes ago
	e.clock.Advance(every)
	resp, m := e.refresh(c, str(tok["refresh_token"]), nil)
	wantOAuthError(t, resp, m, 400, "invalid_grant")
	wantRevoked(t, e, str(tok["access_token"]))

	// Back in acme, the user logs in again.
	e.gh.SetOrgs("octocat", "acme")
	e.tokens(c, nil)
}

// TestRefreshWhenGitHubCannotConfirm: when GitHub cannot be asked, the
// memberships count as none (fail closed for org: rules, with
// invalid_grant); rules by login still admit. An outage does not revoke:
// the refresh works once GitHub answers. A token the user revoked at GitHub
// does.
func TestRefreshWhenGitHubCannotConfirm(t *testing.T) {
	const every = 10 * time.Minute
	setup := func(t *testing.T, policy string) (*testEnv, registered, map[string]any) {
		e := newEnv(t, withOptions(func(o *Options) { o.Policy = ParsePolicy(policy); o.IdentityCheckInterval = every }))
		c := e.register(nil)
		tok := e.tokens(c, nil)
		e.clock.Advance(every + time.Second)
		return e, c, tok
	}
	t.Run("GitHub down, admitted by org", func(t *testing.T) {
		e, c, tok := setup(t, "org:acme")
		e.gh.SetAPIDown(true)
		resp, m := e.refresh(c, str(tok["refresh_token"]), nil)
		wantOAuthError(t, resp, m, 400, "invalid_grant")
		if !strings.Contains(str(m["error_description"]), "try again later") {
			t.Errorf("description %q does not say it may pass", m["error_description"])
		}
		if _, err := e.srv.VerifyAccessToken(t.Context(), str(tok["access_token"])); err != nil {
			t.Fatalf("an outage revoked the family: %v", err)
		}
		e.gh.SetAPIDown(false)
		if got := e.claims(t, e.refreshOK(t, c, str(tok["refresh_token"]))).Orgs; !slices.Equal(got, []string{"acme"}) {
			t.Fatalf("orgs after GitHub came back: %v", got)
		}
	})
	t.Run("GitHub down, admitted by login", func(t *testing.T) {
		e, c, tok := setup(t, "octocat")
		e.gh.SetAPIDown(true)
		next := e.refreshOK(t, c, str(tok["refresh_token"]))
		if got := e.claims(t, next).Orgs; len(got) != 0 {
			t.Fatalf("unconfirmed memberships in the token: %v", got)
		}
		// Still unconfirmed: the next refresh asks again.
		e.gh.SetAPIDown(false)
		checks := e.gh.MembershipChecks()
		if got := e.claims(t, e.refreshOK(t, c, str(next["refresh_token"]))).Orgs; !slices.Equal(got, []string{"acme"}) || e.gh.MembershipChecks() != checks+1 {
			t.Fatalf("orgs %v after GitHub came back (%d checks)", got, e.gh.MembershipChecks()-checks)
		}
	})
	t.Run("GitHub down, removed from the list", func(t *testing.T) {
		// The outage is not why the user is refused: the family goes.
		e, c, tok := setup(t, "org:acme")
		e.gh.SetAPIDown(true)
		e.restart(func(o *Options) { o.Policy = ParsePolicy("mallory") })
		resp, m := e.refresh(c, str(tok["refresh_token"]), nil)
		wantOAuthError(t, resp, m, 400, "invalid_grant")
		wantRevoked(t, e, str(tok["access_token"]))
	})
	t.Run("token revoked at GitHub", func(t *testing.T) {
		e, c, tok := setup(t, "org:acme")
		e.gh.RevokeTokens("octocat")
		resp, m := e.refresh(c, str(tok["refresh_token"]), nil)
		wantOAuthError(t, resp, m, 400, "invalid_grant")
		wantRevoked(t, e, str(tok["access_token"]))
	})
	t.Run("family recorded without credential", func(t *testing.T) {
		// A family from before credentials were kept: its memberships
		// cannot be confirmed.
		e, c, tok := setup(t, "org:acme")
		e.store.mu.Lock()
		rec := e.store.refresh[refreshKey{c.ID, hashSecret(str(tok["refresh_token"]))}]
		had := len(rec.Upstream)
		rec.Upstream = nil
		e.store.mu.Unlock()
		if had == 0 {
			t.Fatal("the family kept no credential to remove")
		}
		resp, m := e.refresh(c, str(tok["refresh_token"]), nil)
		wantOAuthError(t, resp, m, 400, "invalid_grant")
	})
}

// TestRefreshFamilyLifetime: rotation restarts the refresh lifetime but
// never past the family's absolute lifetime, counted from the login.
func TestRefreshFamilyLifetime(t *testing.T) {
	const day = 24 * time.Hour
	e := newEnv(t, withOptions(func(o *Options) { o.RefreshTokenLifetime = 30 * day; o.RefreshFamilyLifetime = 90 * day }))
	c := e.register(nil)
	tok := e.tokens(c, nil)
	login := e.clock.Now()
	for i := 1; i <= 3; i++ {
		e.clock.Advance(29 * day)
		tok = e.refreshOK(t, c, str(tok["refresh_token"]))
		rec, err := e.store.GetRefresh(t.Context(), c.ID, hashSecret(str(tok["refresh_token"])))
		if err != nil {
			t.Fatal(err)
		}
		want := minTime(e.clock.Now().Add(30*day), login.Add(90*day))
		if !rec.ExpiresAt.Equal(want) || !rec.AuthTime.Equal(login) {
			t.Fatalf("rotation %d: expires %v (want %v), auth time %v", i, rec.ExpiresAt, want, rec.AuthTime)
		}
	}
	// Day 87: still three days to go.
	e.clock.Advance(3*day - time.Minute)
	tok = e.refreshOK(t, c, str(tok["refresh_token"]))
	e.clock.Advance(time.Minute)
	resp, m := e.refresh(c, str(tok["refresh_token"]), nil)
	wantOAuthError(t, resp, m, 400, "invalid_grant")
	// A new login starts a new family.
	tok = e.tokens(c, nil)

	// A token stored before families had an end (its expiry restarted by
	// every rotation) is refused past the family's end all the same.
	e.store.mu.Lock()
	e.store.refresh[refreshKey{c.ID, hashSecret(str(tok["refresh_token"]))}].ExpiresAt = e.clock.Now().Add(200 * day)
	e.store.mu.Unlock()
	e.clock.Advance(90 * day)
	resp, m = e.refresh(c, str(tok["refresh_token"]), nil)
	wantOAuthError(t, resp, m, 400, "invalid_grant")
	if !strings.Contains(str(m["error_description"]), "older than 90 days") {
		t.Errorf("description %q", m["error_description"])
	}
}

// TestRefreshRenamedLogin: GitHub logins can be re-registered after a
// rename. An id: entry keeps the renamed account in and the newcomer out;
// a login entry follows the login, at login and at the next check.
func TestRefreshRenamedLogin(t *testing.T) {
	const every = 10 * time.Minute
	for _, tc := range []struct {
		policy            string
		renamedMayRefresh bool
		newcomerMayLogIn  bool
		description       string
	}{
		{"id:4242", true, false, "an id entry follows the account"},
		{"octocat", false, true, "a login entry follows the login"},
	} {
		t.Run(tc.policy, func(t *testing.T) {
			e := newEnv(t, withOptions(func(o *Options) { o.Policy = ParsePolicy(tc.policy); o.IdentityCheckInterval = every }))
			c := e.register(nil)
			tok := e.tokens(c, nil)
			e.gh.Rename("octocat", "octocat-renamed")
			e.gh.AddUser(fakegithub.User{ID: 777, Login: "octocat", Name: "Not the Octocat", Orgs: []string{"acme"}})
			e.clock.Advance(every + time.Second)
			resp, m := e.refresh(c, str(tok["refresh_token"]), nil)
			if got := resp.StatusCode == 200; got != tc.renamedMayRefresh {
				t.Fatalf("%s: refresh of the renamed account: %d %v", tc.description, resp.StatusCode, m)
			}
			if tc.renamedMayRefresh && e.claims(t, m).Login != "octocat-renamed" {
				t.Fatalf("the token carries login %q, not the current one", e.claims(t, m).Login)
			}
			e.gh.SetLogin("octocat") // the newcomer
			_, challenge := pkcePair()
			u := e.authorize(authQuery(c, challenge, nil))
			if got := u.Query().Get("code") != ""; got != tc.newcomerMayLogIn {
				t.Fatalf("%s: the newcomer with the old login got %s", tc.description, u)
			}
		})
	}
}

// TestRefreshResourcePolicy: the policy of a resource the family names
// (ForwardAuth's, reloaded by the operator) is asked at login and at every
// refresh.
func TestRefreshResourcePolicy(t *testing.T) {
	e := newEnv(t)
	v := newVerifier(t, e, nil, nil)
	allow := ParsePolicy("octocat")
	fa, err := NewForwardAuth(v, &ForwardAuthOptions{Resources: []Resource{
		{URL: "https://echo.example.com/mcp", Allow: &allow},
		{URL: "https://open.example.com/mcp"},
	}, Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	e.srv.SetResourcePolicies(fa)
	c := e.register(nil)
	echo := e.tokens(c, url.Values{"resource": {"https://echo.example.com/mcp"}})
	open := e.tokens(c, url.Values{"resource": {"https://open.example.com/mcp"}})

	nobody := ParsePolicy("mallory")
	if err := fa.SetResources([]Resource{{URL: "https://echo.example.com/mcp", Allow: &nobody}, {URL: "https://open.example.com/mcp"}}, Resource{}); err != nil {
		t.Fatal(err)
	}
	resp, m := e.refresh(c, str(echo["refresh_token"]), nil)
	wantOAuthError(t, resp, m, 400, "invalid_grant")
	wantRevoked(t, e, str(echo["access_token"]))
	e.refreshOK(t, c, str(open["refresh_token"])) // another family, another resource

	// A login for the resource is refused outright.
	_, challenge := pkcePair()
	u := e.authorize(authQuery(c, challenge, url.Values{"resource": {"https://echo.example.com/mcp"}}))
	if u.Query().Get("error") != "access_denied" {
		t.Fatalf("login for a resource that does not admit the user: %s", u)
	}
}

// TestDeviceFlowKeepsUpstreamCredential: the GitHub token of a user who
// approves a device reaches the device's refresh tokens (sealed to a key
// only the device code opens), so its memberships are checked like a
// browser login's.
func TestDeviceFlowKeepsUpstreamCredential(t *testing.T) {
	const every = 10 * time.Minute
	e := newEnv(t, withOptions(func(o *Options) { o.Policy = ParsePolicy("org:acme"); o.IdentityCheckInterval = every }))
	c := e.register(map[string]any{"client_name": "CLI", "grant_types": []string{GrantTypeDeviceCode, "refresh_token"}, "token_endpoint_auth_method": "none"})
	d := startDevice(t, e, c, nil)
	if resp, page := e.enterCode(t, str(d["user_code"]), "approve"); resp.StatusCode != 200 {
		t.Fatalf("approval: %d %s", resp.StatusCode, page)
	}
	e.clock.Advance(6 * time.Second)
	resp, tok := pollDevice(e, c, str(d["device_code"]))
	if resp.StatusCode != 200 {
		t.Fatalf("poll: %d %v", resp.StatusCode, tok)
	}
	checks := e.gh.MembershipChecks()
	e.clock.Advance(every + time.Second)
	tok = e.refreshOK(t, c, str(tok["refresh_token"]))
	if e.gh.MembershipChecks() != checks+1 {
		t.Fatal("the device's refresh did not check the membership with GitHub")
	}
	e.gh.SetOrgs("octocat")
	e.clock.Advance(every + time.Second)
	resp, m := e.refresh(c, str(tok["refresh_token"]), nil)
	wantOAuthError(t, resp, m, 400, "invalid_grant")
}

// TestExpiringGitHubTokens: a GitHub App's user token expires and renews
// with a single-use refresh token; the renewed credential is what the
// family keeps.
func TestExpiringGitHubTokens(t *testing.T) {
	e := newEnv(t, withOptions(func(o *Options) { o.Policy = ParsePolicy("org:acme"); o.IdentityCheckInterval = -1 }))
	// Shorter than the renewal margin of golang.org/x/oauth2: every use
	// renews.
	e.gh.SetTokenLifetime(5 * time.Second)
	c := e.register(nil)
	tok := e.tokens(c, nil)
	for i := range 3 {
		resp, m := e.refresh(c, str(tok["refresh_token"]), nil)
		if resp.StatusCode != 200 {
			t.Fatalf("refresh %d with a renewed GitHub token: %d %v", i, resp.StatusCode, m)
		}
		tok = m
	}
}

// TestUpstreamCredentialSealed: the GitHub token is in the store only
// sealed: neither the code's grant nor a refresh token record holds it in
// clear.
func TestUpstreamCredentialSealed(t *testing.T) {
	e := newEnv(t, withOptions(func(o *Options) { o.Policy = ParsePolicy("org:acme") }))
	c := e.register(nil)
	v, ch := pkcePair()
	code := e.codeFor(c, ch, nil)
	e.store.mu.RLock()
	g := e.store.codes[hashSecret(code)].grant.Clone()
	e.store.mu.RUnlock()
	if len(g.Upstream) == 0 {
		t.Fatal("the grant keeps no credential")
	}
	resp, tok := e.exchange(c, code, v, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("exchange: %v", tok)
	}
	rec, err := e.store.GetRefresh(t.Context(), c.ID, hashSecret(str(tok["refresh_token"])))
	if err != nil || len(rec.Upstream) == 0 {
		t.Fatalf("refresh token: %v, upstream %d bytes", err, len(rec.Upstream))
	}
	for what, v := range map[string]any{"grant": g, "refresh token": rec} {
		raw, _ := json.Marshal(v)
		if bytes.Contains(raw, []byte("gho_")) {
			t.Errorf("the %s record holds the GitHub token in clear: %s", what, raw)
		}
	}
	if plain, err := openWith(code, labelUpstream, g.Upstream); err != nil || !bytes.Contains(plain, []byte("gho_")) {
		t.Fatalf("the code does not open its credential: %v", err)
	}
	if _, err := openWith(str(tok["refresh_token"])+"x", labelUpstream, rec.Upstream); err == nil {
		t.Fatal("another secret opens the refresh token's credential")
	}
}

func TestSealing(t *testing.T) {
	plain := []byte(`{"access_token":"gho_secret"}`)
	sealed, err := sealWith("mrf_secret", labelUpstream, plain)
	if err != nil || bytes.Contains(sealed, []byte("gho_")) {
		t.Fatalf("sealWith: %v", err)
	}
	for name, open := range map[string]func() ([]byte, error){
		"other secret": func() ([]byte, error) { return openWith("mrf_other", labelUpstream, sealed) },
		"other label":  func() ([]byte, error) { return openWith("mrf_secret", labelGrace, sealed) },
		"truncated":    func() ([]byte, error) { return openWith("mrf_secret", labelUpstream, sealed[:10]) },
	} {
		if _, err := open(); !errors.Is(err, errSealed) {
			t.Errorf("%s: %v, want errSealed", name, err)
		}
	}
	if got, err := openWith("mrf_secret", labelUpstream, sealed); err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("openWith: %q %v", got, err)
	}

	pub, err := devicePublicKey("mdc_device")
	if err != nil {
		t.Fatal(err)
	}
	toDevice, err := sealToKey(pub, labelUpstream, plain)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := openWithDeviceCode("mdc_device", labelUpstream, toDevice); err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("openWithDeviceCode: %q %v", got, err)
	}
	for name, b := range map[string][]byte{"damaged": append(bytes.Clone(toDevice[:len(toDevice)-1]), toDevice[len(toDevice)-1]^1), "short": toDevice[:20]} {
		if _, err := openWithDeviceCode("mdc_device", labelUpstream, b); !errors.Is(err, errSealed) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := openWithDeviceCode("mdc_other", labelUpstream, toDevice); !errors.Is(err, errSealed) {
		t.Errorf("another device code opens it: %v", err)
	}
}

// TestEmailPolicies: email and domain rules admit a user whose address the
// provider verified, at login, at refresh and at /verify (from the access
// token's claims), and never one whose address it did not verify.
func TestEmailPolicies(t *testing.T) {
	cases := []struct {
		name       string
		policy     string
		unverified bool
		admitted   bool
	}{
		{"email, verified", "email:Octo@Example.com", false, true},
		{"domain, verified", "domain:example.com", false, true},
		{"email, unverified", "email:octo@example.com", true, false},
		{"domain, unverified", "domain:example.com", true, false},
		{"other domain", "domain:example.org", false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, withOptions(func(o *Options) { o.Policy = ParsePolicy(tc.policy) }))
			e.gh.AddUser(fakegithub.User{ID: 4242, Login: "octocat", Email: "octo@example.com", EmailUnverified: tc.unverified})
			c := e.register(nil)
			_, challenge := pkcePair()
			u := e.authorize(authQuery(c, challenge, nil))
			if got := u.Query().Get("code") != ""; got != tc.admitted {
				t.Fatalf("login: %s, admitted %v", u, tc.admitted)
			}
			if !tc.admitted {
				if u.Query().Get("error") != "access_denied" {
					t.Fatalf("refused login: %s", u)
				}
				return
			}
			tok := e.tokens(c, nil)
			if cl := e.claims(t, tok); cl.Email != "octo@example.com" || !cl.EmailVerified || cl.Provider != ProviderGitHub {
				t.Fatalf("claims %+v", cl)
			}
			e.refreshOK(t, c, str(tok["refresh_token"]))

			// The same rule as a resource's policy, decided by /verify on
			// the token alone; another resource refuses the address.
			v := newVerifier(t, e, nil, nil)
			allow, other := ParsePolicy(tc.policy), ParsePolicy("domain:example.org")
			fa := newForwardAuth(t, v, &ForwardAuthOptions{Resources: []Resource{
				{URL: "https://mcp.example.com/mcp", Allow: &allow},
				{URL: "https://mcp.example.com/other", Allow: &other},
			}, Logger: discardLogger()})
			for path, want := range map[string]int{"/mcp": 200, "/other": 403} {
				at := e.tokens(c, url.Values{"resource": {"https://mcp.example.com" + path}})
				r := proxyStyles[0].build("POST", path, mcpClientHeaders("Bearer "+str(at["access_token"])))
				if rec := serve(fa, r); rec.Code != want {
					t.Errorf("/verify %s: %d, want %d", path, rec.Code, want)
				}
			}
		})
	}
}

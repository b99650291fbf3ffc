package oauth_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/mcp-oauth-gateway/gateway/internal/fakegithub"
	"github.com/mcp-oauth-gateway/gateway/internal/hydratest"
	"github.com/mcp-oauth-gateway/gateway/internal/redistest"
	"github.com/mcp-oauth-gateway/gateway/internal/testenv"
	"github.com/mcp-oauth-gateway/gateway/oauth"
	"github.com/mcp-oauth-gateway/gateway/oauth/filestore"
	"github.com/mcp-oauth-gateway/gateway/oauth/redisstore"
)

// The OpenID Connect provider against a real OpenID provider, ory/hydra
// (internal/hydratest), with the authorization server on real HTTP and
// the Redis store, whose raw keys show what a failed login left behind.

// oidcWorld is one authorization server offering GitHub (the fake) and
// hydra, and the browser of one user.
type oidcWorld struct {
	t       *testing.T
	hydra   *hydratest.Server
	gh      *fakegithub.Server
	redis   *redistest.Server // nil with the file store
	store   oauth.Store
	file    string // the file store's path, "" with Redis
	srv     *oauth.Server
	oidc    *oauth.OIDC
	issuer  string
	browser *http.Client
	logs    *testenv.Output
	now     func() time.Time // nil: time.Now
}

type oidcConfig struct {
	policy   string
	userInfo bool
	require  map[string]string // OIDCOptions.RequireClaims
	check    time.Duration     // IdentityCheckInterval
	// For the upstream tokens of services: the server's keys, its clock
	// (nil: time.Now), and the file store instead of Redis.
	keys      *oauth.UpstreamKeys
	now       func() time.Time
	fileStore bool
}

// newOIDCWorld starts an authorization server and Redis; the provider is
// h (a hydra each test function starts, shared by its subtests: starting
// one takes seconds, making its signing keys).
func newOIDCWorld(t *testing.T, h *hydratest.Server, cfg oidcConfig) *oidcWorld {
	t.Helper()
	w := &oidcWorld{t: t, hydra: h, logs: &testenv.Output{}}
	w.gh = fakegithub.New("gh-client", "gh-secret")
	t.Cleanup(w.gh.Close)
	w.gh.AddUser(fakegithub.User{ID: 4242, Login: "alice", Email: "alice@github.example", PublicEmail: true})
	w.gh.SetLogin("alice")

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w.issuer = "http://" + l.Addr().String()
	client := w.hydra.CreateClient(t, w.issuer+"/callback", nil)
	log := slog.New(slog.NewTextHandler(w.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	w.oidc, err = oauth.NewOIDC("hydra", w.hydra.Issuer, client.ID, client.Secret, &oauth.OIDCOptions{
		DisplayName: "Hydra <SSO> & co", UserInfo: cfg.userInfo, RequireClaims: cfg.require, Logger: log,
	})
	if err != nil {
		t.Fatal(err)
	}
	gh, err := oauth.NewGitHub("gh-client", "gh-secret", &oauth.GitHubOptions{BaseURL: w.gh.URL, APIURL: w.gh.URL, KeepToken: cfg.keys != nil})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.fileStore {
		w.file = filepath.Join(t.TempDir(), "oauth.db")
		fs, err := filestore.Open(w.file, &filestore.Options{Now: cfg.now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = fs.Close() })
		w.store = fs
	} else {
		w.redis = redistest.Start(t)
		rs, err := redisstore.New(w.redis.Client, &redisstore.Options{Prefix: "t:", Now: cfg.now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = rs.Close() })
		w.store = rs
	}
	w.srv, err = oauth.NewServer(t.Context(), w.issuer, w.store, gh, &oauth.Options{
		IdentityProviders:     []oauth.IdentityProvider{w.oidc},
		Policy:                oauth.ParsePolicy(cfg.policy),
		IdentityCheckInterval: cfg.check,
		UpstreamKeys:          cfg.keys,
		Now:                   cfg.now,
		Logger:                log,
	})
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: w.srv, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(l) }()
	t.Cleanup(func() { _ = hs.Close() })
	w.browser = hydratest.Browser(t)
	w.now = cfg.now
	return w
}

// mcpClient is a registered public client with a loopback redirect URI.
type mcpClient struct{ id, redirect string }

func (w *oidcWorld) register() mcpClient {
	w.t.Helper()
	body, _ := json.Marshal(map[string]any{
		"client_name": "Test client", "redirect_uris": []string{"http://127.0.0.1:9/cb"},
		"token_endpoint_auth_method": "none", "grant_types": []string{"authorization_code", "refresh_token"},
	})
	resp, err := http.Post(w.issuer+"/register", "application/json", bytes.NewReader(body))
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		ClientID string `json:"client_id"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusCreated {
		w.t.Fatalf("register: %d %v", resp.StatusCode, err)
	}
	return mcpClient{id: out.ClientID, redirect: "http://127.0.0.1:9/cb"}
}

// consentPage is the consent page of a fresh authorization request.
type consentPage struct {
	action, id, csrf string
	providers        map[string]string // button value -> label
	html             string
	verifier         string
}

func (w *oidcWorld) startLogin(c mcpClient) *consentPage {
	w.t.Helper()
	verifier := base64.RawURLEncoding.EncodeToString(randomBytes(32))
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{
		"response_type": {"code"}, "client_id": {c.id}, "redirect_uri": {c.redirect}, "state": {"client-state"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
		"resource": {"https://mcp.example.com/mcp"},
	}
	resp, err := w.browser.Get(w.issuer + "/authorize?" + q.Encode())
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	page, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		w.t.Fatalf("authorize: %d: %s", resp.StatusCode, page)
	}
	doc, err := goquery.NewDocumentFromReader(bytes.NewReader(page))
	if err != nil {
		w.t.Fatal(err)
	}
	cp := &consentPage{providers: map[string]string{}, html: string(page), verifier: verifier}
	form := doc.Find("form").First()
	cp.action, _ = form.Attr("action")
	cp.id, _ = form.Find("input[name=id]").Attr("value")
	cp.csrf, _ = form.Find("input[name=csrf]").Attr("value")
	form.Find("button[name=provider]").Each(func(_ int, b *goquery.Selection) {
		v, _ := b.Attr("value")
		cp.providers[v] = strings.TrimSpace(b.Text())
	})
	return cp
}

// choose approves the consent with a provider; it returns the answer
// (a redirect to the provider, or a page).
func (w *oidcWorld) choose(cp *consentPage, provider string) (*http.Response, string) {
	w.t.Helper()
	resp, err := w.browser.PostForm(cp.action, url.Values{"id": {cp.id}, "csrf": {cp.csrf}, "provider": {provider}})
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// callback delivers the provider's redirect to the server: the answer is a
// redirect to the client, or a page.
func (w *oidcWorld) callback(cb *url.URL) (*http.Response, string) {
	w.t.Helper()
	if !strings.HasPrefix(cb.String(), w.issuer+"/callback?") {
		w.t.Fatalf("the provider redirected to %s, not the callback", cb)
	}
	resp, err := w.browser.Get(cb.String())
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// login runs a whole login with hydra as u and returns the redirect to the
// client.
func (w *oidcWorld) login(c mcpClient, u hydratest.User) (*url.URL, *consentPage) {
	w.t.Helper()
	cp := w.startLogin(c)
	resp, body := w.choose(cp, "oidc:hydra")
	if resp.StatusCode != http.StatusSeeOther {
		w.t.Fatalf("consent: %d: %s", resp.StatusCode, body)
	}
	cb := w.hydra.Login(w.t, w.browser, resp.Header.Get("Location"), u)
	resp, body = w.callback(cb)
	if resp.StatusCode != http.StatusFound {
		w.t.Fatalf("callback: %d: %s", resp.StatusCode, body)
	}
	to, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		w.t.Fatal(err)
	}
	return to, cp
}

// token redeems the code of a redirect to the client.
func (w *oidcWorld) token(c mcpClient, to *url.URL, cp *consentPage) map[string]any {
	w.t.Helper()
	code := to.Query().Get("code")
	if code == "" {
		w.t.Fatalf("no code: %s", to)
	}
	return w.tokenCall(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "client_id": {c.id},
		"redirect_uri": {c.redirect}, "code_verifier": {cp.verifier}}, http.StatusOK)
}

func (w *oidcWorld) refresh(c mcpClient, rt string, status int) map[string]any {
	w.t.Helper()
	return w.tokenCall(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {c.id}}, status)
}

func (w *oidcWorld) tokenCall(form url.Values, status int) map[string]any {
	w.t.Helper()
	resp, err := http.PostForm(w.issuer+"/token", form)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	if resp.StatusCode != status {
		w.t.Fatalf("token (%s): %d %v, want %d", form.Get("grant_type"), resp.StatusCode, m, status)
	}
	return m
}

// verify asks /verify (as Traefik would) about a request with the token.
func (w *oidcWorld) verify(token string, policy string) *http.Response {
	w.t.Helper()
	v, err := oauth.NewVerifier(w.issuer, w.srv, &oauth.VerifierOptions{Revocations: w.store, Now: w.now})
	if err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() { _ = v.Close() })
	p := oauth.ParsePolicy(policy)
	fa, err := oauth.NewForwardAuth(v, &oauth.ForwardAuthOptions{Default: oauth.Resource{Allow: &p}})
	if err != nil {
		w.t.Fatal(err)
	}
	r, _ := http.NewRequest(http.MethodGet, "http://auth.internal/verify", nil)
	r.Header.Set("Authorization", "Bearer "+token)
	r.Header.Set("X-Forwarded-Method", "POST")
	r.Header.Set("X-Forwarded-Proto", "https")
	r.Header.Set("X-Forwarded-Host", "mcp.example.com")
	r.Header.Set("X-Forwarded-Uri", "/mcp")
	rec := httptest.NewRecorder()
	fa.ServeHTTP(rec, r)
	return rec.Result()
}

// halfStored lists the store's pending authorizations, codes and refresh
// tokens, raw: what a failed login must not leave behind.
func (w *oidcWorld) halfStored() []string {
	w.t.Helper()
	var found []string
	for _, pattern := range []string{"t:pending:*", "t:code:*", "t:*:rt:*"} {
		keys, err := w.redis.Client.Keys(context.Background(), pattern).Result()
		if err != nil {
			w.t.Fatal(err)
		}
		found = append(found, keys...)
	}
	return found
}

// rawStoreHolds returns the first of secrets that some raw value of the
// store (Redis's values, or the store file) contains, or "".
func (w *oidcWorld) rawStoreHolds(secrets []string) string {
	w.t.Helper()
	if w.file != "" {
		data, err := os.ReadFile(w.file)
		if err != nil {
			w.t.Fatal(err)
		}
		for _, s := range secrets {
			if bytes.Contains(data, []byte(s)) {
				return s
			}
		}
		return ""
	}
	ctx := context.Background()
	keys, err := w.redis.Client.Keys(ctx, "t:*").Result()
	if err != nil {
		w.t.Fatal(err)
	}
	var raw []string
	for _, k := range keys {
		switch typ, _ := w.redis.Client.Type(ctx, k).Result(); typ {
		case "string":
			v, _ := w.redis.Client.Get(ctx, k).Result()
			raw = append(raw, v)
		case "hash":
			m, _ := w.redis.Client.HGetAll(ctx, k).Result()
			for f, v := range m {
				raw = append(raw, f, v)
			}
		case "set", "zset", "list":
			// Indexes of hashes: nothing secret.
		}
	}
	for _, s := range secrets {
		for _, v := range raw {
			if strings.Contains(v, s) {
				return s
			}
		}
	}
	return ""
}

var alice = hydratest.User{Subject: "alice", Claims: map[string]any{
	"email": "alice@example.com", "email_verified": true, "name": "Alice Liddell",
	"preferred_username": "alice", "groups": []string{"staff", "mcp-users"},
}}

// TestOIDCLogin: a user picks the OpenID provider on the consent page,
// logs in at hydra, and the client's token names them as that provider's
// user ("oidc:hydra:alice"), never as the GitHub user of the same name;
// /verify lets the token through with their identity; refreshes ask hydra
// again, and end when hydra ends the user's session.
func TestOIDCLogin(t *testing.T) {
	w := newOIDCWorld(t, hydratest.Start(t), oidcConfig{policy: "alice, group:mcp-users", check: -1})
	c := w.register()

	cp := w.startLogin(c)
	if len(cp.providers) != 2 || !strings.Contains(cp.providers["github"], "GitHub") || !strings.Contains(cp.providers["oidc:hydra"], "Hydra <SSO> & co") {
		t.Fatalf("the consent page offers %v, want GitHub and hydra", cp.providers)
	}
	if strings.Contains(cp.html, "Hydra <SSO>") || !strings.Contains(cp.html, "Hydra &lt;SSO&gt; &amp; co") {
		t.Fatal("the provider's display name is not escaped on the consent page")
	}

	// Record hydra's tokens on their way, to look for them in the store.
	var mu sync.Mutex
	var upstream []string
	w.hydra.SetTokenFilter(func(body []byte) []byte {
		var m map[string]any
		_ = json.Unmarshal(body, &m)
		mu.Lock()
		defer mu.Unlock()
		for _, k := range []string{"access_token", "refresh_token", "id_token"} {
			if v, _ := m[k].(string); v != "" {
				upstream = append(upstream, v)
			}
		}
		return body
	})
	t.Cleanup(func() { w.hydra.SetTokenFilter(nil) })

	to, cp := w.login(c, alice)
	if to.Query().Get("state") != "client-state" || to.Query().Get("iss") != w.issuer {
		t.Fatalf("redirect to the client: %s", to)
	}
	tok := w.token(c, to, cp)
	claims, err := w.srv.VerifyAccessToken(t.Context(), tok["access_token"].(string))
	if err != nil {
		t.Fatal(err)
	}
	if claims.Subject != "oidc:hydra:alice" || claims.Provider != "oidc:hydra" || claims.Email != "alice@example.com" || !claims.EmailVerified ||
		claims.Name != "Alice Liddell" || claims.Login != "alice" || strings.Join(claims.Groups, ",") != "staff,mcp-users" {
		t.Fatalf("access token claims %+v", claims)
	}
	resp := w.verify(tok["access_token"].(string), "group:mcp-users")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-User-Id") != "oidc:hydra:alice" || resp.Header.Get("X-User-Email") != "alice@example.com" {
		t.Fatalf("/verify: %d %v", resp.StatusCode, resp.Header)
	}
	if resp := w.verify(tok["access_token"].(string), "alice"); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("/verify with the GitHub login alice as policy: %d, want 403", resp.StatusCode)
	}

	// GitHub's alice is another user.
	cp2 := w.startLogin(c)
	r2, body := w.choose(cp2, "github")
	if r2.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r2.Header.Get("Location"), w.gh.URL) {
		t.Fatalf("choosing GitHub: %d %s", r2.StatusCode, body)
	}
	ghTo := followGitHub(t, w, r2.Header.Get("Location"))
	ghTok := w.token(c, ghTo, cp2)
	if gc, err := w.srv.VerifyAccessToken(t.Context(), ghTok["access_token"].(string)); err != nil || gc.Subject != "4242" || gc.Provider != "github" {
		t.Fatalf("GitHub's alice: %+v %v", gc, err)
	}

	// Every refresh asks hydra (check interval -1): its refresh token is
	// rotated, the groups read again.
	next := w.refresh(c, tok["refresh_token"].(string), http.StatusOK)
	if nc, err := w.srv.VerifyAccessToken(t.Context(), next["access_token"].(string)); err != nil || strings.Join(nc.Groups, ",") != "staff,mcp-users" {
		t.Fatalf("after a refresh checked with hydra: %+v %v", nc, err)
	}
	next = w.refresh(c, next["refresh_token"].(string), http.StatusOK)

	// Hydra's tokens are in the store only sealed.
	mu.Lock()
	seen := slices.Clone(upstream)
	mu.Unlock()
	if len(seen) < 6 { // login and two renewals, each an access and a refresh token at least
		t.Fatalf("recorded %d of hydra's tokens", len(seen))
	}
	if found := w.rawStoreHolds(seen); found != "" {
		t.Fatalf("the store holds hydra's token %.12s... in clear", found)
	}

	// Hydra ends alice's session: the next refresh cannot confirm her
	// groups, the policy refuses, and the family is revoked.
	w.hydra.RevokeConsent(t, "alice")
	m := w.refresh(c, next["refresh_token"].(string), http.StatusBadRequest)
	if m["error"] != "invalid_grant" {
		t.Fatalf("refresh after hydra ended the session: %v", m)
	}
	if _, err := w.srv.VerifyAccessToken(t.Context(), next["access_token"].(string)); err == nil {
		t.Fatal("the family's access token still verifies")
	}
}

// followGitHub runs the fake GitHub's authorize step and the callback.
func followGitHub(t *testing.T, w *oidcWorld, loc string) *url.URL {
	t.Helper()
	resp, err := w.browser.Get(loc)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cb, _ := url.Parse(resp.Header.Get("Location"))
	r, body := w.callback(cb)
	if r.StatusCode != http.StatusFound {
		t.Fatalf("GitHub callback: %d %s", r.StatusCode, body)
	}
	to, _ := url.Parse(r.Header.Get("Location"))
	return to
}

// TestOIDCPolicies: email domain and group policies over hydra's users;
// email rules never admit an address hydra did not mark verified.
func TestOIDCPolicies(t *testing.T) {
	user := func(claims map[string]any) hydratest.User { return hydratest.User{Subject: "bob", Claims: claims} }
	cases := []struct {
		name     string
		policy   string
		userInfo bool
		require  map[string]string
		user     hydratest.User
		admitted bool
	}{
		{"domain, verified", "domain:example.com", false, nil, user(map[string]any{"email": "bob@example.com", "email_verified": true}), true},
		{"domain, verified as a string", "domain:example.com", false, nil, user(map[string]any{"email": "bob@example.com", "email_verified": "true"}), true},
		{"domain, unverified", "domain:example.com", false, nil, user(map[string]any{"email": "bob@example.com", "email_verified": false}), false},
		{"domain, verification not said", "domain:example.com", false, nil, user(map[string]any{"email": "bob@example.com"}), false},
		{"email, unverified", "email:bob@example.com", false, nil, user(map[string]any{"email": "bob@example.com", "email_verified": false}), false},
		{"email, verified, from UserInfo", "email:bob@example.com", true, nil, user(map[string]any{"email": "bob@example.com", "email_verified": true}), true},
		{"email, unverified, from UserInfo", "email:bob@example.com", true, nil, user(map[string]any{"email": "bob@example.com"}), false},
		{"another domain", "domain:example.org", false, nil, user(map[string]any{"email": "bob@example.com", "email_verified": true}), false},
		{"group", "group:mcp-users", false, nil, user(map[string]any{"groups": []string{"mcp-users"}}), true},
		{"one group", "group:mcp-users", false, nil, user(map[string]any{"groups": "mcp-users"}), true},
		{"other group", "group:mcp-users", false, nil, user(map[string]any{"groups": []string{"staff"}}), false},
		{"no groups", "group:mcp-users", false, nil, user(map[string]any{"email": "bob@example.com", "email_verified": true}), false},
		{"subject", "id:oidc:hydra:bob", false, nil, user(nil), true},
		{"bare subject", "id:bob", false, nil, user(nil), false},
		{"login is GitHub's", "bob", false, nil, user(map[string]any{"preferred_username": "bob"}), false},
		{"required hd", "*", false, map[string]string{"hd": "example.com"}, user(map[string]any{"hd": "example.com"}), true},
		{"required hd, another", "*", false, map[string]string{"hd": "example.com"}, user(map[string]any{"hd": "gmail.com"}), false},
		{"required hd, none", "*", false, map[string]string{"hd": "example.com"}, user(nil), false},
	}
	h := hydratest.Start(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newOIDCWorld(t, h, oidcConfig{policy: tc.policy, userInfo: tc.userInfo, require: tc.require})
			c := w.register()
			to, cp := w.login(c, tc.user)
			if !tc.admitted {
				if to.Query().Get("error") != "access_denied" || to.Query().Get("code") != "" {
					t.Fatalf("a user the policy does not admit: %s", to)
				}
				return
			}
			w.token(c, to, cp)
		})
	}
}

// TestOIDCRefusedLogins: logins that must fail, and leave nothing
// behind in the store.
func TestOIDCRefusedLogins(t *testing.T) {
	h := hydratest.Start(t)
	fresh := func(t *testing.T) *oidcWorld {
		t.Cleanup(func() { h.SetTokenFilter(nil); h.SetDown(false) })
		return newOIDCWorld(t, h, oidcConfig{policy: "*"})
	}

	// An ID token whose signature is not the provider's (a token endpoint
	// answer rewritten on its way) ends the login with access_denied.
	t.Run("forged signature", func(t *testing.T) {
		w := fresh(t)
		other, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		h.SetTokenFilter(func(body []byte) []byte {
			return rewriteIDToken(t, body, func(idToken string) string {
				parts := strings.Split(idToken, ".")
				// The same header (hydra's kid) and claims, another key.
				sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
				sig, err := rsa.SignPKCS1v15(rand.Reader, other, crypto.SHA256, sum[:])
				if err != nil {
					t.Error(err)
				}
				return parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(sig)
			})
		})
		c := w.register()
		to, _ := w.login(c, alice)
		if to.Query().Get("error") != "access_denied" || to.Query().Get("code") != "" {
			t.Fatalf("a forged ID token: %s", to)
		}
		if !strings.Contains(w.logs.String(), "ID token refused") {
			t.Fatalf("the log does not say why:\n%s", w.logs.String())
		}
		if left := w.halfStored(); len(left) > 0 {
			t.Fatalf("the failed login left %v", left)
		}
	})

	// The token endpoint's answer of one login replayed into another: its
	// ID token carries the first login's nonce.
	t.Run("replayed ID token", func(t *testing.T) {
		w := fresh(t)
		var mu sync.Mutex
		var first []byte
		h.SetTokenFilter(func(body []byte) []byte {
			mu.Lock()
			defer mu.Unlock()
			if first == nil {
				first = bytes.Clone(body)
				return body
			}
			return first // the whole answer: access token and ID token match
		})
		c := w.register()
		to, cp := w.login(c, alice)
		w.token(c, to, cp) // the first login is fine
		before := w.halfStored()
		to, _ = w.login(c, alice)
		if to.Query().Get("error") != "access_denied" || to.Query().Get("code") != "" {
			t.Fatalf("a replayed ID token: %s", to)
		}
		if !strings.Contains(w.logs.String(), "nonce") {
			t.Fatalf("the log does not say why:\n%s", w.logs.String())
		}
		if after := w.halfStored(); !slices.Equal(after, before) {
			t.Fatalf("the failed login left %v beside the first login's %v", after, before)
		}
	})

	// With the provider unreachable the user gets a page that says so,
	// and that offers to take temporarily_unavailable back to the
	// application.
	t.Run("provider down before the first login", func(t *testing.T) {
		w := fresh(t)
		h.SetDown(true) // this server never discovered its endpoints
		c := w.register()
		cp := w.startLogin(c)
		resp, page := w.choose(cp, "oidc:hydra")
		wantUnavailablePage(t, w, resp, page)
	})
	t.Run("provider down at the callback", func(t *testing.T) {
		w := fresh(t)
		c := w.register()
		cp := w.startLogin(c)
		resp, body := w.choose(cp, "oidc:hydra")
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("consent: %d %s", resp.StatusCode, body)
		}
		cb := h.Login(t, w.browser, resp.Header.Get("Location"), alice)
		h.SetDown(true) // before the code exchange
		resp, page := w.callback(cb)
		wantUnavailablePage(t, w, resp, page)
		// Up again, the used state is spent: no login half-done to resume.
		h.SetDown(false)
		resp, _ = w.callback(cb)
		if resp.StatusCode != http.StatusBadRequest || len(w.halfStored()) > 0 {
			t.Fatalf("the callback again: %d, store %v", resp.StatusCode, w.halfStored())
		}
	})
}

func wantUnavailablePage(t *testing.T, w *oidcWorld, resp *http.Response, page string) {
	t.Helper()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(page, "cannot be reached right now") ||
		!strings.Contains(page, "Hydra &lt;SSO&gt; &amp; co") || !strings.Contains(page, "error=temporarily_unavailable") ||
		!strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Fatalf("provider down: %d %v\n%s", resp.StatusCode, resp.Header, page)
	}
	if left := w.halfStored(); len(left) > 0 {
		t.Fatalf("the failed login left %v", left)
	}
}

// rewriteIDToken applies f to the id_token of a token endpoint answer.
func rewriteIDToken(t *testing.T, body []byte, f func(string) string) []byte {
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Errorf("token answer: %v", err)
		return body
	}
	if s, ok := m["id_token"].(string); ok {
		m["id_token"] = f(s)
	}
	out, _ := json.Marshal(m)
	return out
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// TestOIDCDeviceFlow: a device (RFC 8628) approved by a user who signs in
// with the OpenID provider gets tokens for that user.
func TestOIDCDeviceFlow(t *testing.T) {
	w := newOIDCWorld(t, hydratest.Start(t), oidcConfig{policy: "domain:example.com"})
	body, _ := json.Marshal(map[string]any{"client_name": "Device", "token_endpoint_auth_method": "none",
		"grant_types": []string{"urn:ietf:params:oauth:grant-type:device_code", "refresh_token"}})
	resp, err := http.Post(w.issuer+"/register", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var reg struct {
		ClientID string `json:"client_id"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&reg)
	resp.Body.Close()
	resp, err = http.PostForm(w.issuer+"/device_authorization", url.Values{"client_id": {reg.ClientID}})
	if err != nil {
		t.Fatal(err)
	}
	var da struct {
		DeviceCode string `json:"device_code"`
		UserCode   string `json:"user_code"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&da)
	resp.Body.Close()
	if da.DeviceCode == "" {
		t.Fatalf("device authorization: %d", resp.StatusCode)
	}

	// The user enters the code, approves with hydra, signs in there.
	page, err := w.browser.Get(w.issuer + "/device?user_code=" + url.QueryEscape(da.UserCode))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := goquery.NewDocumentFromReader(page.Body)
	page.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	csrf, _ := doc.Find("input[name=csrf]").Attr("value")
	resp, err = w.browser.PostForm(w.issuer+"/device", url.Values{"csrf": {csrf}, "user_code": {da.UserCode}})
	if err != nil {
		t.Fatal(err)
	}
	doc, err = goquery.NewDocumentFromReader(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("the device's consent page: %d %v", resp.StatusCode, err)
	}
	cp := &consentPage{}
	form := doc.Find("form").First()
	cp.action, _ = form.Attr("action")
	cp.id, _ = form.Find("input[name=id]").Attr("value")
	cp.csrf, _ = form.Find("input[name=csrf]").Attr("value")
	resp, body2 := w.choose(cp, "oidc:hydra")
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("consent: %d %s", resp.StatusCode, body2)
	}
	cb := w.hydra.Login(t, w.browser, resp.Header.Get("Location"), alice)
	if resp, page := w.callback(cb); resp.StatusCode != http.StatusOK || !strings.Contains(page, "connected") {
		t.Fatalf("callback of a device approval: %d %s", resp.StatusCode, page)
	}
	tok := w.tokenCall(url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "device_code": {da.DeviceCode}, "client_id": {reg.ClientID}}, http.StatusOK)
	claims, err := w.srv.VerifyAccessToken(t.Context(), tok["access_token"].(string))
	if err != nil || claims.Subject != "oidc:hydra:alice" || !claims.EmailVerified {
		t.Fatalf("the device's token: %+v %v", claims, err)
	}
}

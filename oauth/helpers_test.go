package oauth

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/mcp-oauth-gateway/gateway/internal/fakegithub"
)

// clock is a settable test clock shared by the server and the store.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now().Truncate(time.Second)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// testEnv is an authorization server on loopback with a fake GitHub.
type testEnv struct {
	t      testing.TB
	clock  *clock
	store  *MemoryStore
	gh     *fakegithub.Server
	srv    *Server
	ts     *httptest.Server
	issuer string
	// browser follows no redirects and keeps cookies, like a user agent
	// driven step by step.
	browser *http.Client

	srvIDP     IdentityProvider // nil: GitHub against the fake
	issuerPath string
	// opts and idp built srv; restart builds another server from them on
	// the same store and serves it from then on.
	opts    *Options
	idp     IdentityProvider
	handler atomic.Pointer[Server]
}

// testKey is one ES256 key for all tests: generating keys per test would
// only slow them down (RSA under -race especially).
var testKey = func() *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	return k
}()

type envOption func(*Options, *testEnv)

func newEnv(t testing.TB, opts ...envOption) *testEnv {
	t.Helper()
	e := &testEnv{t: t, clock: newClock()}
	e.store = NewMemoryStore(&MemoryStoreOptions{Now: e.clock.Now, SweepInterval: -1})
	t.Cleanup(func() { e.store.Close() })
	e.gh = fakegithub.New("gh-client", "gh-secret")
	t.Cleanup(e.gh.Close)
	e.gh.AddUser(fakegithub.User{ID: 4242, Login: "octocat", Name: "The Octocat", Email: "octo@example.com", Orgs: []string{"acme"}})
	e.gh.AddUser(fakegithub.User{ID: 666, Login: "mallory", Name: "Mallory", Email: "m@example.com"})
	e.gh.SetLogin("octocat")

	o := &Options{
		Policy:           Policy{Logins: []string{"OctoCat"}},
		SigningAlgorithm: ES256,
		SigningKey:       testKey,
		Now:              e.clock.Now,
		Logger:           slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	var idp IdentityProvider
	for _, f := range opts {
		f(o, e)
	}
	e.ts = httptest.NewUnstartedServer(nil)
	e.issuer = "http://" + e.ts.Listener.Addr().String()
	if e.srvIDP == nil {
		gh, err := NewGitHub("gh-client", "gh-secret", &GitHubOptions{BaseURL: e.gh.URL, APIURL: e.gh.URL, FetchOrgs: true})
		if err != nil {
			t.Fatal(err)
		}
		idp = gh
	} else {
		idp = e.srvIDP
	}
	issuer := e.issuer + e.issuerPath
	srv, err := NewServer(context.Background(), issuer, e.store, idp, o)
	if err != nil {
		t.Fatal(err)
	}
	e.srv, e.opts, e.idp = srv, o, idp
	e.issuer = srv.Issuer()
	e.handler.Store(srv)
	e.ts.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { e.handler.Load().ServeHTTP(w, r) })
	e.ts.Start()
	t.Cleanup(e.ts.Close)
	jar, _ := cookiejar.New(nil)
	e.browser = &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return e
}

// restart replaces the server by a new one on the same store, issuer and
// identity provider, with the options changed by f, as an operator's
// restart with new settings would.
func (e *testEnv) restart(f func(*Options)) *Server {
	e.t.Helper()
	o := *e.opts
	if f != nil {
		f(&o)
	}
	srv, err := NewServer(context.Background(), e.issuer, e.store, e.idp, &o)
	if err != nil {
		e.t.Fatal(err)
	}
	e.srv, e.opts = srv, &o
	e.handler.Store(srv)
	return srv
}

// envOption helpers.
func withIDP(idp IdentityProvider) envOption {
	return func(_ *Options, e *testEnv) { e.srvIDP = idp }
}

func withOptions(f func(*Options)) envOption {
	return func(o *Options, _ *testEnv) { f(o) }
}

func withIssuerPath(p string) envOption {
	return func(_ *Options, e *testEnv) { e.issuerPath = p }
}

// do sends a request to the server and returns the response with its body
// read.
func (e *testEnv) do(req *http.Request) (*http.Response, []byte) {
	e.t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, body
}

// postForm posts a form to path; basic sets HTTP Basic credentials when
// non-empty ("id:secret").
func (e *testEnv) postForm(path string, form url.Values, basic ...string) (*http.Response, map[string]any) {
	e.t.Helper()
	req, _ := http.NewRequest("POST", e.issuer+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if len(basic) == 2 {
		req.SetBasicAuth(url.QueryEscape(basic[0]), url.QueryEscape(basic[1]))
	}
	resp, body := e.do(req)
	var m map[string]any
	if len(body) > 0 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(body, &m); err != nil {
			e.t.Fatalf("POST %s: bad JSON %q: %v", path, body, err)
		}
	}
	return resp, m
}

// postJSON posts a JSON document (bearer optional).
func (e *testEnv) postJSON(method, path string, v any, bearer string) (*http.Response, map[string]any) {
	e.t.Helper()
	var body io.Reader
	switch b := v.(type) {
	case nil:
	case string:
		body = strings.NewReader(b)
	case []byte:
		body = bytes.NewReader(b)
	default:
		raw, _ := json.Marshal(v)
		body = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, e.issuer+path, body)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, raw := e.do(req)
	var m map[string]any
	if len(raw) > 0 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &m); err != nil {
			e.t.Fatalf("%s %s: bad JSON %q: %v", method, path, raw, err)
		}
	}
	return resp, m
}

// registered is a client registered through the API.
type registered struct {
	ID, Secret, RegToken, RegURI string
	Redirect                     string
}

// register registers a client; meta defaults to a public client with one
// loopback redirect URI.
func (e *testEnv) register(meta map[string]any) registered {
	e.t.Helper()
	if meta == nil {
		meta = map[string]any{"client_name": "Test Client", "redirect_uris": []string{"http://127.0.0.1:9999/cb"}, "token_endpoint_auth_method": "none"}
	}
	resp, m := e.postJSON("POST", "/register", meta, "")
	if resp.StatusCode != http.StatusCreated {
		e.t.Fatalf("register: status %d: %v", resp.StatusCode, m)
	}
	r := registered{ID: str(m["client_id"]), Secret: str(m["client_secret"]), RegToken: str(m["registration_access_token"]), RegURI: str(m["registration_client_uri"])}
	if ru, ok := m["redirect_uris"].([]any); ok && len(ru) > 0 {
		r.Redirect = str(ru[0])
	}
	return r
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// pkcePair returns a verifier and its S256 challenge.
func pkcePair() (string, string) {
	v := randomString("", 32)
	return v, s256(v)
}

// authQuery builds a valid authorization request for c.
func authQuery(c registered, challenge string, extra url.Values) url.Values {
	q := url.Values{
		"response_type": {"code"}, "client_id": {c.ID}, "redirect_uri": {c.Redirect},
		"code_challenge": {challenge}, "code_challenge_method": {"S256"}, "state": {"st-123"},
	}
	for k, v := range extra {
		q[k] = v
	}
	return q
}

// get fetches a URL with the browser.
func (e *testEnv) get(u string) (*http.Response, []byte) {
	e.t.Helper()
	resp, err := e.browser.Get(u)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, body
}

// browserPost posts a form with the browser.
func (e *testEnv) browserPost(u string, form url.Values) (*http.Response, []byte) {
	e.t.Helper()
	resp, err := e.browser.PostForm(u, form)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, body
}

// formFields reads the hidden inputs of the first form of a page.
func formFields(t testing.TB, page []byte) (action string, fields url.Values) {
	t.Helper()
	doc, err := goquery.NewDocumentFromReader(bytes.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	f := doc.Find("form").First()
	action, _ = f.Attr("action")
	fields = url.Values{}
	f.Find("input[type=hidden]").Each(func(_ int, s *goquery.Selection) {
		n, _ := s.Attr("name")
		v, _ := s.Attr("value")
		fields.Set(n, v)
	})
	return action, fields
}

// authorize runs the browser through /authorize, consent, GitHub and the
// callback, and returns the final redirect to the client.
func (e *testEnv) authorize(q url.Values) *url.URL {
	e.t.Helper()
	resp, page := e.get(e.issuer + "/authorize?" + q.Encode())
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("authorize: status %d: %s", resp.StatusCode, page)
	}
	action, fields := formFields(e.t, page)
	fields.Set("decision", "approve")
	resp, _ = e.browserPost(action, fields)
	if resp.StatusCode != http.StatusSeeOther {
		e.t.Fatalf("consent: status %d", resp.StatusCode)
	}
	return e.followToClient(resp.Header.Get("Location"))
}

// followToClient follows redirects until one leaves the server and the
// identity provider, and returns it.
func (e *testEnv) followToClient(loc string) *url.URL {
	e.t.Helper()
	for i := 0; i < 10; i++ {
		u, err := url.Parse(loc)
		if err != nil {
			e.t.Fatal(err)
		}
		if !strings.HasPrefix(loc, e.issuer) && !strings.HasPrefix(loc, e.gh.URL) {
			return u
		}
		resp, body := e.get(loc)
		if resp.StatusCode/100 != 3 {
			e.t.Fatalf("GET %s: status %d: %s", loc, resp.StatusCode, body)
		}
		loc = resp.Header.Get("Location")
	}
	e.t.Fatal("too many redirects")
	return nil
}

// codeFor runs a whole authorization and returns the code.
func (e *testEnv) codeFor(c registered, challenge string, extra url.Values) string {
	e.t.Helper()
	u := e.authorize(authQuery(c, challenge, extra))
	code := u.Query().Get("code")
	if code == "" {
		e.t.Fatalf("no code in %s", u)
	}
	return code
}

// exchange redeems a code for a public client.
func (e *testEnv) exchange(c registered, code, verifier string, extra url.Values) (*http.Response, map[string]any) {
	e.t.Helper()
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {c.Redirect}, "code_verifier": {verifier}, "client_id": {c.ID}}
	for k, v := range extra {
		form[k] = v
	}
	return e.postForm("/token", form)
}

// tokens runs authorization and exchange and returns the token response.
func (e *testEnv) tokens(c registered, extra url.Values) map[string]any {
	e.t.Helper()
	v, ch := pkcePair()
	code := e.codeFor(c, ch, extra)
	resp, m := e.exchange(c, code, v, nil)
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("token: status %d: %v", resp.StatusCode, m)
	}
	return m
}

func (e *testEnv) refresh(c registered, rt string, extra url.Values) (*http.Response, map[string]any) {
	e.t.Helper()
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {c.ID}}
	for k, v := range extra {
		form[k] = v
	}
	return e.postForm("/token", form)
}

// wantOAuthError checks an OAuth error response.
func wantOAuthError(t testing.TB, resp *http.Response, m map[string]any, status int, code string) {
	t.Helper()
	if resp.StatusCode != status || str(m["error"]) != code {
		t.Fatalf("got status %d error %q (%v); want %d %q", resp.StatusCode, str(m["error"]), m["error_description"], status, code)
	}
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("error response without Cache-Control: no-store")
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

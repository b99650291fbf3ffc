package hydratest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcp-oauth-gateway/gateway/internal/testenv"
)

// Version is the hydra release the tests run.
const Version = "v2.3.0"

// startTimeout bounds how long hydra may take to answer (generous: the
// machine may be busy with other tests).
const startTimeout = 60 * time.Second

// Server is a running hydra owned by one test, behind a front that the
// test can take down or make rewrite token answers.
type Server struct {
	// Issuer is the provider's issuer identifier: the front's URL, where
	// its discovery document, authorization and token endpoints are.
	Issuer string
	// AdminURL is hydra's admin API.
	AdminURL string

	loginURL, consentURL string // where hydra sends the browser; never served
	front                *httptest.Server
	cmd                  *exec.Cmd
	exited               chan error
	log                  *testenv.Output
	once                 sync.Once

	mu     sync.Mutex
	down   bool
	filter func(body []byte) []byte
	admin  *http.Client
}

// Binary returns the path of the hydra binary: $MCP_HYDRA, else the one
// scripts/hydra.sh built into $MCP_TEST_HOME (default
// ~/.cache/mcp-oauth-gateway), else what scripts/hydra.sh builds now.
func Binary(tb testing.TB) string {
	tb.Helper()
	if p := os.Getenv("MCP_HYDRA"); p != "" {
		if _, err := os.Stat(p); err != nil {
			tb.Fatalf("hydratest: MCP_HYDRA=%s: %v", p, err)
		}
		return p
	}
	home := os.Getenv("MCP_TEST_HOME")
	if home == "" {
		h, err := os.UserHomeDir()
		if err != nil {
			tb.Fatalf("hydratest: no home directory to find the hydra binary in (set MCP_HYDRA): %v", err)
		}
		home = filepath.Join(h, ".cache", "mcp-oauth-gateway")
	}
	p := filepath.Join(home, "hydra-"+Version, "hydra")
	if _, err := os.Stat(p); err == nil {
		return p
	}
	_, self, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(self), "..", "..", "scripts", "hydra.sh")
	tb.Logf("hydratest: %s is missing; building it with %s (once, about 2 minutes)", p, script)
	out, err := exec.Command(script).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		tb.Fatalf("hydratest: the OpenID Connect tests need ory/hydra %s and %s could not build it: %v\n%s\n"+
			"(run scripts/setup.sh, or set MCP_HYDRA to a hydra binary built with -tags sqlite)", Version, script, err, stderr)
	}
	return strings.TrimSpace(string(out))
}

// Start starts hydra in memory on free loopback ports, with its front, and
// stops both at tb's cleanup. It fails tb (never skips it) when hydra
// cannot be found, built or started.
func Start(tb testing.TB) *Server {
	tb.Helper()
	bin := Binary(tb)
	var lastErr error
	for range 3 { // a free port may be taken between the probe and hydra's listen
		s, err := start(tb, bin)
		if err == nil {
			tb.Cleanup(func() { s.stop(tb) })
			return s
		}
		lastErr = err
	}
	tb.Fatalf("hydratest: %v", lastErr)
	return nil
}

func start(tb testing.TB, bin string) (*Server, error) {
	public, err := testenv.FreePort()
	if err != nil {
		return nil, err
	}
	admin, err := testenv.FreePort()
	if err != nil {
		return nil, err
	}
	s := &Server{
		AdminURL:   "http://127.0.0.1:" + strconv.Itoa(admin),
		loginURL:   "http://127.0.0.1:1/hydratest/login",
		consentURL: "http://127.0.0.1:1/hydratest/consent",
		log:        &testenv.Output{Limit: 1 << 20},
		admin:      &http.Client{Timeout: 30 * time.Second},
	}
	target, _ := url.Parse("http://127.0.0.1:" + strconv.Itoa(public))
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ModifyResponse = s.modify
	proxy.ErrorLog = log.New(s.log, "hydratest front: ", 0)
	s.front = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		down := s.down
		s.mu.Unlock()
		if down {
			// A provider that is down: the connection ends unanswered.
			if hj, ok := w.(http.Hijacker); ok {
				if conn, _, err := hj.Hijack(); err == nil {
					_ = conn.Close()
					return
				}
			}
			http.Error(w, "down", http.StatusBadGateway)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	s.Issuer = s.front.URL

	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	cmd := exec.Command(bin, "serve", "all", "--dev", "--sqa-opt-out")
	cmd.Env = append(os.Environ(),
		"DSN=memory",
		"SECRETS_SYSTEM="+base64.RawURLEncoding.EncodeToString(secret),
		"URLS_SELF_ISSUER="+s.Issuer,
		"URLS_LOGIN="+s.loginURL,
		"URLS_CONSENT="+s.consentURL,
		"SERVE_PUBLIC_HOST=127.0.0.1", "SERVE_PUBLIC_PORT="+strconv.Itoa(public),
		"SERVE_ADMIN_HOST=127.0.0.1", "SERVE_ADMIN_PORT="+strconv.Itoa(admin),
		"OAUTH2_PKCE_ENFORCED=true", // a client that sends no PKCE fails
		"SQA_OPT_OUT=true",
		"LOG_LEVEL=warn",
	)
	cmd.Stdout, cmd.Stderr = s.log, s.log
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		s.front.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	s.cmd = cmd
	s.exited = make(chan error, 1)
	go func() { s.exited <- cmd.Wait() }()

	deadline := time.Now().Add(startTimeout)
	// Hydra makes its signing keys at the first request that needs them,
	// which takes seconds: a probe that gave up would only start again.
	probe := &http.Client{Timeout: startTimeout}
	for {
		err := ready(probe, s.AdminURL+"/health/ready")
		if err == nil {
			err = ready(probe, s.Issuer+"/.well-known/jwks.json")
		}
		if err == nil {
			return s, nil
		}
		select {
		case werr := <-s.exited:
			s.front.Close()
			return nil, fmt.Errorf("hydra (public :%d, admin :%d) exited (%v): %s", public, admin, werr, s.log.String())
		default:
		}
		if time.Now().After(deadline) {
			s.stop(tb)
			return nil, fmt.Errorf("hydra did not answer within %v: %v: %s", startTimeout, err, s.log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func ready(c *http.Client, u string) error {
	resp, err := c.Get(u)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: status %d", u, resp.StatusCode)
	}
	return nil
}

// modify applies the token filter to the token endpoint's answers.
func (s *Server) modify(resp *http.Response) error {
	s.mu.Lock()
	filter := s.filter
	s.mu.Unlock()
	if filter == nil || resp.Request.URL.Path != "/oauth2/token" || resp.StatusCode != http.StatusOK {
		return nil
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	body = filter(body)
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
	return nil
}

// SetDown makes the provider unreachable (every connection to its
// endpoints is closed unanswered), or reachable again.
func (s *Server) SetDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
}

// SetTokenFilter rewrites every successful answer of the token endpoint
// (JSON with access_token, id_token, ...) with f before the client gets
// it; nil stops rewriting.
func (s *Server) SetTokenFilter(f func(body []byte) []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.filter = f
}

// Logs returns what hydra printed so far.
func (s *Server) Logs() string { return s.log.String() }

// Client is an OAuth client registered at hydra.
type Client struct {
	ID, Secret string
}

// ClientOptions shape a client. A nil *ClientOptions means defaults.
type ClientOptions struct {
	// Scopes the client may ask for. Zero: openid offline_access email
	// profile groups.
	Scopes []string
	// Public makes a client without secret (token_endpoint_auth_method
	// none). Zero: a confidential client with client_secret_basic.
	Public bool
	// Audience is the audience its access tokens may be asked for
	// (hydra's client audience). Zero: none.
	Audience []string
}

// CreateClient registers a client redirecting to redirectURI.
func (s *Server) CreateClient(tb testing.TB, redirectURI string, opts *ClientOptions) Client {
	tb.Helper()
	if opts == nil {
		opts = &ClientOptions{}
	}
	scopes := opts.Scopes
	if len(scopes) == 0 {
		scopes = []string{"openid", "offline_access", "email", "profile", "groups"}
	}
	body := map[string]any{
		"redirect_uris":  []string{redirectURI},
		"grant_types":    []string{"authorization_code", "refresh_token"},
		"response_types": []string{"code"},
		"scope":          strings.Join(scopes, " "),
	}
	if opts.Public {
		body["token_endpoint_auth_method"] = "none"
	} else {
		body["token_endpoint_auth_method"] = "client_secret_basic"
	}
	if len(opts.Audience) > 0 {
		body["audience"] = opts.Audience
	}
	var out struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	s.adminCall(tb, http.MethodPost, "/admin/clients", body, &out)
	return Client{ID: out.ClientID, Secret: out.ClientSecret}
}

// User is who logs in at hydra: the subject and the claims the consent
// puts into the ID token (and the UserInfo answer): email,
// email_verified, name, preferred_username, groups...
type User struct {
	Subject string
	Claims  map[string]any
}

// Login drives a browser through hydra: from start (the authorization
// request, or any URL that leads there) it follows the redirects, accepts
// the login as u and the consent (every requested scope, u's claims)
// through the admin API, and returns the first URL outside hydra that the
// browser is sent to: the client's redirect URI with code and state.
// browser must keep cookies and must not follow redirects itself.
func (s *Server) Login(tb testing.TB, browser *http.Client, start string, u User) *url.URL {
	tb.Helper()
	next := start
	for range 20 {
		switch {
		case strings.HasPrefix(next, s.loginURL):
			challenge := query(tb, next, "login_challenge")
			var out struct {
				RedirectTo string `json:"redirect_to"`
			}
			s.adminCall(tb, http.MethodPut, "/admin/oauth2/auth/requests/login/accept?login_challenge="+url.QueryEscape(challenge),
				map[string]any{"subject": u.Subject, "remember": false}, &out)
			next = out.RedirectTo
			continue
		case strings.HasPrefix(next, s.consentURL):
			challenge := query(tb, next, "consent_challenge")
			var req struct {
				Scopes   []string `json:"requested_scope"`
				Audience []string `json:"requested_access_token_audience"`
			}
			s.adminCall(tb, http.MethodGet, "/admin/oauth2/auth/requests/consent?consent_challenge="+url.QueryEscape(challenge), nil, &req)
			claims := u.Claims
			if claims == nil {
				claims = map[string]any{}
			}
			var out struct {
				RedirectTo string `json:"redirect_to"`
			}
			s.adminCall(tb, http.MethodPut, "/admin/oauth2/auth/requests/consent/accept?consent_challenge="+url.QueryEscape(challenge),
				map[string]any{
					"grant_scope": req.Scopes, "grant_access_token_audience": req.Audience, "remember": false,
					"session": map[string]any{"id_token": claims},
				}, &out)
			next = out.RedirectTo
			continue
		case !strings.HasPrefix(next, s.Issuer):
			u, err := url.Parse(next)
			if err != nil {
				tb.Fatalf("hydratest: hydra redirected to %q: %v", next, err)
			}
			return u
		}
		resp, err := browser.Get(next)
		if err != nil {
			tb.Fatalf("hydratest: GET %s: %v", next, err)
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		loc := resp.Header.Get("Location")
		if resp.StatusCode < 300 || resp.StatusCode > 399 || loc == "" {
			tb.Fatalf("hydratest: GET %s: status %d, no redirect: %s", next, resp.StatusCode, body)
		}
		ref, err := resp.Request.URL.Parse(loc)
		if err != nil {
			tb.Fatalf("hydratest: bad Location %q: %v", loc, err)
		}
		next = ref.String()
	}
	tb.Fatalf("hydratest: more than 20 redirects from %s", start)
	return nil
}

// RevokeConsent revokes every consent of subject at hydra, and with them
// its refresh and access tokens: the user's session at the provider ends.
func (s *Server) RevokeConsent(tb testing.TB, subject string) {
	tb.Helper()
	s.adminCall(tb, http.MethodDelete, "/admin/oauth2/auth/sessions/consent?all=true&subject="+url.QueryEscape(subject), nil, nil)
}

// adminCall calls the admin API with a JSON body (nil: none) and decodes
// the JSON answer into out (nil: ignored); anything but 2xx fails tb.
func (s *Server) adminCall(tb testing.TB, method, path string, body, out any) {
	tb.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			tb.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, s.AdminURL+path, rd)
	if err != nil {
		tb.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.admin.Do(req)
	if err != nil {
		tb.Fatalf("hydratest: %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		tb.Fatalf("hydratest: %s %s: status %d: %s", method, path, resp.StatusCode, data)
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			tb.Fatalf("hydratest: %s %s: %v: %s", method, path, err, data)
		}
	}
}

func query(tb testing.TB, raw, name string) string {
	tb.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		tb.Fatal(err)
	}
	v := u.Query().Get(name)
	if v == "" {
		tb.Fatalf("hydratest: %s has no %s", raw, name)
	}
	return v
}

// Stop kills hydra now; Cleanup does it too.
func (s *Server) Stop() {
	s.once.Do(func() {
		s.front.Close()
		_ = s.cmd.Process.Kill()
		<-s.exited
	})
}

func (s *Server) stop(tb testing.TB) {
	s.Stop()
	if tb.Failed() {
		tb.Logf("hydratest: hydra's log:\n%s", s.log.String())
	}
}

// Browser returns an HTTP client that keeps cookies and stops at every
// redirect, as Login needs.
func Browser(tb testing.TB) *http.Client {
	tb.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		tb.Fatal(err)
	}
	return &http.Client{
		Jar:           jar,
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

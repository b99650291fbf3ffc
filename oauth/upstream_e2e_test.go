package oauth_test

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcp-oauth-gateway/gateway/internal/hydratest"
	"github.com/mcp-oauth-gateway/gateway/oauth"
	"github.com/mcp-oauth-gateway/gateway/stdiobridge"
	"github.com/mcp-oauth-gateway/gateway/stdiobridge/stdiotest"
)

// The test binary is also the stdio MCP server of the upstream token
// tests (stdiotest).
func TestMain(m *testing.M) {
	if stdiotest.Enabled() {
		os.Exit(stdiotest.Main(os.Args[1:]))
	}
	os.Exit(m.Run())
}

// testClock is a settable clock for the authorization server.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// TestUpstreamTokensReachUsersProcesses: a stdio MCP server that acts as
// the signed-in user gets, in a process of that user's alone, the user's
// own upstream token: a GitHub user's GitHub token, an OpenID user's token
// from hydra. A renewed token starts a new process with it. The store
// (file and Redis) never holds an upstream token in clear; revoking the
// user's authorization drops it, and the next call asks them to sign in
// again.
func TestUpstreamTokensReachUsersProcesses(t *testing.T) {
	h := hydratest.Start(t)
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	keys, err := oauth.ParseUpstreamKeys("k1:" + base64.StdEncoding.EncodeToString(secret))
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range []bool{true, false} {
		name := map[bool]string{true: "file store", false: "Redis"}[file]
		t.Run(name, func(t *testing.T) {
			clock := &testClock{t: time.Now()}
			w := newOIDCWorld(t, h, oidcConfig{policy: "alice, id:oidc:hydra:carol", keys: keys, now: clock.Now, fileStore: file})
			w.gh.SetTokenLifetime(time.Hour) // a GitHub App's expiring tokens
			svc := w.upstreamService(t)

			// alice signs in with GitHub, carol with hydra.
			c := w.register()
			cp := w.startLogin(c)
			resp, _ := w.choose(cp, "github")
			aliceTok := w.token(c, followGitHub(t, w, resp.Header.Get("Location")), cp)
			carol := hydratest.User{Subject: "carol", Claims: map[string]any{"email": "carol@example.com", "email_verified": true}}
			to, cp := w.login(c, carol)
			carolTok := w.token(c, to, cp)

			aliceUp := w.upstreamOf(t, aliceTok)
			carolUp := w.upstreamOf(t, carolTok)
			carolClaims := w.claimsOf(t, carolTok)
			aliceSession := newMCPSession(t, svc.URL, str(aliceTok["access_token"]))
			carolSession := newMCPSession(t, svc.URL, str(carolTok["access_token"]))
			ra, rc := aliceSession.credential(), carolSession.credential()
			if !strings.HasPrefix(ra, report(aliceUp)) || !strings.HasPrefix(rc, report(carolUp)) || pidOf(ra) == pidOf(rc) {
				t.Fatalf("alice's process says %q (want her GitHub token's %q), carol's %q (want %q)", ra, report(aliceUp), rc, report(carolUp))
			}
			if !strings.HasPrefix(aliceUp, "gho_") || !strings.HasPrefix(carolUp, "ory_at_") {
				t.Fatalf("upstream tokens %.8s..., %.8s...", aliceUp, carolUp)
			}

			// Only sealed in the store: neither access nor refresh token.
			secrets := []string{aliceUp, carolUp, str(aliceTok["refresh_token"]), str(carolTok["refresh_token"])}
			if found := w.rawStoreHolds(secrets); found != "" {
				t.Fatalf("the %s holds %.10s... in clear", name, found)
			}

			// alice's GitHub token expires: the next call renews it, and
			// a process with the new token serves her new session (the old
			// one is unknown: 404, and the client starts a new one).
			w.gh.SetTokenLifetime(10 * time.Hour)
			clock.Advance(2 * time.Hour)
			aliceTok = w.refresh(c, str(aliceTok["refresh_token"]), http.StatusOK) // her access token expired too
			aliceSession.token = str(aliceTok["access_token"])
			if status := aliceSession.status(); status != http.StatusNotFound {
				t.Fatalf("alice's session after the renewal: %d, want 404", status)
			}
			renewed := w.upstreamOf(t, aliceTok)
			if renewed == aliceUp {
				t.Fatal("the GitHub token was not renewed")
			}
			again := newMCPSession(t, svc.URL, str(aliceTok["access_token"])).credential()
			if !strings.HasPrefix(again, report(renewed)) || pidOf(again) == pidOf(ra) {
				t.Fatalf("after the renewal alice's process says %q, want %q in a new process (was %q)", again, report(renewed), ra)
			}
			if found := w.rawStoreHolds([]string{renewed, aliceUp}); found != "" {
				t.Fatalf("the %s holds a GitHub token in clear after the renewal", name)
			}

			// alice revokes her authorization: her upstream token is gone,
			// and the service asks her to sign in again.
			aliceClaims := w.claimsOf(t, aliceTok)
			form := url.Values{"token": {str(aliceTok["refresh_token"])}, "client_id": {c.id}}
			if r, err := http.PostForm(w.issuer+"/revoke", form); err != nil || r.StatusCode != 200 {
				t.Fatalf("revoke: %v %v", r, err)
			}
			if _, err := w.srv.UpstreamToken(t.Context(), aliceClaims); !errors.Is(err, oauth.ErrUpstreamMissing) {
				t.Fatalf("the upstream token after the revocation: %v", err)
			}
			// carol's is still there.
			if _, err := w.store.GetUpstream(t.Context(), carolClaims.ClientID, carolClaims.FamilyID); err != nil {
				t.Fatalf("carol's upstream token after alice's revocation: %v", err)
			}
		})
	}
}

// upstreamService is the stdio server of every user behind the server's
// bearer check and Server.Upstream: each caller (user and authorization)
// gets processes of their own, with UPSTREAM_TOKEN set to their token.
func (w *oidcWorld) upstreamService(t *testing.T) *httptest.Server {
	t.Helper()
	v, err := oauth.NewVerifier(w.issuer, w.srv, &oauth.VerifierOptions{Revocations: w.store, Now: w.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = v.Close() })
	pr, err := oauth.NewProtectedResource(v, oauth.Resource{URL: "https://mcp.example.com/mcp"})
	if err != nil {
		t.Fatal(err)
	}
	path, args, env := stdiotest.Command()
	users, err := stdiobridge.NewUsers(stdiobridge.Command{Path: path, Args: args, Env: env},
		func(w http.ResponseWriter, r *http.Request) (string, []string, bool) {
			claims, _ := oauth.ClaimsFromContext(r.Context())
			tok, ok := oauth.UpstreamTokenFromContext(r.Context())
			if claims == nil || !ok {
				http.Error(w, "no upstream token", http.StatusInternalServerError)
				return "", nil, false
			}
			return claims.Subject + "\x00" + claims.FamilyID, []string{"UPSTREAM_TOKEN=" + tok.AccessToken}, true
		}, &stdiobridge.UsersOptions{Proxy: stdiobridge.ProxyOptions{AllowAnyHost: true, StopGrace: 300 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(pr.Middleware(w.srv.Upstream(pr, users, nil)))
	t.Cleanup(func() { ts.Close(); _ = users.Close() })
	return ts
}

// claimsOf verifies a token response's access token.
func (w *oidcWorld) claimsOf(t *testing.T, tok map[string]any) *oauth.AccessTokenClaims {
	t.Helper()
	c, err := w.srv.VerifyAccessToken(t.Context(), str(tok["access_token"]))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// upstreamOf is the upstream access token kept for a token response's
// authorization.
func (w *oidcWorld) upstreamOf(t *testing.T, tok map[string]any) string {
	t.Helper()
	up, err := w.srv.UpstreamToken(t.Context(), w.claimsOf(t, tok))
	if err != nil {
		t.Fatal(err)
	}
	return up.AccessToken
}

// report is how stdiotest's credential tool names a token.
func report(token string) string {
	return strings.TrimSuffix(stdiotest.CredentialReport(token, 0), "pid 0")
}

func pidOf(report string) string { return report[strings.LastIndex(report, " ")+1:] }

func str(v any) string { s, _ := v.(string); return s }

// mcpSession is a minimal MCP client of one session (2025-11-25).
type mcpSession struct {
	t       *testing.T
	url     string
	token   string
	session string
	next    int
}

func newMCPSession(t *testing.T, u, token string) *mcpSession {
	t.Helper()
	m := &mcpSession{t: t, url: u, token: token}
	resp, msgs := m.post(`{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"test","version":"1"}}}`)
	if resp.StatusCode != http.StatusOK || len(msgs) == 0 {
		t.Fatalf("initialize: %d %v", resp.StatusCode, msgs)
	}
	m.session = resp.Header.Get("Mcp-Session-Id")
	if resp, _ := m.post(`{"jsonrpc":"2.0","method":"notifications/initialized"}`); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("initialized: %d", resp.StatusCode)
	}
	return m
}

// post sends one message and returns the answer's JSON messages.
func (m *mcpSession) post(body string) (*http.Response, []json.RawMessage) {
	m.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, m.url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Authorization", "Bearer "+m.token)
	req.Header.Set("MCP-Protocol-Version", "2025-11-25")
	if m.session != "" {
		req.Header.Set("Mcp-Session-Id", m.session)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		m.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var msgs []json.RawMessage
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(make([]byte, 0, 1<<16), 1<<20)
		for sc.Scan() {
			if d, ok := strings.CutPrefix(sc.Text(), "data:"); ok && strings.TrimSpace(d) != "" {
				msgs = append(msgs, json.RawMessage(strings.TrimSpace(d)))
			}
		}
	} else if len(bytes.TrimSpace(data)) > 0 {
		msgs = append(msgs, json.RawMessage(data))
	}
	return resp, msgs
}

// status is the HTTP status of a tools/call in the session.
func (m *mcpSession) status() int {
	m.t.Helper()
	m.next++
	resp, _ := m.post(fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"credential","arguments":{"name":"UPSTREAM_TOKEN"}}}`, m.next))
	return resp.StatusCode
}

// credential calls the server's credential tool.
func (m *mcpSession) credential() string {
	m.t.Helper()
	m.next++
	resp, msgs := m.post(fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"credential","arguments":{"name":"UPSTREAM_TOKEN"}}}`, m.next))
	if resp.StatusCode != http.StatusOK || len(msgs) == 0 {
		m.t.Fatalf("tools/call: %d %s", resp.StatusCode, msgs)
	}
	var res struct {
		Result struct {
			Content []struct {
				Text string `json:"text"`
			} `json:"content"`
		} `json:"result"`
	}
	if err := json.Unmarshal(msgs[len(msgs)-1], &res); err != nil || len(res.Result.Content) == 0 {
		m.t.Fatalf("tools/call answer %s", msgs[len(msgs)-1])
	}
	return res.Result.Content[0].Text
}

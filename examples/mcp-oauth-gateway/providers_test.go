package main

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mcp-oauth-gateway/gateway/internal/fakegithub"
	"github.com/mcp-oauth-gateway/gateway/internal/hydratest"
	"github.com/mcp-oauth-gateway/gateway/internal/testenv"
)

// TestSeveralOpenIDProviders: the gateway signs users in with GitHub and
// two OpenID providers of its --config file (two real hydras) at once. The
// consent page offers the three, GitHub first, then the file's in order.
// Each provider's users get subjects of that provider's (oidc:NAME:SUB):
// two users with the same sub at the two providers are two users. A
// service that admits one provider's email domain admits its user and
// refuses the other's, at login.
func TestSeveralOpenIDProviders(t *testing.T) {
	corp, partner := hydratest.Start(t), hydratest.Start(t)
	gh := fakegithub.New("gh-app", "gh-secret")
	defer gh.Close()
	gh.AddUser(fakegithub.User{ID: 4242, Login: "octocat", Email: "octo@example.com"})
	port := testenv.Port(t)
	callback := "http://127.0.0.1:" + port + "/callback"
	corpClient, partnerClient := corp.CreateClient(t, callback, nil), partner.CreateClient(t, callback, nil)
	partnerSecret := filepath.Join(t.TempDir(), "partner-secret")
	if err := os.WriteFile(partnerSecret, []byte(partnerClient.Secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	up, _ := upstreamMCP(t)
	const doc = `providers:
  - name: corp
    display_name: Corp SSO
    issuer: %s
    client_id: %s
    client_secret: {env: CORP_OIDC_SECRET}
  - name: partner
    display_name: Partner Login
    issuer: %s
    client_id: %s
    client_secret: {file: %s}
services:
  - name: api
    upstream: {url: "%s/mcp"}
  - name: staff
    allowed_users: "domain:corp.example"
    upstream: {url: "%s/mcp"}
`
	conf := writeConfig(t, fmt.Sprintf(doc, corp.Issuer, corpClient.ID, partner.Issuer, partnerClient.ID, partnerSecret, up.URL, up.URL))
	env := []string{"GITHUB_CLIENT_ID=gh-app", "GITHUB_CLIENT_SECRET=gh-secret", "GITHUB_BASE_URL=" + gh.URL, "GITHUB_API_URL=" + gh.URL,
		"ALLOWED_USERS=*", "CORP_OIDC_SECRET=" + corpClient.Secret}

	t.Run("an issuer its provider does not name", func(t *testing.T) {
		bad := writeConfig(t, fmt.Sprintf(doc, corp.Issuer, corpClient.ID, partner.Issuer+"/", partnerClient.ID, partnerSecret, up.URL, up.URL))
		status, stderr := refusedStart(t, env, "--config", bad, "--store", "memory")
		if status != 2 || !strings.Contains(stderr, "--config "+bad+":7 (provider partner): ") || !strings.Contains(stderr, `names the issuer "`+partner.Issuer+`"`) {
			t.Fatalf("exit status %d: %s", status, stderr)
		}
	})
	g := startOn(t, port, env, "--config", conf, "--store", "memory")
	apiURL, staffURL := g.base+"/api/mcp", g.base+"/staff/mcp"

	// The same sub at both providers: Jane at corp, Bob at partner.
	jane := hydratest.User{Subject: "u-1001", Claims: map[string]any{"email": "jane@corp.example", "email_verified": true, "name": "Jane"}}
	bob := hydratest.User{Subject: "u-1001", Claims: map[string]any{"email": "bob@partner.example", "email_verified": true, "name": "Bob"}}

	janeAPI, offered, refused := oidcLogin(t, corp, "oidc:corp", jane, apiURL)
	if want := "github=Sign in with GitHub|oidc:corp=Sign in with Corp SSO|oidc:partner=Sign in with Partner Login"; strings.Join(offered, "|") != want {
		t.Fatalf("the consent page offers %q, want %q", offered, want)
	}
	if refused != "" {
		t.Fatalf("Jane was refused the api service: %s", refused)
	}
	bobAPI, _, refused := oidcLogin(t, partner, "oidc:partner", bob, apiURL)
	if refused != "" {
		t.Fatalf("Bob was refused the api service: %s", refused)
	}
	if got := userSeenBy(t, janeAPI, apiURL); got != "oidc:corp:u-1001" {
		t.Fatalf("Jane's calls reach the service as %q, want oidc:corp:u-1001", got)
	}
	if got := userSeenBy(t, bobAPI, apiURL); got != "oidc:partner:u-1001" {
		t.Fatalf("Bob's calls reach the service as %q, want oidc:partner:u-1001", got)
	}
	if octo := githubLogin(t, gh, "octocat", apiURL); userSeenBy(t, octo, apiURL) != "4242" {
		t.Fatal("the GitHub user does not reach the service as 4242")
	}

	// The staff service admits corp.example's verified addresses: Jane,
	// not Bob (whose sub is Jane's, at another provider).
	janeStaff, _, refused := oidcLogin(t, corp, "oidc:corp", jane, staffURL)
	if refused != "" {
		t.Fatalf("Jane was refused the staff service: %s", refused)
	}
	if got := userSeenBy(t, janeStaff, staffURL); got != "oidc:corp:u-1001" {
		t.Fatalf("Jane reaches the staff service as %q", got)
	}
	if _, _, refused := oidcLogin(t, partner, "oidc:partner", bob, staffURL); !strings.HasPrefix(refused, "access_denied: this user is not allowed") {
		t.Fatalf("Bob's login for the staff service: refused %q, want access_denied", refused)
	}
	if _, rpcErr, status := (&mcp{c: bobAPI, url: staffURL}).try("tools/call", map[string]any{"name": "whoami"}); status != http.StatusUnauthorized {
		t.Fatalf("Bob's api token at the staff service: %d %v, want 401", status, rpcErr)
	}

	g.stop(t) // the log is complete once it exited
	if !strings.Contains(g.stdout.String(), "Sign-in:              GitHub, Corp SSO, Partner Login; allowed: ") {
		t.Errorf("the summary does not name the three providers:\n%s", g.stdout.String())
	}
	if !strings.Contains(g.stderr.String(), `identity_providers="github oidc:corp oidc:partner"`) {
		t.Errorf("the start-up line does not name the three providers: %s", g.stderr.String())
	}
	if strings.Contains(g.stderr.String(), corpClient.Secret) || strings.Contains(g.stderr.String(), partnerClient.Secret) {
		t.Error("the log holds a client secret")
	}
}

// oidcLogin signs u in through the gateway's consent page with provider
// (the value of its button) for resource, hydra h playing the provider.
// It returns the client with its tokens, the page's buttons
// ("VALUE=TEXT"), and the error the client was sent instead of a code
// ("CODE: DESCRIPTION"; "" when it got a code).
func oidcLogin(t *testing.T, h *hydratest.Server, provider string, u hydratest.User, resource string) (c *client, offered []string, refused string) {
	t.Helper()
	c, as, offered, resp := chooserClient(t, "providers test", provider, resource)
	if resp.StatusCode/100 != 3 {
		t.Fatalf("consent with %s: status %d, no redirect to the provider", provider, resp.StatusCode)
	}
	cb := h.Login(t, c.http, resp.Header.Get("Location"), u)
	resp, err := c.http.Get(cb.String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	to, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(to.String(), "http://127.0.0.1:9/cb") {
		t.Fatalf("the callback sent the browser to %q (status %d)", resp.Header.Get("Location"), resp.StatusCode)
	}
	if e := to.Query().Get("error"); e != "" {
		return c, offered, e + ": " + to.Query().Get("error_description")
	}
	c.tokenEndpoint = as["token_endpoint"].(string)
	tok := c.postForm(c.tokenEndpoint, url.Values{"grant_type": {"authorization_code"}, "code": {to.Query().Get("code")},
		"redirect_uri": {"http://127.0.0.1:9/cb"}, "code_verifier": {c.verifier}, "client_id": {c.clientID}})
	c.access, _ = tok["access_token"].(string)
	c.refresh, _ = tok["refresh_token"].(string)
	if c.access == "" {
		t.Fatalf("token for %s at %s: %v", u.Subject, provider, tok)
	}
	return c, offered, ""
}

// userSeenBy calls the upstream service's tool as c and returns the user
// (X-User-Id) it was called as.
func userSeenBy(t *testing.T, c *client, serviceURL string) string {
	t.Helper()
	text, _ := (&mcp{c: c, url: serviceURL}).callTool("whoami", nil)
	user, _, _ := strings.Cut(strings.TrimPrefix(text, "user="), " ")
	if !strings.HasPrefix(text, "user=") || user == "" {
		t.Fatalf("the service reported %q", text)
	}
	return user
}

// refusedStart runs a gateway that should refuse to start and returns its
// exit status and standard error; one that serves instead fails the test
// (and is stopped).
func refusedStart(t *testing.T, env []string, args ...string) (int, string) {
	t.Helper()
	port := testenv.Port(t)
	cmd := command(t, env, append([]string{"--port", port}, args...)...)
	var stderr testenv.Output
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-done:
			return cmd.ProcessState.ExitCode(), stderr.String()
		default:
		}
		if resp, err := http.Get("http://127.0.0.1:" + port + "/health"); err == nil {
			resp.Body.Close()
			_ = cmd.Process.Kill()
			<-done
			t.Fatalf("the gateway started: %s", stderr.String())
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-done
			t.Fatalf("the gateway neither started nor exited: %s", stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

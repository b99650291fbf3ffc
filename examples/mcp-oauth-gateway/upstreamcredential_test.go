package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mcp-oauth-gateway/gateway/internal/fakegithub"
	"github.com/mcp-oauth-gateway/gateway/internal/redistest"
	"github.com/mcp-oauth-gateway/gateway/internal/testenv"
	"github.com/mcp-oauth-gateway/gateway/stdiobridge/stdiotest"
)

// TestUpstreamCredential: services that act as the signed-in user with the
// user's own GitHub token. A stdio server gets it in the environment of
// processes of that user's alone (two users, two processes, two tokens);
// an upstream server gets it in the configured header. A token that
// expires is renewed and reaches a new process. The store (file, Redis)
// holds no GitHub token in clear. Revoking the authorization drops it, and
// the next call gets the 401 that makes the client sign in again.
func TestUpstreamCredential(t *testing.T) {
	gh := fakegithub.New("gh-app", "gh-secret")
	defer gh.Close()
	gh.AddUser(fakegithub.User{ID: 4242, Login: "octocat", Email: "octo@example.com"})
	gh.AddUser(fakegithub.User{ID: 666, Login: "mallory", Email: "m@example.com"})
	up, _ := upstreamMCP(t)
	exe, _ := os.Executable()
	conf := writeConfig(t, fmt.Sprintf(`services:
  - name: gh
    stdio:
      command: %q
      env: {%s: "1"}
    upstream_credential:
      provider: github
      scopes: [repo]
      env: UPSTREAM_TOKEN
  - name: api
    upstream:
      url: %s/mcp
    upstream_credential:
      header: Authorization
`, exe, stdiotest.EnvVar, up.URL))
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	env := []string{"GITHUB_CLIENT_ID=gh-app", "GITHUB_CLIENT_SECRET=gh-secret", "GITHUB_BASE_URL=" + gh.URL, "GITHUB_API_URL=" + gh.URL,
		"ALLOWED_USERS=octocat, mallory", "UPSTREAM_KEYS=k1:" + base64.StdEncoding.EncodeToString(secret)}

	for _, store := range []string{"file", "redis"} {
		t.Run(store, func(t *testing.T) {
			where := filepath.Join(t.TempDir(), "oauth.db")
			var rs *redistest.Server
			if store == "redis" {
				rs = redistest.Start(t)
				where = rs.URL
			}
			// A GitHub App's expiring tokens: these are renewed 30 s before
			// they expire, so 10 s from now.
			gh.SetTokenLifetime(40 * time.Second)
			g := start(t, env, "--config", conf, "--store", where)
			ghURL, apiURL := g.base+"/gh/mcp", g.base+"/api/mcp"

			octo := githubLogin(t, gh, "octocat", ghURL, apiURL)
			mal := githubLogin(t, gh, "mallory", ghURL, apiURL)
			gh.SetTokenLifetime(10 * time.Hour) // the renewed ones
			if a := gh.Authorizes(); !strings.Contains(a[len(a)-1].Scope, "repo") {
				t.Fatalf("the service's scope was not asked of GitHub: %q", a[len(a)-1].Scope)
			}

			// The upstream service sees each user's GitHub token as a
			// bearer token; never the client's. The stdio service: each
			// user's own process with their token.
			octoTok, malTok := bearerSeenBy(t, octo, apiURL), bearerSeenBy(t, mal, apiURL)
			if !strings.HasPrefix(octoTok, "gho_") || !strings.HasPrefix(malTok, "gho_") || octoTok == malTok {
				t.Fatalf("upstream tokens %.8s..., %.8s...", octoTok, malTok)
			}
			octoSession, malSession := &mcp{c: octo, url: ghURL}, &mcp{c: mal, url: ghURL}
			octoSession.initialize()
			malSession.initialize()
			ro, _ := octoSession.callTool("credential", map[string]any{"name": "UPSTREAM_TOKEN"})
			rm, _ := malSession.callTool("credential", map[string]any{"name": "UPSTREAM_TOKEN"})
			if !strings.HasPrefix(ro, credentialOf(octoTok)) || !strings.HasPrefix(rm, credentialOf(malTok)) || pidIn(ro) == pidIn(rm) {
				t.Fatalf("octocat's process: %q (want %q), mallory's: %q (want %q)", ro, credentialOf(octoTok), rm, credentialOf(malTok))
			}

			// Only sealed in the store.
			if found := rawStoreHolds(t, where, rs, octoTok, malTok, octo.refresh, mal.refresh); found != "" {
				t.Fatalf("the %s store holds %.10s... in clear", store, found)
			}

			if store == "file" {
				// octocat's token comes within 30 s of its expiry: a call
				// renews it; the upstream gets the new one, and a new
				// process with it serves octocat's new session (the old
				// session is unknown: 404, the client starts a new one).
				var renewed string
				waitFor(t, "the renewal of octocat's GitHub token", func() bool {
					renewed = bearerSeenBy(t, octo, apiURL)
					if renewed == octoTok {
						time.Sleep(500 * time.Millisecond)
					}
					return renewed != octoTok
				})
				if _, rpcErr, status := octoSession.try("tools/call", map[string]any{"name": "credential", "arguments": map[string]any{"name": "UPSTREAM_TOKEN"}}); status != http.StatusNotFound {
					t.Fatalf("octocat's old session after the renewal: %d %v, want 404", status, rpcErr)
				}
				again := &mcp{c: octo, url: ghURL}
				again.initialize()
				ra, _ := again.callTool("credential", map[string]any{"name": "UPSTREAM_TOKEN"})
				if !strings.HasPrefix(ra, credentialOf(renewed)) || pidIn(ra) == pidIn(ro) {
					t.Fatalf("after the renewal octocat's process says %q, want %q in a new process (was %q)", ra, credentialOf(renewed), ro)
				}
				if found := rawStoreHolds(t, where, rs, renewed); found != "" {
					t.Fatal("the store holds the renewed GitHub token in clear")
				}
			}

			// octocat revokes the authorization: the next calls get the
			// challenge that makes the client sign in again.
			req, _ := http.NewRequest("POST", octo.tokenEndpoint[:strings.LastIndex(octo.tokenEndpoint, "/")]+"/revoke",
				strings.NewReader(url.Values{"token": {octo.refresh}, "client_id": {octo.clientID}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
				t.Fatalf("revoke: %v %v", resp, err)
			}
			waitFor(t, "the revocation at the services", func() bool {
				_, _, status := (&mcp{c: octo, url: apiURL}).try("ping", map[string]any{})
				return status == http.StatusUnauthorized
			})
			if store == "file" {
				// mallory goes on, with her token (renewed too by now).
				malNow := bearerSeenBy(t, mal, apiURL)
				malAgain := &mcp{c: mal, url: ghURL}
				malAgain.initialize()
				if got, _ := malAgain.callTool("credential", map[string]any{"name": "UPSTREAM_TOKEN"}); !strings.HasPrefix(got, credentialOf(malNow)) {
					t.Fatalf("mallory's process after octocat's revocation: %q, want %q", got, credentialOf(malNow))
				}
			} else {
				// mallory revokes the app at GitHub: once her token needs
				// renewing, the service answers with the challenge that
				// tells her to sign in again.
				gh.RevokeTokens("mallory")
				var challenge string
				waitFor(t, "the refused renewal of mallory's token", func() bool {
					req, _ := http.NewRequest("POST", apiURL, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
					req.Header.Set("Authorization", "Bearer "+mal.access)
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("Accept", "application/json, text/event-stream")
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						t.Fatal(err)
					}
					resp.Body.Close()
					challenge = resp.Header.Get("WWW-Authenticate")
					if resp.StatusCode != http.StatusUnauthorized {
						time.Sleep(500 * time.Millisecond)
						return false
					}
					return true
				})
				if !strings.Contains(challenge, `error="invalid_token"`) || !strings.Contains(challenge, "GitHub no longer accepts") ||
					!strings.Contains(challenge, "sign in again") || !strings.Contains(challenge, "resource_metadata=") {
					t.Fatalf("mallory's challenge: %q", challenge)
				}
				// Her authorization ended: a refresh cannot paper over it.
				if m := mal.postForm(mal.tokenEndpoint, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {mal.refresh}, "client_id": {mal.clientID}}); m["error"] != "invalid_grant" {
					t.Fatalf("mallory's refresh after the challenge: %v", m)
				}
			}
			g.stop(t)
		})
	}
}

// TestUpstreamCredentialSettings: a service that acts as the user needs
// UPSTREAM_KEYS and a provider that gives tokens.
func TestUpstreamCredentialSettings(t *testing.T) {
	conf := writeConfig(t, "services:\n"+stdioService("gh")+"    upstream_credential: {env: TOKEN}\n")
	secret := base64.StdEncoding.EncodeToString(make([]byte, 32))
	for _, tc := range []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"no keys", []string{"GITHUB_CLIENT_ID=a", "GITHUB_CLIENT_SECRET=b"}, nil, "UPSTREAM_KEYS"},
		{"bad keys", []string{"GITHUB_CLIENT_ID=a", "GITHUB_CLIENT_SECRET=b", "UPSTREAM_KEYS=k1:short"}, nil, "UPSTREAM_KEYS"},
		{"development login", []string{"UPSTREAM_KEYS=k1:" + secret}, []string{"--dev-user", "robot"}, "development login gives none"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := command(t, tc.env, append([]string{"--config", conf, "--store", "memory"}, tc.args...)...)
			var stderr testenv.Output
			cmd.Stderr = &stderr
			err := cmd.Run()
			if cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != 2 || !strings.Contains(stderr.String(), tc.want) {
				t.Fatalf("exit %v: %s", err, stderr.String())
			}
		})
	}
}

// githubLogin signs login in at the fake GitHub through the gateway's
// consent page, for resources (one token for all of them), and returns the
// client with its tokens.
func githubLogin(t *testing.T, gh *fakegithub.Server, login string, resources ...string) *client {
	t.Helper()
	gh.SetLogin(login)
	c, as, _, resp := chooserClient(t, "user credential test", "github", resources...)
	loc := resp.Header.Get("Location")
	for i := 0; i < 3 && !strings.HasPrefix(loc, "http://127.0.0.1:9/cb"); i++ { // GitHub, the callback, the client
		next, err := c.http.Get(loc)
		if err != nil {
			t.Fatal(err)
		}
		next.Body.Close()
		loc = next.Header.Get("Location")
	}
	u, _ := url.Parse(loc)
	c.tokenEndpoint = as["token_endpoint"].(string)
	tok := c.postForm(c.tokenEndpoint, url.Values{"grant_type": {"authorization_code"}, "code": {u.Query().Get("code")},
		"redirect_uri": {"http://127.0.0.1:9/cb"}, "code_verifier": {c.verifier}, "client_id": {c.clientID}})
	c.access, _ = tok["access_token"].(string)
	c.refresh, _ = tok["refresh_token"].(string)
	if c.access == "" {
		t.Fatalf("token for %s: %v (redirect %s)", login, tok, loc)
	}
	return c
}

var bearer = regexp.MustCompile(`authorization="Bearer ([^"]+)"`)

// bearerSeenBy calls the upstream service's whoami tool as c and returns
// the bearer token it received.
func bearerSeenBy(t *testing.T, c *client, apiURL string) string {
	t.Helper()
	s := &mcp{c: c, url: apiURL}
	text, _ := s.callTool("whoami", nil)
	m := bearer.FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("the upstream got no bearer token: %s", text)
	}
	if m[1] == c.access {
		t.Fatal("the client's own bearer token reached the upstream")
	}
	return m[1]
}

// credentialOf is how stdiotest's credential tool names a token.
func credentialOf(token string) string {
	return strings.TrimSuffix(stdiotest.CredentialReport(token, 0), "pid 0")
}

func pidIn(report string) string { return report[strings.LastIndex(report, " ")+1:] }

// rawStoreHolds returns the first secret found in clear in the store: the
// file's bytes, or any Redis value.
func rawStoreHolds(t *testing.T, where string, rs *redistest.Server, secrets ...string) string {
	t.Helper()
	var raw []string
	if rs == nil {
		data, err := os.ReadFile(where)
		if err != nil {
			t.Fatal(err)
		}
		raw = []string{string(data)}
	} else {
		ctx := context.Background()
		keys, err := rs.Client.Keys(ctx, "*").Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			switch typ, _ := rs.Client.Type(ctx, k).Result(); typ {
			case "string":
				v, _ := rs.Client.Get(ctx, k).Result()
				raw = append(raw, v)
			case "hash":
				m, _ := rs.Client.HGetAll(ctx, k).Result()
				for f, v := range m {
					raw = append(raw, f, v)
				}
			case "set":
				m, _ := rs.Client.SMembers(ctx, k).Result()
				raw = append(raw, m...)
			}
		}
	}
	for _, s := range secrets {
		for _, v := range raw {
			if s != "" && strings.Contains(v, s) {
				return s
			}
		}
	}
	return ""
}

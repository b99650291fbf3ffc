package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/mcp-oauth-gateway/gateway/internal/fakegithub"
	"github.com/mcp-oauth-gateway/gateway/internal/redistest"
	"github.com/mcp-oauth-gateway/gateway/internal/testenv"
)

// refresh redeems a refresh token at the server.
func refresh(t *testing.T, issuer, clientID, rt string) map[string]any {
	t.Helper()
	return postForm(t, issuer+"/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {clientID}})
}

// revokedAtVerify reports whether /verify refuses token as revoked.
func revokedAtVerify(t *testing.T, issuer, resource, token string) bool {
	r := verify(t, issuer, resource, token)
	return r.StatusCode == http.StatusUnauthorized && strings.Contains(r.Header.Get("WWW-Authenticate"), "revoked")
}

// TestRefreshAfterAllowListChange: the operator restarts the server with a
// new ALLOWED_GITHUB_USERS that no longer names the user; the user's next
// refresh fails with invalid_grant and the family's access tokens are
// revoked at /verify, on the file store and on Redis.
func TestRefreshAfterAllowListChange(t *testing.T) {
	for _, tc := range []struct{ name, store string }{
		{"file", filepath.Join(t.TempDir(), "oauth.db")},
		{"redis", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := tc.store
			if store == "" {
				store = redistest.Start(t).URL
			}
			const resource = "https://mcp.example.com/mcp"
			port := testenv.Port(t)
			s := startEnv(t, port, []string{"ALLOWED_GITHUB_USERS=robot, alice"}, "--dev-user", "robot", "--store", store)
			reg, tok := login(t, s.issuer, resource)
			clientID := reg["client_id"].(string)
			next := refresh(t, s.issuer, clientID, tok["refresh_token"].(string))
			if next["refresh_token"] == nil {
				t.Fatalf("refresh while listed: %v", next)
			}
			s.stop(t)

			s = startEnv(t, port, []string{"ALLOWED_GITHUB_USERS=alice"}, "--dev-user", "robot", "--store", store)
			at := next["access_token"].(string)
			if r := verify(t, s.issuer, resource, at); r.StatusCode != 200 {
				t.Fatalf("access token before the refused refresh: %d", r.StatusCode)
			}
			m := refresh(t, s.issuer, clientID, next["refresh_token"].(string))
			if m["error"] != "invalid_grant" {
				t.Fatalf("refresh of a user no longer listed: error %v (a new pair: %t)", m["error"], m["refresh_token"] != nil)
			}
			eventually(t, "the family's revocation at /verify", func() bool {
				return revokedAtVerify(t, s.issuer, resource, at) && revokedAtVerify(t, s.issuer, resource, tok["access_token"].(string))
			})
			s.stop(t)
		})
	}
}

// TestRefreshAfterResourcePolicyReload: removing the user from a resource's
// allowed_users and reloading (SIGHUP) refuses their requests at once, and
// their next refresh with invalid_grant, revoking the family: admitting
// them again does not bring the old tokens back.
func TestRefreshAfterResourcePolicyReload(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "resources.json")
	write := func(users string) {
		doc := `{"resources": [{"url": "https://echo.example.com/mcp", "allowed_users": "` + users + `"}]}`
		if err := os.WriteFile(conf, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	hup := func(s *server) {
		if err := s.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
	}
	const echo = "https://echo.example.com/mcp"
	write("robot")
	s := start(t, testenv.Port(t), "--dev-user", "robot", "--store", "memory", "--resource-config", conf)
	reg, tok := login(t, s.issuer, echo)
	at := tok["access_token"].(string)
	if r := verify(t, s.issuer, echo, at); r.StatusCode != 200 {
		t.Fatalf("admitted user: %d", r.StatusCode)
	}

	write("alice")
	hup(s)
	eventually(t, "the reloaded policy", func() bool { return verify(t, s.issuer, echo, at).StatusCode == http.StatusForbidden })
	if m := refresh(t, s.issuer, reg["client_id"].(string), tok["refresh_token"].(string)); m["error"] != "invalid_grant" {
		t.Fatalf("refresh after the removal: error %v (a new pair: %t)", m["error"], m["refresh_token"] != nil)
	}
	if _, code := authorizeCode(t, s.issuer, echo); code != "" {
		t.Fatal("a new login for the resource was let through")
	}

	write("alice, robot")
	hup(s)
	eventually(t, "the second reload", func() bool { _, code := authorizeCode(t, s.issuer, echo); return code != "" })
	if !revokedAtVerify(t, s.issuer, echo, at) {
		t.Fatal("the refused family's access token came back with the policy")
	}
	s.stop(t)
}

// githubLogin runs a browser through /authorize, the consent page, the
// fake GitHub and /callback, and exchanges the code, for resource.
func githubLogin(t *testing.T, issuer, resource string) (clientID string, tok map[string]any) {
	t.Helper()
	reg := postJSON(t, issuer+"/register", map[string]any{"redirect_uris": []string{testRedirect}, "token_endpoint_auth_method": "none", "client_name": "org test"})
	clientID = reg["client_id"].(string)
	verifier := strings.TrimRight(base64.RawURLEncoding.EncodeToString(randomBytes(32)), "=")
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {testRedirect}, "state": {"s"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}, "resource": {resource}}
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := browser.Get(issuer + "/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	doc, err := goquery.NewDocumentFromReader(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("consent page: %d %v", resp.StatusCode, err)
	}
	form := url.Values{"decision": {"approve"}}
	doc.Find("form input[type=hidden]").Each(func(_ int, s *goquery.Selection) {
		name, _ := s.Attr("name")
		value, _ := s.Attr("value")
		form.Set(name, value)
	})
	action, _ := doc.Find("form").Attr("action")
	resp, err = browser.PostForm(action, form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	// GitHub, then the callback, then the client.
	loc := resp.Header.Get("Location")
	for i := 0; i < 3 && !strings.HasPrefix(loc, testRedirect); i++ {
		if resp, err = browser.Get(loc); err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc = resp.Header.Get("Location")
	}
	u, _ := url.Parse(loc)
	if u.Query().Get("code") == "" {
		t.Fatalf("no code: %s", loc)
	}
	tok = postForm(t, issuer+"/token", url.Values{"grant_type": {"authorization_code"}, "code": {u.Query().Get("code")},
		"redirect_uri": {testRedirect}, "code_verifier": {verifier}, "client_id": {clientID}})
	if tok["refresh_token"] == nil {
		t.Fatalf("token: error %v", tok["error"])
	}
	return clientID, tok
}

// TestRefreshAfterOrgRemoval: with ALLOWED_GITHUB_USERS=org:acme, a user
// removed from the organization on GitHub loses refresh once the recorded
// membership is older than --identity-check-interval, on the file store and
// on Redis; the GitHub token the check needs is kept only sealed.
func TestRefreshAfterOrgRemoval(t *testing.T) {
	gh := fakegithub.New("gh-app", "gh-secret")
	defer gh.Close()
	gh.AddUser(fakegithub.User{ID: 4242, Login: "octocat", Orgs: []string{"acme"}})
	gh.SetLogin("octocat")
	const resource = "https://mcp.example.com/mcp"
	const interval = time.Second
	for _, tc := range []struct{ name, store string }{
		{"file", filepath.Join(t.TempDir(), "oauth.db")},
		{"redis", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gh.SetOrgs("octocat", "acme")
			store := tc.store
			if store == "" {
				store = redistest.Start(t).URL
			}
			env := []string{"GITHUB_CLIENT_ID=gh-app", "GITHUB_CLIENT_SECRET=gh-secret", "GITHUB_BASE_URL=" + gh.URL, "GITHUB_API_URL=" + gh.URL,
				"ALLOWED_GITHUB_USERS=org:acme", "IDENTITY_CHECK_INTERVAL=" + interval.String()}
			s := startEnv(t, testenv.Port(t), env, "--store", store)
			clientID, tok := githubLogin(t, s.issuer, resource)
			if r := verify(t, s.issuer, resource, tok["access_token"].(string)); r.StatusCode != 200 {
				t.Fatalf("member's token: %d", r.StatusCode)
			}
			if tc.store != "" {
				if db, err := os.ReadFile(tc.store); err != nil || bytes.Contains(db, []byte("gho_")) {
					t.Fatalf("the store file holds a GitHub token in clear (%v)", err)
				}
			}
			checks := gh.MembershipChecks()
			time.Sleep(interval + 100*time.Millisecond) // the recorded membership is now older than the interval
			tok = refresh(t, s.issuer, clientID, tok["refresh_token"].(string))
			if tok["refresh_token"] == nil || gh.MembershipChecks() != checks+1 {
				t.Fatalf("refresh of a member: error %v, %d checks", tok["error"], gh.MembershipChecks()-checks)
			}

			gh.SetOrgs("octocat")
			time.Sleep(interval + 100*time.Millisecond)
			if m := refresh(t, s.issuer, clientID, tok["refresh_token"].(string)); m["error"] != "invalid_grant" {
				t.Fatalf("refresh after the removal from the organization: error %v", m["error"])
			}
			eventually(t, "the family's revocation at /verify", func() bool { return revokedAtVerify(t, s.issuer, resource, tok["access_token"].(string)) })
			s.stop(t)
		})
	}
}

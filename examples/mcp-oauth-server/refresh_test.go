package main

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/mcp-oauth-gateway/gateway/internal/redistest"
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
			port := freePort(t)
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
	s := start(t, freePort(t), "--dev-user", "robot", "--store", "memory", "--resource-config", conf)
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

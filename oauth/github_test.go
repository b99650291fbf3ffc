package oauth

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/mcp-oauth-gateway/gateway/internal/fakegithub"
)

func TestGitHubProvider(t *testing.T) {
	gh := fakegithub.New("id", "secret")
	defer gh.Close()
	gh.AddUser(fakegithub.User{ID: 7, Login: "pub", Name: "", Email: "pub@example.com", PublicEmail: true, Orgs: []string{"a", "b"}})
	gh.SetLogin("pub")

	// callback runs the fake's authorize step and hands its redirect to
	// Identify.
	callback := func(t *testing.T, g *GitHub, verifier string) (*Identity, error) {
		t.Helper()
		u, err := g.AuthURL(t.Context(), "http://127.0.0.1:1/callback", "st", verifier)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(u, gh.URL+"/login/oauth/authorize?") {
			t.Fatalf("auth URL %s", u)
		}
		resp, err := noRedirect.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc, _ := url.Parse(resp.Header.Get("Location"))
		if loc.Query().Get("state") != "st" {
			t.Fatalf("state lost: %s", loc)
		}
		req := httptest.NewRequest("GET", "/callback?"+loc.RawQuery, nil)
		id, _, err := g.Identify(t.Context(), req, "http://127.0.0.1:1/callback", verifier)
		return id, err
	}

	g, err := NewGitHub("id", "secret", &GitHubOptions{BaseURL: gh.URL, APIURL: gh.URL, FetchOrgs: true})
	if err != nil {
		t.Fatal(err)
	}
	id, err := callback(t, g, randomString("", 32))
	if err != nil {
		t.Fatal(err)
	}
	if id.Subject != "7" || id.Provider != "github" || id.Login != "pub" || id.Email != "pub@example.com" || !id.EmailVerified || strings.Join(id.Orgs, ",") != "a,b" {
		t.Fatalf("identity %+v", id)
	}
	if a := gh.Authorizes(); !strings.Contains(a[len(a)-1].Scope, "read:org") {
		t.Fatalf("read:org not asked: %+v", a)
	}

	t.Run("wrong client secret", func(t *testing.T) {
		bad, _ := NewGitHub("id", "wrong", &GitHubOptions{BaseURL: gh.URL, APIURL: gh.URL})
		if _, err := callback(t, bad, randomString("", 32)); err == nil {
			t.Fatal("identified with a wrong secret")
		}
	})
	t.Run("user declines", func(t *testing.T) {
		gh.SetLogin("")
		defer gh.SetLogin("pub")
		_, err := callback(t, g, randomString("", 32))
		if err == nil || !strings.Contains(err.Error(), "access_denied") {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("API down", func(t *testing.T) {
		down, _ := NewGitHub("id", "secret", &GitHubOptions{BaseURL: gh.URL, APIURL: "http://127.0.0.1:1"})
		if _, err := callback(t, down, randomString("", 32)); err == nil {
			t.Fatal("identified without the API")
		}
	})
	t.Run("options", func(t *testing.T) {
		if _, err := NewGitHub("", "x", nil); err == nil {
			t.Error("missing client id accepted")
		}
		if _, err := NewGitHub("a", "b", &GitHubOptions{BaseURL: "ftp://x"}); err == nil {
			t.Error("ftp base accepted")
		}
		ghe, err := NewGitHub("a", "b", &GitHubOptions{BaseURL: "https://ghe.example.com/"})
		au, _ := ghe.AuthURL(t.Context(), "https://x/cb", "s", randomString("", 32))
		if err != nil || ghe.api != "https://ghe.example.com/api/v3" || !strings.HasPrefix(au, "https://ghe.example.com/login/oauth/authorize?") {
			t.Errorf("enterprise defaults: %v %v", ghe, err)
		}
		def, _ := NewGitHub("a", "b", nil)
		if def.api != "https://api.github.com" {
			t.Errorf("default API %q", def.api)
		}
	})
}

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

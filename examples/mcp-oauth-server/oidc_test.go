package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/mcp-oauth-gateway/gateway/internal/fakegithub"
	"github.com/mcp-oauth-gateway/gateway/internal/hydratest"
	"github.com/mcp-oauth-gateway/gateway/internal/testenv"
)

// TestOIDCSettings: the OpenID Connect variables become the provider's
// settings; what does not fit is an error naming the variable.
func TestOIDCSettings(t *testing.T) {
	secretFile := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secretFile, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := map[string]string{"OIDC_ISSUER": "https://login.example.com/realms/corp", "OIDC_CLIENT_ID": "gateway", "OIDC_CLIENT_SECRET": "s3cret"}
	with := func(extra ...string) func(string) string {
		env := map[string]string{}
		for k, v := range base {
			env[k] = v
		}
		for i := 0; i+1 < len(extra); i += 2 {
			env[extra[i]] = extra[i+1]
		}
		return func(k string) string { return env[k] }
	}

	c, err := parseConfig(nil, with("OIDC_NAME", "corp", "OIDC_DISPLAY_NAME", "Corp SSO", "OIDC_SCOPES", "openid,email groups",
		"OIDC_GROUPS_CLAIM", "realm_access.roles", "OIDC_LOGIN_CLAIM", "nickname", "OIDC_NAME_CLAIM", "given_name",
		"OIDC_EMAIL_VERIFIED_CLAIM", "xms_edov", "OIDC_USERINFO", "yes", "OIDC_AUTH_PARAMS", "access_type=offline, prompt=consent",
		"OIDC_REQUIRE_CLAIMS", "hd=example.com", "ALLOWED_USERS", "domain:example.com, group:staff"), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.OIDC) != 1 {
		t.Fatalf("OpenID providers %+v, want OIDC_ISSUER's alone", c.OIDC)
	}
	p, o := c.OIDC[0], c.OIDC[0].Options
	if p.Name != "corp" || p.Issuer != base["OIDC_ISSUER"] || p.ClientID != "gateway" || p.ClientSecret != "s3cret" || c.GitHub.ClientID != "" ||
		o.DisplayName != "Corp SSO" || strings.Join(o.Scopes, " ") != "openid email groups" || o.GroupsClaim != "realm_access.roles" ||
		o.LoginClaim != "nickname" || o.NameClaim != "given_name" || o.EmailVerifiedClaim != "xms_edov" || !o.UserInfo ||
		o.AuthParams["access_type"] != "offline" || o.AuthParams["prompt"] != "consent" || o.RequireClaims["hd"] != "example.com" ||
		strings.Join(c.Options.Policy.Domains, ",") != "example.com" || strings.Join(c.Options.Policy.Groups, ",") != "staff" {
		t.Fatalf("provider %+v options %+v policy %+v", p, o, c.Options.Policy)
	}
	c, err = parseConfig(nil, with("OIDC_CLIENT_SECRET", "", "OIDC_CLIENT_SECRET_FILE", secretFile, "ALLOWED_GITHUB_USERS", "alice"), io.Discard)
	if err != nil || len(c.OIDC) != 1 || c.OIDC[0].ClientSecret != "from-file" || c.OIDC[0].Name != "sso" || strings.Join(c.Options.Policy.Logins, ",") != "alice" {
		t.Fatalf("secret file, default name, the old policy variable: %+v %v", c, err)
	}

	for _, tc := range []struct {
		name string
		env  func(string) string
		want string
	}{
		{"client id without issuer", func(k string) string { return map[string]string{"OIDC_CLIENT_ID": "x"}[k] }, "OIDC_ISSUER"},
		{"issuer without client id", with("OIDC_CLIENT_ID", ""), "OIDC_CLIENT_ID"},
		{"two secrets", with("OIDC_CLIENT_SECRET_FILE", secretFile), "OIDC_CLIENT_SECRET_FILE"},
		{"no secret file", with("OIDC_CLIENT_SECRET", "", "OIDC_CLIENT_SECRET_FILE", secretFile+".missing"), "OIDC_CLIENT_SECRET_FILE"},
		{"bad name", with("OIDC_NAME", "Corp SSO"), "name"},
		{"http issuer", with("OIDC_ISSUER", "http://login.example.com"), "https"},
		{"bad parameters", with("OIDC_AUTH_PARAMS", "access_type"), "OIDC_AUTH_PARAMS"},
		{"bad required claims", with("OIDC_REQUIRE_CLAIMS", "=x"), "OIDC_REQUIRE_CLAIMS"},
		{"half a GitHub app", with("GITHUB_CLIENT_ID", "id"), "GITHUB_CLIENT_SECRET"},
		{"no provider", func(string) string { return "" }, "OIDC_ISSUER"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseConfig(nil, tc.env, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one naming %s", err, tc.want)
			}
		})
	}
	if _, err := parseConfig([]string{"--dev-login"}, with(), io.Discard); err == nil || !strings.Contains(err.Error(), "OIDC_ISSUER") {
		t.Fatalf("--dev-login with OIDC_ISSUER: %v", err)
	}
}

// TestOIDCThroughTheBinary: mcp-oauth-server with GitHub and an OpenID
// provider (hydra) offers both on its consent page; a user of the OpenID
// provider whose verified email is in the allowed domain gets a token that
// /verify lets through as oidc:corp:SUB. An issuer that does not match
// the provider's discovery document stops the binary with exit status 2
// and the issuer to set.
func TestOIDCThroughTheBinary(t *testing.T) {
	h := hydratest.Start(t)
	gh := fakegithub.New("gh-app", "gh-secret")
	defer gh.Close()
	port := testenv.Port(t)
	client := h.CreateClient(t, "http://127.0.0.1:"+port+"/callback", nil)
	secretFile := filepath.Join(t.TempDir(), "oidc-secret")
	if err := os.WriteFile(secretFile, []byte(client.Secret), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"GITHUB_CLIENT_ID=gh-app", "GITHUB_CLIENT_SECRET=gh-secret", "GITHUB_BASE_URL=" + gh.URL, "GITHUB_API_URL=" + gh.URL,
		"OIDC_ISSUER=" + h.Issuer, "OIDC_CLIENT_ID=" + client.ID, "OIDC_CLIENT_SECRET_FILE=" + secretFile, "OIDC_NAME=corp",
		"OIDC_DISPLAY_NAME=Corp SSO", "ALLOWED_USERS=domain:example.com"}

	t.Run("issuer mismatch", func(t *testing.T) {
		cmd := command(t, append(env[:len(env):len(env)], "OIDC_ISSUER="+h.Issuer+"/"), "--store", "memory", "--port", testenv.Port(t))
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || !strings.Contains(stderr.String(), `names the issuer "`+h.Issuer+`"`) {
			t.Fatalf("exit %v: %s", err, stderr.String())
		}
	})

	s := startEnv(t, port, env, "--store", "memory")
	const resource = "https://mcp.example.com/mcp"
	reg := postJSON(t, s.issuer+"/register", map[string]any{"redirect_uris": []string{testRedirect}, "token_endpoint_auth_method": "none", "client_name": "oidc test"})
	clientID := reg["client_id"].(string)
	verifier := strings.TrimRight(base64.RawURLEncoding.EncodeToString(randomBytes(32)), "=")
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {testRedirect}, "state": {"s"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}, "resource": {resource}}
	browser := hydratest.Browser(t)
	resp, err := browser.Get(s.issuer + "/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	doc, err := goquery.NewDocumentFromReader(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("consent page: %d %v", resp.StatusCode, err)
	}
	form := url.Values{"provider": {"oidc:corp"}}
	doc.Find("form input[type=hidden]").Each(func(_ int, sel *goquery.Selection) {
		name, _ := sel.Attr("name")
		value, _ := sel.Attr("value")
		form.Set(name, value)
	})
	var offered []string
	doc.Find("button[name=provider]").Each(func(_ int, b *goquery.Selection) { offered = append(offered, strings.TrimSpace(b.Text())) })
	if strings.Join(offered, "|") != "Sign in with GitHub|Sign in with Corp SSO" {
		t.Fatalf("the consent page offers %q", offered)
	}
	action, _ := doc.Find("form").Attr("action")
	resp, err = browser.PostForm(action, form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cb := h.Login(t, browser, resp.Header.Get("Location"), hydratest.User{Subject: "248289761001",
		Claims: map[string]any{"email": "jane@example.com", "email_verified": true, "name": "Jane Doe"}})
	resp, err = browser.Get(cb.String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	to, _ := url.Parse(resp.Header.Get("Location"))
	tok := postForm(t, s.issuer+"/token", url.Values{"grant_type": {"authorization_code"}, "code": {to.Query().Get("code")},
		"redirect_uri": {testRedirect}, "code_verifier": {verifier}, "client_id": {clientID}})
	at, _ := tok["access_token"].(string)
	if at == "" {
		t.Fatalf("token: %v (redirect %s)", tok, to)
	}
	r := verify(t, s.issuer, resource, at)
	if r.StatusCode != http.StatusOK || r.Header.Get("X-User-Id") != "oidc:corp:248289761001" || r.Header.Get("X-User-Email") != "jane@example.com" {
		t.Fatalf("/verify: %d %v", r.StatusCode, r.Header)
	}
	s.stop(t) // the log is complete (and no longer written) once it exited
	if !strings.Contains(s.stderr.String(), "identity_providers=\"github oidc:corp\"") {
		t.Errorf("the start-up line does not name both providers: %s", s.stderr.String())
	}
}

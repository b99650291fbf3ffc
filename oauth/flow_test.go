package oauth

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"
)

// TestFullFlow is the whole life of a client and its tokens against the
// fake GitHub: register, authorize with PKCE and resource, consent,
// GitHub login, callback, token, refresh, introspect, revoke.
func TestFullFlow(t *testing.T) {
	e := newEnv(t)
	c := e.register(nil)
	if c.ID == "" || c.Secret != "" || c.RegToken == "" || c.RegURI != e.issuer+"/register/"+c.ID {
		t.Fatalf("registration response: %+v", c)
	}

	verifier, challenge := pkcePair()
	const resource = "https://mcp.example.com/mcp"
	q := authQuery(c, challenge, url.Values{"resource": {resource}, "scope": {"mcp"}})

	// /authorize shows the consent page naming the client, redirect host
	// and scope.
	resp, page := e.get(e.issuer + "/authorize?" + q.Encode())
	if resp.StatusCode != 200 {
		t.Fatalf("authorize: %d %s", resp.StatusCode, page)
	}
	for _, want := range []string{"Test Client", "127.0.0.1:9999", "mcp", resource, "GitHub"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("consent page lacks %q", want)
		}
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || resp.Header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("consent page framing protection: CSP %q XFO %q", csp, resp.Header.Get("X-Frame-Options"))
	}
	action, fields := formFields(t, page)
	fields.Set("decision", "approve")
	resp, _ = e.browserPost(action, fields)
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), e.gh.URL+"/login/oauth/authorize") {
		t.Fatalf("consent approve: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	back := e.followToClient(resp.Header.Get("Location"))
	if got := back.Scheme + "://" + back.Host + back.Path; got != c.Redirect {
		t.Fatalf("redirected to %s, want %s", got, c.Redirect)
	}
	if back.Query().Get("state") != "st-123" || back.Query().Get("iss") != e.issuer {
		t.Fatalf("redirect lacks state/iss: %s", back)
	}
	// GitHub was asked with PKCE S256.
	if a := e.gh.Authorizes(); len(a) != 1 || a[0].CodeChallengeMethod != "S256" || a[0].CodeChallenge == "" {
		t.Fatalf("GitHub authorize requests: %+v", a)
	}

	// The code buys an access token for the resource and a refresh token.
	resp, tok := e.exchange(c, back.Query().Get("code"), verifier, url.Values{"resource": {resource}})
	if resp.StatusCode != 200 {
		t.Fatalf("token: %d %v", resp.StatusCode, tok)
	}
	if resp.Header.Get("Cache-Control") != "no-store" || tok["token_type"] != "Bearer" || tok["scope"] != "mcp" || tok["expires_in"].(float64) != 3600 {
		t.Fatalf("token response: %v (Cache-Control %q)", tok, resp.Header.Get("Cache-Control"))
	}
	at, rt := str(tok["access_token"]), str(tok["refresh_token"])
	claims := verifyWithJWKS(t, e, at)
	for k, want := range map[string]any{"iss": e.issuer, "sub": "4242", "aud": resource, "client_id": c.ID, "scope": "mcp",
		"preferred_username": "octocat", "name": "The Octocat", "email": "octo@example.com"} {
		if claims[k] != want {
			t.Errorf("claim %s = %v, want %v", k, claims[k], want)
		}
	}
	for _, k := range []string{"exp", "iat", "jti", "fid"} {
		if claims[k] == nil {
			t.Errorf("claim %s missing", k)
		}
	}

	// Introspection of both tokens.
	_, in := e.postForm("/introspect", url.Values{"token": {at}, "client_id": {c.ID}})
	if in["active"] != true || in["sub"] != "4242" || in["client_id"] != c.ID || in["aud"] != resource || in["token_type"] != "Bearer" {
		t.Fatalf("introspect access: %v", in)
	}
	_, in = e.postForm("/introspect", url.Values{"token": {rt}, "client_id": {c.ID}})
	if in["active"] != true || in["token_type"] != "refresh_token" {
		t.Fatalf("introspect refresh: %v", in)
	}

	// Refresh rotates; a retry within the grace window gets the same pair.
	resp, tok2 := e.refresh(c, rt, nil)
	if resp.StatusCode != 200 || str(tok2["refresh_token"]) == rt || str(tok2["access_token"]) == at {
		t.Fatalf("refresh: %d %v", resp.StatusCode, tok2)
	}
	_, again := e.refresh(c, rt, nil)
	if again["refresh_token"] != tok2["refresh_token"] || again["access_token"] != tok2["access_token"] {
		t.Fatalf("retry within grace got another pair")
	}
	if c2 := verifyWithJWKS(t, e, str(tok2["access_token"])); c2["aud"] != resource || c2["fid"] != claims["fid"] {
		t.Fatalf("refreshed token claims: %v", c2)
	}

	// Revoking the refresh token revokes the family: both access tokens die.
	resp, _ = e.postForm("/revoke", url.Values{"token": {str(tok2["refresh_token"])}, "client_id": {c.ID}})
	if resp.StatusCode != 200 {
		t.Fatalf("revoke: %d", resp.StatusCode)
	}
	for _, a := range []string{at, str(tok2["access_token"])} {
		if _, in := e.postForm("/introspect", url.Values{"token": {a}, "client_id": {c.ID}}); in["active"] != false {
			t.Fatalf("access token still active after revocation: %v", in)
		}
	}
	resp, m := e.refresh(c, str(tok2["refresh_token"]), nil)
	wantOAuthError(t, resp, m, 400, "invalid_grant")
}

// verifyWithJWKS checks a token the way an outside resource server would:
// with the published JWKS only. It returns the claims.
func verifyWithJWKS(t *testing.T, e *testEnv, raw string) map[string]any {
	t.Helper()
	resp, err := http.Get(e.issuer + "/jwks")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	sig, err := jose.ParseSigned(raw, supportedAlgs)
	if err != nil {
		t.Fatal(err)
	}
	h := sig.Signatures[0].Protected
	if h.ExtraHeaders["typ"] != "at+jwt" || h.KeyID == "" {
		t.Fatalf("header: typ %v kid %q", h.ExtraHeaders["typ"], h.KeyID)
	}
	keys := set.Key(h.KeyID)
	if len(keys) != 1 {
		t.Fatalf("kid %s not in JWKS", h.KeyID)
	}
	payload, err := sig.Verify(keys[0].Key)
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	return claims
}

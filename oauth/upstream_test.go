package oauth

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

func testUpstreamKeys(t testing.TB, spec string) *UpstreamKeys {
	t.Helper()
	k, err := ParseUpstreamKeys(spec)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestUpstreamKeys(t *testing.T) {
	secret := bytes.Repeat([]byte{7}, 32)
	for _, spec := range []string{
		"k1:" + base64.StdEncoding.EncodeToString(secret),
		"k1:" + base64.RawURLEncoding.EncodeToString(secret),
		" k1 : " + hex.EncodeToString(secret) + " ,",
	} {
		if _, err := ParseUpstreamKeys(spec); err != nil {
			t.Errorf("%q: %v", spec, err)
		}
	}
	for spec, want := range map[string]string{
		"":                              "no key",
		"k1":                            "ID:SECRET",
		"k1:" + strings.Repeat("A", 20): "32",
		"bad id!:" + base64.StdEncoding.EncodeToString(secret):                                                 "ID:SECRET",
		"k1:" + base64.StdEncoding.EncodeToString(secret) + ",k1:" + base64.StdEncoding.EncodeToString(secret): "twice",
		"k1:not base64 at all": "base64",
	} {
		if _, err := ParseUpstreamKeys(spec); err == nil || !errors.Is(err, ErrUpstreamKeys) || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want an error saying %q", spec, err, want)
		}
	}

	old := "old:" + base64.StdEncoding.EncodeToString(secret)
	cur := "new:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{9}, 32))
	before := testUpstreamKeys(t, old)
	sealed := before.seal("family\x00c\x00f", []byte("gho_token"))
	if bytes.Contains(sealed, []byte("gho_token")) || sealedKeyID(sealed) != "old" {
		t.Fatalf("sealed blob %q", sealed)
	}
	// Rotation: the new key first seals, the old one still opens.
	rotated := testUpstreamKeys(t, cur+","+old)
	if plain, err := rotated.open("family\x00c\x00f", sealed); err != nil || string(plain) != "gho_token" {
		t.Fatalf("the old key's blob after rotation: %q %v", plain, err)
	}
	if id := sealedKeyID(rotated.seal("x", []byte("y"))); id != "new" {
		t.Fatalf("sealed under %q, want the first key", id)
	}
	if _, err := rotated.open("family\x00c\x00other", sealed); err == nil {
		t.Fatal("a blob opened for another family")
	}
	if _, err := testUpstreamKeys(t, cur).open("family\x00c\x00f", sealed); err == nil || !strings.Contains(err.Error(), `"old"`) {
		t.Fatalf("the old key dropped: %v", err)
	}
	for _, bad := range [][]byte{nil, {5}, {3, 'o', 'l', 'd', 1, 2}} {
		if _, err := rotated.open("x", bad); err == nil {
			t.Errorf("%q opened", bad)
		}
	}
}

// TestUpstreamToken: with upstream keys, a service gets the user's own
// GitHub token for their authorization; an expired one is renewed once
// however many calls want it at the same time; revoking the authorization
// drops it; a token GitHub no longer renews says so.
func TestUpstreamToken(t *testing.T) {
	keys := testUpstreamKeys(t, "k1:"+base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 32)))
	e := newEnv(t, withOptions(func(o *Options) { o.UpstreamKeys = keys }))
	e.gh.SetTokenLifetime(time.Hour) // a GitHub App's expiring tokens
	c := e.register(nil)
	tok := e.tokens(c, nil)
	claims := e.claims(t, tok)

	first, err := e.srv.UpstreamToken(t.Context(), claims)
	if err != nil || !strings.HasPrefix(first.AccessToken, "gh") {
		t.Fatalf("upstream token: %v %v", first, err)
	}
	// Kept only sealed: the refresh token holds nothing, the store's
	// record no token in clear.
	if st := e.store.Stats(); st.Upstream != 1 {
		t.Fatalf("%d upstream records", st.Upstream)
	}
	rec, err := e.store.GetUpstream(t.Context(), claims.ClientID, claims.FamilyID)
	if err != nil || bytes.Contains(rec.Sealed, []byte(first.AccessToken)) || bytes.Contains(rec.Sealed, []byte(first.RefreshToken)) {
		t.Fatalf("the kept record holds the token in clear (%v)", err)
	}

	// Expired: twenty calls at once get one renewed token (GitHub's
	// refresh tokens are single-use: a second renewal would fail).
	e.gh.SetTokenLifetime(10 * time.Hour)
	e.clock.Advance(2 * time.Hour)
	var wg sync.WaitGroup
	got := make([]string, 20)
	errs := make([]error, 20)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tk, err := e.srv.UpstreamToken(t.Context(), claims)
			errs[i] = err
			if err == nil {
				got[i] = tk.AccessToken
			}
		}()
	}
	wg.Wait()
	for i := range got {
		if errs[i] != nil || got[i] == first.AccessToken || got[i] != got[0] {
			t.Fatalf("call %d: %q %v (first %q, call 0 %q)", i, got[i], errs[i], first.AccessToken, got[0])
		}
	}

	// The refresh keeps working on the same kept credential (the checks at
	// refresh read it from the vault).
	e.clock.Advance(2 * time.Hour)
	next := e.refreshOK(t, c, str(tok["refresh_token"]))
	nextClaims := e.claims(t, next)
	if _, err := e.srv.UpstreamToken(t.Context(), nextClaims); err != nil {
		t.Fatalf("after a refresh: %v", err)
	}

	// Revoked at GitHub: the renewal is refused.
	e.gh.RevokeTokens("octocat")
	e.clock.Advance(11 * time.Hour)
	if _, err := e.srv.UpstreamToken(t.Context(), nextClaims); !errors.Is(err, ErrUpstreamRevoked) {
		t.Fatalf("a token revoked at GitHub: %v", err)
	}

	// A new login, then its authorization revoked at /revoke: the
	// credential goes with it.
	tok = e.tokens(c, nil)
	claims = e.claims(t, tok)
	if _, err := e.srv.UpstreamToken(t.Context(), claims); err != nil {
		t.Fatal(err)
	}
	if resp, m := e.postForm("/revoke", map[string][]string{"token": {str(tok["refresh_token"])}, "client_id": {c.ID}}); resp.StatusCode != 200 {
		t.Fatalf("revoke: %d %v", resp.StatusCode, m)
	}
	if _, err := e.srv.UpstreamToken(t.Context(), claims); !errors.Is(err, ErrUpstreamMissing) {
		t.Fatalf("after /revoke: %v", err)
	}
}

func TestUpstreamTokenWithoutKeys(t *testing.T) {
	e := newEnv(t)
	c := e.register(nil)
	if _, err := e.srv.UpstreamToken(t.Context(), e.claims(t, e.tokens(c, nil))); !errors.Is(err, ErrUpstreamMissing) {
		t.Fatalf("without upstream keys: %v", err)
	}
	if st := e.store.Stats(); st.Upstream != 0 {
		t.Fatalf("%d upstream records without keys", st.Upstream)
	}
}

// TestUpstreamMiddleware: a service behind Server.Upstream gets the
// caller's own upstream token; a caller whose authorization holds none, or
// one the provider no longer renews, gets the 401 that makes an MCP client
// sign in again, and their authorization ends so that a refresh cannot
// paper over it.
func TestUpstreamMiddleware(t *testing.T) {
	keys := testUpstreamKeys(t, "k1:"+base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{2}, 32)))
	e := newEnv(t) // no keys yet
	c := e.register(nil)
	before := e.tokens(c, url.Values{"resource": {testResource}}) // an authorization from before the keys
	e.restart(func(o *Options) { o.UpstreamKeys = keys })
	e.gh.SetTokenLifetime(time.Hour)

	v := newVerifier(t, e, nil, nil)
	pr := newProtected(t, v, Resource{})
	serve := func(opts *UpstreamOptions) *httptest.Server {
		ts := httptest.NewServer(pr.Middleware(e.srv.Upstream(pr, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			tok, ok := UpstreamTokenFromContext(r.Context())
			if !ok {
				http.Error(w, "no token in the context", http.StatusInternalServerError)
				return
			}
			_, _ = io.WriteString(w, tok.AccessToken)
		}), opts)))
		t.Cleanup(ts.Close)
		return ts
	}
	ts := serve(nil)

	tok := e.tokens(c, url.Values{"resource": {testResource}})
	want, err := e.srv.UpstreamToken(t.Context(), e.claims(t, tok))
	if err != nil {
		t.Fatal(err)
	}
	if resp, body := call(t, ts.URL, "", "Bearer "+str(tok["access_token"])); resp.StatusCode != 200 || body != want.AccessToken {
		t.Fatalf("the service got %d %q, want the user's GitHub token", resp.StatusCode, body)
	}

	wantSignIn := func(t *testing.T, what string, at string, rt string, phrase string) {
		t.Helper()
		resp, body := call(t, ts.URL, "", "Bearer "+at)
		ch := resp.Header.Get("WWW-Authenticate")
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(ch, `error="invalid_token"`) || !strings.Contains(ch, "resource_metadata=") ||
			!strings.Contains(ch, phrase) || !strings.Contains(body, "sign in again") {
			t.Fatalf("%s: %d %q %s", what, resp.StatusCode, ch, body)
		}
		if resp, m := e.refresh(c, rt, nil); resp.StatusCode != 400 || m["error"] != "invalid_grant" {
			t.Fatalf("%s: the refresh still works (%d %v)", what, resp.StatusCode, m)
		}
	}
	wantSignIn(t, "an authorization from before the keys", str(before["access_token"]), str(before["refresh_token"]), "sign in again")

	// Another provider's token is needed: sign in with it.
	other := serve(&UpstreamOptions{Provider: "oidc:corp"})
	tok2 := e.tokens(c, url.Values{"resource": {testResource}})
	resp, body := call(t, other.URL, "", "Bearer "+str(tok2["access_token"]))
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "sign in again with") {
		t.Fatalf("a service needing another provider: %d %s", resp.StatusCode, body)
	}

	// GitHub stops renewing the token.
	tok3 := e.tokens(c, url.Values{"resource": {testResource}})
	e.gh.RevokeTokens("octocat")
	e.clock.Advance(2 * time.Hour)
	tok3b := e.refreshOK(t, c, str(tok3["refresh_token"])) // the login rule does not need GitHub's word
	wantSignIn(t, "a token GitHub no longer renews", str(tok3b["access_token"]), str(tok3b["refresh_token"]), "no longer accepts")
}

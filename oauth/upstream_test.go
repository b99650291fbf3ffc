package oauth

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
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

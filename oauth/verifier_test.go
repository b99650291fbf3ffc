package oauth

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

const testResource = "https://mcp.example.com/mcp"

// newVerifier returns a verifier for e's server, following its store's
// revocations, and waits until it follows the feed.
func newVerifier(t testing.TB, e *testEnv, keys KeySource, opts *VerifierOptions) *Verifier {
	t.Helper()
	if opts == nil {
		opts = &VerifierOptions{}
	}
	if opts.Now == nil {
		opts.Now = e.clock.Now
	}
	if opts.Logger == nil {
		opts.Logger = discardLogger()
	}
	if keys == nil {
		keys = e.srv
	}
	v, err := NewVerifier(e.issuer, keys, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	if opts.Revocations != nil {
		waitFor(t, "the revocation feed", v.feedUp.Load)
	}
	return v
}

// waitFor polls cond for up to 10 seconds (the feed's resubscription
// backoff grows to 5 seconds).
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// claimsFor are valid claims for testResource, issued now by e.
func (e *testEnv) claimsFor(aud ...string) map[string]any {
	if len(aud) == 0 {
		aud = []string{testResource}
	}
	now := e.clock.Now()
	return map[string]any{
		"iss": e.issuer, "sub": "4242", "aud": aud, "exp": now.Add(time.Hour).Unix(), "iat": now.Unix(),
		"jti": randomString("", 8), "client_id": "client-1", "scope": "mcp", "preferred_username": "octocat",
		"name": "The Octocat", "email": "octo@example.com", "fid": "family-1",
	}
}

// sign signs claims as e's server does (its key, kid and typ).
func (e *testEnv) sign(t testing.TB, claims map[string]any) string {
	t.Helper()
	st, err := e.srv.keys.current(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return signPayload(t, st.signer, claims)
}

func signPayload(t testing.TB, signer jose.Signer, claims map[string]any) string {
	t.Helper()
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// signCustom signs claims with key, alg and the given headers.
func signCustom(t testing.TB, key any, alg jose.SignatureAlgorithm, headers map[jose.HeaderKey]any, claims map[string]any) string {
	t.Helper()
	opts := &jose.SignerOptions{}
	for k, v := range headers {
		opts.WithHeader(k, v)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	return signPayload(t, signer, claims)
}

func (e *testEnv) kid(t testing.TB) string {
	st, err := e.srv.keys.current(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return st.signKid
}

// TestVerifierAcceptsServerTokens: a token minted by the server verifies,
// with every claim the server put in it.
func TestVerifierAcceptsServerTokens(t *testing.T) {
	e := newEnv(t)
	v := newVerifier(t, e, nil, nil)
	at, err := e.srv.mintAccessToken(t.Context(), "client-1", "fam", Identity{Subject: "4242", Login: "octocat", Name: "The Octocat", Email: "o@example.com"},
		"mcp extra", []string{testResource}, e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	c, err := v.Verify(t.Context(), at.raw)
	if err != nil {
		t.Fatal(err)
	}
	if c.Subject != "4242" || c.Login != "octocat" || c.ClientID != "client-1" || c.FamilyID != "fam" || c.Scope != "mcp extra" || c.Audience[0] != testResource {
		t.Fatalf("claims: %+v", c)
	}
	// The returned claims are a copy: changing them changes nothing.
	c.Subject = "mallory"
	if c2, _ := v.Verify(t.Context(), at.raw); c2.Subject != "4242" {
		t.Fatal("Verify returned shared claims")
	}
}

// TestVerifierRefusals: every way a token can be wrong, and the error it
// gets.
func TestVerifierRefusals(t *testing.T) {
	e := newEnv(t)
	v := newVerifier(t, e, nil, nil)
	kid := e.kid(t)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	with := func(mod func(m map[string]any)) map[string]any {
		m := e.claimsFor()
		mod(m)
		return m
	}
	now := e.clock.Now()
	hdr := func(typ string) map[jose.HeaderKey]any {
		h := map[jose.HeaderKey]any{"kid": kid}
		if typ != "" {
			h[jose.HeaderType] = typ
		}
		return h
	}
	good := e.sign(t, e.claimsFor())
	parts := strings.Split(good, ".")
	tampered := e.claimsFor()
	tampered["sub"] = "1"
	tamperedPayload, _ := json.Marshal(tampered)
	cases := []struct {
		name  string
		token string
		want  error
	}{
		{"garbage", "not-a-token", ErrTokenMalformed},
		{"empty", "", ErrTokenMalformed},
		{"too long", strings.Repeat("a", maxTokenBytes+1), ErrTokenMalformed},
		{"JSON serialization", `{"payload":"e30","signatures":[]}`, ErrTokenMalformed},
		{"typ JWT", signCustom(t, testKey, jose.ES256, hdr("JWT"), e.claimsFor()), ErrTokenMalformed},
		{"no typ", signCustom(t, testKey, jose.ES256, hdr(""), e.claimsFor()), ErrTokenMalformed},
		{"crit header", signCustom(t, testKey, jose.ES256, map[jose.HeaderKey]any{"kid": kid, jose.HeaderType: "at+jwt", "crit": []string{"exp"}, "exp": 1}, e.claimsFor()), ErrTokenMalformed},
		{"unknown kid", signCustom(t, testKey, jose.ES256, map[jose.HeaderKey]any{"kid": "nope", jose.HeaderType: "at+jwt"}, e.claimsFor()), ErrTokenSignature},
		{"no kid", signCustom(t, testKey, jose.ES256, map[jose.HeaderKey]any{jose.HeaderType: "at+jwt"}, e.claimsFor()), ErrTokenSignature},
		{"other key, same kid", signCustom(t, other, jose.ES256, hdr("at+jwt"), e.claimsFor()), ErrTokenSignature},
		{"HS256 with the public key", signCustom(t, []byte("public-key-bytes-used-as-a-secret"), jose.HS256, hdr("at+jwt"), e.claimsFor()), ErrTokenMalformed},
		{"tampered payload", parts[0] + "." + b64(tamperedPayload) + "." + parts[2], ErrTokenSignature},
		{"signature stripped", parts[0] + "." + parts[1] + ".", ErrTokenSignature},
		{"alg none", "eyJhbGciOiJub25lIiwidHlwIjoiYXQrand0In0." + parts[1] + ".", ErrTokenMalformed},
		{"wrong issuer", e.sign(t, with(func(m map[string]any) { m["iss"] = "https://evil.example.com" })), ErrTokenIssuer},
		{"issuer with slash", e.sign(t, with(func(m map[string]any) { m["iss"] = e.issuer + "/" })), ErrTokenIssuer},
		{"expired", e.sign(t, with(func(m map[string]any) { m["exp"] = now.Add(-DefaultLeeway - time.Second).Unix() })), ErrTokenExpired},
		{"not yet valid", e.sign(t, with(func(m map[string]any) { m["nbf"] = now.Add(DefaultLeeway + time.Minute).Unix() })), ErrTokenNotYetValid},
		{"issued in the future", e.sign(t, with(func(m map[string]any) { m["iat"] = now.Add(DefaultLeeway + time.Minute).Unix() })), ErrTokenNotYetValid},
		{"no exp", e.sign(t, with(func(m map[string]any) { delete(m, "exp") })), ErrTokenMalformed},
		{"no iat", e.sign(t, with(func(m map[string]any) { delete(m, "iat") })), ErrTokenMalformed},
		{"no sub", e.sign(t, with(func(m map[string]any) { delete(m, "sub") })), ErrTokenMalformed},
		{"no jti", e.sign(t, with(func(m map[string]any) { delete(m, "jti") })), ErrTokenMalformed},
		{"no client_id", e.sign(t, with(func(m map[string]any) { delete(m, "client_id") })), ErrTokenMalformed},
		{"no aud", e.sign(t, with(func(m map[string]any) { delete(m, "aud") })), ErrTokenMalformed},
		{"exp as a string", e.sign(t, with(func(m map[string]any) { m["exp"] = "tomorrow" })), ErrTokenMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := v.Verify(t.Context(), c.token)
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
	// Within the leeway, still good.
	t.Run("expired within the leeway", func(t *testing.T) {
		tok := e.sign(t, with(func(m map[string]any) { m["exp"] = now.Add(-DefaultLeeway + 5*time.Second).Unix() }))
		if _, err := v.Verify(t.Context(), tok); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("nbf within the leeway", func(t *testing.T) {
		tok := e.sign(t, with(func(m map[string]any) { m["nbf"] = now.Add(DefaultLeeway - 5*time.Second).Unix() }))
		if _, err := v.Verify(t.Context(), tok); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("typ application/at+jwt", func(t *testing.T) {
		tok := signCustom(t, testKey, jose.ES256, hdr("application/at+jwt"), e.claimsFor())
		if _, err := v.Verify(t.Context(), tok); err != nil {
			t.Fatal(err)
		}
	})
}

// TestVerifierExpiryOfCachedToken: a token that was good and cached is
// refused once it expires, without being verified again.
func TestVerifierExpiryOfCachedToken(t *testing.T) {
	e := newEnv(t)
	keys := &countingKeys{KeySource: e.srv}
	v := newVerifier(t, e, keys, nil)
	tok := e.sign(t, e.claimsFor())
	for i := 0; i < 3; i++ {
		if _, err := v.Verify(t.Context(), tok); err != nil {
			t.Fatal(err)
		}
	}
	if n := keys.n.Load(); n != 1 {
		t.Fatalf("three verifications looked up the key %d times, want 1 (cached)", n)
	}
	e.clock.Advance(time.Hour + DefaultLeeway)
	if _, err := v.Verify(t.Context(), tok); !errors.Is(err, ErrTokenExpired) {
		t.Fatalf("after expiry: %v", err)
	}
}

type countingKeys struct {
	KeySource
	n atomic.Int64
}

func (k *countingKeys) PublicKey(ctx context.Context, kid string) (VerificationKey, bool) {
	k.n.Add(1)
	return k.KeySource.PublicKey(ctx, kid)
}

// staticKeys is a KeySource written with the standard library's keys only.
type staticKeys map[string]VerificationKey

func (k staticKeys) PublicKey(_ context.Context, kid string) (VerificationKey, bool) {
	key, ok := k[kid]
	return key, ok
}

// TestVerifierCustomKeySource: a KeySource of plain crypto keys verifies
// tokens; a key that names another algorithm than its type's, a private
// key, an RSA key below 2048 bits, or no key verifies nothing, so a token
// cannot pick the algorithm its key is used with.
func TestVerifierCustomKeySource(t *testing.T) {
	e := newEnv(t)
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	_, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	keys := staticKeys{
		"ec":         {Key: &testKey.PublicKey},
		"ec-named":   {Key: &testKey.PublicKey, Algorithm: ES256},
		"ec-as-rsa":  {Key: &testKey.PublicKey, Algorithm: RS256},
		"ec-private": {Key: testKey},
		"rsa-1024":   {Key: &small.PublicKey},
		"ed25519":    {Key: edPriv.Public()},
		"nothing":    {},
		"ed-as-ec":   {Key: edPriv.Public(), Algorithm: ES256},
	}
	v := newVerifier(t, e, keys, nil)
	sign := func(key any, alg jose.SignatureAlgorithm, kid string) string {
		return signCustom(t, key, alg, map[jose.HeaderKey]any{"kid": kid, jose.HeaderType: "at+jwt"}, e.claimsFor())
	}
	for _, c := range []struct {
		name  string
		token string
		want  error
	}{
		{"EC key, implied algorithm", sign(testKey, jose.ES256, "ec"), nil},
		{"EC key, named algorithm", sign(testKey, jose.ES256, "ec-named"), nil},
		{"Ed25519 key", sign(edPriv, jose.EdDSA, "ed25519"), nil},
		{"EC key said to be RS256", sign(testKey, jose.ES256, "ec-as-rsa"), ErrTokenSignature},
		{"a private key", sign(testKey, jose.ES256, "ec-private"), ErrTokenSignature},
		{"RSA below 2048 bits", sign(small, jose.RS256, "rsa-1024"), ErrTokenSignature},
		{"no key", sign(testKey, jose.ES256, "nothing"), ErrTokenSignature},
		{"Ed25519 key said to be ES256", sign(testKey, jose.ES256, "ed-as-ec"), ErrTokenSignature},
		{"unknown kid", sign(testKey, jose.ES256, "gone"), ErrTokenSignature},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := v.Verify(t.Context(), c.token)
			if c.want == nil && err != nil || c.want != nil && !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
}

// TestVerifierCacheIsKeyedByWholeToken: a token that shares the signature
// of a cached one but differs elsewhere is verified on its own.
func TestVerifierCacheIsKeyedByWholeToken(t *testing.T) {
	e := newEnv(t)
	v := newVerifier(t, e, nil, nil)
	tok := e.sign(t, e.claimsFor())
	if _, err := v.Verify(t.Context(), tok); err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tok, ".")
	forged := e.claimsFor()
	forged["sub"] = "1"
	payload, _ := json.Marshal(forged)
	forgedTok := parts[0] + "." + b64(payload) + "." + parts[2]
	if _, err := v.Verify(t.Context(), forgedTok); !errors.Is(err, ErrTokenSignature) {
		t.Fatalf("forged payload with a cached signature: %v", err)
	}
}

// TestVerifierCacheBound: the cache never grows past its size.
func TestVerifierCacheBound(t *testing.T) {
	e := newEnv(t)
	v := newVerifier(t, e, nil, &VerifierOptions{CacheSize: 64})
	for i := 0; i < 300; i++ {
		if _, err := v.Verify(t.Context(), e.sign(t, e.claimsFor())); err != nil {
			t.Fatal(err)
		}
	}
	total := 0
	for i := range v.cache.shards {
		total += len(v.cache.shards[i].m)
	}
	if total > 64 {
		t.Fatalf("cache holds %d tokens, bound 64", total)
	}
}

// TestVerifierKeyRotationInProcess: after the server rotates its key,
// tokens of the new key verify (the verifier asks the server, which finds
// the new kid), and tokens of the old key still do.
func TestVerifierKeyRotationInProcess(t *testing.T) {
	c := newClock()
	st := NewMemoryStore(&MemoryStoreOptions{Now: c.Now, SweepInterval: -1})
	defer st.Close()
	s := storedKeyServer(t, st, c, ES256, 0)
	v, err := NewVerifier(s.Issuer(), s, &VerifierOptions{Now: c.Now, Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	aud := []string{testResource}
	old, _ := s.mintAccessToken(t.Context(), "c", "f", Identity{Subject: "1"}, "mcp", aud, c.Now())
	if _, err := v.Verify(t.Context(), old.raw); err != nil {
		t.Fatal(err)
	}
	// Another replica rotates: this server learns of the key from the store.
	s2 := storedKeyServer(t, st, c, ES256, 0)
	if err := s2.RotateKeys(t.Context()); err != nil {
		t.Fatal(err)
	}
	fresh, _ := s2.mintAccessToken(t.Context(), "c", "f", Identity{Subject: "1"}, "mcp", aud, c.Now())
	if _, err := v.Verify(t.Context(), fresh.raw); err != nil {
		t.Fatalf("token of the rotated key: %v", err)
	}
	if _, err := v.Verify(t.Context(), old.raw); err != nil {
		t.Fatalf("token of the old key after rotation: %v", err)
	}
}

// TestVerifierJWKSRotation: a verifier in another process fetches the
// JWKS; a token with an unknown kid makes it fetch again (at most once per
// MissRefetch), so a rotation is picked up and garbage kids do not hammer
// the server.
func TestVerifierJWKSRotation(t *testing.T) {
	c := newClock()
	st := NewMemoryStore(&MemoryStoreOptions{Now: c.Now, SweepInterval: -1})
	defer st.Close()
	s := storedKeyServer(t, st, c, ES256, 0)
	var fetches atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		s.ServeHTTP(w, r)
	}))
	defer ts.Close()
	jwks, err := NewJWKS(ts.URL+"/jwks", &JWKSOptions{Now: c.Now, Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifier(s.Issuer(), jwks, &VerifierOptions{Now: c.Now, Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	aud := []string{testResource}
	old, _ := s.mintAccessToken(t.Context(), "c", "f", Identity{Subject: "1"}, "mcp", aud, c.Now())
	if _, err := v.Verify(t.Context(), old.raw); err != nil {
		t.Fatal(err)
	}
	if fetches.Load() != 1 {
		t.Fatalf("%d fetches for the first token", fetches.Load())
	}
	// Unknown kids: one fetch, then none until MissRefetch passed.
	c.Advance(DefaultJWKSMissRefetch)
	for i := 0; i < 5; i++ {
		bogus := signCustom(t, testKey, jose.ES256, map[jose.HeaderKey]any{"kid": "bogus", jose.HeaderType: "at+jwt"}, map[string]any{"iss": s.Issuer()})
		if _, err := v.Verify(t.Context(), bogus); !errors.Is(err, ErrTokenSignature) {
			t.Fatalf("bogus kid: %v", err)
		}
	}
	if fetches.Load() != 2 {
		t.Fatalf("%d fetches after five unknown kids, want 2", fetches.Load())
	}
	if err := s.RotateKeys(t.Context()); err != nil {
		t.Fatal(err)
	}
	fresh, _ := s.mintAccessToken(t.Context(), "c", "f", Identity{Subject: "1"}, "mcp", aud, c.Now())
	if _, err := v.Verify(t.Context(), fresh.raw); !errors.Is(err, ErrTokenSignature) {
		t.Fatalf("new kid within MissRefetch of the last fetch: %v (want refused for now)", err)
	}
	c.Advance(DefaultJWKSMissRefetch)
	if _, err := v.Verify(t.Context(), fresh.raw); err != nil {
		t.Fatalf("new kid after MissRefetch: %v", err)
	}
	if _, err := v.Verify(t.Context(), old.raw); err != nil {
		t.Fatalf("old kid after rotation: %v", err)
	}
	// The set is fetched again when its lifetime (max-age=300) ends.
	n := fetches.Load()
	c.Advance(301 * time.Second)
	fresh2, _ := s.mintAccessToken(t.Context(), "c", "f", Identity{Subject: "2"}, "mcp", aud, c.Now())
	if _, err := v.Verify(t.Context(), fresh2.raw); err != nil {
		t.Fatal(err)
	}
	if fetches.Load() != n+1 {
		t.Fatalf("stale set: %d fetches, want %d", fetches.Load(), n+1)
	}
}

// TestJWKSBadAnswers: a JWKS that fails keeps the keys fetched before; a
// set without usable keys verifies nothing.
func TestJWKSBadAnswers(t *testing.T) {
	c := newClock()
	var mu sync.Mutex
	body, status := `{"keys":[]}`, 200
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	defer ts.Close()
	pub := jose.JSONWebKey{Key: &testKey.PublicKey, KeyID: "k1", Algorithm: "ES256", Use: "sig"}
	set, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{pub, {Key: &testKey.PublicKey, KeyID: "enc", Use: "enc"}}})
	j, err := NewJWKS(ts.URL, &JWKSOptions{Now: c.Now, Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	body = string(set)
	mu.Unlock()
	if _, ok := j.PublicKey(t.Context(), "k1"); !ok {
		t.Fatal("k1 not found")
	}
	if _, ok := j.PublicKey(t.Context(), "enc"); ok {
		t.Fatal("an encryption key verifies tokens")
	}
	mu.Lock()
	body, status = "oops", 500
	mu.Unlock()
	c.Advance(time.Hour)
	if err := j.Refresh(t.Context()); err == nil {
		t.Fatal("a 500 refresh succeeded")
	}
	if _, ok := j.PublicKey(t.Context(), "k1"); !ok {
		t.Fatal("a failed refresh dropped the old keys")
	}
	for _, bad := range []string{"http://", "ftp://x/jwks", "not a url"} {
		if _, err := NewJWKS(bad, nil); err == nil {
			t.Errorf("NewJWKS(%q) accepted", bad)
		}
	}
}

// TestJWKSURLScheme: keys come over https; plain http only from a loopback
// host or when the caller says so explicitly.
func TestJWKSURLScheme(t *testing.T) {
	for _, tc := range []struct {
		url      string
		insecure bool
		ok       bool
	}{
		{"https://auth.example.com/jwks", false, true},
		{"http://127.0.0.1:8000/jwks", false, true},
		{"http://localhost/jwks", false, true},
		{"http://[::1]:8000/jwks", false, true},
		{"http://auth.example.com/jwks", false, false},
		{"http://10.0.0.7:8000/jwks", false, false},
		{"http://127.0.0.1.nip.io/jwks", false, false},
		{"http://localhost.evil.example/jwks", false, false},
		{"http://auth.internal:8000/jwks", true, true},
	} {
		_, err := NewJWKS(tc.url, &JWKSOptions{AllowInsecureHTTP: tc.insecure})
		if (err == nil) != tc.ok {
			t.Errorf("NewJWKS(%q, insecure %v): %v, want ok %v", tc.url, tc.insecure, err, tc.ok)
		}
		if err != nil && !tc.ok && strings.HasPrefix(tc.url, "http://") && !strings.Contains(err.Error(), "AllowInsecureHTTP") {
			t.Errorf("NewJWKS(%q): the error does not say how to allow it: %v", tc.url, err)
		}
	}
}

// TestVerifierRevocationThroughTheServer: tokens revoked at /revoke, by a
// revoked refresh token (family), or by deleting the client, are refused by
// a verifier following the store within a second, without asking the store
// for every request.
func TestVerifierRevocationThroughTheServer(t *testing.T) {
	e := newEnv(t)
	rs := &countingStore{MemoryStore: e.store}
	v := newVerifier(t, e, nil, &VerifierOptions{Revocations: rs})

	c := e.register(nil)
	res := url.Values{"resource": {testResource}}
	tok := e.tokens(c, res)
	at := str(tok["access_token"])
	for i := 0; i < 5; i++ {
		if _, err := v.Verify(t.Context(), at); err != nil {
			t.Fatal(err)
		}
	}
	if n := rs.isRevoked.Load(); n != 1 {
		t.Fatalf("five verifications asked the store %d times, want 1", n)
	}

	// /revoke of the access token.
	resp, _ := e.postForm("/revoke", url.Values{"token": {at}, "client_id": {c.ID}})
	if resp.StatusCode != 200 {
		t.Fatalf("revoke: %d", resp.StatusCode)
	}
	refusedWithin(t, v, at, time.Second)

	// /revoke of the refresh token: the family's access tokens go too.
	tok2 := e.tokens(c, res)
	at2 := str(tok2["access_token"])
	if _, err := v.Verify(t.Context(), at2); err != nil {
		t.Fatal(err)
	}
	resp, _ = e.postForm("/revoke", url.Values{"token": {str(tok2["refresh_token"])}, "client_id": {c.ID}})
	if resp.StatusCode != 200 {
		t.Fatalf("revoke refresh: %d", resp.StatusCode)
	}
	refusedWithin(t, v, at2, time.Second)

	// Deleting the client (RFC 7592) revokes all its tokens.
	tok3 := e.tokens(c, res)
	at3 := str(tok3["access_token"])
	if _, err := v.Verify(t.Context(), at3); err != nil {
		t.Fatal(err)
	}
	resp, _ = e.postJSON("DELETE", "/register/"+c.ID, nil, c.RegToken)
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("delete client: %d", resp.StatusCode)
	}
	refusedWithin(t, v, at3, time.Second)
}

// refusedWithin checks that v refuses tok as revoked within d.
func refusedWithin(t testing.TB, v *Verifier, tok string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		_, err := v.Verify(context.Background(), tok)
		if errors.Is(err, ErrTokenRevoked) {
			return
		}
		if err != nil {
			t.Fatalf("revoked token: %v", err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("revoked token still accepted after %v", d)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// countingStore counts IsRevoked calls and can inject feed events or fail.
type countingStore struct {
	*MemoryStore
	isRevoked atomic.Int64
	fail      atomic.Bool
	noFeed    atomic.Bool
	drop      atomic.Bool // lose the memory store's events
	mu        sync.Mutex
	injected  []chan Revocation
}

func (s *countingStore) IsRevoked(ctx context.Context, t AccessTokenRef) (bool, error) {
	s.isRevoked.Add(1)
	if s.fail.Load() {
		return false, errors.New("store down")
	}
	return s.MemoryStore.IsRevoked(ctx, t)
}

// SubscribeRevocations relays the memory store's feed, plus what inject
// sends.
func (s *countingStore) SubscribeRevocations(ctx context.Context) (<-chan Revocation, error) {
	if s.noFeed.Load() {
		return nil, errors.New("feed unavailable")
	}
	in, err := s.MemoryStore.SubscribeRevocations(ctx)
	if err != nil {
		return nil, err
	}
	extra := make(chan Revocation, 8)
	s.mu.Lock()
	s.injected = append(s.injected, extra)
	s.mu.Unlock()
	out := make(chan Revocation)
	go func() {
		defer close(out)
		for {
			select {
			case r, ok := <-in:
				if !ok {
					return
				}
				if !s.drop.Load() {
					out <- r
				}
			case r, ok := <-extra:
				if !ok {
					return
				}
				out <- r
			}
		}
	}()
	return out, nil
}

// inject sends r on every open feed; closing ends them.
func (s *countingStore) inject(r Revocation, closeFeeds bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ch := range s.injected {
		if closeFeeds {
			close(ch)
		} else {
			ch <- r
		}
	}
	if closeFeeds {
		s.injected = nil
	}
}

// TestVerifierFeedReset: when the feed may have lost events, cached "not
// revoked" answers are dropped: a token revoked while its event was lost is
// refused at its next use.
func TestVerifierFeedReset(t *testing.T) {
	e := newEnv(t)
	rs := &countingStore{MemoryStore: e.store}
	v := newVerifier(t, e, nil, &VerifierOptions{Revocations: rs})
	claims := e.claimsFor()
	tok := e.sign(t, claims)
	if _, err := v.Verify(t.Context(), tok); err != nil {
		t.Fatal(err)
	}
	// The revocation is recorded, but its event is lost.
	rs.drop.Store(true)
	if err := e.store.RevokeToken(t.Context(), "client-1", claims["jti"].(string), e.clock.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond) // the event would have arrived by now
	if _, err := v.Verify(t.Context(), tok); err != nil {
		t.Fatalf("lost event, no reset yet: the cached answer stands, got %v", err)
	}
	before := rs.isRevoked.Load()
	rs.inject(Revocation{Kind: RevocationReset}, false)
	refusedWithin(t, v, tok, time.Second)
	if rs.isRevoked.Load() == before {
		t.Fatal("the reset did not make the verifier ask the store")
	}
}

// TestVerifierFeedDown: without a feed every request asks the store; a
// store that fails refuses tokens (never open); the feed coming back
// restores caching.
func TestVerifierFeedDown(t *testing.T) {
	e := newEnv(t)
	rs := &countingStore{MemoryStore: e.store}
	rs.noFeed.Store(true)
	v, err := NewVerifier(e.issuer, e.srv, &VerifierOptions{Revocations: rs, Now: e.clock.Now, Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	tok := e.sign(t, e.claimsFor())
	for i := 0; i < 3; i++ {
		if _, err := v.Verify(t.Context(), tok); err != nil {
			t.Fatal(err)
		}
	}
	if n := rs.isRevoked.Load(); n != 3 {
		t.Fatalf("without a feed: %d store checks for 3 requests", n)
	}
	rs.fail.Store(true)
	if _, err := v.Verify(t.Context(), tok); !errors.Is(err, ErrRevocationUnavailable) {
		t.Fatalf("store down: %v", err)
	}
	rs.fail.Store(false)
	rs.noFeed.Store(false)
	waitFor(t, "the feed to come back", v.feedUp.Load)
	n := rs.isRevoked.Load()
	for i := 0; i < 3; i++ {
		if _, err := v.Verify(t.Context(), tok); err != nil {
			t.Fatal(err)
		}
	}
	if got := rs.isRevoked.Load() - n; got != 1 {
		t.Fatalf("with the feed back: %d store checks for 3 requests, want 1", got)
	}
	// The feed ends: back to asking the store.
	rs.noFeed.Store(true)
	rs.inject(Revocation{}, true)
	waitFor(t, "the feed to be noticed down", func() bool { return !v.feedUp.Load() })
	n = rs.isRevoked.Load()
	if _, err := v.Verify(t.Context(), tok); err != nil {
		t.Fatal(err)
	}
	if rs.isRevoked.Load() != n+1 {
		t.Fatal("feed down: the cached answer was trusted")
	}
}

// TestVerifierRecheck: even with a healthy feed, the store's answer is
// asked again after RevocationRecheck.
func TestVerifierRecheck(t *testing.T) {
	e := newEnv(t)
	rs := &countingStore{MemoryStore: e.store}
	v := newVerifier(t, e, nil, &VerifierOptions{Revocations: rs, RevocationRecheck: time.Minute})
	tok := e.sign(t, e.claimsFor())
	if _, err := v.Verify(t.Context(), tok); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(59 * time.Second)
	if _, err := v.Verify(t.Context(), tok); err != nil || rs.isRevoked.Load() != 1 {
		t.Fatalf("within the recheck interval: %v, %d checks", err, rs.isRevoked.Load())
	}
	e.clock.Advance(2 * time.Second)
	if _, err := v.Verify(t.Context(), tok); err != nil || rs.isRevoked.Load() != 2 {
		t.Fatalf("after the recheck interval: %v, %d checks", err, rs.isRevoked.Load())
	}
}

// TestRevocationSet covers and prunes as the feed's events say.
func TestRevocationSet(t *testing.T) {
	var s revocationSet
	s.init()
	now := time.Now().Truncate(time.Second)
	ref := AccessTokenRef{ClientID: "c", FamilyID: "f", JTI: "j", IssuedAt: now}
	if s.covers(&ref) {
		t.Fatal("empty set covers")
	}
	s.add(Revocation{Kind: RevokedToken, ClientID: "other", ID: "j", ExpiresAt: now.Add(time.Hour)})
	if s.covers(&ref) {
		t.Fatal("another client's jti covers")
	}
	s.add(Revocation{Kind: RevokedFamily, ClientID: "c", ID: "f", ExpiresAt: now.Add(time.Hour)})
	if !s.covers(&ref) {
		t.Fatal("family revocation does not cover")
	}
	s.prune(now.Add(2 * time.Hour))
	if s.covers(&ref) || s.size.Load() != 0 {
		t.Fatal("expired revocations not pruned")
	}
	s.add(Revocation{Kind: RevokedClient, ClientID: "c", At: now.Add(-time.Second), ExpiresAt: now.Add(time.Hour)})
	if s.covers(&ref) {
		t.Fatal("client revocation covers a token issued after it")
	}
	s.add(Revocation{Kind: RevokedClient, ClientID: "c", At: now, ExpiresAt: now.Add(time.Hour)})
	if !s.covers(&ref) {
		t.Fatal("client revocation does not cover a token issued in the same second")
	}
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

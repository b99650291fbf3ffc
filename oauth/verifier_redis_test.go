package oauth_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mcp-oauth-gateway/gateway/internal/redistest"
	"github.com/mcp-oauth-gateway/gateway/oauth"
	"github.com/mcp-oauth-gateway/gateway/oauth/redisstore"
)

// countingRevocations counts the store round trips of a verifier.
type countingRevocations struct {
	oauth.RevocationStore
	n atomic.Int64
}

func (c *countingRevocations) IsRevoked(ctx context.Context, t oauth.AccessTokenRef) (bool, error) {
	c.n.Add(1)
	return c.RevocationStore.IsRevoked(ctx, t)
}

// TestRevocationAcrossReplicas: two replicas share one real Redis. The
// authorization server runs on the first; a verifier on the second (its
// own Redis connection, keys from the JWKS over HTTP) accepts a token
// without a store round trip per request, and refuses it within a second
// of its revocation through the server, including after its pub/sub
// connection was cut (the feed re-synchronizes).
func TestRevocationAcrossReplicas(t *testing.T) {
	rs := redistest.Start(t)
	prefix := "t:" + t.Name() + ":"
	storeA, err := redisstore.New(rs.Client, &redisstore.Options{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	defer storeA.Close()
	storeB, err := redisstore.New(rs.NewClient(t), &redisstore.Options{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	defer storeB.Close()

	bs := newBenchServer(t, storeA, oauth.ES256)
	as := httptest.NewServer(bs.srv)
	defer as.Close()
	jwks, err := oauth.NewJWKS(as.URL+"/jwks", nil)
	if err != nil {
		t.Fatal(err)
	}
	counted := &countingRevocations{RevocationStore: storeB}
	vB, err := oauth.NewVerifier(bs.srv.Issuer(), jwks, &oauth.VerifierOptions{Revocations: counted, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer vB.Close()
	vA, err := oauth.NewVerifier(bs.srv.Issuer(), bs.srv, &oauth.VerifierOptions{Revocations: storeA, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer vA.Close()

	token := func() string {
		m := bs.token(t, url.Values{"grant_type": {"authorization_code"}, "code": {bs.code(t)}, "redirect_uri": {bs.redirect},
			"code_verifier": {bs.verifier}, "client_id": {bs.clientID}})
		return m["access_token"].(string)
	}
	revoke := func(tok string) {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("POST", "/revoke", strings.NewReader(url.Values{"token": {tok}, "client_id": {bs.clientID}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		bs.srv.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("revoke: %d %s", rec.Code, rec.Body)
		}
	}
	// refusedWithin returns how long it took v to refuse tok.
	refusedWithin := func(v *oauth.Verifier, tok string, start time.Time) time.Duration {
		for {
			_, err := v.Verify(t.Context(), tok)
			if errors.Is(err, oauth.ErrTokenRevoked) {
				return time.Since(start)
			}
			if err != nil {
				t.Fatalf("verify: %v", err)
			}
			if time.Since(start) > time.Second {
				t.Fatal("a revoked token is still accepted after one second")
			}
			time.Sleep(2 * time.Millisecond)
		}
	}

	// Steady state: the feed is up; a token costs one store check, then
	// none.
	tok := token()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := vB.Verify(t.Context(), tok); err != nil {
			t.Fatal(err)
		}
		n := counted.n.Load()
		for i := 0; i < 20; i++ {
			if _, err := vB.Verify(t.Context(), tok); err != nil {
				t.Fatal(err)
			}
		}
		if counted.n.Load() == n {
			break // twenty requests, no store round trip
		}
		if time.Now().After(deadline) {
			t.Fatalf("the verifier keeps asking the store (%d checks)", counted.n.Load())
		}
		time.Sleep(10 * time.Millisecond) // the feed is still subscribing
	}
	if _, err := vA.Verify(t.Context(), tok); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	revoke(tok)
	t.Logf("revocation reached the other replica in %v, this one in %v", refusedWithin(vB, tok, start), refusedWithin(vA, tok, start))

	// Cut the second replica's pub/sub connection and revoke at once: the
	// event may be lost, but the feed's reconnection makes the verifier
	// check again.
	tok2 := token()
	if _, err := vB.Verify(t.Context(), tok2); err != nil {
		t.Fatal(err)
	}
	if err := rs.Client.Do(t.Context(), "CLIENT", "KILL", "TYPE", "pubsub").Err(); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	revoke(tok2)
	t.Logf("after a cut pub/sub connection, the revocation was enforced in %v", refusedWithin(vB, tok2, start))
}

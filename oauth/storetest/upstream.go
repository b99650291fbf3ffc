package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/mcp-oauth-gateway/gateway/oauth"
)

func newUpstream(now time.Time, blob string) *oauth.UpstreamCredential {
	return &oauth.UpstreamCredential{
		Sealed:    append([]byte{0, 0xff, '"', '\n'}, blob...),
		UpdatedAt: now,
		ExpiresAt: now.Add(refreshLifetime),
	}
}

// upstreamGone fails t unless the family of c1 has no credential.
func (e *env) upstreamGone(t *testing.T, what, fam string) {
	t.Helper()
	if c, err := e.s.GetUpstream(e.ctx, "c1", fam); !errors.Is(err, oauth.ErrNotFound) {
		t.Fatalf("%s: the upstream credential of %s is still there (%v, %v)", what, fam, c, err)
	}
}

var upstreamTests = []contractTest{
	{"Upstream/RoundTripVersionsAndExpiry", func(t *testing.T, e *env) {
		now := e.clock.Now()
		c := newUpstream(now, "first")
		c.LeaseUntil = now.Add(time.Minute)
		c.Version = 42 // the store's to set
		wantErr(t, "put", e.s.PutUpstream(e.ctx, "c1", "fam1", c), nil)
		got, err := e.r.GetUpstream(e.ctx, "c1", "fam1")
		wantErr(t, "get", err, nil)
		want := c.Clone()
		want.Version = 1
		sameJSON(t, "upstream credential", got, want)
		if _, err := e.s.GetUpstream(e.ctx, "c2", "fam1"); !errors.Is(err, oauth.ErrNotFound) {
			t.Fatalf("another client's family: %v", err)
		}
		wantErr(t, "put again", e.s.PutUpstream(e.ctx, "c1", "fam1", newUpstream(now, "second")), nil)
		got, _ = e.s.GetUpstream(e.ctx, "c1", "fam1")
		if got.Version != 1 || string(got.Sealed[4:]) != "second" {
			t.Fatalf("put replaces, at version 1: %+v", got)
		}
		if err := e.s.PutUpstream(e.ctx, "c1", "fam2", &oauth.UpstreamCredential{Sealed: []byte("x")}); err == nil {
			t.Fatal("a credential without ExpiresAt was stored")
		}
		e.clock.Advance(refreshLifetime)
		e.upstreamGone(t, "expired", "fam1")
	}},
	{"Upstream/Swap", func(t *testing.T, e *env) {
		now := e.clock.Now()
		wantErr(t, "swap of none", e.s.SwapUpstream(e.ctx, "c1", "fam1", 1, newUpstream(now, "x")), oauth.ErrNotFound)
		wantErr(t, "put", e.s.PutUpstream(e.ctx, "c1", "fam1", newUpstream(now, "v1")), nil)
		wantErr(t, "swap", e.r.SwapUpstream(e.ctx, "c1", "fam1", 1, newUpstream(now, "v2")), nil)
		wantErr(t, "stale swap", e.s.SwapUpstream(e.ctx, "c1", "fam1", 1, newUpstream(now, "lost")), oauth.ErrConflict)
		got, err := e.s.GetUpstream(e.ctx, "c1", "fam1")
		wantErr(t, "get", err, nil)
		if got.Version != 2 || string(got.Sealed[4:]) != "v2" {
			t.Fatalf("after a swap and a stale one: %+v", got)
		}
		wantErr(t, "other client's swap", e.s.SwapUpstream(e.ctx, "c2", "fam1", 2, newUpstream(now, "x")), oauth.ErrNotFound)
	}},
	{"Upstream/ConcurrentSwapsOneWins", func(t *testing.T, e *env) {
		now := e.clock.Now()
		wantErr(t, "put", e.s.PutUpstream(e.ctx, "c1", "fam1", newUpstream(now, "v1")), nil)
		errs := race(e, func(i int, s oauth.Store) error {
			return s.SwapUpstream(e.ctx, "c1", "fam1", 1, newUpstream(now, id("swap", i)))
		})
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, oauth.ErrConflict):
				t.Fatalf("a lost swap: %v, want ErrConflict", err)
			}
		}
		if won != 1 {
			t.Fatalf("%d swaps of version 1 won, want exactly 1", won)
		}
	}},
	{"Upstream/GoesWithTheFamily", func(t *testing.T, e *env) {
		now := e.clock.Now()
		until := now.Add(accessLifetime)
		for _, fam := range []string{"fam1", "fam2", "fam3", "fam4"} {
			wantErr(t, "put "+fam, e.s.PutUpstream(e.ctx, "c1", fam, newUpstream(now, fam)), nil)
		}
		wantErr(t, "put other client", e.s.PutUpstream(e.ctx, "c2", "fam9", newUpstream(now, "c2")), nil)
		e.issue(t, "c1", "fam1", "rt1")
		e.issue(t, "c1", "fam2", "rt2")

		wantErr(t, "revoke family", e.s.RevokeFamily(e.ctx, "c1", "fam1", until), nil)
		e.upstreamGone(t, "revoked family", "fam1")
		wantErr(t, "put on a revoked family", e.s.PutUpstream(e.ctx, "c1", "fam1", newUpstream(now, "late")), oauth.ErrConflict)

		// A reuse revokes the family, its credential with it.
		e.rotate(t, e.s, e.rotation("rt2", "rt2b", "fam2"), oauth.Rotated)
		e.clock.Advance(graceWindow + time.Second)
		e.rotate(t, e.s, e.rotation("rt2", "rt2c", "fam2"), oauth.Reuse)
		e.upstreamGone(t, "reused family", "fam2")
		if _, err := e.s.GetUpstream(e.ctx, "c1", "fam3"); err != nil {
			t.Fatalf("another family's credential: %v", err)
		}

		// A client's revocation takes every family's, those without
		// refresh tokens (fam3, fam4) included, and no other client's.
		wantErr(t, "revoke client", e.s.RevokeClient(e.ctx, "c1", until), nil)
		e.upstreamGone(t, "revoked client", "fam3")
		e.upstreamGone(t, "revoked client", "fam4")
		if _, err := e.s.GetUpstream(e.ctx, "c2", "fam9"); err != nil {
			t.Fatalf("another client's credential after RevokeClient: %v", err)
		}
	}},
}

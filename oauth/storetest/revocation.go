package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/mcp-oauth-gateway/gateway/oauth"
)

// FeedDelay is how soon a revocation must reach a subscriber.
const FeedDelay = time.Second

func (e *env) revoked(t *testing.T, s oauth.Store, ref oauth.AccessTokenRef) bool {
	t.Helper()
	ok, err := s.IsRevoked(e.ctx, ref)
	wantErr(t, "is revoked", err, nil)
	return ok
}

// next reads one revocation from ch within FeedDelay.
func next(t *testing.T, ch <-chan oauth.Revocation) oauth.Revocation {
	t.Helper()
	select {
	case r, ok := <-ch:
		if !ok {
			t.Fatal("revocation feed closed")
		}
		return r
	case <-time.After(FeedDelay):
		t.Fatalf("no revocation within %v", FeedDelay)
	}
	return oauth.Revocation{}
}

func sameRevocation(t *testing.T, got, want oauth.Revocation) {
	t.Helper()
	if got.Kind != want.Kind || got.ClientID != want.ClientID || got.ID != want.ID ||
		!got.At.Equal(want.At) || !got.ExpiresAt.Equal(want.ExpiresAt) {
		t.Fatalf("revocation %+v, want %+v", got, want)
	}
}

var revocationTests = []contractTest{
	{"Revocation/Token", func(t *testing.T, e *env) {
		now := e.clock.Now()
		ref := oauth.AccessTokenRef{ClientID: "c1", FamilyID: "fam1", JTI: "jti-1", IssuedAt: now}
		if e.revoked(t, e.s, ref) {
			t.Fatal("revoked before RevokeToken")
		}
		wantErr(t, "revoke", e.s.RevokeToken(e.ctx, "c1", "jti-1", now.Add(accessLifetime)), nil)
		if !e.revoked(t, e.r, ref) {
			t.Fatal("not revoked after RevokeToken")
		}
		for _, other := range []oauth.AccessTokenRef{
			{ClientID: "c1", FamilyID: "fam1", JTI: "jti-2", IssuedAt: now},
			{ClientID: "c2", FamilyID: "fam1", JTI: "jti-1", IssuedAt: now},
		} {
			if e.revoked(t, e.s, other) {
				t.Fatalf("revoking jti-1 of c1 revoked %+v", other)
			}
		}
		e.clock.Advance(accessLifetime)
		if e.revoked(t, e.s, ref) {
			t.Fatal("revocation outlived the token's expiry")
		}
	}},
	{"Revocation/Family", func(t *testing.T, e *env) {
		now := e.clock.Now()
		wantErr(t, "revoke family", e.s.RevokeFamily(e.ctx, "c1", "fam1", now.Add(accessLifetime)), nil)
		if !e.revoked(t, e.r, oauth.AccessTokenRef{ClientID: "c1", FamilyID: "fam1", JTI: "any", IssuedAt: now}) {
			t.Fatal("family's access token not revoked")
		}
		if e.revoked(t, e.s, oauth.AccessTokenRef{ClientID: "c1", FamilyID: "fam2", JTI: "any", IssuedAt: now}) {
			t.Fatal("another family's access token revoked")
		}
		e.clock.Advance(accessLifetime)
		if e.revoked(t, e.s, oauth.AccessTokenRef{ClientID: "c1", FamilyID: "fam1", JTI: "any", IssuedAt: now}) {
			t.Fatal("family revocation outlived its time")
		}
	}},
	{"Revocation/Client", func(t *testing.T, e *env) {
		before := e.clock.Now()
		e.clock.Advance(time.Second)
		wantErr(t, "revoke client", e.s.RevokeClient(e.ctx, "c1", e.clock.Now().Add(accessLifetime)), nil)
		if !e.revoked(t, e.r, oauth.AccessTokenRef{ClientID: "c1", FamilyID: "f", JTI: "j", IssuedAt: before}) {
			t.Fatal("client's earlier access token not revoked")
		}
		if e.revoked(t, e.s, oauth.AccessTokenRef{ClientID: "c2", FamilyID: "f", JTI: "j", IssuedAt: before}) {
			t.Fatal("another client's access token revoked")
		}
		e.clock.Advance(time.Second)
		if e.revoked(t, e.s, oauth.AccessTokenRef{ClientID: "c1", FamilyID: "f", JTI: "j2", IssuedAt: e.clock.Now()}) {
			t.Fatal("an access token issued after the client revocation is revoked")
		}
	}},
	{"Revocation/RepeatKeepsTheLaterExpiry", func(t *testing.T, e *env) {
		now := e.clock.Now()
		ref := oauth.AccessTokenRef{ClientID: "c1", FamilyID: "fam1", JTI: "jti-1", IssuedAt: now}
		wantErr(t, "revoke", e.s.RevokeToken(e.ctx, "c1", "jti-1", now.Add(time.Hour)), nil)
		wantErr(t, "revoke again, shorter", e.r.RevokeToken(e.ctx, "c1", "jti-1", now.Add(time.Minute)), nil)
		wantErr(t, "revoke family", e.s.RevokeFamily(e.ctx, "c1", "fam1", now.Add(time.Hour)), nil)
		wantErr(t, "revoke family again, shorter", e.r.RevokeFamily(e.ctx, "c1", "fam1", now.Add(time.Minute)), nil)
		e.clock.Advance(30 * time.Minute)
		if !e.revoked(t, e.s, ref) {
			t.Fatal("a second, shorter revocation cut the first one short")
		}
		if !e.revoked(t, e.s, oauth.AccessTokenRef{ClientID: "c1", FamilyID: "fam1", JTI: "other", IssuedAt: now}) {
			t.Fatal("a second, shorter family revocation cut the first one short")
		}
	}},
	{"Revocation/ClientAgainCoversLaterTokens", func(t *testing.T, e *env) {
		wantErr(t, "revoke client", e.s.RevokeClient(e.ctx, "c1", e.clock.Now().Add(accessLifetime)), nil)
		e.clock.Advance(10 * time.Second)
		issued := e.clock.Now()
		ref := oauth.AccessTokenRef{ClientID: "c1", FamilyID: "f", JTI: "j", IssuedAt: issued}
		if e.revoked(t, e.s, ref) {
			t.Fatal("token issued after the client revocation is revoked")
		}
		e.clock.Advance(10 * time.Second)
		wantErr(t, "revoke client again", e.r.RevokeClient(e.ctx, "c1", e.clock.Now().Add(accessLifetime)), nil)
		if !e.revoked(t, e.s, ref) {
			t.Fatal("a second client revocation does not cover tokens issued before it")
		}
	}},
	{"Revocation/FeedReachesEverySubscriber", func(t *testing.T, e *env) {
		a, err := e.s.SubscribeRevocations(e.ctx)
		wantErr(t, "subscribe", err, nil)
		b, err := e.r.SubscribeRevocations(e.ctx)
		wantErr(t, "subscribe replica", err, nil)
		now := e.clock.Now()
		exp := now.Add(accessLifetime)
		wantErr(t, "revoke token", e.s.RevokeToken(e.ctx, "c1", "jti-1", exp), nil)
		wantErr(t, "revoke family", e.s.RevokeFamily(e.ctx, "c1", "fam1", exp), nil)
		wantErr(t, "revoke client", e.s.RevokeClient(e.ctx, "c2", exp), nil)
		want := []oauth.Revocation{
			{Kind: oauth.RevokedToken, ClientID: "c1", ID: "jti-1", At: now, ExpiresAt: exp},
			{Kind: oauth.RevokedFamily, ClientID: "c1", ID: "fam1", At: now, ExpiresAt: exp},
			{Kind: oauth.RevokedClient, ClientID: "c2", At: now, ExpiresAt: exp},
		}
		for _, ch := range []<-chan oauth.Revocation{a, b} {
			for _, w := range want {
				sameRevocation(t, next(t, ch), w)
			}
		}
	}},
	{"Revocation/FeedAnnouncesReuse", func(t *testing.T, e *env) {
		ch, err := e.r.SubscribeRevocations(e.ctx)
		wantErr(t, "subscribe", err, nil)
		e.issue(t, "c1", "fam1", "rt1")
		r := e.rotation("rt1", "rt2", "fam1")
		r.GraceUntil = time.Time{}
		e.rotate(t, e.s, r, oauth.Rotated)
		reuse := e.rotation("rt1", "rt3", "fam1")
		e.rotate(t, e.s, reuse, oauth.Reuse)
		sameRevocation(t, next(t, ch), oauth.Revocation{Kind: oauth.RevokedFamily, ClientID: "c1", ID: "fam1", At: e.clock.Now(), ExpiresAt: reuse.RevokeUntil})
	}},
	{"Revocation/FeedEndsWithContext", func(t *testing.T, e *env) {
		ctx, cancel := context.WithCancel(e.ctx)
		ch, err := e.s.SubscribeRevocations(ctx)
		wantErr(t, "subscribe", err, nil)
		cancel()
		deadline := time.After(FeedDelay)
		for {
			select {
			case _, ok := <-ch:
				if !ok {
					return
				}
			case <-deadline:
				t.Fatal("feed not closed after its context ended")
			}
		}
	}},
}

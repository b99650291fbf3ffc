package storetest

import (
	"testing"
	"time"

	"github.com/mcp-oauth-gateway/gateway/oauth"
)

const (
	refreshLifetime = 30 * 24 * time.Hour
	accessLifetime  = time.Hour
	graceWindow     = 30 * time.Second
)

func newRefresh(client, family string, now time.Time) *oauth.RefreshToken {
	return &oauth.RefreshToken{
		FamilyID: family,
		ClientID: client,
		User: oauth.Identity{Subject: "42", Provider: "github", Login: "octocat", Name: "The Octocat", Email: "o@example.com",
			EmailVerified: true, Groups: []string{"staff"}, Orgs: []string{"octo-org"}, CheckedAt: now.Add(-time.Second)},
		Scope:     "mcp read",
		Resources: []string{"https://mcp.example/mcp"},
		AuthTime:  now.Add(-time.Minute),
		Upstream:  []byte{0xc3, 0, 'g', 0xff, '"', '\n'},
		IssuedAt:  now,
		ExpiresAt: now.Add(refreshLifetime),
	}
}

// rotation asks to rotate old into next within family fam of client c1,
// with the suite's grace window.
func (e *env) rotation(old, next, fam string) *oauth.Rotation {
	now := e.clock.Now()
	return &oauth.Rotation{
		ClientID:    "c1",
		OldHash:     hash(old),
		NewHash:     hash(next),
		New:         newRefresh("c1", fam, now),
		GraceBlob:   []byte("sealed pair for " + next),
		GraceUntil:  now.Add(graceWindow),
		RevokeUntil: now.Add(accessLifetime),
	}
}

// issue stores the first refresh token of family fam of client.
func (e *env) issue(t *testing.T, client, fam, token string) *oauth.RefreshToken {
	t.Helper()
	rt := newRefresh(client, fam, e.clock.Now())
	wantErr(t, "issue "+token, e.s.IssueRefresh(e.ctx, hash(token), rt), nil)
	return rt
}

// rotate rotates and fails t unless the outcome is want.
func (e *env) rotate(t *testing.T, s oauth.Store, r *oauth.Rotation, want oauth.RotateOutcome) *oauth.RotationResult {
	t.Helper()
	res, err := s.RotateRefresh(e.ctx, r)
	wantErr(t, "rotate", err, nil)
	if res.Outcome != want {
		t.Fatalf("rotate %s -> %s: outcome %v, want %v", r.OldHash, r.NewHash, res.Outcome, want)
	}
	return res
}

// live reports whether the refresh token of client c1 can be found.
func (e *env) live(t *testing.T, token string) bool {
	t.Helper()
	_, err := e.s.GetRefresh(e.ctx, "c1", hash(token))
	if err == nil {
		return true
	}
	wantErr(t, "get refresh "+token, err, oauth.ErrNotFound)
	return false
}

var refreshTests = []contractTest{
	{"Refresh/RoundTripAndClientBinding", func(t *testing.T, e *env) {
		rt := e.issue(t, "c1", "fam1", "rt1")
		got, err := e.r.GetRefresh(e.ctx, "c1", hash("rt1"))
		wantErr(t, "get", err, nil)
		sameJSON(t, "refresh token", got, rt)
		_, err = e.s.GetRefresh(e.ctx, "c2", hash("rt1"))
		wantErr(t, "get as another client", err, oauth.ErrNotFound)
		wantErr(t, "issue duplicate", e.s.IssueRefresh(e.ctx, hash("rt1"), newRefresh("c1", "fam9", e.clock.Now())), oauth.ErrExists)
	}},
	{"Refresh/RecordIsACopy", func(t *testing.T, e *env) {
		e.issue(t, "c1", "fam1", "rt1")
		got, err := e.s.GetRefresh(e.ctx, "c1", hash("rt1"))
		wantErr(t, "get", err, nil)
		got.User.Orgs[0] = "evil-org"
		got.Resources[0] = "https://evil.example/"
		got.Upstream[0] = 'x'
		again, err := e.s.GetRefresh(e.ctx, "c1", hash("rt1"))
		wantErr(t, "get again", err, nil)
		if again.User.Orgs[0] != "octo-org" || again.Resources[0] != "https://mcp.example/mcp" || again.Upstream[0] != 0xc3 {
			t.Fatalf("stored token changed through a returned one: orgs %v resources %v upstream %x", again.User.Orgs, again.Resources, again.Upstream)
		}
	}},
	{"Refresh/Expiry", func(t *testing.T, e *env) {
		e.issue(t, "c1", "fam1", "rt1")
		e.clock.Advance(refreshLifetime)
		if e.live(t, "rt1") {
			t.Fatal("expired refresh token still found")
		}
		_, err := e.s.RotateRefresh(e.ctx, e.rotation("rt1", "rt2", "fam1"))
		wantErr(t, "rotate expired", err, oauth.ErrNotFound)
		if e.live(t, "rt2") {
			t.Fatal("rotating an expired token stored a successor")
		}
	}},
	{"Refresh/Rotate", func(t *testing.T, e *env) {
		old := e.issue(t, "c1", "fam1", "rt1")
		r := e.rotation("rt1", "rt2", "fam1")
		res := e.rotate(t, e.r, r, oauth.Rotated)
		sameJSON(t, "old token in result", res.Old, old)
		got, err := e.s.GetRefresh(e.ctx, "c1", hash("rt2"))
		wantErr(t, "get successor", err, nil)
		sameJSON(t, "successor", got, r.New)
		prev, err := e.s.GetRefresh(e.ctx, "c1", hash("rt1"))
		wantErr(t, "get rotated", err, nil)
		if prev.Successor != hash("rt2") || !prev.RotatedAt.Equal(e.clock.Now()) || !prev.GraceUntil.Equal(r.GraceUntil) {
			t.Fatalf("rotated token: successor %q rotated %v grace %v", prev.Successor, prev.RotatedAt, prev.GraceUntil)
		}
	}},
	{"Refresh/RotateUnknown", func(t *testing.T, e *env) {
		_, err := e.s.RotateRefresh(e.ctx, e.rotation("nope", "rt2", "fam1"))
		wantErr(t, "rotate unknown", err, oauth.ErrNotFound)
		e.issue(t, "c2", "fam1", "rt1")
		_, err = e.s.RotateRefresh(e.ctx, e.rotation("rt1", "rt2", "fam1")) // as c1
		wantErr(t, "rotate another client's token", err, oauth.ErrNotFound)
	}},
	{"Refresh/RotateIntoAnotherFamily", func(t *testing.T, e *env) {
		e.issue(t, "c1", "fam1", "rt1")
		_, err := e.s.RotateRefresh(e.ctx, e.rotation("rt1", "rt2", "fam2"))
		wantErr(t, "rotate into fam2", err, oauth.ErrConflict)
		if e.live(t, "rt2") {
			t.Fatal("refused rotation stored its successor")
		}
	}},
	{"Refresh/RetryWithinGrace", func(t *testing.T, e *env) {
		e.issue(t, "c1", "fam1", "rt1")
		first := e.rotation("rt1", "rt2", "fam1")
		e.rotate(t, e.s, first, oauth.Rotated)
		e.clock.Advance(graceWindow - time.Second)
		res := e.rotate(t, e.r, e.rotation("rt1", "rt3", "fam1"), oauth.Retry)
		if string(res.GraceBlob) != string(first.GraceBlob) {
			t.Fatalf("retry blob %q, want the first rotation's %q", res.GraceBlob, first.GraceBlob)
		}
		if e.live(t, "rt3") {
			t.Fatal("a retry stored a second successor")
		}
		if !e.live(t, "rt2") {
			t.Fatal("a retry removed the successor")
		}
		// A retry changes nothing: the successor still rotates normally.
		e.rotate(t, e.s, e.rotation("rt2", "rt4", "fam1"), oauth.Rotated)
	}},
	{"Refresh/ReuseAfterGraceRevokesFamily", func(t *testing.T, e *env) {
		e.issue(t, "c1", "fam1", "rt1")
		e.issue(t, "c1", "fam2", "other") // another family of the same client
		e.rotate(t, e.s, e.rotation("rt1", "rt2", "fam1"), oauth.Rotated)
		e.clock.Advance(graceWindow)
		e.rotate(t, e.r, e.rotation("rt1", "rt3", "fam1"), oauth.Reuse)
		for _, tok := range []string{"rt1", "rt2", "rt3"} {
			if e.live(t, tok) {
				t.Errorf("token %s of the reused family still found", tok)
			}
		}
		if !e.live(t, "other") {
			t.Error("another family was revoked with the reused one")
		}
		revoked, err := e.s.IsRevoked(e.ctx, oauth.AccessTokenRef{ClientID: "c1", FamilyID: "fam1", JTI: "j1", IssuedAt: e.clock.Now()})
		wantErr(t, "is revoked", err, nil)
		if !revoked {
			t.Error("access tokens of the reused family are not revoked")
		}
		_, err = e.s.RotateRefresh(e.ctx, e.rotation("rt2", "rt5", "fam1"))
		wantErr(t, "rotate the revoked successor", err, oauth.ErrNotFound)
	}},
	{"Refresh/UsingSuccessorEndsGrace", func(t *testing.T, e *env) {
		e.issue(t, "c1", "fam1", "rt1")
		e.rotate(t, e.s, e.rotation("rt1", "rt2", "fam1"), oauth.Rotated)
		e.rotate(t, e.s, e.rotation("rt2", "rt3", "fam1"), oauth.Rotated)
		// Well within rt1's grace, but its successor was used: a reuse.
		e.rotate(t, e.r, e.rotation("rt1", "rtX", "fam1"), oauth.Reuse)
		if e.live(t, "rt3") {
			t.Fatal("the family's newest token survived the reuse")
		}
	}},
	{"Refresh/NoGrace", func(t *testing.T, e *env) {
		e.issue(t, "c1", "fam1", "rt1")
		r := e.rotation("rt1", "rt2", "fam1")
		r.GraceUntil = time.Time{}
		e.rotate(t, e.s, r, oauth.Rotated)
		e.rotate(t, e.s, e.rotation("rt1", "rt3", "fam1"), oauth.Reuse)
	}},
	{"Refresh/ConcurrentRotationsWithinGrace", func(t *testing.T, e *env) {
		e.issue(t, "c1", "fam1", "rt1")
		res := race(e, func(i int, s oauth.Store) *oauth.RotationResult {
			res, err := s.RotateRefresh(e.ctx, e.rotation("rt1", id("next", i), "fam1"))
			if err != nil {
				t.Errorf("rotate: %v", err)
			}
			return res
		})
		var winner string
		for i, r := range res {
			if r == nil {
				continue
			}
			if r.Outcome == oauth.Rotated {
				if winner != "" {
					t.Fatalf("two concurrent rotations of one token both won: %s and %s", winner, id("next", i))
				}
				winner = id("next", i)
			}
		}
		if winner == "" {
			t.Fatal("no rotation won")
		}
		for i, r := range res {
			if r == nil || r.Outcome == oauth.Rotated {
				continue
			}
			if r.Outcome != oauth.Retry || string(r.GraceBlob) != "sealed pair for "+winner {
				t.Errorf("loser %d: outcome %v blob %q; want retry with the winner's blob", i, r.Outcome, r.GraceBlob)
			}
		}
		if !e.live(t, winner) {
			t.Fatal("the winning successor is gone")
		}
	}},
	{"Refresh/ConcurrentRotationsWithoutGrace", func(t *testing.T, e *env) {
		e.issue(t, "c1", "fam1", "rt1")
		res := race(e, func(i int, s oauth.Store) *oauth.RotationResult {
			r := e.rotation("rt1", id("next", i), "fam1")
			r.GraceUntil = time.Time{}
			res, err := s.RotateRefresh(e.ctx, r)
			if err != nil {
				wantErr(t, "rotate after the family was revoked", err, oauth.ErrNotFound)
			}
			return res
		})
		rotated := 0
		for _, r := range res {
			if r != nil && r.Outcome == oauth.Rotated {
				rotated++
			}
		}
		if rotated != 1 {
			t.Fatalf("%d concurrent rotations won, want 1", rotated)
		}
		for i := range Concurrency {
			if e.live(t, id("next", i)) {
				t.Fatalf("successor %d survived a detected reuse", i)
			}
		}
	}},
	{"Refresh/RevokeFamily", func(t *testing.T, e *env) {
		e.issue(t, "c1", "fam1", "rt1")
		e.rotate(t, e.s, e.rotation("rt1", "rt2", "fam1"), oauth.Rotated)
		e.issue(t, "c1", "fam2", "keep")
		e.issue(t, "c2", "fam1", "c2-same-family-id")
		wantErr(t, "revoke family", e.r.RevokeFamily(e.ctx, "c1", "fam1", e.clock.Now().Add(accessLifetime)), nil)
		if e.live(t, "rt1") || e.live(t, "rt2") {
			t.Fatal("revoked family's tokens still found")
		}
		if !e.live(t, "keep") {
			t.Fatal("another family was revoked")
		}
		if _, err := e.s.GetRefresh(e.ctx, "c2", hash("c2-same-family-id")); err != nil {
			t.Fatalf("another client's token was revoked: %v", err)
		}
		// A code redemption still minting into the revoked family loses.
		err := e.s.IssueRefresh(e.ctx, hash("late"), newRefresh("c1", "fam1", e.clock.Now()))
		wantErr(t, "issue into a revoked family", err, oauth.ErrConflict)
		// Revoking an unknown family is recorded, not an error.
		wantErr(t, "revoke unknown family", e.s.RevokeFamily(e.ctx, "c1", "ghost", e.clock.Now().Add(time.Hour)), nil)
	}},
	{"Refresh/RevokeClient", func(t *testing.T, e *env) {
		e.issue(t, "c1", "fam1", "rt1")
		e.issue(t, "c1", "fam2", "rt2")
		e.issue(t, "c2", "fam3", "rt3")
		wantErr(t, "revoke client", e.r.RevokeClient(e.ctx, "c1", e.clock.Now().Add(accessLifetime)), nil)
		if e.live(t, "rt1") || e.live(t, "rt2") {
			t.Fatal("revoked client's tokens still found")
		}
		if _, err := e.s.GetRefresh(e.ctx, "c2", hash("rt3")); err != nil {
			t.Fatalf("another client's token was revoked: %v", err)
		}
	}},
}

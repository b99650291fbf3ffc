package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/mcp-oauth-gateway/gateway/oauth"
)

func newGrant(family string, now time.Time) *oauth.Grant {
	return &oauth.Grant{
		ClientID:      "c1",
		RedirectURI:   "http://127.0.0.1:33418/cb",
		CodeChallenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
		Scope:         "mcp",
		Resources:     []string{"https://mcp.example/mcp"},
		User:          oauth.Identity{Subject: "42", Provider: "github", Login: "octocat", Name: "The Octocat", Email: "o@example.com", EmailVerified: true, Groups: []string{"staff", "ops"}, Orgs: []string{"github", "octo-org"}},
		AuthTime:      now.Add(-time.Minute),
		FamilyID:      family,
		Upstream:      []byte{0x9f, 0, 'u', 0xff, '\n', 0xc3},
		IssuedAt:      now,
		ExpiresAt:     now.Add(time.Minute),
	}
}

var codeTests = []contractTest{
	{"Code/RedeemOnce", func(t *testing.T, e *env) {
		g := newGrant("fam1", e.clock.Now())
		wantErr(t, "put", e.s.PutCode(e.ctx, hash("code1"), g), nil)
		got, err := e.r.RedeemCode(e.ctx, hash("code1"))
		wantErr(t, "redeem", err, nil)
		sameJSON(t, "grant", got, g)
		got, err = e.s.RedeemCode(e.ctx, hash("code1"))
		wantErr(t, "second redeem", err, oauth.ErrCodeUsed)
		if got == nil || got.FamilyID != "fam1" || got.ClientID != "c1" {
			t.Fatalf("replayed redeem returned grant %+v; want the grant with its family id", got)
		}
	}},
	{"Code/GrantIsACopy", func(t *testing.T, e *env) {
		wantErr(t, "put", e.s.PutCode(e.ctx, hash("code1"), newGrant("fam1", e.clock.Now())), nil)
		g, err := e.s.RedeemCode(e.ctx, hash("code1"))
		wantErr(t, "redeem", err, nil)
		g.User.Orgs[0] = "evil-org"
		g.Resources[0] = "https://evil.example/"
		g.Upstream[0] = 'x'
		again, err := e.s.RedeemCode(e.ctx, hash("code1"))
		wantErr(t, "replay", err, oauth.ErrCodeUsed)
		if again.User.Orgs[0] != "github" || again.Resources[0] != "https://mcp.example/mcp" || again.Upstream[0] != 0x9f {
			t.Fatalf("stored grant changed through a returned one: orgs %v resources %v upstream %x", again.User.Orgs, again.Resources, again.Upstream)
		}
	}},
	{"Code/Unknown", func(t *testing.T, e *env) {
		_, err := e.s.RedeemCode(e.ctx, hash("nope"))
		wantErr(t, "redeem unknown", err, oauth.ErrNotFound)
	}},
	{"Code/PutDuplicate", func(t *testing.T, e *env) {
		wantErr(t, "put", e.s.PutCode(e.ctx, hash("code1"), newGrant("fam1", e.clock.Now())), nil)
		wantErr(t, "put again", e.r.PutCode(e.ctx, hash("code1"), newGrant("fam2", e.clock.Now())), oauth.ErrExists)
		_, err := e.s.RedeemCode(e.ctx, hash("code1"))
		wantErr(t, "redeem", err, nil)
		// A used code cannot be put back either.
		wantErr(t, "put used", e.s.PutCode(e.ctx, hash("code1"), newGrant("fam3", e.clock.Now())), oauth.ErrExists)
	}},
	{"Code/RedeemRace", func(t *testing.T, e *env) {
		wantErr(t, "put", e.s.PutCode(e.ctx, hash("code1"), newGrant("fam1", e.clock.Now())), nil)
		type result struct {
			g   *oauth.Grant
			err error
		}
		res := race(e, func(i int, s oauth.Store) result {
			g, err := s.RedeemCode(e.ctx, hash("code1"))
			return result{g, err}
		})
		won := 0
		for _, r := range res {
			switch {
			case r.err == nil:
				won++
			case errors.Is(r.err, oauth.ErrCodeUsed):
				if r.g == nil || r.g.FamilyID != "fam1" {
					t.Errorf("losing redeem got grant %+v, want family fam1", r.g)
				}
			default:
				t.Errorf("losing redeem: %v, want ErrCodeUsed", r.err)
			}
		}
		if won != 1 {
			t.Fatalf("%d of %d concurrent redemptions succeeded, want exactly 1", won, Concurrency)
		}
	}},
	{"Code/Expiry", func(t *testing.T, e *env) {
		wantErr(t, "put", e.s.PutCode(e.ctx, hash("code1"), newGrant("fam1", e.clock.Now())), nil)
		e.clock.Advance(time.Minute)
		_, err := e.s.RedeemCode(e.ctx, hash("code1"))
		wantErr(t, "redeem expired", err, oauth.ErrNotFound)
	}},
	{"Code/UsedMarkerOutlivesCode", func(t *testing.T, e *env) {
		wantErr(t, "put", e.s.PutCode(e.ctx, hash("code1"), newGrant("fam1", e.clock.Now())), nil)
		_, err := e.s.RedeemCode(e.ctx, hash("code1"))
		wantErr(t, "redeem", err, nil)
		// A replay after the code's own expiry is still recognised...
		e.clock.Advance(time.Minute + oauth.UsedCodeRetention - time.Second)
		g, err := e.r.RedeemCode(e.ctx, hash("code1"))
		wantErr(t, "late replay", err, oauth.ErrCodeUsed)
		if g == nil || g.FamilyID != "fam1" {
			t.Fatalf("late replay got grant %+v", g)
		}
		// ...until the retention ends.
		e.clock.Advance(time.Second)
		_, err = e.s.RedeemCode(e.ctx, hash("code1"))
		wantErr(t, "replay after retention", err, oauth.ErrNotFound)
	}},
	{"Code/ExpiryRequired", func(t *testing.T, e *env) {
		g := newGrant("fam1", e.clock.Now())
		g.ExpiresAt = time.Time{}
		if err := e.s.PutCode(e.ctx, hash("code1"), g); err == nil {
			t.Fatal("a code without expiry was accepted")
		}
	}},
}

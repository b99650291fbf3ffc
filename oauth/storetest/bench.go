package storetest

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/mcp-oauth-gateway/gateway/oauth"
)

// BenchFactory opens a fresh, empty store on the real clock for b, and
// closes it at b's cleanup.
type BenchFactory func(b *testing.B) oauth.Store

// Bench runs the benchmarks of the store operations on the authorization
// server's hot paths. Each store package runs it next to a baseline of its
// own (one round trip, one transaction...) so results read as ratios.
//
//   - CodeIssueRedeem: PutCode then RedeemCode, as /authorize and /token do.
//   - RefreshRotate: RotateRefresh of the family's newest token.
//   - RefreshGrant: GetRefresh then RotateRefresh, what a refresh_token
//     grant costs the store.
//   - IsRevoked: the check of a live access token among revoked ones.
//   - GetClient: client authentication's lookup.
func Bench(b *testing.B, newStore BenchFactory) {
	ctx := context.Background()
	names := func(prefix string, n int) []string {
		out := make([]string, n+1)
		for i := range out {
			out[i] = prefix + strconv.Itoa(i)
		}
		return out
	}

	b.Run("CodeIssueRedeem", func(b *testing.B) {
		s := newStore(b)
		codes := names("h:code", b.N)
		g := newGrant("fam", time.Now())
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			if err := s.PutCode(ctx, codes[i], g); err != nil {
				b.Fatal(err)
			}
			if _, err := s.RedeemCode(ctx, codes[i]); err != nil {
				b.Fatal(err)
			}
		}
	})

	rotate := func(b *testing.B, get bool) {
		s := newStore(b)
		tokens := names("h:rt", b.N)
		now := time.Now()
		rt := newRefresh("c1", "fam", now)
		if err := s.IssueRefresh(ctx, tokens[0], rt); err != nil {
			b.Fatal(err)
		}
		blob := make([]byte, 600) // a sealed token pair is about this big
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			if get {
				if _, err := s.GetRefresh(ctx, "c1", tokens[i]); err != nil {
					b.Fatal(err)
				}
			}
			res, err := s.RotateRefresh(ctx, &oauth.Rotation{
				ClientID: "c1", OldHash: tokens[i], NewHash: tokens[i+1], New: rt,
				GraceBlob: blob, GraceUntil: now.Add(time.Minute), RevokeUntil: now.Add(time.Hour),
			})
			if err != nil || res.Outcome != oauth.Rotated {
				b.Fatalf("rotate %d: %v %v", i, res, err)
			}
		}
	}
	b.Run("RefreshRotate", func(b *testing.B) { rotate(b, false) })
	b.Run("RefreshGrant", func(b *testing.B) { rotate(b, true) })

	b.Run("IsRevoked", func(b *testing.B) {
		s := newStore(b)
		now := time.Now()
		for i := range 100 {
			if err := s.RevokeToken(ctx, "c1", "jti-"+strconv.Itoa(i), now.Add(time.Hour)); err != nil {
				b.Fatal(err)
			}
		}
		if err := s.RevokeFamily(ctx, "c1", "other", now.Add(time.Hour)); err != nil {
			b.Fatal(err)
		}
		ref := oauth.AccessTokenRef{ClientID: "c1", FamilyID: "fam", JTI: "live", IssuedAt: now}
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			revoked, err := s.IsRevoked(ctx, ref)
			if err != nil || revoked {
				b.Fatalf("is revoked: %v %v", revoked, err)
			}
		}
	})

	b.Run("GetClient", func(b *testing.B) {
		s := newStore(b)
		if err := s.CreateClient(ctx, newClient("c1", time.Now())); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			if _, err := s.GetClient(ctx, "c1"); err != nil {
				b.Fatal(err)
			}
		}
	})
}

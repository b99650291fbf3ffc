package oauth

import (
	"errors"
	"testing"
	"time"
)

func TestRevocationCovers(t *testing.T) {
	at := time.Date(2030, 1, 1, 0, 0, 10, 500, time.UTC)
	tok := AccessTokenRef{ClientID: "c1", FamilyID: "f1", JTI: "j1", IssuedAt: at}
	tests := []struct {
		r    Revocation
		want bool
	}{
		{Revocation{Kind: RevokedToken, ClientID: "c1", ID: "j1"}, true},
		{Revocation{Kind: RevokedToken, ClientID: "c1", ID: "j2"}, false},
		{Revocation{Kind: RevokedToken, ClientID: "c2", ID: "j1"}, false},
		{Revocation{Kind: RevokedFamily, ClientID: "c1", ID: "f1"}, true},
		{Revocation{Kind: RevokedFamily, ClientID: "c1", ID: ""}, false},
		{Revocation{Kind: RevokedClient, ClientID: "c1", At: at.Add(-500)}, true}, // same second as iat
		{Revocation{Kind: RevokedClient, ClientID: "c1", At: at.Add(-time.Second)}, false},
		{Revocation{Kind: RevocationReset}, false},
	}
	for _, tc := range tests {
		if got := tc.r.Covers(tok); got != tc.want {
			t.Errorf("%+v covers %+v = %v, want %v", tc.r, tok, got, tc.want)
		}
	}
}

// TestRotateStep: the rotation decision on the stored tokens, as every
// backend makes it: what changes in place and what the store does next.
func TestRotateStep(t *testing.T) {
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	live := now.Add(time.Hour)
	token := func(succ string, grace time.Time) *RefreshToken {
		return &RefreshToken{ClientID: "c", FamilyID: "f", ExpiresAt: live, Successor: succ, GraceUntil: grace, GraceBlob: []byte("pair")}
	}
	rot := func() *Rotation {
		return &Rotation{ClientID: "c", OldHash: "old", NewHash: "new", GraceBlob: []byte("blob"), GraceUntil: now.Add(time.Minute),
			New: &RefreshToken{ClientID: "c", FamilyID: "f", ExpiresAt: live}}
	}
	for _, tc := range []struct {
		name    string
		stored  map[string]*RefreshToken
		change  func(*Rotation)
		want    RotateOutcome
		wantErr error
	}{
		{"fresh token rotates", map[string]*RefreshToken{"old": token("", time.Time{})}, nil, Rotated, nil},
		{"expired successor slot is free", map[string]*RefreshToken{"old": token("", time.Time{}), "new": {ExpiresAt: now}}, nil, Rotated, nil},
		{"within the grace, unused successor: retry", map[string]*RefreshToken{"old": token("s", now.Add(time.Second)), "s": token("", time.Time{})}, nil, Retry, nil},
		{"grace over: reuse", map[string]*RefreshToken{"old": token("s", now), "s": token("", time.Time{})}, nil, Reuse, nil},
		{"successor rotated: reuse", map[string]*RefreshToken{"old": token("s", now.Add(time.Minute)), "s": token("t", time.Time{})}, nil, Reuse, nil},
		{"successor gone: reuse", map[string]*RefreshToken{"old": token("s", now.Add(time.Minute))}, nil, Reuse, nil},
		{"no grace: reuse", map[string]*RefreshToken{"old": token("s", time.Time{}), "s": token("", time.Time{})}, nil, Reuse, nil},
		{"unknown", map[string]*RefreshToken{}, nil, 0, ErrNotFound},
		{"expired", map[string]*RefreshToken{"old": {ClientID: "c", FamilyID: "f", ExpiresAt: now}}, nil, 0, ErrNotFound},
		{"another family", map[string]*RefreshToken{"old": token("", time.Time{})}, func(r *Rotation) { r.New.FamilyID = "g" }, 0, ErrConflict},
		{"another client", map[string]*RefreshToken{"old": token("", time.Time{})}, func(r *Rotation) { r.New.ClientID = "d" }, 0, ErrConflict},
		{"successor hash taken", map[string]*RefreshToken{"old": token("", time.Time{}), "new": token("", time.Time{})}, nil, 0, ErrExists},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rot()
			if tc.change != nil {
				tc.change(r)
			}
			before := tc.stored["old"].Clone()
			res, err := RotateStep(r, now, func(h string) (*RefreshToken, error) { return tc.stored[h], nil })
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("error %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil || res.Outcome != tc.want {
				t.Fatalf("%v, %v; want %v", res, err, tc.want)
			}
			old := tc.stored["old"]
			if res.Old.Successor != before.Successor || !res.Old.RotatedAt.Equal(before.RotatedAt) {
				t.Errorf("Old is not the token as it was: %+v", res.Old)
			}
			switch tc.want {
			case Rotated:
				if old.Successor != "new" || !old.RotatedAt.Equal(now) || !old.GraceUntil.Equal(r.GraceUntil) || string(old.GraceBlob) != "blob" {
					t.Errorf("old token not marked rotated: %+v", old)
				}
				r.GraceBlob[0] = 'X'
				if string(old.GraceBlob) != "blob" {
					t.Error("the stored grace blob shares the caller's memory")
				}
			case Retry:
				if string(res.GraceBlob) != "pair" {
					t.Errorf("retry answers %q, want the stored pair", res.GraceBlob)
				}
				fallthrough
			default:
				if old.Successor != before.Successor || !old.RotatedAt.Equal(before.RotatedAt) {
					t.Errorf("%v changed the old token: %+v", tc.want, old)
				}
			}
		})
	}
}

// TestRevocationSteps: a repeated revocation keeps the later expiry (zero
// never expires), and IsRevoked reads the token's, the family's and the
// client's records, ignoring expired ones.
func TestRevocationSteps(t *testing.T) {
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	early, late := now.Add(time.Minute), now.Add(time.Hour)
	rev := Revocation{Kind: RevokedToken, ClientID: "c", ID: "j", At: now, ExpiresAt: early}
	for _, tc := range []struct {
		prev *Revocation
		exp  time.Time
		want time.Time
	}{
		{nil, early, early},
		{&Revocation{ExpiresAt: late}, early, late},
		{&Revocation{ExpiresAt: early}, late, late},
		{&Revocation{}, late, time.Time{}},
		{&Revocation{ExpiresAt: late}, time.Time{}, time.Time{}},
	} {
		r := rev
		r.ExpiresAt = tc.exp
		if got := RecordRevocationStep(tc.prev, r); !got.ExpiresAt.Equal(tc.want) || got.ID != "j" {
			t.Errorf("record %v over %+v: expires %v, want %v", tc.exp, tc.prev, got.ExpiresAt, tc.want)
		}
	}
	if k := (Revocation{Kind: RevokedClient, ClientID: "c", ID: "stray"}).Key(); k != (RevocationKey{RevokedClient, "c", ""}) {
		t.Errorf("client revocation key %+v", k)
	}

	at := now.Add(-time.Minute)
	tok := AccessTokenRef{ClientID: "c", FamilyID: "f", JTI: "j", IssuedAt: at}
	for _, tc := range []struct {
		name   string
		stored []Revocation
		want   bool
	}{
		{"none", nil, false},
		{"the token", []Revocation{{Kind: RevokedToken, ClientID: "c", ID: "j", ExpiresAt: late}}, true},
		{"the family", []Revocation{{Kind: RevokedFamily, ClientID: "c", ID: "f", ExpiresAt: late}}, true},
		{"the client, after issue", []Revocation{{Kind: RevokedClient, ClientID: "c", At: now}}, true},
		{"the client, before issue", []Revocation{{Kind: RevokedClient, ClientID: "c", At: at.Add(-time.Second)}}, false},
		{"expired", []Revocation{{Kind: RevokedToken, ClientID: "c", ID: "j", ExpiresAt: now}}, false},
		{"another token", []Revocation{{Kind: RevokedToken, ClientID: "c", ID: "k", ExpiresAt: late}}, false},
		{"another client's family", []Revocation{{Kind: RevokedFamily, ClientID: "d", ID: "f", ExpiresAt: late}}, false},
	} {
		byKey := map[RevocationKey]Revocation{}
		for _, r := range tc.stored {
			byKey[r.Key()] = r
		}
		got, err := IsRevokedStep(tok, now, func(k RevocationKey) (*Revocation, error) {
			if r, ok := byKey[k]; ok {
				return &r, nil
			}
			return nil, nil
		})
		if err != nil || got != tc.want {
			t.Errorf("%s: %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
	noFamily := AccessTokenRef{ClientID: "c", JTI: "j"}
	if keys := noFamily.RevocationKeys(); len(keys) != 2 || keys[0].Kind != RevokedToken || keys[1].Kind != RevokedClient {
		t.Errorf("keys of a token without family: %+v", keys)
	}
}

// TestCodeDeviceAndKeySteps: the redemption, device and key decisions.
func TestCodeDeviceAndKeySteps(t *testing.T) {
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	g := &Grant{ExpiresAt: now.Add(time.Minute)}
	gone := &Grant{ExpiresAt: now.Add(-UsedCodeRetention)}
	for _, tc := range []struct {
		g    *Grant
		used bool
		want error
	}{
		{g, false, nil},
		{g, true, ErrCodeUsed},
		{&Grant{ExpiresAt: now}, false, ErrNotFound},
		{&Grant{ExpiresAt: now}, true, ErrCodeUsed},
		{gone, true, ErrNotFound},
		{nil, false, ErrNotFound},
	} {
		if err := RedeemCodeStep(tc.g, tc.used, now); !errors.Is(err, tc.want) {
			t.Errorf("redeem %+v used=%v: %v, want %v", tc.g, tc.used, err, tc.want)
		}
	}

	d := PutDeviceStep(&DeviceAuthorization{ClientID: "c", Status: DeviceApproved, LastPoll: now, User: &Identity{Subject: "1"}, AuthTime: now, Upstream: []byte("x"), ExpiresAt: now.Add(time.Minute)})
	if d.Status != DevicePending || !d.LastPoll.IsZero() || d.User != nil || !d.AuthTime.IsZero() || d.Upstream != nil || d.ClientID != "c" {
		t.Fatalf("stored device %+v", d)
	}
	u := Identity{Subject: "1", Login: "octocat"}
	if err := DecideDeviceStep(d, DeviceApproved, &u, now, []byte("sealed")); err != nil {
		t.Fatal(err)
	}
	u.Login = "changed"
	if d.Status != DeviceApproved || d.User.Login != "octocat" || string(d.Upstream) != "sealed" || !d.AuthTime.Equal(now) {
		t.Fatalf("approved device %+v", d)
	}
	if err := DecideDeviceStep(d, DeviceDenied, nil, time.Time{}, nil); !errors.Is(err, ErrConflict) || d.Status != DeviceApproved {
		t.Fatalf("second decision: %v, status %s", err, d.Status)
	}

	keys := []*SigningKey{{ID: "a", CreatedAt: now}, {ID: "c", CreatedAt: now.Add(time.Hour)}, {ID: "b", CreatedAt: now.Add(time.Hour)}}
	for _, tc := range []struct {
		keys         []*SigningKey
		id, ifNewest string
		want         error
	}{
		{keys, "d", "c", nil},
		{keys, "d", "b", ErrConflict},
		{keys, "a", "c", ErrExists},
		{nil, "a", "", nil},
		{nil, "a", "x", ErrConflict},
	} {
		if err := AddKeyStep(tc.keys, &SigningKey{ID: tc.id}, tc.ifNewest); !errors.Is(err, tc.want) {
			t.Errorf("add %s if newest is %q: %v, want %v", tc.id, tc.ifNewest, err, tc.want)
		}
	}
	SortKeys(keys)
	if keys[0].ID != "c" || keys[1].ID != "b" || keys[2].ID != "a" {
		t.Errorf("sorted %s %s %s, want c b a", keys[0].ID, keys[1].ID, keys[2].ID)
	}
}

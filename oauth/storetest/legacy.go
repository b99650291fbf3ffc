package storetest

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/mcp-oauth-gateway/gateway/oauth"
)

// Rewrite is how a backend's test changes its stored records in place:
// it reads every stored value, raw, and where edit returns a non-nil
// result writes that instead (the backend's own framing around the JSON,
// an expiry prefix or a hash field, stays as it is). It returns the store
// to read the records back with: the same, or the file opened again.
type Rewrite func(t *testing.T, edit func(stored []byte) []byte) oauth.Store

// legacyUser is a user as the stores kept it before oauth.Identity and
// oauth.User were one type: no provider, no email verification, no
// groups, and the time of the last check in the refresh token itself.
const legacyUser = `{"sub":"42","login":"octocat","name":"The Octocat","email":"o@example.com","orgs":["octo-org"]}`

// LegacyRecords checks that s reads the records earlier versions wrote:
// it stores a code, a refresh token, a pending authorization and an
// approved device authorization, has rewrite turn their JSON into the old
// form, and reads them back through s.
func LegacyRecords(t *testing.T, s oauth.Store, rewrite Rewrite) {
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Second)
	checked := now.Add(-time.Hour)
	current := oauth.Identity{Subject: "42", Provider: "github", Login: "octocat", Name: "The Octocat",
		Email: "o@example.com", EmailVerified: true, Groups: []string{"staff"}, Orgs: []string{"octo-org"}, CheckedAt: checked}
	want := oauth.Identity{Subject: "42", Login: "octocat", Name: "The Octocat", Email: "o@example.com", Orgs: []string{"octo-org"}}

	g := newGrant("legacy-fam-code", now)
	g.User = current
	wantErr(t, "put code", s.PutCode(ctx, hash("legacy-code"), g), nil)
	rt := newRefresh("c1", "legacy-fam-refresh", now)
	rt.User = current
	wantErr(t, "issue refresh", s.IssueRefresh(ctx, hash("legacy-refresh"), rt), nil)
	p := newPending(now)
	p.User = &current
	wantErr(t, "put pending", s.PutPending(ctx, "legacy-pending", p), nil)
	d := newDevice(now)
	wantErr(t, "put device", s.PutDevice(ctx, hash("legacy-device"), "LEGA-CYDV", d), nil)
	wantErr(t, "approve device", s.ApproveDevice(ctx, "LEGA-CYDV", current, now, nil), nil)

	encoded, err := json.Marshal(current)
	if err != nil {
		t.Fatal(err)
	}
	checkedJSON, _ := json.Marshal(checked)
	edited := 0
	s = rewrite(t, func(stored []byte) []byte {
		if !bytes.Contains(stored, encoded) {
			return nil
		}
		edited++
		old := bytes.ReplaceAll(stored, encoded, []byte(legacyUser))
		// The refresh token kept the time of the last check itself.
		return bytes.Replace(old, []byte(`"family_id":"legacy-fam-refresh"`),
			[]byte(`"family_id":"legacy-fam-refresh","checked_at":`+string(checkedJSON)), 1)
	})
	if edited < 4 {
		t.Fatalf("the rewrite found %d of the 4 records", edited)
	}

	same := func(what string, got oauth.Identity, want oauth.Identity) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: the old record reads as %+v, want %+v", what, got, want)
		}
	}
	gotG, err := s.RedeemCode(ctx, hash("legacy-code"))
	wantErr(t, "redeem code", err, nil)
	same("code", gotG.User, want)
	gotR, err := s.GetRefresh(ctx, "c1", hash("legacy-refresh"))
	wantErr(t, "get refresh", err, nil)
	wantR := want
	wantR.CheckedAt = checked
	same("refresh token", gotR.User, wantR)
	gotP, err := s.TakePending(ctx, "legacy-pending")
	wantErr(t, "take pending", err, nil)
	if gotP.User == nil {
		t.Fatal("pending: the old record lost its user")
	}
	same("pending authorization", *gotP.User, want)
	poll, err := s.PollDevice(ctx, hash("legacy-device"))
	wantErr(t, "poll device", err, nil)
	if poll.Status != oauth.DeviceApproved || poll.Device.User == nil {
		t.Fatalf("device: the old record polls as %q with user %v", poll.Status, poll.Device.User)
	}
	same("device authorization", *poll.Device.User, want)
}

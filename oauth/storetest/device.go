package storetest

import (
	"testing"
	"time"

	"github.com/mcp-oauth-gateway/gateway/oauth"
)

const deviceLifetime = 10 * time.Minute

func newDevice(now time.Time) *oauth.DeviceAuthorization {
	return &oauth.DeviceAuthorization{
		ClientID:  "c1",
		Scope:     "mcp",
		Resources: []string{"https://mcp.example/mcp"},
		Interval:  5 * time.Second,
		IssuedAt:  now,
		ExpiresAt: now.Add(deviceLifetime),
	}
}

func (e *env) poll(t *testing.T, s oauth.Store, device string, want oauth.DeviceStatus) *oauth.DevicePoll {
	t.Helper()
	p, err := s.PollDevice(e.ctx, hash(device))
	wantErr(t, "poll", err, nil)
	if p.Status != want {
		t.Fatalf("poll: status %q, want %q", p.Status, want)
	}
	return p
}

func octocat() oauth.Identity {
	return oauth.Identity{Subject: "42", Provider: "github", Login: "octocat", Name: "The Octocat", Email: "o@example.com", EmailVerified: true, Groups: []string{"staff", "ops"}, Orgs: []string{"github", "octo-org"}}
}

var deviceTests = []contractTest{
	{"Device/ApproveFlow", func(t *testing.T, e *env) {
		d := newDevice(e.clock.Now())
		wantErr(t, "put", e.s.PutDevice(e.ctx, hash("dev1"), "WDJB-MJHT", d), nil)
		got, err := e.r.GetDevice(e.ctx, "WDJB-MJHT")
		wantErr(t, "get", err, nil)
		if got.ClientID != "c1" || got.Status != oauth.DevicePending || got.Scope != "mcp" || len(got.Resources) != 1 {
			t.Fatalf("got %+v", got)
		}
		p := e.poll(t, e.s, "dev1", oauth.DevicePending)
		if p.Interval != 5*time.Second {
			t.Fatalf("interval %v", p.Interval)
		}
		authTime := e.clock.Now()
		user := octocat()
		wantErr(t, "approve", e.r.ApproveDevice(e.ctx, "WDJB-MJHT", user, authTime, nil), nil)
		user.Orgs[0] = "evil-org" // the caller's copy
		e.clock.Advance(5 * time.Second)
		p = e.poll(t, e.s, "dev1", oauth.DeviceApproved)
		if p.Device == nil || p.Device.User == nil || !p.Device.AuthTime.Equal(authTime) || p.Device.ClientID != "c1" {
			t.Fatalf("approved poll: %+v", p.Device)
		}
		sameJSON(t, "approving user", p.Device.User, octocat())
		// Single use: the approval is consumed.
		_, err = e.r.PollDevice(e.ctx, hash("dev1"))
		wantErr(t, "poll consumed", err, oauth.ErrNotFound)
		_, err = e.s.GetDevice(e.ctx, "WDJB-MJHT")
		wantErr(t, "get consumed", err, oauth.ErrNotFound)
	}},
	{"Device/UpstreamCredential", func(t *testing.T, e *env) {
		// The public key stored at creation and the sealed credential
		// stored at approval come back byte for byte (they are binary).
		key := []byte{0, 1, 2, 0xfe, 0xff, '"', '\\', 0, 'k'}
		sealed := []byte{0xff, 0, 0x80, '\n', 's', 0, 0xc3, 0x28}
		d := newDevice(e.clock.Now())
		d.UpstreamKey = key
		d.Upstream = []byte("not the store's to keep before approval")
		wantErr(t, "put", e.s.PutDevice(e.ctx, hash("dev1"), "UC-1", d), nil)
		d.UpstreamKey[0] = 'x' // the caller's copy
		got, err := e.r.GetDevice(e.ctx, "UC-1")
		wantErr(t, "get", err, nil)
		if string(got.UpstreamKey) != string([]byte{0, 1, 2, 0xfe, 0xff, '"', '\\', 0, 'k'}) || len(got.Upstream) != 0 {
			t.Fatalf("pending device: upstream key %x, upstream %x", got.UpstreamKey, got.Upstream)
		}
		wantErr(t, "approve", e.s.ApproveDevice(e.ctx, "UC-1", octocat(), e.clock.Now(), sealed), nil)
		sealed[0] = 'x' // the caller's copy
		p := e.poll(t, e.r, "dev1", oauth.DeviceApproved)
		if string(p.Device.Upstream) != string([]byte{0xff, 0, 0x80, '\n', 's', 0, 0xc3, 0x28}) || len(p.Device.UpstreamKey) != len(key) {
			t.Fatalf("approved device: upstream %x, key %x", p.Device.Upstream, p.Device.UpstreamKey)
		}

		// A denial carries no credential.
		wantErr(t, "put", e.s.PutDevice(e.ctx, hash("dev2"), "UC-2", newDevice(e.clock.Now())), nil)
		wantErr(t, "deny", e.s.DenyDevice(e.ctx, "UC-2"), nil)
		if p := e.poll(t, e.s, "dev2", oauth.DeviceDenied); len(p.Device.Upstream) != 0 {
			t.Fatalf("denied device with upstream %x", p.Device.Upstream)
		}
	}},
	{"Device/Deny", func(t *testing.T, e *env) {
		wantErr(t, "put", e.s.PutDevice(e.ctx, hash("dev1"), "UC-1", newDevice(e.clock.Now())), nil)
		wantErr(t, "deny", e.s.DenyDevice(e.ctx, "UC-1"), nil)
		wantErr(t, "approve after deny", e.r.ApproveDevice(e.ctx, "UC-1", octocat(), e.clock.Now(), nil), oauth.ErrConflict)
		e.poll(t, e.r, "dev1", oauth.DeviceDenied)
		_, err := e.s.PollDevice(e.ctx, hash("dev1"))
		wantErr(t, "poll consumed", err, oauth.ErrNotFound)
	}},
	{"Device/DecideOnce", func(t *testing.T, e *env) {
		wantErr(t, "put", e.s.PutDevice(e.ctx, hash("dev1"), "UC-1", newDevice(e.clock.Now())), nil)
		errs := race(e, func(i int, s oauth.Store) error {
			if i%2 == 0 {
				return s.ApproveDevice(e.ctx, "UC-1", oauth.Identity{Subject: id("user", i)}, e.clock.Now(), nil)
			}
			return s.DenyDevice(e.ctx, "UC-1")
		})
		won := 0
		for _, err := range errs {
			if err == nil {
				won++
			} else {
				wantErr(t, "losing decision", err, oauth.ErrConflict)
			}
		}
		if won != 1 {
			t.Fatalf("%d concurrent decisions succeeded, want 1", won)
		}
	}},
	{"Device/Unknown", func(t *testing.T, e *env) {
		_, err := e.s.GetDevice(e.ctx, "NOPE")
		wantErr(t, "get", err, oauth.ErrNotFound)
		wantErr(t, "approve", e.s.ApproveDevice(e.ctx, "NOPE", octocat(), e.clock.Now(), nil), oauth.ErrNotFound)
		wantErr(t, "deny", e.s.DenyDevice(e.ctx, "NOPE"), oauth.ErrNotFound)
		_, err = e.s.PollDevice(e.ctx, hash("nope"))
		wantErr(t, "poll", err, oauth.ErrNotFound)
	}},
	{"Device/SlowDown", func(t *testing.T, e *env) {
		wantErr(t, "put", e.s.PutDevice(e.ctx, hash("dev1"), "UC-1", newDevice(e.clock.Now())), nil)
		e.poll(t, e.s, "dev1", oauth.DevicePending)
		e.clock.Advance(4 * time.Second)
		p := e.poll(t, e.r, "dev1", oauth.DeviceSlowDown)
		if p.Interval != 10*time.Second {
			t.Fatalf("interval after slow_down %v, want 10s", p.Interval)
		}
		// The grown interval holds from now on, measured from the last poll.
		e.clock.Advance(9 * time.Second)
		e.poll(t, e.s, "dev1", oauth.DeviceSlowDown)
		e.clock.Advance(15 * time.Second)
		p = e.poll(t, e.s, "dev1", oauth.DevicePending)
		if p.Interval != 15*time.Second {
			t.Fatalf("interval %v, want 15s", p.Interval)
		}
		got, err := e.s.GetDevice(e.ctx, "UC-1")
		wantErr(t, "get", err, nil)
		if got.Interval != 15*time.Second {
			t.Fatalf("stored interval %v, want 15s", got.Interval)
		}
	}},
	{"Device/ApprovedAnswersEvenAFastPoll", func(t *testing.T, e *env) {
		wantErr(t, "put", e.s.PutDevice(e.ctx, hash("dev1"), "UC-1", newDevice(e.clock.Now())), nil)
		e.poll(t, e.s, "dev1", oauth.DevicePending)
		wantErr(t, "approve", e.s.ApproveDevice(e.ctx, "UC-1", octocat(), e.clock.Now(), nil), nil)
		e.clock.Advance(time.Second)
		e.poll(t, e.s, "dev1", oauth.DeviceApproved)
	}},
	{"Device/PollApprovedRace", func(t *testing.T, e *env) {
		wantErr(t, "put", e.s.PutDevice(e.ctx, hash("dev1"), "UC-1", newDevice(e.clock.Now())), nil)
		wantErr(t, "approve", e.s.ApproveDevice(e.ctx, "UC-1", octocat(), e.clock.Now(), nil), nil)
		res := race(e, func(i int, s oauth.Store) oauth.DeviceStatus {
			p, err := s.PollDevice(e.ctx, hash("dev1"))
			if err != nil {
				wantErr(t, "losing poll", err, oauth.ErrNotFound)
				return ""
			}
			return p.Status
		})
		approved := 0
		for _, st := range res {
			switch st {
			case oauth.DeviceApproved:
				approved++
			case "", oauth.DeviceSlowDown:
			default:
				t.Errorf("losing poll status %q", st)
			}
		}
		if approved != 1 {
			t.Fatalf("%d concurrent polls got the approval, want 1", approved)
		}
	}},
	{"Device/Expiry", func(t *testing.T, e *env) {
		wantErr(t, "put", e.s.PutDevice(e.ctx, hash("dev1"), "UC-1", newDevice(e.clock.Now())), nil)
		e.clock.Advance(deviceLifetime)
		_, err := e.s.GetDevice(e.ctx, "UC-1")
		wantErr(t, "get expired", err, oauth.ErrNotFound)
		wantErr(t, "approve expired", e.s.ApproveDevice(e.ctx, "UC-1", octocat(), e.clock.Now(), nil), oauth.ErrNotFound)
		e.poll(t, e.s, "dev1", oauth.DeviceExpired)
		e.clock.Advance(oauth.UsedCodeRetention)
		_, err = e.s.PollDevice(e.ctx, hash("dev1"))
		wantErr(t, "poll long expired", err, oauth.ErrNotFound)
		// The user code is free for a new authorization.
		wantErr(t, "put with the old user code", e.s.PutDevice(e.ctx, hash("dev2"), "UC-1", newDevice(e.clock.Now())), nil)
	}},
	{"Device/Duplicates", func(t *testing.T, e *env) {
		wantErr(t, "put", e.s.PutDevice(e.ctx, hash("dev1"), "UC-1", newDevice(e.clock.Now())), nil)
		wantErr(t, "same user code", e.r.PutDevice(e.ctx, hash("dev2"), "UC-1", newDevice(e.clock.Now())), oauth.ErrExists)
		wantErr(t, "same device code", e.r.PutDevice(e.ctx, hash("dev1"), "UC-2", newDevice(e.clock.Now())), oauth.ErrExists)
		got, err := e.s.GetDevice(e.ctx, "UC-1")
		wantErr(t, "get", err, nil)
		if got.Status != oauth.DevicePending {
			t.Fatalf("status %q", got.Status)
		}
		_, err = e.s.GetDevice(e.ctx, "UC-2")
		wantErr(t, "refused user code", err, oauth.ErrNotFound)
	}},
}

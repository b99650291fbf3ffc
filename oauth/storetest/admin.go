package storetest

import (
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/mcp-oauth-gateway/gateway/oauth"
)

// AdminOptions tune RunAdmin. A nil *AdminOptions means all defaults.
type AdminOptions struct {
	// SelfExpiring: the store removes expired records by itself (Redis
	// key expiry), so Purge may find nothing to remove.
	SelfExpiring bool
}

// RunAdmin runs the contract of the optional oauth.AdminStore and
// oauth.TraceStore interfaces, which the stores of newStore must
// implement; each test gets fresh stores.
func RunAdmin(t *testing.T, newStore Factory, opts *AdminOptions) {
	if opts == nil {
		opts = &AdminOptions{}
	}
	tests := []struct {
		name string
		fn   func(t *testing.T, e *env, newStore func() oauth.Store, o *AdminOptions)
	}{
		{"Admin/Listings", adminListings},
		{"Admin/Purge", adminPurge},
		{"Admin/RestoreRoundTrip", adminRestore},
		{"Trace/Steps", traceSteps},
		{"Trace/Unattributed", traceUnattributed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := NewClock(startTime())
			s := newStore(t, clock.Now)
			e := &env{ctx: t.Context(), clock: clock, s: s, r: s}
			tc.fn(t, e, func() oauth.Store { return newStore(t, clock.Now) }, opts)
		})
	}
}

func admin(t *testing.T, s oauth.Store) oauth.AdminStore {
	t.Helper()
	a, ok := s.(oauth.AdminStore)
	if !ok {
		t.Fatalf("%T does not implement oauth.AdminStore", s)
	}
	return a
}

func tracer(t *testing.T, s oauth.Store) oauth.TraceStore {
	t.Helper()
	a, ok := s.(oauth.TraceStore)
	if !ok {
		t.Fatalf("%T does not implement oauth.TraceStore", s)
	}
	return a
}

// fill gives the store two clients (one expiring in an hour), a family of
// c1 rotated once (rt1 -> rt2), a family of c2, and a token revocation.
func fill(t *testing.T, e *env) {
	t.Helper()
	now := e.clock.Now()
	wantErr(t, "create c1", e.s.CreateClient(e.ctx, newClient("c1", now)), nil)
	c2 := newClient("c2", now)
	c2.ExpiresAt = now.Add(time.Hour)
	wantErr(t, "create c2", e.s.CreateClient(e.ctx, c2), nil)
	e.issue(t, "c1", "fam1", "rt1")
	e.rotate(t, e.s, e.rotation("rt1", "rt2", "fam1"), oauth.Rotated)
	short := newRefresh("c2", "fam2", now)
	short.ExpiresAt = now.Add(time.Hour)
	wantErr(t, "issue c2", e.s.IssueRefresh(e.ctx, hash("rt3"), short), nil)
	wantErr(t, "revoke token", e.s.RevokeToken(e.ctx, "c1", "jti-1", now.Add(accessLifetime)), nil)
}

type listed struct {
	clients     []string
	refresh     map[string]*oauth.RefreshToken
	revocations []oauth.Revocation
}

func list(t *testing.T, e *env, s oauth.Store) listed {
	t.Helper()
	a := admin(t, s)
	l := listed{refresh: map[string]*oauth.RefreshToken{}}
	wantErr(t, "clients", a.Clients(e.ctx, func(c *oauth.Client) error { l.clients = append(l.clients, c.ID); return nil }), nil)
	wantErr(t, "refresh tokens", a.RefreshTokens(e.ctx, func(h string, rt *oauth.RefreshToken) error { l.refresh[h] = rt; return nil }), nil)
	wantErr(t, "revocations", a.Revocations(e.ctx, func(r oauth.Revocation) error { l.revocations = append(l.revocations, r); return nil }), nil)
	slices.Sort(l.clients)
	return l
}

func adminListings(t *testing.T, e *env, _ func() oauth.Store, _ *AdminOptions) {
	fill(t, e)
	l := list(t, e, e.s)
	if fmt.Sprint(l.clients) != "[c1 c2]" {
		t.Fatalf("clients %v", l.clients)
	}
	if len(l.refresh) != 3 || l.refresh[hash("rt1")] == nil || l.refresh[hash("rt1")].Successor != hash("rt2") ||
		l.refresh[hash("rt2")] == nil || l.refresh[hash("rt2")].Successor != "" || l.refresh[hash("rt3")].ClientID != "c2" {
		t.Fatalf("refresh tokens %v", l.refresh)
	}
	want := newRefresh("c2", "fam2", e.clock.Now())
	want.ExpiresAt = e.clock.Now().Add(time.Hour)
	sameJSON(t, "listed refresh token", l.refresh[hash("rt3")], want)
	if len(l.revocations) != 1 || l.revocations[0].Kind != oauth.RevokedToken || l.revocations[0].ID != "jti-1" {
		t.Fatalf("revocations %+v", l.revocations)
	}
	// An error from fn stops a listing and comes back.
	stop := fmt.Errorf("stop")
	n := 0
	if err := admin(t, e.s).Clients(e.ctx, func(*oauth.Client) error { n++; return stop }); err != stop || n != 1 {
		t.Fatalf("stopped listing: %v after %d", err, n)
	}
	// Expired records are not listed.
	e.clock.Advance(2 * time.Hour)
	l = list(t, e, e.s)
	if fmt.Sprint(l.clients) != "[c1]" || len(l.refresh) != 2 || len(l.revocations) != 0 {
		t.Fatalf("after expiry: %v %v %v", l.clients, l.refresh, l.revocations)
	}
}

func adminPurge(t *testing.T, e *env, _ func() oauth.Store, o *AdminOptions) {
	fill(t, e)
	e.clock.Advance(2 * time.Hour)
	n, err := admin(t, e.s).Purge(e.ctx)
	wantErr(t, "purge", err, nil)
	if !o.SelfExpiring && n < 3 { // c2, rt3, the revocation
		t.Errorf("purge removed %d records, want at least 3", n)
	}
	l := list(t, e, e.s)
	if fmt.Sprint(l.clients) != "[c1]" || len(l.refresh) != 2 {
		t.Fatalf("after purge: %v %v", l.clients, l.refresh)
	}
	if _, err := e.s.GetClient(e.ctx, "c1"); err != nil {
		t.Fatalf("purge removed a live client: %v", err)
	}
}

// adminRestore copies everything listed into a fresh store: it serves the
// clients and tokens as the first did, rotation state and revocations
// included, and announces the revocations it records.
func adminRestore(t *testing.T, e *env, newStore func() oauth.Store, _ *AdminOptions) {
	fill(t, e)
	src := list(t, e, e.s)
	dst := newStore()
	feed, err := dst.SubscribeRevocations(e.ctx)
	wantErr(t, "subscribe", err, nil)
	a := admin(t, dst)
	wantErr(t, "clients", admin(t, e.s).Clients(e.ctx, func(c *oauth.Client) error { return a.RestoreClient(e.ctx, c) }), nil)
	for h, rt := range src.refresh {
		wantErr(t, "restore refresh", a.RestoreRefresh(e.ctx, h, rt), nil)
	}
	for _, r := range src.revocations {
		wantErr(t, "restore revocation", a.RestoreRevocation(e.ctx, r), nil)
		sameRevocation(t, next(t, feed), r)
	}
	c, err := dst.GetClient(e.ctx, "c1")
	wantErr(t, "get c1", err, nil)
	sameJSON(t, "restored client", c, newClient("c1", e.clock.Now()))
	got := list(t, e, dst)
	if fmt.Sprint(got.clients) != "[c1 c2]" || len(got.refresh) != 3 || len(got.revocations) != 1 {
		t.Fatalf("restored %v %v %v", got.clients, got.refresh, got.revocations)
	}
	for h, rt := range src.refresh {
		sameJSON(t, "restored refresh token "+h, got.refresh[h], rt)
	}
	if !e.revoked(t, dst, oauth.AccessTokenRef{ClientID: "c1", JTI: "jti-1"}) {
		t.Error("the restored revocation does not revoke")
	}
	// The rotation state came along: the current token rotates, and the
	// rotated one, once the grace is over, is a reuse that revokes the
	// family.
	other := &env{ctx: e.ctx, clock: e.clock, s: dst, r: dst}
	other.rotate(t, dst, other.rotation("rt2", "rt4", "fam1"), oauth.Rotated)
	e.clock.Advance(time.Minute)
	other.rotate(t, dst, other.rotation("rt1", "rt5", "fam1"), oauth.Reuse)
	if _, err := dst.GetRefresh(e.ctx, "c1", hash("rt4")); err == nil {
		t.Error("the reuse of a restored rotated token did not revoke its family")
	}
	// A record already expired is not restored.
	old := newRefresh("c1", "fam9", e.clock.Now().Add(-48*time.Hour))
	old.ExpiresAt = e.clock.Now().Add(-time.Hour)
	wantErr(t, "restore expired", a.RestoreRefresh(e.ctx, hash("old"), old), nil)
	if _, err := dst.GetRefresh(e.ctx, "c1", hash("old")); err == nil {
		t.Error("an expired token was restored")
	}
}

func ev(step oauth.Step, at time.Time, errCode string) oauth.Event {
	return oauth.Event{Step: step, Time: at.UTC(), Error: errCode, Address: "192.0.2.7", UserAgent: "claude-ai/1.0"}
}

func traceSteps(t *testing.T, e *env, _ func() oauth.Store, _ *AdminOptions) {
	ts := tracer(t, e.s)
	now := e.clock.Now()
	const keep = time.Hour
	wantErr(t, "put", ts.PutTraceStep(e.ctx, "c1", "register", ev(oauth.StepRegister, now, ""), keep), nil)
	wantErr(t, "put", ts.PutTraceStep(e.ctx, "c1", "token/authorization_code", ev(oauth.StepToken, now, "invalid_grant"), keep), nil)
	wantErr(t, "put", ts.PutTraceStep(e.ctx, "c1", "token/authorization_code", ev(oauth.StepToken, now.Add(time.Second), ""), keep), nil)
	wantErr(t, "put", ts.PutTraceStep(e.ctx, "c2", "register", ev(oauth.StepRegister, now, "invalid_redirect_uri"), keep), nil)
	got, err := ts.TraceSteps(e.ctx, "c1")
	wantErr(t, "steps", err, nil)
	if len(got) != 2 || got["register"].Step != oauth.StepRegister || got["token/authorization_code"].Error != "" ||
		!got["token/authorization_code"].Time.Equal(now.Add(time.Second)) {
		t.Fatalf("trace of c1: %+v", got)
	}
	sameJSON(t, "trace event", got["register"], ev(oauth.StepRegister, now, ""))
	if got, _ := ts.TraceSteps(e.ctx, "c2"); len(got) != 1 || got["register"].Error != "invalid_redirect_uri" {
		t.Fatalf("trace of c2: %+v", got)
	}
	if got, _ := ts.TraceSteps(e.ctx, "nobody"); len(got) != 0 {
		t.Fatalf("trace of an unknown client: %+v", got)
	}
	// A trace lasts keep after its last write.
	e.clock.Advance(keep / 2)
	wantErr(t, "put", ts.PutTraceStep(e.ctx, "c1", "login", ev(oauth.StepLogin, e.clock.Now(), ""), keep), nil)
	e.clock.Advance(keep/2 + time.Second)
	if got, _ := ts.TraceSteps(e.ctx, "c2"); len(got) != 0 {
		t.Fatalf("c2's trace outlived keep: %+v", got)
	}
	if got, _ := ts.TraceSteps(e.ctx, "c1"); len(got) != 3 {
		t.Fatalf("c1's trace, written again, is gone: %+v", got)
	}
}

func traceUnattributed(t *testing.T, e *env, _ func() oauth.Store, _ *AdminOptions) {
	ts := tracer(t, e.s)
	now := e.clock.Now()
	for i := range oauth.MaxUnattributedTrace + 5 {
		e := ev(oauth.StepResourceMetadata, now.Add(time.Duration(i)*time.Millisecond), "")
		e.Resource = "https://mcp.example/" + strconv.Itoa(i)
		wantErr(t, "put", ts.PutTraceStep(t.Context(), "", "", e, time.Hour), nil)
	}
	got, err := ts.TraceSteps(e.ctx, "")
	wantErr(t, "unattributed", err, nil)
	if len(got) != oauth.MaxUnattributedTrace {
		t.Fatalf("%d unattributed events kept, want %d", len(got), oauth.MaxUnattributedTrace)
	}
	if got["0"].Resource != "https://mcp.example/"+strconv.Itoa(oauth.MaxUnattributedTrace+4) || got[strconv.Itoa(oauth.MaxUnattributedTrace-1)].Resource != "https://mcp.example/5" {
		t.Fatalf("newest %q, oldest %q", got["0"].Resource, got[strconv.Itoa(oauth.MaxUnattributedTrace-1)].Resource)
	}
	e.clock.Advance(time.Hour + time.Second)
	if got, _ := ts.TraceSteps(e.ctx, ""); len(got) != 0 {
		t.Fatalf("unattributed events outlived keep: %d", len(got))
	}
}

package storetest

import (
	"testing"
	"time"

	"github.com/mcp-oauth-gateway/gateway/oauth"
)

func newPending(now time.Time) *oauth.PendingAuthorization {
	return &oauth.PendingAuthorization{
		ClientID:         "c1",
		RedirectURI:      "https://app.example/cb",
		CodeChallenge:    "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
		Scope:            "mcp",
		Resources:        []string{"https://mcp.example/mcp", "https://other.example/"},
		State:            "xyz<script>",
		CSRFToken:        "csrf-1",
		Provider:         "github",
		UpstreamState:    "up-1",
		UpstreamVerifier: "verifier-1",
		CreatedAt:        now,
		ExpiresAt:        now.Add(10 * time.Minute),
	}
}

var pendingTests = []contractTest{
	{"Pending/RoundTripAndTake", func(t *testing.T, e *env) {
		p := newPending(e.clock.Now())
		wantErr(t, "put", e.s.PutPending(e.ctx, "st1", p), nil)
		got, err := e.r.GetPending(e.ctx, "st1")
		wantErr(t, "get", err, nil)
		sameJSON(t, "pending", got, p)
		got, err = e.s.TakePending(e.ctx, "st1")
		wantErr(t, "take", err, nil)
		sameJSON(t, "taken pending", got, p)
		_, err = e.r.TakePending(e.ctx, "st1")
		wantErr(t, "take again", err, oauth.ErrNotFound)
		_, err = e.s.GetPending(e.ctx, "st1")
		wantErr(t, "get taken", err, oauth.ErrNotFound)
	}},
	{"Pending/PutReplaces", func(t *testing.T, e *env) {
		p := newPending(e.clock.Now())
		wantErr(t, "put", e.s.PutPending(e.ctx, "st1", p), nil)
		p.User = &oauth.Identity{Subject: "42", Provider: "github", Login: "octocat", Name: "The Octocat", Email: "o@example.com", EmailVerified: true, Groups: []string{"staff"}}
		p.AuthTime = e.clock.Now()
		p.UserCode = "WDJB-MJHT"
		wantErr(t, "put again", e.r.PutPending(e.ctx, "st1", p), nil)
		got, err := e.s.TakePending(e.ctx, "st1")
		wantErr(t, "take", err, nil)
		sameJSON(t, "replaced pending", got, p)
	}},
	{"Pending/Expiry", func(t *testing.T, e *env) {
		p := newPending(e.clock.Now())
		wantErr(t, "put", e.s.PutPending(e.ctx, "st1", p), nil)
		e.clock.Advance(10 * time.Minute)
		_, err := e.s.GetPending(e.ctx, "st1")
		wantErr(t, "get expired", err, oauth.ErrNotFound)
		_, err = e.s.TakePending(e.ctx, "st1")
		wantErr(t, "take expired", err, oauth.ErrNotFound)
	}},
	{"Pending/ExpiryRequired", func(t *testing.T, e *env) {
		p := newPending(e.clock.Now())
		p.ExpiresAt = time.Time{}
		if err := e.s.PutPending(e.ctx, "st1", p); err == nil {
			t.Fatal("a pending authorization without expiry was accepted")
		}
	}},
	{"Pending/TakeRace", func(t *testing.T, e *env) {
		wantErr(t, "put", e.s.PutPending(e.ctx, "st1", newPending(e.clock.Now())), nil)
		errs := race(e, func(i int, s oauth.Store) error {
			_, err := s.TakePending(e.ctx, "st1")
			return err
		})
		won := 0
		for _, err := range errs {
			if err == nil {
				won++
			} else {
				wantErr(t, "losing take", err, oauth.ErrNotFound)
			}
		}
		if won != 1 {
			t.Fatalf("%d of %d concurrent takes succeeded, want 1", won, Concurrency)
		}
	}},
}

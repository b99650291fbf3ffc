package storetest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/mcp-oauth-gateway/gateway/oauth"
)

func newClient(id string, now time.Time) *oauth.Client {
	return &oauth.Client{
		ID:                    id,
		SecretHash:            hash("secret-" + id),
		RegistrationTokenHash: hash("rat-" + id),
		Metadata: oauth.ClientMetadata{
			RedirectURIs:            []string{"https://app.example/cb", "http://127.0.0.1:33418/cb"},
			TokenEndpointAuthMethod: "client_secret_basic",
			GrantTypes:              []string{"authorization_code", "refresh_token"},
			ResponseTypes:           []string{"code"},
			ClientName:              "Example <App>",
			Scope:                   "mcp read",
			Contacts:                []string{"ops@app.example"},
			SoftwareID:              "4NRB1-0XZABZI9E6-5SM3R",
			ApplicationType:         "native",
			Extra: map[string]json.RawMessage{
				"client_name#ja-Jpan-JP": json.RawMessage(`"クライアント名"`),
				"x_vendor":               json.RawMessage(`{"tier":3,"flags":[true,null]}`),
			},
		},
		IssuedAt:        now,
		SecretExpiresAt: now.Add(90 * 24 * time.Hour),
		ExpiresAt:       now.Add(365 * 24 * time.Hour),
	}
}

var clientTests = []contractTest{
	{"Client/RoundTrip", func(t *testing.T, e *env) {
		c := newClient("c1", e.clock.Now())
		wantErr(t, "create", e.s.CreateClient(e.ctx, c), nil)
		got, err := e.r.GetClient(e.ctx, "c1")
		wantErr(t, "get", err, nil)
		sameJSON(t, "client", got, c)
		if string(got.Metadata.Extra["x_vendor"]) == "" {
			t.Errorf("unknown metadata member x_vendor lost: %v", got.Metadata.Extra)
		}
		// A public client: no secret, no expiry.
		pub := &oauth.Client{ID: "pub", IssuedAt: e.clock.Now(),
			Metadata: oauth.ClientMetadata{RedirectURIs: []string{"https://p.example/cb"}, TokenEndpointAuthMethod: "none"}}
		wantErr(t, "create public", e.s.CreateClient(e.ctx, pub), nil)
		got, err = e.s.GetClient(e.ctx, "pub")
		wantErr(t, "get public", err, nil)
		sameJSON(t, "public client", got, pub)
	}},
	{"Client/ReturnedRecordIsACopy", func(t *testing.T, e *env) {
		c := newClient("c1", e.clock.Now())
		wantErr(t, "create", e.s.CreateClient(e.ctx, c), nil)
		c.Metadata.RedirectURIs[0] = "https://evil.example/cb" // caller's copy
		got, err := e.s.GetClient(e.ctx, "c1")
		wantErr(t, "get", err, nil)
		got.Metadata.RedirectURIs[0] = "https://evil.example/cb"
		again, err := e.s.GetClient(e.ctx, "c1")
		wantErr(t, "get again", err, nil)
		if again.Metadata.RedirectURIs[0] != "https://app.example/cb" {
			t.Fatalf("stored redirect URI changed through a caller's pointer: %q", again.Metadata.RedirectURIs[0])
		}
	}},
	{"Client/CreateDuplicate", func(t *testing.T, e *env) {
		wantErr(t, "create", e.s.CreateClient(e.ctx, newClient("c1", e.clock.Now())), nil)
		other := newClient("c1", e.clock.Now())
		other.Metadata.ClientName = "impostor"
		wantErr(t, "create again", e.r.CreateClient(e.ctx, other), oauth.ErrExists)
		got, err := e.s.GetClient(e.ctx, "c1")
		wantErr(t, "get", err, nil)
		if got.Metadata.ClientName != "Example <App>" {
			t.Fatalf("duplicate create overwrote the client: %q", got.Metadata.ClientName)
		}
	}},
	{"Client/CreateRace", func(t *testing.T, e *env) {
		errs := race(e, func(i int, s oauth.Store) error {
			return s.CreateClient(e.ctx, newClient("same", e.clock.Now()))
		})
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			default:
				wantErr(t, "losing create", err, oauth.ErrExists)
			}
		}
		if won != 1 {
			t.Fatalf("%d of %d concurrent creates of one id succeeded, want 1", won, Concurrency)
		}
	}},
	{"Client/NotFound", func(t *testing.T, e *env) {
		_, err := e.s.GetClient(e.ctx, "nobody")
		wantErr(t, "get", err, oauth.ErrNotFound)
		wantErr(t, "update", e.s.UpdateClient(e.ctx, newClient("nobody", e.clock.Now())), oauth.ErrNotFound)
		wantErr(t, "delete", e.s.DeleteClient(e.ctx, "nobody"), oauth.ErrNotFound)
	}},
	{"Client/Update", func(t *testing.T, e *env) {
		c := newClient("c1", e.clock.Now())
		wantErr(t, "create", e.s.CreateClient(e.ctx, c), nil)
		c.Metadata.RedirectURIs = []string{"https://new.example/cb"}
		c.Metadata.Extra = map[string]json.RawMessage{"x_new": json.RawMessage(`1`)}
		c.SecretHash = hash("rotated")
		wantErr(t, "update", e.r.UpdateClient(e.ctx, c), nil)
		got, err := e.s.GetClient(e.ctx, "c1")
		wantErr(t, "get", err, nil)
		sameJSON(t, "updated client", got, c)
	}},
	{"Client/Delete", func(t *testing.T, e *env) {
		wantErr(t, "create", e.s.CreateClient(e.ctx, newClient("c1", e.clock.Now())), nil)
		wantErr(t, "delete", e.r.DeleteClient(e.ctx, "c1"), nil)
		_, err := e.s.GetClient(e.ctx, "c1")
		wantErr(t, "get deleted", err, oauth.ErrNotFound)
		wantErr(t, "delete again", e.s.DeleteClient(e.ctx, "c1"), oauth.ErrNotFound)
	}},
	{"Client/Expiry", func(t *testing.T, e *env) {
		c := newClient("c1", e.clock.Now())
		c.ExpiresAt = e.clock.Now().Add(time.Hour)
		wantErr(t, "create", e.s.CreateClient(e.ctx, c), nil)
		e.clock.Advance(time.Hour - time.Second)
		_, err := e.s.GetClient(e.ctx, "c1")
		wantErr(t, "get before expiry", err, nil)
		e.clock.Advance(time.Second)
		_, err = e.s.GetClient(e.ctx, "c1")
		wantErr(t, "get at expiry", err, oauth.ErrNotFound)
		wantErr(t, "update expired", e.s.UpdateClient(e.ctx, c), oauth.ErrNotFound)
		// The id is free again.
		wantErr(t, "create after expiry", e.s.CreateClient(e.ctx, newClient("c1", e.clock.Now())), nil)
	}},
}

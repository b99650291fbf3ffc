package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/mcp-oauth-gateway/gateway/oauth"
)

func newKey(kid string, created time.Time) *oauth.SigningKey {
	return &oauth.SigningKey{
		ID:         kid,
		Algorithm:  "ES256",
		PrivateJWK: []byte(`{"kty":"EC","crv":"P-256","kid":"` + kid + `","d":"secret-d","x":"x","y":"y"}`),
		CreatedAt:  created,
		SignUntil:  created.Add(90 * 24 * time.Hour),
		RetireAt:   created.Add(91 * 24 * time.Hour),
	}
}

func (e *env) kids(t *testing.T, s oauth.Store) []string {
	t.Helper()
	keys, err := s.ListKeys(e.ctx)
	wantErr(t, "list keys", err, nil)
	var ids []string
	for _, k := range keys {
		ids = append(ids, k.ID)
	}
	return ids
}

var keyTests = []contractTest{
	{"Key/AddListDelete", func(t *testing.T, e *env) {
		if ids := e.kids(t, e.s); len(ids) != 0 {
			t.Fatalf("fresh store has keys %v", ids)
		}
		k1 := newKey("k1", e.clock.Now())
		wantErr(t, "add first", e.s.AddKey(e.ctx, k1, ""), nil)
		keys, err := e.r.ListKeys(e.ctx)
		wantErr(t, "list", err, nil)
		if len(keys) != 1 {
			t.Fatalf("got %d keys, want 1", len(keys))
		}
		sameJSON(t, "key", keys[0], k1)
		e.clock.Advance(time.Hour)
		wantErr(t, "add second", e.r.AddKey(e.ctx, newKey("k2", e.clock.Now()), "k1"), nil)
		e.clock.Advance(time.Hour)
		wantErr(t, "add third", e.s.AddKey(e.ctx, newKey("k3", e.clock.Now()), "k2"), nil)
		if ids := e.kids(t, e.s); len(ids) != 3 || ids[0] != "k3" || ids[1] != "k2" || ids[2] != "k1" {
			t.Fatalf("keys %v, want newest first [k3 k2 k1]", ids)
		}
		wantErr(t, "delete", e.r.DeleteKey(e.ctx, "k1"), nil)
		wantErr(t, "delete again", e.s.DeleteKey(e.ctx, "k1"), oauth.ErrNotFound)
		if ids := e.kids(t, e.s); len(ids) != 2 || ids[0] != "k3" {
			t.Fatalf("after delete: %v", ids)
		}
	}},
	{"Key/CompareAndSet", func(t *testing.T, e *env) {
		wantErr(t, "add first", e.s.AddKey(e.ctx, newKey("k1", e.clock.Now()), ""), nil)
		// A replica that still believes the store is empty loses.
		wantErr(t, "add to an empty store that is not", e.r.AddKey(e.ctx, newKey("k2", e.clock.Now()), ""), oauth.ErrConflict)
		wantErr(t, "add on a stale newest", e.r.AddKey(e.ctx, newKey("k2", e.clock.Now()), "k0"), oauth.ErrConflict)
		wantErr(t, "add an existing kid", e.r.AddKey(e.ctx, newKey("k1", e.clock.Now()), "k1"), oauth.ErrExists)
		if ids := e.kids(t, e.s); len(ids) != 1 {
			t.Fatalf("refused adds changed the keys: %v", ids)
		}
	}},
	{"Key/FirstStartRace", func(t *testing.T, e *env) {
		errs := race(e, func(i int, s oauth.Store) error {
			return s.AddKey(e.ctx, newKey(id("kid", i), e.clock.Now()), "")
		})
		won := -1
		for i, err := range errs {
			switch {
			case err == nil:
				if won >= 0 {
					t.Fatalf("replicas %d and %d both added a first key", won, i)
				}
				won = i
			case !errors.Is(err, oauth.ErrConflict):
				t.Fatalf("losing add: %v, want ErrConflict", err)
			}
		}
		if ids := e.kids(t, e.r); len(ids) != 1 || won < 0 || ids[0] != id("kid", won) {
			t.Fatalf("keys after the race %v, want only the winner's %s", ids, id("kid", won))
		}
	}},
}

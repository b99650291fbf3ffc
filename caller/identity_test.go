package caller_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/mcp-oauth-gateway/gateway/caller"
)

// TestContextCarriesIdentity: what authentication puts in a request's
// context is what a handler behind it reads, and a request without one is
// anonymous.
func TestContextCarriesIdentity(t *testing.T) {
	alice := &caller.Identity{Subject: "42", Name: "alice", Scopes: []string{"mcp"}}
	var got []*caller.Identity
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, caller.FromContext(r.Context()))
	})
	auth := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "" {
				r = r.WithContext(caller.NewContext(r.Context(), alice))
			}
			next.ServeHTTP(w, r)
		})
	}
	srv := auth(h)
	req := httptest.NewRequest("GET", "/", nil)
	srv.ServeHTTP(httptest.NewRecorder(), req)
	req.Header.Set("Authorization", "Bearer x")
	srv.ServeHTTP(httptest.NewRecorder(), req)
	if len(got) != 2 || got[0] != nil || got[1] != alice {
		t.Fatalf("identities seen: %v", got)
	}
	if caller.FromContext(context.Background()) != nil {
		t.Error("an empty context has a caller")
	}
}

func TestHasScope(t *testing.T) {
	id := &caller.Identity{Scopes: []string{"mcp", "mcp:write"}}
	var anonymous *caller.Identity
	for _, tc := range []struct {
		id    *caller.Identity
		scope string
		want  bool
	}{
		{id, "mcp:write", true},
		{id, "mcp", true},
		{id, "mcp:admin", false},
		{id, "", false},
		{anonymous, "mcp", false},
	} {
		if got := tc.id.HasScope(tc.scope); got != tc.want {
			t.Errorf("%v.HasScope(%q) = %v", tc.id, tc.scope, got)
		}
	}
}

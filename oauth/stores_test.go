package oauth_test

import (
	"fmt"
	"net/url"
	"path/filepath"
	"sync"
	"testing"

	"github.com/mcp-oauth-gateway/gateway/internal/redistest"
	"github.com/mcp-oauth-gateway/gateway/oauth"
	"github.com/mcp-oauth-gateway/gateway/oauth/filestore"
	"github.com/mcp-oauth-gateway/gateway/oauth/redisstore"
)

// TestStoresUnderTheServer runs the server's concurrency-sensitive paths
// on each real store: concurrent redemptions of one code, concurrent
// refreshes inside the grace window, reuse detection.
func TestStoresUnderTheServer(t *testing.T) {
	rs := redistest.Start(t)
	stores := map[string]func(t *testing.T) oauth.Store{
		"memory": func(t *testing.T) oauth.Store {
			s := oauth.NewMemoryStore(nil)
			t.Cleanup(func() { s.Close() })
			return s
		},
		"file": func(t *testing.T) oauth.Store {
			s, err := filestore.Open(filepath.Join(t.TempDir(), "oauth.db"), nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
		"redis": func(t *testing.T) oauth.Store {
			s, err := redisstore.New(rs.Client, &redisstore.Options{Prefix: "t:" + t.Name() + ":"})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
	}
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			bs := newBenchServer(t, open(t), oauth.ES256)
			codeForm := func(code string) url.Values {
				return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {bs.redirect},
					"code_verifier": {bs.verifier}, "client_id": {bs.clientID}}
			}
			refreshForm := func(rt string) url.Values {
				return url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {bs.clientID}}
			}

			// One code, eight redemptions at once: at most one gets tokens,
			// and the replays revoke them (a winner racing the revocation
			// may get none at all).
			code := bs.code(t)
			var wg sync.WaitGroup
			var mu sync.Mutex
			var won []map[string]any
			for range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if m, status := bs.tryToken(codeForm(code)); status == 200 {
						mu.Lock()
						won = append(won, m)
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			if len(won) > 1 {
				t.Fatalf("%d redemptions of one code succeeded", len(won))
			}
			for _, m := range won {
				if _, status := bs.tryToken(refreshForm(m["refresh_token"].(string))); status != 400 {
					t.Fatalf("tokens of a replayed code survive: %d", status)
				}
				if _, err := bs.srv.VerifyAccessToken(t.Context(), m["access_token"].(string)); err == nil {
					t.Fatal("access token of a replayed code survives")
				}
			}

			// Eight refreshes at once with one token: the same pair for all.
			tok := bs.token(t, codeForm(bs.code(t)))
			rt := tok["refresh_token"].(string)
			pairs := make([]string, 8)
			for i := range pairs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					m, status := bs.tryToken(refreshForm(rt))
					pairs[i] = fmt.Sprintf("%d %v %v", status, m["access_token"], m["refresh_token"])
				}()
			}
			wg.Wait()
			for _, p := range pairs {
				if p != pairs[0] || pairs[0][:3] != "200" {
					t.Fatalf("concurrent refreshes: %q vs %q", p, pairs[0])
				}
			}
			next := bs.token(t, refreshForm(fmt.Sprint(bs.mustRefresh(t, pairs[0]))))
			// The predecessor's grace ended when its successor was used:
			// using it now revokes the family, the newest token included.
			if _, status := bs.tryToken(refreshForm(rt)); status != 400 {
				t.Fatalf("reuse: %d", status)
			}
			if _, status := bs.tryToken(refreshForm(next["refresh_token"].(string))); status != 400 {
				t.Fatalf("family survived a reuse: %d", status)
			}
		})
	}
}

// mustRefresh extracts the refresh token from a "status access refresh"
// summary.
func (bs *benchServer) mustRefresh(t *testing.T, summary string) string {
	var status int
	var at, rt string
	if _, err := fmt.Sscan(summary, &status, &at, &rt); err != nil {
		t.Fatal(err)
	}
	return rt
}

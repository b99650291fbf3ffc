package storetest

import (
	"testing"
	"time"

	"github.com/mcp-oauth-gateway/gateway/oauth"
)

var quotaTests = []contractTest{
	{"Quota/Window", func(t *testing.T, e *env) {
		allow := func(s oauth.Store, key string) bool {
			t.Helper()
			ok, err := s.Allow(e.ctx, key, 3, time.Minute)
			wantErr(t, "allow", err, nil)
			return ok
		}
		for i := range 3 {
			if !allow(e.pick(i), "ip:192.0.2.1") {
				t.Fatalf("event %d of 3 refused", i+1)
			}
		}
		if allow(e.s, "ip:192.0.2.1") {
			t.Fatal("4th event in the window allowed with limit 3")
		}
		if !allow(e.r, "ip:192.0.2.2") {
			t.Fatal("another key is limited by the first key's count")
		}
		e.clock.Advance(59 * time.Second)
		if allow(e.s, "ip:192.0.2.1") {
			t.Fatal("allowed before the window ended")
		}
		e.clock.Advance(time.Second)
		if !allow(e.s, "ip:192.0.2.1") {
			t.Fatal("refused after the window ended")
		}
	}},
	{"Quota/Concurrent", func(t *testing.T, e *env) {
		const limit = 10
		res := race(e, func(i int, s oauth.Store) bool {
			ok, err := s.Allow(e.ctx, "ip:198.51.100.7", limit, time.Minute)
			if err != nil {
				t.Errorf("allow: %v", err)
			}
			return ok
		})
		n := 0
		for _, ok := range res {
			if ok {
				n++
			}
		}
		if n != limit {
			t.Fatalf("%d of %d concurrent events allowed, want exactly %d", n, Concurrency, limit)
		}
	}},
	{"Quota/BadArguments", func(t *testing.T, e *env) {
		ok, err := e.s.Allow(e.ctx, "k", 0, time.Minute)
		if ok || err != nil {
			t.Fatalf("limit 0: got %v, %v; want false, nil", ok, err)
		}
		if _, err := e.s.Allow(e.ctx, "k", 5, 0); err == nil {
			t.Fatal("window 0 accepted")
		}
	}},
}

package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/mcp-oauth-gateway/gateway/oauth"
)

var quotaTests = []contractTest{
	{"Quota/Window", func(t *testing.T, e *env) {
		allow := func(s oauth.Store, key string) bool {
			t.Helper()
			res, err := s.AllowAll(e.ctx, []oauth.Quota{{Key: key, Limit: 3, Window: time.Minute}})
			wantErr(t, "allow", err, nil)
			return res.Allowed
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
			r, err := s.AllowAll(e.ctx, []oauth.Quota{{Key: "ip:198.51.100.7", Limit: limit, Window: time.Minute}})
			if err != nil {
				t.Errorf("allow: %v", err)
			}
			return r.Allowed
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
	{"Quota/AllowAllAllOrNothing", func(t *testing.T, e *env) {
		all := func(s oauth.Store, qs ...oauth.Quota) oauth.QuotaResult {
			t.Helper()
			res, err := s.AllowAll(e.ctx, qs)
			wantErr(t, "allow all", err, nil)
			return res
		}
		addr := func(k string, n int) oauth.Quota { return oauth.Quota{Key: "a:" + k, Limit: n, Window: time.Minute} }
		global := oauth.Quota{Key: "a:*", Limit: 3, Window: 10 * time.Minute}
		for i := range 2 {
			if res := all(e.pick(i), addr("x", 2), global); !res.Allowed {
				t.Fatalf("event %d of x refused: %+v", i+1, res)
			}
		}
		e.clock.Advance(10 * time.Second)
		if res := all(e.s, addr("x", 2), global); res.Allowed || res.Refused != 0 || res.RetryAfter != 50*time.Second {
			t.Fatalf("3rd event of x: %+v, want refused by quota 0 with 50s left", res)
		}
		if res := all(e.r, addr("y", 2), global); !res.Allowed {
			t.Fatalf("first event of y refused: %+v", res)
		}
		if res := all(e.s, addr("z", 2), global); res.Allowed || res.Refused != 1 || res.RetryAfter != 10*time.Minute-10*time.Second {
			t.Fatalf("event past the global limit: %+v, want refused by quota 1 with 9m50s left", res)
		}
		// The refused events were counted nowhere: the global count is 3,
		// and z has no count at all.
		wider := global
		wider.Limit = 4
		if res := all(e.r, wider); !res.Allowed {
			t.Fatalf("global count includes refused events: %+v", res)
		}
		if res := all(e.s, wider); res.Allowed {
			t.Fatal("global count lost an allowed event")
		}
		other := oauth.Quota{Key: "b:*", Limit: 10, Window: time.Minute}
		if res := all(e.r, addr("z", 1), other); !res.Allowed {
			t.Fatalf("a refused event counted for z: %+v", res)
		}
		if res := all(e.s, addr("z", 1), other); res.Allowed {
			t.Fatal("z's limit of 1 allowed a second event")
		}
		// Windows end: x may go again, the global window is still full.
		e.clock.Advance(50 * time.Second)
		if res := all(e.s, addr("x", 2)); !res.Allowed {
			t.Fatalf("x refused after its window ended: %+v", res)
		}
		e.clock.Advance(9 * time.Minute)
		if res := all(e.s, addr("q", 2), global); !res.Allowed {
			t.Fatalf("refused after the global window ended: %+v", res)
		}
	}},
	{"Quota/AllowAllConcurrent", func(t *testing.T, e *env) {
		const perKey, total = 4, 15
		res := race(e, func(i int, s oauth.Store) string {
			key := fmt.Sprintf("c:%d", i%5)
			r, err := s.AllowAll(e.ctx, []oauth.Quota{
				{Key: key, Limit: perKey, Window: time.Minute},
				{Key: "c:*", Limit: total, Window: time.Minute},
			})
			if err != nil {
				t.Errorf("allow all: %v", err)
			}
			if !r.Allowed {
				return ""
			}
			return key
		})
		n, byKey := 0, map[string]int{}
		for _, k := range res {
			if k != "" {
				n++
				byKey[k]++
			}
		}
		if n != total {
			t.Fatalf("%d of %d concurrent events allowed, want exactly %d", n, Concurrency, total)
		}
		for k, c := range byKey {
			if c > perKey {
				t.Fatalf("%s: %d events allowed, limit %d", k, c, perKey)
			}
		}
	}},
	{"Quota/AllowAllBadArguments", func(t *testing.T, e *env) {
		if res, err := e.s.AllowAll(e.ctx, nil); err != nil || !res.Allowed {
			t.Fatalf("no quotas: %+v, %v; want allowed", res, err)
		}
		res, err := e.s.AllowAll(e.ctx, []oauth.Quota{{Key: "k", Limit: 5, Window: time.Minute}, {Key: "k0", Limit: 0, Window: time.Minute}})
		if err != nil || res.Allowed || res.Refused != 1 {
			t.Fatalf("limit 0: %+v, %v; want refused by quota 1", res, err)
		}
		if _, err := e.s.AllowAll(e.ctx, []oauth.Quota{{Key: "k", Limit: 5}}); err == nil {
			t.Fatal("window 0 accepted")
		}
	}},
}

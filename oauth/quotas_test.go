package oauth

import (
	"context"
	"testing"
	"time"
)

// TestLocalQuotasBounded: a full table refuses events that need a new key
// (it never evicts a live count), and makes room once windows ended.
func TestLocalQuotasBounded(t *testing.T) {
	c := newClock()
	q := NewLocalQuotas(c.Now, 3)
	ctx := context.Background()
	allow := func(key string) bool {
		res, err := q.AllowAll(ctx, []Quota{{Key: key, Limit: 5, Window: time.Minute}})
		if err != nil {
			t.Fatal(err)
		}
		return res.Allowed
	}
	for _, k := range []string{"a", "b", "c"} {
		if !allow(k) {
			t.Fatalf("%s refused with room", k)
		}
	}
	if allow("d") {
		t.Fatal("a 4th key was let into a table of 3")
	}
	if !allow("a") {
		t.Fatal("a known key refused on a full table")
	}
	res, err := q.AllowAll(ctx, []Quota{{Key: "a", Limit: 5, Window: time.Minute}, {Key: "e", Limit: 5, Window: time.Minute}})
	if err != nil || res.Allowed || res.Refused != 1 || res.RetryAfter <= 0 {
		t.Fatalf("AllowAll needing a new key on a full table: %+v %v", res, err)
	}
	if q.Len() != 3 {
		t.Fatalf("%d keys kept, want 3", q.Len())
	}
	c.Advance(time.Minute)
	if !allow("d") {
		t.Fatal("no room made after the windows ended")
	}
	if q.Len() != 1 {
		t.Fatalf("%d keys after the sweep, want 1", q.Len())
	}
}

// TestLocalQuotasRefusedCountNothing: AllowAll's refused events leave no
// key behind, so refusals cannot fill the table.
func TestLocalQuotasRefusedCountNothing(t *testing.T) {
	q := NewLocalQuotas(nil, 0)
	ctx := context.Background()
	global := Quota{Key: "g", Limit: 1, Window: time.Minute}
	if res, _ := q.AllowAll(ctx, []Quota{{Key: "x:1", Limit: 1, Window: time.Minute}, global}); !res.Allowed {
		t.Fatal("first event refused")
	}
	for i := range 1000 {
		addr := Quota{Key: "x:" + string(rune('a'+i%26)) + string(rune('a'+i/26%26)), Limit: 1, Window: time.Minute}
		if res, _ := q.AllowAll(ctx, []Quota{addr, global}); res.Allowed {
			t.Fatal("allowed past the global limit")
		}
	}
	if q.Len() != 2 {
		t.Fatalf("%d keys after 1,000 refusals, want 2", q.Len())
	}
}

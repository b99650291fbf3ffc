package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/mcp-oauth-gateway/gateway/oauth"
)

// Factory opens a fresh, empty store whose clock is now, and closes it at
// t's cleanup.
type Factory func(t *testing.T, now func() time.Time) oauth.Store

// Options tune Run. A nil *Options means all defaults.
type Options struct {
	// Replica opens a second handle on the data of s, as another replica
	// would (a second Redis connection). The concurrency and feed tests
	// spread their calls over both handles. Nil: the second handle is s.
	Replica func(t *testing.T, s oauth.Store, now func() time.Time) oauth.Store
}

// startTime is when the suite's clock starts.
func startTime() time.Time { return time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC) }

// Concurrency is how many goroutines race in the atomicity tests.
const Concurrency = 50

// env is one subtest's world: a clock, a store and its replica.
type env struct {
	ctx   context.Context
	clock *Clock
	s     oauth.Store // the store
	r     oauth.Store // a replica of it (maybe the same value)
}

// pick returns the store for goroutine i: both replicas take turns.
func (e *env) pick(i int) oauth.Store {
	if i%2 == 1 {
		return e.r
	}
	return e.s
}

type contractTest struct {
	name string
	fn   func(t *testing.T, e *env)
}

// Run runs the whole contract suite, each test on a fresh store.
func Run(t *testing.T, newStore Factory, opts *Options) {
	if opts == nil {
		opts = &Options{}
	}
	var all []contractTest
	for _, group := range [][]contractTest{
		clientTests, quotaTests, pendingTests, codeTests, refreshTests,
		revocationTests, keyTests, deviceTests, upstreamTests,
	} {
		all = append(all, group...)
	}
	for _, tc := range all {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := NewClock(startTime())
			s := newStore(t, clock.Now)
			r := s
			if opts.Replica != nil {
				r = opts.Replica(t, s, clock.Now)
			}
			tc.fn(t, &env{ctx: t.Context(), clock: clock, s: s, r: r})
		})
	}
}

// ---- assertions ----

// sameJSON fails t unless got and want encode to the same JSON: records
// round-trip exactly, every field and unknown metadata member included.
func sameJSON(t *testing.T, what string, got, want any) {
	t.Helper()
	g, err := json.Marshal(got)
	if err != nil {
		t.Fatalf("%s: encode got: %v", what, err)
	}
	w, err := json.Marshal(want)
	if err != nil {
		t.Fatalf("%s: encode want: %v", what, err)
	}
	if !bytes.Equal(g, w) {
		t.Errorf("%s does not round-trip:\n got  %s\n want %s", what, g, w)
	}
}

// wantErr fails t unless err matches target (nil: no error).
func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	switch {
	case target == nil && err != nil:
		t.Fatalf("%s: unexpected error: %v", what, err)
	case target != nil && !errors.Is(err, target):
		t.Fatalf("%s: error = %v, want %v", what, err, target)
	}
}

// race runs fn on Concurrency goroutines at once and returns their results.
func race[T any](e *env, fn func(i int, s oauth.Store) T) []T {
	out := make([]T, Concurrency)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			out[i] = fn(i, e.pick(i))
		}()
	}
	close(start)
	wg.Wait()
	return out
}

// id returns a unique-looking key for tests.
func id(kind string, n int) string { return fmt.Sprintf("%s-%04d", kind, n) }

// hash stands for a SHA-256 hash the server would pass.
func hash(s string) string { return fmt.Sprintf("h:%s", s) }

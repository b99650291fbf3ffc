package oauth

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// DefaultMaxQuotaKeys is how many live quota windows a LocalQuotas keeps
// when told nothing else: about 10 MB.
const DefaultMaxQuotaKeys = 100_000

// LocalQuotas is a QuotaStore in this process's memory, for stores that
// one process uses alone: MemoryStore, and oauth/filestore (one process at
// a time holds its file), so that counting an event costs no disk write.
// It is safe for concurrent use.
//
// It bounds what it keeps: a window that ended is dropped when its key is
// next used or by Sweep, and while MaxKeys windows are live an event that
// needs a new key is refused (it fails closed: a flood of distinct
// addresses can neither grow the table nor push out the counts of others).
// AllowAll creates keys only for events it allows, so under the server's
// global caps the table stays far below the bound.
type LocalQuotas struct {
	now     func() time.Time
	maxKeys int

	mu        sync.Mutex
	windows   map[string]quotaWindow
	nextSweep time.Time // full sweeps on a full table, at most once a second
}

var _ QuotaStore = (*LocalQuotas)(nil)

type quotaWindow struct {
	count int
	end   time.Time
}

// NewLocalQuotas returns empty counters on the clock now (nil: time.Now)
// that keep at most maxKeys live windows (0: DefaultMaxQuotaKeys).
func NewLocalQuotas(now func() time.Time, maxKeys int) *LocalQuotas {
	if now == nil {
		now = time.Now
	}
	if maxKeys <= 0 {
		maxKeys = DefaultMaxQuotaKeys
	}
	return &LocalQuotas{now: now, maxKeys: maxKeys, windows: make(map[string]quotaWindow)}
}

// live returns the current window of key; an ended one is dropped. q.mu is
// held.
func (q *LocalQuotas) live(key string, now time.Time) (quotaWindow, bool) {
	w, ok := q.windows[key]
	if ok && !now.Before(w.end) {
		delete(q.windows, key)
		return quotaWindow{}, false
	}
	return w, ok
}

// room reports whether n more keys fit, sweeping ended windows first when
// the table is full (at most once a second). q.mu is held.
func (q *LocalQuotas) room(n int, now time.Time) bool {
	if len(q.windows)+n <= q.maxKeys {
		return true
	}
	if now.Before(q.nextSweep) {
		return false
	}
	q.nextSweep = now.Add(time.Second)
	q.sweep(now)
	return len(q.windows)+n <= q.maxKeys
}

func (q *LocalQuotas) sweep(now time.Time) {
	for k, w := range q.windows {
		if !now.Before(w.end) {
			delete(q.windows, k)
		}
	}
}

// AllowAll implements QuotaStore.
func (q *LocalQuotas) AllowAll(_ context.Context, qs []Quota) (QuotaResult, error) {
	for _, x := range qs {
		if x.Window <= 0 {
			return QuotaResult{}, fmt.Errorf("oauth: quota %q: window must be positive", x.Key)
		}
	}
	now := q.now()
	q.mu.Lock()
	defer q.mu.Unlock()
	fresh, firstFresh := 0, -1
	for i, x := range qs {
		w, ok := q.live(x.Key, now)
		switch {
		case x.Limit < 1:
			return QuotaResult{Refused: i, RetryAfter: x.Window}, nil
		case ok && w.count >= x.Limit:
			return QuotaResult{Refused: i, RetryAfter: max(w.end.Sub(now), time.Millisecond)}, nil
		case !ok:
			fresh++
			if firstFresh < 0 {
				firstFresh = i
			}
		}
	}
	if fresh > 0 && !q.room(fresh, now) {
		return QuotaResult{Refused: firstFresh, RetryAfter: time.Second}, nil
	}
	for _, x := range qs {
		w, ok := q.live(x.Key, now)
		if !ok {
			w = quotaWindow{end: now.Add(x.Window)}
		}
		w.count++
		q.windows[x.Key] = w
	}
	return QuotaResult{Allowed: true}, nil
}

// Sweep drops every window that ended.
func (q *LocalQuotas) Sweep() {
	now := q.now()
	q.mu.Lock()
	defer q.mu.Unlock()
	q.sweep(now)
}

// Len is how many windows are kept (some may have ended since the last
// sweep).
func (q *LocalQuotas) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.windows)
}

package oauth

import (
	"context"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestFeedSlowSubscriberGetsReset(t *testing.T) {
	f := NewRevocationFeed()
	defer f.Close()
	ctx := t.Context()
	slow, err := f.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	fast, err := f.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const events = 3 * maxFeedQueue
	last := strconv.Itoa(events - 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for r := range fast {
			if r.ID == last {
				return
			}
		}
	}()
	for i := range events {
		f.Publish(Revocation{Kind: RevokedToken, ClientID: "c", ID: strconv.Itoa(i)})
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("a slow subscriber held up a fast one")
	}
	// The slow one lost events and is told so; the newest event follows.
	sawReset := false
	for {
		select {
		case r := <-slow:
			switch {
			case r.Kind == RevocationReset:
				sawReset = true
			case r.ID == last:
				if !sawReset {
					t.Fatal("a subscriber that fell behind got no reset")
				}
				return
			}
		case <-time.After(time.Second):
			t.Fatal("the slow subscriber never got the newest event")
		}
	}
}

func TestFeedCloseAndContext(t *testing.T) {
	f := NewRevocationFeed()
	ctx, cancel := context.WithCancel(context.Background())
	a, _ := f.Subscribe(ctx)
	b, _ := f.Subscribe(context.Background())
	cancel()
	if _, ok := <-a; ok {
		t.Fatal("event on a cancelled subscription")
	}
	f.Close()
	if _, ok := <-b; ok {
		t.Fatal("event after Close")
	}
	if _, err := f.Subscribe(context.Background()); err == nil {
		t.Fatal("Subscribe after Close succeeded")
	}
}

func TestMemoryStoreSweep(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	s := NewMemoryStore(&MemoryStoreOptions{Now: clock, SweepInterval: -1})
	defer s.Close()
	ctx := context.Background()
	exp := now.Add(time.Minute)
	_ = s.CreateClient(ctx, &Client{ID: "c1", ExpiresAt: exp})
	_ = s.PutCode(ctx, "h:code", &Grant{ClientID: "c1", FamilyID: "f", ExpiresAt: exp})
	_ = s.IssueRefresh(ctx, "h:rt", &RefreshToken{ClientID: "c1", FamilyID: "f", ExpiresAt: exp})
	_ = s.RevokeToken(ctx, "c1", "j", exp)
	now = now.Add(time.Minute)
	s.Sweep()
	s.mu.RLock()
	counts := []int{len(s.clients), len(s.codes), len(s.refresh), len(s.families), len(s.byClient), len(s.revocations)}
	s.mu.RUnlock()
	if counts[0] != 0 || counts[1] != 1 || counts[2] != 0 || counts[3] != 0 || counts[4] != 0 || counts[5] != 0 {
		t.Fatalf("after expiry (clients, codes, refresh, families, byClient, revocations) = %v; want only the used-code marker window left", counts)
	}
	now = now.Add(UsedCodeRetention)
	s.Sweep()
	if len(s.codes) != 0 {
		t.Fatal("code kept past its retention")
	}
}

func liveHeapBytes() int64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// TestMemoryStoreDetachesRecords: a record whose strings were cut from a
// large request (query parameters are substrings of the request line) does
// not keep the request alive: what a flood of pending or device
// authorizations costs is what they hold, not what their requests carried.
func TestMemoryStoreDetachesRecords(t *testing.T) {
	s := NewMemoryStore(&MemoryStoreOptions{SweepInterval: -1})
	defer s.Close()
	ctx := context.Background()
	now := time.Now()
	const n, reqSize = 20, 512 << 10
	before := liveHeapBytes()
	for i := range n {
		req := strings.Repeat("x", reqSize) + strconv.Itoa(i) // a request of 512 KB
		p := &PendingAuthorization{ClientID: req[:8], State: req[8:16], Resources: []string{req[16:40]}, ExpiresAt: now.Add(time.Minute)}
		if err := s.PutPending(ctx, req[reqSize-4:], p); err != nil {
			t.Fatal(err)
		}
		d := &DeviceAuthorization{ClientID: req[:8], Resources: []string{req[16:40]}, ExpiresAt: now.Add(time.Minute)}
		if err := s.PutDevice(ctx, req[reqSize-8:], req[reqSize-12:], d); err != nil {
			t.Fatal(err)
		}
	}
	if grew := liveHeapBytes() - before; grew > n*reqSize/8 {
		t.Fatalf("%d pending and device authorizations hold %d bytes: their %d KB requests are kept alive", n, grew, reqSize>>10)
	}
}

// TestMemoryStoreSweepsFloodState: what a flood leaves (pending and device
// authorizations, quota windows) is removed by the periodic sweep once it
// expired, not only when it is next read.
func TestMemoryStoreSweepsFloodState(t *testing.T) {
	c := newClock()
	s := NewMemoryStore(&MemoryStoreOptions{Now: c.Now, SweepInterval: 10 * time.Millisecond})
	defer s.Close()
	ctx := context.Background()
	exp := c.Now().Add(10 * time.Minute)
	for i := range 100 {
		k := strconv.Itoa(i)
		if err := s.PutPending(ctx, "p"+k, &PendingAuthorization{ClientID: "c", ExpiresAt: exp}); err != nil {
			t.Fatal(err)
		}
		if err := s.PutDevice(ctx, "d"+k, "U"+k, &DeviceAuthorization{ClientID: "c", ExpiresAt: exp}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AllowAll(ctx, []Quota{{Key: "a:" + k, Limit: 1, Window: 10 * time.Minute}}); err != nil {
			t.Fatal(err)
		}
	}
	if st := s.Stats(); st.Pending != 100 || st.Devices != 100 || st.QuotaWindows != 100 {
		t.Fatalf("before expiry: %+v", st)
	}
	c.Advance(10*time.Minute + UsedCodeRetention)
	deadline := time.Now().Add(5 * time.Second)
	for st := s.Stats(); st.Pending+st.Devices+st.QuotaWindows > 0; st = s.Stats() {
		if time.Now().After(deadline) {
			t.Fatalf("the sweep left %+v", st)
		}
		time.Sleep(5 * time.Millisecond)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if len(s.userCodes)+len(s.deviceCodes) != 0 {
		t.Fatalf("device indexes left: %d user codes, %d device codes", len(s.userCodes), len(s.deviceCodes))
	}
}

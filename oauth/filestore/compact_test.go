package filestore

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/mcp-oauth-gateway/gateway/oauth"
	"github.com/mcp-oauth-gateway/gateway/oauth/storetest"
)

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// floodPending stores n pending authorizations of about 2 KB each in one
// transaction (what a flood of GET /authorize writes in n), and returns
// their keys.
func floodPending(t *testing.T, s *Store, n int, now time.Time) []string {
	t.Helper()
	keys, err := storePending(s, n, now)
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// storePending does floodPending's work; it may run off the test's
// goroutine.
func storePending(s *Store, n int, now time.Time) ([]string, error) {
	keys := make([]string, n)
	err := s.update("test flood", "pending", func(tx *bolt.Tx) error {
		for i := range n {
			keys[i] = fmt.Sprintf("pending-%06d", i)
			p := &oauth.PendingAuthorization{ClientID: "c1", State: strings.Repeat("s", 2000), CreatedAt: now, ExpiresAt: now.Add(10 * time.Minute)}
			if err := put(tx.Bucket(bPending), []byte(keys[i]), p.ExpiresAt, p); err != nil {
				return err
			}
		}
		return nil
	})
	return keys, err
}

// dropAll deletes the records of keys from the pending bucket.
func dropAll(t *testing.T, s *Store, keys []string) {
	t.Helper()
	err := s.update("test drop", "pending", func(tx *bolt.Tx) error {
		for _, k := range keys {
			if err := tx.Bucket(bPending).Delete([]byte(k)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestReopenReclaimsSpace: a file inflated by a flood of records that are
// gone since is compacted when it is opened again: the file shrinks and
// keeps every live record.
func TestReopenReclaimsSpace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	now := time.Now()
	s, err := Open(path, &Options{SweepInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.CreateClient(ctx, &oauth.Client{ID: "keep", IssuedAt: now}); err != nil {
		t.Fatal(err)
	}
	dropAll(t, s, floodPending(t, s, 3000, now))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	inflated := fileSize(t, path)
	if inflated < 4<<20 {
		t.Fatalf("the flood grew the file to %d bytes only; the test needs more", inflated)
	}

	s, err = Open(path, &Options{SweepInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := fileSize(t, path); got > inflated/4 {
		t.Fatalf("reopened file is %d bytes, was %d: not compacted", got, inflated)
	}
	if _, err := s.GetClient(ctx, "keep"); err != nil {
		t.Fatalf("live record lost by the compaction: %v", err)
	}
	if _, err := os.Stat(path + compactSuffix); !os.IsNotExist(err) {
		t.Fatalf("compaction left its temporary file: %v", err)
	}
}

// TestCompactKeepsEverything: after Compact every record is still there
// (fill writes one of each kind), the store goes on working, and what it
// writes after the compaction survives a restart.
func TestCompactKeepsEverything(t *testing.T) {
	clock := storetest.NewClock(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
	path := filepath.Join(t.TempDir(), "store.db")
	s, err := Open(path, &Options{Now: clock.Now, SweepInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	fill(t, s, clock.Now())
	before := records(t, s)
	dropAll(t, s, floodPending(t, s, 2000, clock.Now()))
	inflated := fileSize(t, path)
	if err := s.Compact(); err != nil {
		t.Fatal(err)
	}
	if got := records(t, s); fmt.Sprint(got) != fmt.Sprint(before) {
		t.Fatalf("records after compaction %v, before %v", got, before)
	}
	if got := fileSize(t, path); got >= inflated/4 {
		t.Fatalf("compacted file is %d bytes, was %d", got, inflated)
	}
	ctx := context.Background()
	if _, err := s.GetPending(ctx, "p1"); err != nil {
		t.Fatalf("pending after compaction: %v", err)
	}
	if err := s.CreateClient(ctx, &oauth.Client{ID: "after", IssuedAt: clock.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(path, &Options{Now: clock.Now, SweepInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, id := range []string{"c1", "after"} {
		if _, err := s.GetClient(ctx, id); err != nil {
			t.Fatalf("client %s after compaction and restart: %v", id, err)
		}
	}
}

// TestCompactHoldsTheLock: another process cannot open the file after a
// compaction replaced it (the lock moved to the new file with the store).
func TestCompactHoldsTheLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	s, err := Open(path, &Options{SweepInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Compact(); err != nil {
		t.Fatal(err)
	}
	if other, err := Open(path, &Options{LockTimeout: 100 * time.Millisecond}); err == nil {
		other.Close()
		t.Fatal("a second store opened the file after the compaction")
	} else if !strings.Contains(err.Error(), "locked by another process") {
		t.Fatalf("second open: %v", err)
	}
}

// TestCompactUnderLoad: writers and readers running while the file is
// compacted again and again lose nothing and see no error.
func TestCompactUnderLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	s, err := Open(path, &Options{SweepInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	now := time.Now()
	const writers, each = 4, 40
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				id := fmt.Sprintf("c-%d-%d", w, i)
				if err := s.CreateClient(ctx, &oauth.Client{ID: id, IssuedAt: now}); err != nil {
					errs <- err
					return
				}
				if _, err := s.GetClient(ctx, id); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	stop := make(chan struct{})
	compactions := make(chan int)
	go func() {
		n := 0
		for {
			select {
			case <-stop:
				compactions <- n
				return
			default:
			}
			if err := s.Compact(); err != nil {
				errs <- err
			}
			n++
		}
	}()
	wg.Wait()
	close(stop)
	n := <-compactions
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := records(t, s)["clients"]; got != writers*each {
		t.Fatalf("%d clients after %d compactions under load, want %d", got, n, writers*each)
	}
	if n < 2 {
		t.Fatalf("only %d compactions ran during the load", n)
	}
}

// TestCompactAfterCrash: a half-written compaction file left by a crash
// does not stop the store, and the next compaction replaces it.
func TestCompactAfterCrash(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	s, err := Open(path, &Options{SweepInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.CreateClient(ctx, &oauth.Client{ID: "keep", IssuedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := os.WriteFile(path+compactSuffix, []byte("half a bbolt file"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err = Open(path, &Options{SweepInterval: -1})
	if err != nil {
		t.Fatalf("open with a stray compaction file: %v", err)
	}
	defer s.Close()
	if err := s.Compact(); err != nil {
		t.Fatalf("compact over a stray compaction file: %v", err)
	}
	if _, err := s.GetClient(ctx, "keep"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path + compactSuffix); !os.IsNotExist(err) {
		t.Fatalf("stray compaction file still there: %v", err)
	}
}

// TestPeriodicCompaction: records a flood left expire, the periodic sweep
// removes them, and the file shrinks by itself.
func TestPeriodicCompaction(t *testing.T) {
	clock := storetest.NewClock(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
	path := filepath.Join(t.TempDir(), "store.db")
	s, err := Open(path, &Options{Now: clock.Now, SweepInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	floodPending(t, s, 2000, clock.Now())
	inflated := fileSize(t, path)
	clock.Advance(10 * time.Minute)
	deadline := time.Now().Add(10 * time.Second)
	for fileSize(t, path) >= inflated/4 {
		if time.Now().After(deadline) {
			st, _ := s.Stats()
			t.Fatalf("file still %d bytes (was %d): %+v", fileSize(t, path), inflated, st)
		}
		time.Sleep(10 * time.Millisecond)
	}
	st, err := s.Stats()
	if err != nil || st.Records["pending"] != 0 {
		t.Fatalf("stats after the sweep: %+v, %v", st, err)
	}
}

// TestCompactionThresholds: a file below CompactMinBytes, or with less
// free space than CompactRatio, is left alone; a negative ratio turns the
// automatic compaction off.
func TestCompactionThresholds(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	inflate := func(t *testing.T) (string, int64) {
		path := filepath.Join(t.TempDir(), "store.db")
		s, err := Open(path, &Options{SweepInterval: -1, CompactRatio: -1})
		if err != nil {
			t.Fatal(err)
		}
		dropAll(t, s, floodPending(t, s, 2000, now))
		s.Close()
		return path, fileSize(t, path)
	}
	for _, c := range []struct {
		name   string
		opts   Options
		shrink bool
	}{
		{"default", Options{}, true},
		{"off", Options{CompactRatio: -1}, false},
		{"ratio not reached", Options{CompactRatio: 0.9999}, false},
		{"file too small", Options{CompactMinBytes: 1 << 30}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			path, inflated := inflate(t)
			c.opts.SweepInterval = -1
			s, err := Open(path, &c.opts)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if shrunk := fileSize(t, path) < inflated; shrunk != c.shrink {
				t.Fatalf("file %d bytes after open, was %d; want shrunk %v", fileSize(t, path), inflated, c.shrink)
			}
		})
	}
}

// TestStatsWhileTheFileGrows: Stats may be called (by /metrics, by an
// admin) while writes grow and remap the file; it reads the file's
// layout only inside a transaction, so the two never race.
func TestStatsWhileTheFileGrows(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	s, err := Open(filepath.Join(t.TempDir(), "store.db"), &Options{SweepInterval: -1, CompactRatio: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	done := make(chan error, 1)
	go func() {
		var err error
		for i := 0; i < 8 && err == nil; i++ {
			_, err = storePending(s, 500, now)
		}
		done <- err
	}()
	for {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			st, err := s.Stats()
			if err != nil || st.Records["pending"] != 500 || st.FileBytes < 1<<20 {
				t.Fatalf("stats after the writes: %+v, %v", st, err)
			}
			return
		default:
		}
		if _, err := s.Stats(); err != nil {
			t.Fatal(err)
		}
	}
}

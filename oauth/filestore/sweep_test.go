package filestore

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/mcp-oauth-gateway/gateway/oauth"
	"github.com/mcp-oauth-gateway/gateway/oauth/storetest"
)

// records counts the entries of every bucket but meta.
func records(t *testing.T, s *Store) map[string]int {
	t.Helper()
	n := map[string]int{}
	err := s.view("test read", "", func(tx *bolt.Tx) error {
		for _, name := range allBuckets {
			if string(name) == string(bMeta) {
				continue
			}
			if c := tx.Bucket(name).Stats().KeyN; c > 0 {
				n[string(name)] = c
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func fill(t *testing.T, s *Store, now time.Time) {
	t.Helper()
	ctx := context.Background()
	exp := now.Add(time.Minute)
	for _, err := range []error{
		s.CreateClient(ctx, &oauth.Client{ID: "c1", IssuedAt: now, ExpiresAt: exp}),
		s.PutPending(ctx, "p1", &oauth.PendingAuthorization{ClientID: "c1", CreatedAt: now, ExpiresAt: exp}),
		s.PutCode(ctx, "h:code", &oauth.Grant{ClientID: "c1", FamilyID: "f1", IssuedAt: now, ExpiresAt: exp}),
		s.IssueRefresh(ctx, "h:rt", &oauth.RefreshToken{ClientID: "c1", FamilyID: "f1", IssuedAt: now, ExpiresAt: exp}),
		s.RevokeToken(ctx, "c1", "jti", exp),
		s.PutDevice(ctx, "h:dev", "UC", &oauth.DeviceAuthorization{ClientID: "c1", IssuedAt: now, ExpiresAt: exp}),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.AllowAll(ctx, []oauth.Quota{{Key: "ip", Limit: 5, Window: time.Minute}}); err != nil {
		t.Fatal(err)
	}
}

func TestSweepRemovesExpired(t *testing.T) {
	clock := storetest.NewClock(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
	s, err := Open(filepath.Join(t.TempDir(), "store.db"), &Options{Now: clock.Now, SweepInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	fill(t, s, clock.Now())
	all := records(t, s)
	if len(all) != 8 { // quotas are counted in memory, not in the file
		t.Fatalf("buckets with records %v, want 8", all)
	}
	if err := s.Sweep(); err != nil {
		t.Fatal(err)
	}
	if got := records(t, s); len(got) != len(all) {
		t.Fatalf("sweep before expiry removed records: %v", got)
	}
	// Codes and device authorizations are kept UsedCodeRetention longer.
	clock.Advance(time.Minute)
	if err := s.Sweep(); err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"codes": 1, "devices": 1, "usercodes": 1}
	if got := records(t, s); len(got) != len(want) || got["codes"] != 1 || got["devices"] != 1 || got["usercodes"] != 1 {
		t.Fatalf("after expiry: %v, want %v", got, want)
	}
	clock.Advance(oauth.UsedCodeRetention)
	if err := s.Sweep(); err != nil {
		t.Fatal(err)
	}
	if got := records(t, s); len(got) != 0 {
		t.Fatalf("after retention: %v, want none", got)
	}
}

func TestPeriodicSweep(t *testing.T) {
	clock := storetest.NewClock(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
	s, err := Open(filepath.Join(t.TempDir(), "store.db"), &Options{Now: clock.Now, SweepInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	fill(t, s, clock.Now())
	clock.Advance(time.Minute + oauth.UsedCodeRetention)
	deadline := time.Now().Add(2 * time.Second)
	for len(records(t, s)) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("periodic sweep left %v", records(t, s))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

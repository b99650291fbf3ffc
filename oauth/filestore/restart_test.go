package filestore_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/mcp-oauth-gateway/gateway/oauth"
	"github.com/mcp-oauth-gateway/gateway/oauth/filestore"
	"github.com/mcp-oauth-gateway/gateway/oauth/storetest"
)

func open(t *testing.T, path string, clock *storetest.Clock) *filestore.Store {
	t.Helper()
	s, err := filestore.Open(path, &filestore.Options{Now: clock.Now})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// TestRestartKeepsState is what a restarted server relies on: clients,
// keys, refresh tokens (still rotating), revocations and device
// authorizations are all there after close and reopen.
func TestRestartKeepsState(t *testing.T) {
	ctx := context.Background()
	clock := storetest.NewClock(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
	path := filepath.Join(t.TempDir(), "store.db")
	now := clock.Now()

	s := open(t, path, clock)
	client := &oauth.Client{ID: "c1", SecretHash: "h:secret", IssuedAt: now,
		Metadata: oauth.ClientMetadata{RedirectURIs: []string{"https://app.example/cb"}}}
	key := &oauth.SigningKey{ID: "k1", Algorithm: "RS256", PrivateJWK: []byte(`{"kty":"RSA"}`), CreatedAt: now}
	rt := &oauth.RefreshToken{FamilyID: "fam1", ClientID: "c1", User: oauth.Identity{Subject: "42"},
		IssuedAt: now, ExpiresAt: now.Add(30 * 24 * time.Hour)}
	must(t, s.CreateClient(ctx, client))
	must(t, s.AddKey(ctx, key, ""))
	must(t, s.IssueRefresh(ctx, "h:rt1", rt))
	must(t, s.RevokeToken(ctx, "c1", "jti-1", now.Add(time.Hour)))
	must(t, s.PutDevice(ctx, "h:dev", "UC-1", &oauth.DeviceAuthorization{ClientID: "c1", Interval: 5 * time.Second,
		IssuedAt: now, ExpiresAt: now.Add(10 * time.Minute)}))
	must(t, s.Close())

	s = open(t, path, clock)
	got, err := s.GetClient(ctx, "c1")
	must(t, err)
	if got.SecretHash != "h:secret" || got.Metadata.RedirectURIs[0] != "https://app.example/cb" {
		t.Fatalf("client after restart: %+v", got)
	}
	keys, err := s.ListKeys(ctx)
	must(t, err)
	if len(keys) != 1 || keys[0].ID != "k1" || !bytes.Equal(keys[0].PrivateJWK, key.PrivateJWK) {
		t.Fatalf("keys after restart: %+v", keys)
	}
	revoked, err := s.IsRevoked(ctx, oauth.AccessTokenRef{ClientID: "c1", JTI: "jti-1", IssuedAt: now})
	must(t, err)
	if !revoked {
		t.Fatal("revocation lost in the restart")
	}
	if _, err := s.GetDevice(ctx, "UC-1"); err != nil {
		t.Fatalf("device authorization lost in the restart: %v", err)
	}
	next := *rt
	res, err := s.RotateRefresh(ctx, &oauth.Rotation{ClientID: "c1", OldHash: "h:rt1", NewHash: "h:rt2", New: &next,
		GraceUntil: now.Add(time.Minute), RevokeUntil: now.Add(time.Hour)})
	must(t, err)
	if res.Outcome != oauth.Rotated {
		t.Fatalf("refresh token issued before the restart: outcome %v", res.Outcome)
	}
	must(t, s.Close())

	// The rotation itself survives the next restart: a replay after the
	// grace is still detected.
	s = open(t, path, clock)
	clock.Advance(time.Minute)
	res, err = s.RotateRefresh(ctx, &oauth.Rotation{ClientID: "c1", OldHash: "h:rt1", NewHash: "h:rt3", New: &next,
		RevokeUntil: clock.Now().Add(time.Hour)})
	must(t, err)
	if res.Outcome != oauth.Reuse {
		t.Fatalf("replay after restart: outcome %v, want reuse", res.Outcome)
	}
}

func TestFileIsPrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	s := open(t, path, storetest.NewClock(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)))
	must(t, s.Close())
	fi, err := os.Stat(path)
	must(t, err)
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("new store file mode %v, want 0600", fi.Mode().Perm())
	}

	// A file left world-readable by an older setup is made private.
	must(t, os.Chmod(path, 0o644))
	s = open(t, path, storetest.NewClock(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)))
	must(t, s.Close())
	fi, err = os.Stat(path)
	must(t, err)
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("reopened store file mode %v, want 0600", fi.Mode().Perm())
	}
}

func TestLockedFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	open(t, path, storetest.NewClock(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)))
	start := time.Now()
	s, err := filestore.Open(path, &filestore.Options{LockTimeout: 100 * time.Millisecond})
	if err == nil {
		s.Close()
		t.Fatal("a second Open of a file in use succeeded")
	}
	if !strings.Contains(err.Error(), "locked by another process") || !strings.Contains(err.Error(), path) {
		t.Fatalf("error %q does not say the file is locked", err)
	}
	if waited := time.Since(start); waited > 5*time.Second {
		t.Fatalf("Open waited %v with a 100ms lock timeout", waited)
	}
}

// TestLockedByAnotherProcess holds the file open in a child process, as a
// second server started by mistake would.
func TestLockedByAnotherProcess(t *testing.T) {
	if path := os.Getenv("FILESTORE_HOLD"); path != "" {
		s, err := filestore.Open(path, nil)
		if err != nil {
			fmt.Println("child:", err)
			os.Exit(1)
		}
		defer s.Close()
		fmt.Println("holding")
		_, _ = io.Copy(io.Discard, os.Stdin) // until the parent closes stdin
		return
	}
	path := filepath.Join(t.TempDir(), "store.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockedByAnotherProcess$")
	cmd.Env = append(os.Environ(), "FILESTORE_HOLD="+path)
	stdin, err := cmd.StdinPipe()
	must(t, err)
	stdout, err := cmd.StdoutPipe()
	must(t, err)
	must(t, cmd.Start())
	defer func() {
		stdin.Close()
		_ = cmd.Wait()
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "holding\n" {
		t.Fatalf("child: %q, %v", line, err)
	}
	s, err := filestore.Open(path, &filestore.Options{LockTimeout: 200 * time.Millisecond})
	if err == nil {
		s.Close()
		t.Fatal("Open of a file another process holds succeeded")
	}
	if !strings.Contains(err.Error(), "locked by another process") {
		t.Fatalf("error %q does not say the file is locked", err)
	}
	// Once the other process is gone, the file opens.
	stdin.Close()
	must(t, cmd.Wait())
	s, err = filestore.Open(path, &filestore.Options{LockTimeout: time.Second})
	must(t, err)
	must(t, s.Close())
}

func TestCorruptFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	garbage := bytes.Repeat([]byte("not a bbolt file "), 1024)
	must(t, os.WriteFile(path, garbage, 0o600))
	s, err := filestore.Open(path, &filestore.Options{LockTimeout: 100 * time.Millisecond})
	if err == nil {
		s.Close()
		t.Fatal("Open accepted a file that is not a store")
	}
	if !strings.Contains(err.Error(), "corrupt") {
		t.Fatalf("error %q does not say the file is corrupt", err)
	}
	after, err := os.ReadFile(path)
	must(t, err)
	if !bytes.Equal(after, garbage) {
		t.Fatal("Open changed a file it refused")
	}
}

// TestDamagedPages damages the file page by page: every open and every
// operation either works or fails with an error; none panics.
func TestDamagedPages(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	base := filepath.Join(dir, "base.db")
	s, err := filestore.Open(base, nil)
	must(t, err)
	for i := range 200 {
		must(t, s.CreateClient(ctx, &oauth.Client{ID: fmt.Sprint("c", i), IssuedAt: time.Now(),
			Metadata: oauth.ClientMetadata{ClientName: "client"}}))
	}
	must(t, s.Close())
	orig, err := os.ReadFile(base)
	must(t, err)
	failures := 0
	for off := 0; off < len(orig); off += 4096 {
		data := bytes.Clone(orig)
		for j := off; j < min(off+64, len(data)); j++ {
			data[j] ^= 0x5a
		}
		path := filepath.Join(dir, fmt.Sprintf("damaged-%d.db", off))
		must(t, os.WriteFile(path, data, 0o600))
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("page at %d damaged: panic: %v", off, r)
				}
			}()
			s, err := filestore.Open(path, &filestore.Options{LockTimeout: 50 * time.Millisecond})
			if err != nil {
				failures++
				return
			}
			defer s.Close()
			_, err1 := s.GetClient(ctx, "c5")
			_, err2 := s.ListKeys(ctx)
			err3 := s.Sweep()
			for _, err := range []error{err1, err2, err3} {
				if err != nil {
					failures++
					if !strings.Contains(err.Error(), "corrupt") {
						t.Errorf("page at %d damaged: error %q does not say so", off, err)
					}
				}
			}
		}()
	}
	if failures == 0 {
		t.Fatal("no damage was noticed at all")
	}
}

func TestMissingDirectory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "no", "such", "dir", "store.db")
	_, err := filestore.Open(path, nil)
	if err == nil || !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), path) {
		t.Fatalf("Open in a missing directory: %v", err)
	}
}

func TestCloseEndsFeeds(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "store.db"), storetest.NewClock(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)))
	ch, err := s.SubscribeRevocations(context.Background())
	must(t, err)
	must(t, s.Close())
	select {
	case _, ok := <-ch:
		if ok {
			t.Fatal("feed delivered an event after Close")
		}
	case <-time.After(time.Second):
		t.Fatal("feed still open after Close")
	}
	must(t, s.Close()) // idempotent
}

func TestCancelledContext(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "store.db"), storetest.NewClock(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.GetClient(ctx, "c1"); !errors.Is(err, context.Canceled) {
		t.Fatalf("GetClient with a cancelled context: %v", err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestLegacyRecords: a store file written before oauth.Identity and
// oauth.User were one type still reads after an upgrade.
func TestLegacyRecords(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	s, err := filestore.Open(path, nil)
	must(t, err)
	defer s.Close()
	storetest.LegacyRecords(t, s, func(t *testing.T, edit func([]byte) []byte) oauth.Store {
		// Edit the file itself, with the store closed, as an older
		// version would have left it.
		must(t, s.Close())
		db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second})
		must(t, err)
		must(t, db.Update(func(tx *bolt.Tx) error {
			return tx.ForEach(func(_ []byte, b *bolt.Bucket) error {
				type change struct{ k, v []byte }
				var changes []change
				err := b.ForEach(func(k, v []byte) error {
					if len(v) > 8 {
						if js := edit(v[8:]); js != nil {
							changes = append(changes, change{bytes.Clone(k), append(bytes.Clone(v[:8]), js...)})
						}
					}
					return nil
				})
				for _, c := range changes {
					if err == nil {
						err = b.Put(c.k, c.v)
					}
				}
				return err
			})
		}))
		must(t, db.Close())
		if s, err = filestore.Open(path, nil); err != nil {
			t.Fatal(err)
		}
		return s
	})
}

package admincmd

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mcp-oauth-gateway/gateway/internal/cli"
	"github.com/mcp-oauth-gateway/gateway/oauth"
)

func TestParseRefusesBadCommandLines(t *testing.T) {
	for _, args := range [][]string{nil, {"nope"}, {"clients", "x"}, {"client"}, {"grants", "--nope"}, {"grants", "extra"},
		{"revoke"}, {"revoke", "--family", "f"}, {"revoke", "--family", "f", "--client", "c", "--user", "u"}, {"trace", "a", "b"}, {"backup"}} {
		if _, err := parse(args); cli.Status(err) != 2 {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
	for _, args := range [][]string{{"clients"}, {"grants", "--client", "c"}, {"revoke", "--user", "u"}, {"revoke", "--client", "c", "--family", "f"}, {"trace"}, {"backup", "-"}} {
		if _, err := parse(args); err != nil {
			t.Errorf("%v: %v", args, err)
		}
	}
}

// TestBackupRestore: a backup restores into another store, keys included
// (and not twice), and something that is not a backup is refused.
func TestBackupRestore(t *testing.T) {
	ctx := context.Background()
	src := oauth.NewMemoryStore(nil)
	defer src.Close()
	idp, _ := oauth.NewDevLogin(nil)
	if _, err := oauth.NewServer(ctx, "http://127.0.0.1:8000", src, idp, &oauth.Options{Logger: quiet()}); err != nil { // creates a signing key
		t.Fatal(err)
	}
	now := time.Now()
	if err := src.CreateClient(ctx, &oauth.Client{ID: "c1", IssuedAt: now, Metadata: oauth.ClientMetadata{ClientName: "one"}}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "b.json")
	var out bytes.Buffer
	r := &runner{s: src, stdout: &out, now: time.Now, revokeFor: time.Hour}
	if err := r.run(ctx, []string{"backup", path}); err != nil {
		t.Fatal(err)
	}
	dst := oauth.NewMemoryStore(nil)
	defer dst.Close()
	r2 := &runner{s: dst, stdout: &out, now: time.Now, revokeFor: time.Hour}
	for range 2 {
		out.Reset()
		if err := r2.run(ctx, []string{"restore", path}); err != nil {
			t.Fatal(err)
		}
	}
	if !strings.Contains(out.String(), "restored 1 clients, 0 refresh tokens, 0 revocations, 0 signing keys (1 already there)") {
		t.Errorf("second restore: %s", out.String())
	}
	keys, _ := dst.ListKeys(ctx)
	if c, err := dst.GetClient(ctx, "c1"); err != nil || c.Metadata.ClientName != "one" || len(keys) != 1 {
		t.Fatalf("restored %v %v, %d keys", c, err, len(keys))
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	doc, _ := json.Marshal(map[string]any{"format": "something-else", "version": 1})
	os.WriteFile(bad, doc, 0o600)
	if err := r2.run(ctx, []string{"restore", bad}); err == nil || !strings.Contains(err.Error(), "not a backup of this gateway") {
		t.Errorf("foreign document: %v", err)
	}
}

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

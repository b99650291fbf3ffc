package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/mcp-oauth-gateway/gateway/internal/testenv"
)

// TestAdmin: the admin subcommand of mcp-oauth-server lists the clients of
// its running embedded store through the admin socket, traces a client, and
// works on the file once the server stopped.
func TestAdmin(t *testing.T) {
	db := filepath.Join(t.TempDir(), "oauth.db")
	s := start(t, testenv.Port(t), "--dev-user", "robot", "--store", db)
	reg, _ := login(t, s.issuer, "https://mcp.example.com/mcp")
	id := reg["client_id"].(string)
	admin := func(args ...string) string {
		t.Helper()
		out, err := command(t, nil, append([]string{"admin", "--store", db}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("admin %v: %v: %s", args, err, out)
		}
		return string(out)
	}
	if out := admin("clients"); !strings.Contains(out, id) || !strings.Contains(out, "1 clients") {
		t.Fatalf("clients while running: %s", out)
	}
	if out := admin("trace", id); !strings.Contains(out, "code exchanged for tokens") || !strings.Contains(out, "ok (user dev:robot)") {
		t.Fatalf("trace: %s", out)
	}
	s.stop(t)
	if out := admin("grants", "--client", id); !strings.Contains(out, "1 grants") {
		t.Fatalf("grants after the stop: %s", out)
	}
}

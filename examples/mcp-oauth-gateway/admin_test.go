package main

import (
	"bytes"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/mcp-oauth-gateway/gateway/internal/redistest"
	"github.com/mcp-oauth-gateway/gateway/oauth/filestore"
)

// admin runs "mcp-oauth-gateway admin args..." and returns its output and
// exit status.
func admin(t *testing.T, env []string, args ...string) (string, int) {
	t.Helper()
	cmd := command(t, env, append([]string{"admin"}, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), code
}

func mustAdmin(t *testing.T, args ...string) string {
	t.Helper()
	out, code := admin(t, nil, args...)
	if code != 0 {
		t.Fatalf("admin %v: status %d: %s", args, code, out)
	}
	return out
}

// statusAt is the status of a ping with the client's token at url.
func statusAt(t *testing.T, c *client, u string) int {
	_, _, status := (&mcp{c: c, url: u}).try("ping", nil)
	return status
}

// TestAdminCommands: the admin subcommands on the embedded file while the
// gateway runs (through its admin socket) and while it does not, a
// backup moved from the file to Redis and back with the clients and their
// refresh tokens still working, and the connection trace of a client
// without a secret in it.
func TestAdminCommands(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "oauth.db")
	g := start(t, nil, "--dev-user", "robot", "--store", db)
	svc := g.base + "/echo-stateless/mcp"
	keeper, gone := newClient(t), newClient(t)
	keeper.login(svc, true)
	gone.login(svc, false)
	if _, isErr := (&mcp{c: keeper, url: svc}).callTool("echo", map[string]any{"message": "x"}); isErr {
		t.Fatal("echo failed")
	}
	keeper.refreshTokens()

	// While the gateway runs: the file is locked, the socket answers.
	out := mustAdmin(t, "--store", db, "clients")
	if !strings.Contains(out, keeper.clientID) || !strings.Contains(out, gone.clientID) || !strings.Contains(out, "2 clients") {
		t.Fatalf("clients: %s", out)
	}
	out = mustAdmin(t, "--store", db, "grants", "--user", "robot")
	if !strings.Contains(out, "2 grants") || !strings.Contains(out, "robot (dev:robot)") {
		t.Fatalf("grants: %s", out)
	}
	out = mustAdmin(t, "--store", db, "client", keeper.clientID)
	if !strings.Contains(out, "client_secret_post") || !regexp.MustCompile(`grants +1\n`).MatchString(out) {
		t.Fatalf("client: %s", out)
	}
	out = mustAdmin(t, "--store", db, "trace", keeper.clientID)
	for _, want := range []string{"registration (RFC 7591)", "authorization request", "code exchanged for tokens", "refresh",
		"first MCP request with a good token", "recent unattributed discovery from the same address and user agent", "resource_metadata " + svc} {
		if !strings.Contains(out, want) {
			t.Errorf("trace lacks %q:\n%s", want, out)
		}
	}
	for what, secret := range map[string]string{"access token": keeper.access, "refresh token": keeper.refresh, "code": keeper.code,
		"client secret": keeper.clientSecret, "registration token": keeper.registrationAccessToken, "verifier": keeper.verifier} {
		if strings.Contains(out, secret) {
			t.Errorf("the trace holds the %s", what)
		}
	}
	if out, code := admin(t, nil, "--store", db, "trace", "--json", keeper.clientID); code != 2 || !strings.Contains(out, "one client id") {
		t.Errorf("a flag after the command: %d %s", code, out)
	}

	// Revoking a client reaches the running gateway.
	mustAdmin(t, "--store", db, "revoke", "--client", gone.clientID)
	waitFor(t, "the revoked client's token to be refused", func() bool { return statusAt(t, gone, svc) == 401 })
	if statusAt(t, keeper, svc) != 200 {
		t.Fatal("the other client's token stopped working")
	}

	// A backup through the socket, written here, private.
	b1 := filepath.Join(dir, "b1.json")
	mustAdmin(t, "--store", db, "backup", b1)
	if fi, err := os.Stat(b1); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("backup file: %v %v", fi, err)
	}
	g.stop(t)
	if out := mustAdmin(t, "--store", db, "counts"); !regexp.MustCompile(`clients +2\n`).MatchString(out) || !regexp.MustCompile(`signing keys +1\n`).MatchString(out) {
		t.Fatalf("counts without the gateway: %s", out)
	}

	// File -> Redis: the gateway on Redis knows the clients, and the
	// refresh token rotates there.
	rs := redistest.Start(t)
	if out := mustAdmin(t, "--store", rs.URL, "restore", b1); !strings.Contains(out, "restored 2 clients") {
		t.Fatalf("restore into Redis: %s", out)
	}
	g = startOn(t, g.port, nil, "--dev-user", "robot", "--store", rs.URL)
	keeper.refreshTokens()
	if statusAt(t, keeper, svc) != 200 {
		t.Fatal("the restored client's new token does not work on Redis")
	}
	if statusAt(t, gone, svc) != 401 {
		t.Fatal("the revocation did not come along")
	}
	b2 := filepath.Join(dir, "b2.json")
	mustAdmin(t, "--store", rs.URL, "backup", b2)
	g.stop(t)

	// Redis -> a new file: the same again.
	db2 := filepath.Join(dir, "second", "oauth.db")
	if out := mustAdmin(t, "--store", db2, "restore", b2); !strings.Contains(out, "restored 2 clients") {
		t.Fatalf("restore into a new file: %s", out)
	}
	g = startOn(t, g.port, nil, "--dev-user", "robot", "--store", db2)
	keeper.refreshTokens()
	if statusAt(t, keeper, svc) != 200 {
		t.Fatal("the client's token does not work after the round trip")
	}
	mustAdmin(t, "--store", db2, "delete-client", keeper.clientID)
	waitFor(t, "the deleted client's token to be refused", func() bool { return statusAt(t, keeper, svc) == 401 })
	resp, err := http.PostForm(g.base+"/token", map[string][]string{"grant_type": {"refresh_token"}, "refresh_token": {keeper.refresh},
		"client_id": {keeper.clientID}, "client_secret": {keeper.clientSecret}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 && resp.StatusCode != 400 {
		t.Errorf("refresh of a deleted client: %d", resp.StatusCode)
	}
	g.stop(t)
}

// TestAdminLockedFile: a file another process holds without answering on
// the admin socket is a clear error, and bad commands are usage errors.
func TestAdminLockedFile(t *testing.T) {
	db := filepath.Join(t.TempDir(), "oauth.db")
	s, err := filestore.Open(db, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	out, code := admin(t, nil, "--store", db, "clients")
	if code != 1 || !strings.Contains(out, "locked by another process") || !strings.Contains(out, db+".admin.sock") {
		t.Fatalf("locked file: %d %s", code, out)
	}
	for _, args := range [][]string{{"--store", db}, {"--store", db, "frobnicate"}, {"--store", db, "client"}, {"--store", "memory", "clients"},
		{"--store", db, "revoke"}, {"--store", db, "grants", "--bogus"}} {
		if out, code := admin(t, nil, args...); code != 2 {
			t.Errorf("%v: status %d: %s", args, code, out)
		}
	}
	if out, code := admin(t, nil, "--store", filepath.Join(t.TempDir(), "none.db"), "clients"); code != 1 || !strings.Contains(out, "no store file") {
		t.Errorf("missing file: %d %s", code, out)
	}
	if out, code := admin(t, nil, "--help"); code != 0 || !strings.Contains(out, "trace [CLIENT]") || !strings.Contains(out, "REDIS_URL") {
		t.Errorf("--help: %d %s", code, out)
	}
}

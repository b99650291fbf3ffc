package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcp-oauth-gateway/gateway/internal/authtest"
)

// The tests run the real binary: the test executable re-runs itself as
// mcp-streamablehttp-client when MSC_MAIN is set.
func TestMain(m *testing.M) {
	if os.Getenv("MSC_MAIN") == "1" {
		os.Exit(run(os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// cli runs the binary with args; the browser is curl following the
// redirects to the callback (the authorization server approves at once).
func cli(t *testing.T, creds string, stdin string, args ...string) (string, string, int) {
	t.Helper()
	exe, _ := os.Executable()
	cmd := exec.Command(exe, append([]string{"--credentials-file", creds}, args...)...)
	cmd.Env = []string{"MSC_MAIN=1", "PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "BROWSER=curl -s -L --max-redirs 5 -o /dev/null"}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Stdin = strings.NewReader(stdin)
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

func mustCLI(t *testing.T, creds, stdin string, args ...string) string {
	t.Helper()
	out, errs, code := cli(t, creds, stdin, args...)
	if code != 0 {
		t.Fatalf("%v: exit %d\n%s\n%s", args, code, out, errs)
	}
	return out
}

func storedTokens(t *testing.T, creds string) (clientID, refresh string) {
	t.Helper()
	b, err := os.ReadFile(creds)
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Tokens []struct {
			ClientID     string `json:"client_id"`
			RefreshToken string `json:"refresh_token"`
		} `json:"tokens"`
	}
	if err := json.Unmarshal(b, &f); err != nil || len(f.Tokens) != 1 {
		t.Fatalf("credentials file: %s", b)
	}
	return f.Tokens[0].ClientID, f.Tokens[0].RefreshToken
}

// Against the real mcp-oauth-server and an MCP server behind its /verify:
// the first run logs in, later runs (command line and bridge) reuse the
// stored token, a revoked authorization leads to one fresh login.
func TestEndToEnd(t *testing.T) {
	as := authtest.StartChild(t, nil, "--store", "memory")
	mcp := as.ProtectedMCP(t)
	creds := filepath.Join(t.TempDir(), "credentials.json")

	if out := mustCLI(t, creds, "", "--server-url", mcp, "-c", "echo message=hello"); !strings.Contains(out, "hello") {
		t.Fatalf("first run: %q", out)
	}
	if as.Count("/authorize") != 1 || as.Count("/register") != 1 {
		t.Fatalf("first run: authorize %d, register %d", as.Count("/authorize"), as.Count("/register"))
	}
	if out := mustCLI(t, creds, "", "--server-url", mcp, "-c", "echo bare value"); !strings.Contains(out, "bare value") {
		t.Fatalf("bare value: %q", out)
	}
	if out := mustCLI(t, creds, "", "--server-url", mcp, "--list-tools"); !strings.Contains(out, "NAME") || !strings.Contains(out, "echo") {
		t.Fatalf("list tools: %q", out)
	}
	// The bridge.
	in := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}` + "\n" +
		`{"jsonrpc":"2.0","method":"notifications/initialized"}` + "\n" +
		`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"message":"bridged"}}}` + "\n"
	out := mustCLI(t, creds, in, "--server-url", mcp)
	if !strings.Contains(out, `"id":1`) || !strings.Contains(out, "bridged") {
		t.Fatalf("bridge: %q", out)
	}
	if as.Count("/authorize") != 1 || as.Count("token:refresh_token") != 0 {
		t.Fatalf("later runs: authorize %d, refresh %d", as.Count("/authorize"), as.Count("token:refresh_token"))
	}
	if out := mustCLI(t, creds, "", "--server-url", mcp, "--get-client-info"); !strings.Contains(out, "client_id") || !strings.Contains(out, "mcp-streamablehttp-client") {
		t.Fatalf("client info: %q", out)
	}
	if out := mustCLI(t, creds, "", "--server-url", mcp, "--token"); !strings.Contains(out, "Test call: OK") {
		t.Fatalf("--token: %q", out)
	}

	// Revoke the authorization (its refresh token): the access token is
	// refused within a second, the refresh fails, one fresh login.
	clientID, refresh := storedTokens(t, creds)
	resp, err := http.PostForm(as.Issuer+"/revoke", url.Values{"token": {refresh}, "client_id": {clientID}})
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("revoke: %v %v", resp, err)
	}
	resp.Body.Close()
	time.Sleep(1500 * time.Millisecond)
	if out := mustCLI(t, creds, "", "--server-url", mcp, "-c", `echo {"message":"after revocation"}`); !strings.Contains(out, "after revocation") {
		t.Fatalf("after revocation: %q", out)
	}
	if as.Count("/authorize") != 2 {
		t.Fatalf("after revocation: authorize %d", as.Count("/authorize"))
	}
	if _, _, code := cli(t, creds, "", "--server-url", mcp, "--reset-auth"); code != 0 {
		t.Fatal("reset")
	}
	if b, _ := os.ReadFile(creds); strings.Contains(string(b), `"access_token"`) {
		t.Fatalf("reset left tokens: %s", b)
	}
}

// Short-lived tokens from a server that rotates its signing key: a token
// past half its life is refreshed (the new one signed with the new key),
// and ten bridges started at once all work with exactly one refresh.
func TestRefreshSharedByTenProcesses(t *testing.T) {
	as := authtest.StartChild(t, []string{"ACCESS_TOKEN_LIFETIME=6s"}, "--store", "memory", "--key-rotation", "2s")
	mcp := as.ProtectedMCP(t)
	creds := filepath.Join(t.TempDir(), "credentials.json")
	mustCLI(t, creds, "", "--server-url", mcp, "-c", "echo message=login")
	time.Sleep(3500 * time.Millisecond) // past half the token's life; the key rotated
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			msg := fmt.Sprintf("bridge %d", i)
			if out, errs, code := cli(t, creds, "", "--server-url", mcp, "-c", "echo message='"+msg+"'"); code != 0 || !strings.Contains(out, msg) {
				t.Errorf("run %d: exit %d %q %s", i, code, out, errs)
			}
		}()
	}
	wg.Wait()
	if n := as.Count("token:refresh_token"); n != 1 {
		t.Fatalf("%d refreshes reached the server, want 1", n)
	}
	if as.Count("/authorize") != 1 {
		t.Fatalf("authorize %d", as.Count("/authorize"))
	}
}

// Bad settings exit with status 2 and say which.
func TestBadSettings(t *testing.T) {
	creds := filepath.Join(t.TempDir(), "c.json")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "MCP_SERVER_URL"},
		{[]string{"--server-url", "http://127.0.0.1:1/mcp", "--login", "telepathy"}, "--login"},
		{[]string{"--server-url", "http://127.0.0.1:1/mcp", "--list-tools", "--list-prompts"}, "cannot be combined"},
		{[]string{"--server-url", "http://127.0.0.1:1/mcp", "--header", "nocolon"}, "--header"},
		{[]string{"--server-url", "ftp://x/mcp"}, "not an http"},
	} {
		_, errs, code := cli(t, creds, "", tc.args...)
		if code != 2 || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: exit %d, %q", tc.args, code, errs)
		}
	}
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
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
	"github.com/mcp-oauth-gateway/gateway/internal/cli"
	"github.com/mcp-oauth-gateway/gateway/oauth/mcpauth"
)

// The tests run the real binary: the test executable re-runs itself as
// mcp-streamablehttp-client when MSC_MAIN is set.
func TestMain(m *testing.M) {
	if os.Getenv("MSC_MAIN") == "1" {
		os.Exit(run(os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// clientCmd is the binary with args, its credentials in creds; the
// browser is curl following the redirects to the callback (the
// authorization server approves at once). It is killed if it runs for more
// than two minutes: a login that waits for a page nobody sees.
func clientCmd(t *testing.T, creds string, args ...string) *exec.Cmd {
	t.Helper()
	exe, _ := os.Executable()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, exe, append([]string{"--credentials-file", creds}, args...)...)
	cmd.Env = []string{"MSC_MAIN=1", "PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "BROWSER=curl -s -L --max-redirs 5 -o /dev/null"}
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// runCLI runs the binary with args and stdin; it returns stdout, stderr
// and the exit status.
func runCLI(t *testing.T, creds string, stdin string, args ...string) (string, string, int) {
	t.Helper()
	cmd := clientCmd(t, creds, args...)
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
	out, errs, code := runCLI(t, creds, stdin, args...)
	if code != 0 {
		t.Fatalf("%v: exit %d\n%s\n%s", args, code, out, errs)
	}
	return out
}

// credentials is the credentials file as the tests read it.
type credentials struct {
	Registrations []mcpauth.Registration `json:"registrations"`
	Tokens        []mcpauth.Tokens       `json:"tokens"`
}

func readCredentials(t *testing.T, path string) credentials {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var c credentials
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatalf("credentials file: %v: %s", err, b)
	}
	return c
}

// storedTokens are the tokens of the credentials file, which must hold
// those of one server.
func storedTokens(t *testing.T, path string) mcpauth.Tokens {
	t.Helper()
	c := readCredentials(t, path)
	if len(c.Tokens) != 1 {
		t.Fatalf("credentials file: %d token sets, want 1", len(c.Tokens))
	}
	return c.Tokens[0]
}

// Against the real mcp-oauth-server and an MCP server behind its /verify:
// the first run logs in, later runs (command line and bridge) reuse the
// stored token, a revoked authorization leads to one fresh login.
func TestEndToEnd(t *testing.T) {
	as := authtest.StartChild(t, &authtest.ChildOptions{Args: []string{"--store", "memory"}})
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
	stored := storedTokens(t, creds)
	clientID, refresh := stored.ClientID, stored.RefreshToken
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
	if _, _, code := runCLI(t, creds, "", "--server-url", mcp, "--reset-auth"); code != 0 {
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
	as := authtest.StartChild(t, &authtest.ChildOptions{Env: []string{"ACCESS_TOKEN_LIFETIME=6s"}, Args: []string{"--store", "memory", "--key-rotation", "2s"}})
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
			if out, errs, code := runCLI(t, creds, "", "--server-url", mcp, "-c", "echo message='"+msg+"'"); code != 0 || !strings.Contains(out, msg) {
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

// Settings come from flags, then the environment, then --env-file; a
// bad one exits with status 2 naming where it came from. (The bad inputs
// every binary shares are in internal/cli/binaries_test.go.)
func TestSettings(t *testing.T) {
	dir := t.TempDir()
	envFile := filepath.Join(dir, "client.env")
	os.WriteFile(envFile, []byte("# settings\nexport MCP_SERVER_URL=\"https://file.example/mcp\"\nMCP_CLIENT_ID='from-file'\nLOG_LEVEL=debug\n"), 0o600)
	badFile := filepath.Join(dir, "bad.env")
	os.WriteFile(badFile, []byte("MCP_SERVER_URL=https://file.example/mcp\nMCP_CLIENT_LOGIN=telepathy\n"), 0o600)
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	for _, tc := range []struct {
		name    string
		args    []string
		env     func(string) string
		check   func(*config) bool
		wantErr string
	}{
		{"no server URL", nil, env(), nil, "the server URL is missing: pass --server-url / MCP_SERVER_URL"},
		{"env file", []string{"--env-file", envFile}, env(), func(c *config) bool {
			return c.serverURL == "https://file.example/mcp" && c.clientID == "from-file" && c.logLevel == slog.LevelDebug
		}, ""},
		{"environment over the file, flag over both", []string{"--env-file=" + envFile, "--client-id", "from-flag"},
			env("MCP_SERVER_URL", "https://env.example/mcp", "MCP_CLIENT_ID", "from-env"), func(c *config) bool {
				return c.serverURL == "https://env.example/mcp" && c.clientID == "from-flag"
			}, ""},
		{"a bad value in the file", []string{"--env-file", badFile}, env(), nil, "(from MCP_CLIENT_LOGIN in " + badFile + "): want auto, browser, device or paste"},
		{"Python's short flags", []string{"--server-url", "http://127.0.0.1:1/mcp", "-c", "echo message=hi", "--json"}, env(), func(c *config) bool {
			return c.action == "command" && c.command == "echo message=hi" && c.json
		}, ""},
		{"headers", []string{"--server-url", "http://127.0.0.1:1/mcp", "--header", "X-Api-Key: k1", "--header", "X-Trace:a,b", "-t"}, env(), func(c *config) bool {
			return c.header.Get("X-Api-Key") == "k1" && c.header.Get("X-Trace") == "a,b" && c.action == "token"
		}, ""},
		{"update-client", []string{"--server-url", "http://127.0.0.1:1/mcp", "--update-client", "client_name=New name,redirect_uris=http://127.0.0.1:1/a|http://127.0.0.1:2/b,contacts=[\"ops@example.com\"]"}, env(), func(c *config) bool {
			uris, _ := c.updates["redirect_uris"].([]string)
			contacts, _ := c.updates["contacts"].([]any)
			return c.updates["client_name"] == "New name" && len(uris) == 2 && uris[1] == "http://127.0.0.1:2/b" && len(contacts) == 1
		}, ""},
		{"client secret never shown", []string{"--server-url", "http://127.0.0.1:1/mcp", "--client-secret", "s3cr3t-value"}, env(), nil, "a client secret needs --client-id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var help bytes.Buffer
			c, err := parseConfig(tc.args, tc.env, &help)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || cli.Status(err) != 2 || strings.Contains(err.Error(), "s3cr3t") {
					t.Fatalf("err %v, want %q (status 2)", err, tc.wantErr)
				}
				return
			}
			if err != nil || !tc.check(c) {
				t.Fatalf("%v: %+v", err, c)
			}
		})
	}
}

// BROWSER is a list of commands split by ':', each split into words with
// quotes as a shell would; %s stands for the URL, else it is appended.
func TestBrowserVariable(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "opened")
	for _, tc := range []struct{ browser, want string }{
		{"sh -c 'echo \"first $0\" > " + out + "'", "first https://as.example/authorize?a=1&b=2"},
		{"no-such-browser:sh -c 'echo \"second %s\" > " + out + "'", "second https://as.example/authorize?a=1&b=2"},
	} {
		os.Remove(out)
		open := opener(func(k string) string {
			if k == "BROWSER" {
				return tc.browser
			}
			return ""
		})
		if err := open("https://as.example/authorize?a=1&b=2"); err != nil {
			t.Fatalf("%s: %v", tc.browser, err)
		}
		var got []byte
		waitUntil := time.Now().Add(10 * time.Second)
		for time.Now().Before(waitUntil) {
			if got, _ = os.ReadFile(out); len(got) > 0 {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if strings.TrimSpace(string(got)) != tc.want {
			t.Errorf("%s: opened %q, want %q", tc.browser, got, tc.want)
		}
	}
}

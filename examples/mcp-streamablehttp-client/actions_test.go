package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/mcp-oauth-gateway/gateway/internal/authtest"
	"github.com/mcp-oauth-gateway/gateway/internal/testenv"
)

// Every action's --json output is one JSON object on stdout, also when
// the action fails; the registration management actions change the
// registration at the server.
func TestEveryActionWithJSON(t *testing.T) {
	as := authtest.StartChild(t, &authtest.ChildOptions{Args: []string{"--store", "memory"}})
	mcp := as.ProtectedMCP(t)
	creds := filepath.Join(t.TempDir(), "credentials.json")
	for _, tc := range []struct {
		args []string
		code int
		want func(m map[string]any) bool
	}{
		{[]string{"--token"}, 0, func(m map[string]any) bool {
			return m["test_call"] == "ok" && m["refreshable"] == true && m["server_name"] == "echo"
		}},
		{[]string{"--test-auth"}, 0, func(m map[string]any) bool { return m["authenticated"] == true }},
		{[]string{"-c", "echo message=json"}, 0, func(m map[string]any) bool { return strings.Contains(fmt.Sprint(m["content"]), "json") }},
		{[]string{"-c", "no-such-tool"}, 1, func(m map[string]any) bool { return strings.Contains(fmt.Sprint(m["error"]), "no-such-tool") }},
		{[]string{"--raw", `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}`}, 0, func(m map[string]any) bool { return m["result"] != nil }},
		{[]string{"--raw", `{"method":"no/such/method"}`}, 1, func(m map[string]any) bool { e, _ := m["error"].(map[string]any); return e["code"] != nil }},
		{[]string{"--list-tools"}, 0, func(m map[string]any) bool { tools, _ := m["tools"].([]any); return len(tools) > 3 }},
		{[]string{"--list-resources"}, 0, func(m map[string]any) bool { _, ok := m["resources"]; return ok }},
		{[]string{"--list-prompts"}, 0, func(m map[string]any) bool { _, ok := m["prompts"]; return ok }},
		{[]string{"--update-client", "client_name=Renamed client,contacts=[\"ops@example.com\"]"}, 0, func(m map[string]any) bool {
			return m["client_name"] == "Renamed client" && fmt.Sprint(m["contacts"]) == "[ops@example.com]"
		}},
		{[]string{"--get-client-info"}, 0, func(m map[string]any) bool {
			return m["client_name"] == "Renamed client" && m["issuer"] == as.Issuer && strings.HasPrefix(fmt.Sprint(m["registration_client_uri"]), as.Issuer+"/register/")
		}},
		{[]string{"--delete-client"}, 0, func(m map[string]any) bool { return m["deleted"] == true }},
		{[]string{"--get-client-info"}, 1, func(m map[string]any) bool { return strings.Contains(fmt.Sprint(m["error"]), "no stored registration") }},
		{[]string{"--reset-auth"}, 0, func(m map[string]any) bool { return m["reset"] == true }},
	} {
		out, errs, code := runCLI(t, creds, "", append([]string{"--server-url", mcp, "--json"}, tc.args...)...)
		var m map[string]any
		dec := json.NewDecoder(strings.NewReader(out))
		if err := dec.Decode(&m); err != nil || dec.More() || code != tc.code || !tc.want(m) {
			t.Errorf("%v: exit %d (want %d), stdout %q (%v)\nstderr: %s", tc.args, code, tc.code, out, err, errs)
		}
	}
	// The deleted registration is gone at the server too: the next login
	// registers again.
	registrations := as.Count("/register")
	mustCLI(t, creds, "", "--server-url", mcp, "-c", "echo message=again")
	if as.Count("/register") != registrations+1 {
		t.Fatalf("registrations %d, want %d", as.Count("/register"), registrations+1)
	}
}

// --header adds a header to every request to the MCP server (the echo
// server's printHeader tool shows what it received).
func TestHeaderFlag(t *testing.T) {
	as := authtest.StartChild(t, &authtest.ChildOptions{Args: []string{"--store", "memory"}})
	mcp := as.ProtectedMCP(t)
	creds := filepath.Join(t.TempDir(), "credentials.json")
	out := mustCLI(t, creds, "", "--server-url", mcp, "--header", "X-Deployment: blue", "--header", "X-Team:platform", "-c", "printHeader")
	if !strings.Contains(out, "x-deployment: blue") || !strings.Contains(out, "x-team: platform") {
		t.Fatalf("printHeader: %s", out)
	}

	// An Authorization header of one's own (as mcp-remote users pass a
	// token) is sent as it is, and OAuth stays out: nothing registered,
	// nothing stored, the token in no log.
	token := storedTokens(t, creds).AccessToken
	registrations, authorizations := as.Count("/register"), as.Count("/authorize")
	static := filepath.Join(t.TempDir(), "credentials.json")
	stdout, errs, code := runCLI(t, static, "", "--server-url", mcp, "--log-level", "debug", "--header", "Authorization: Bearer "+token, "-c", "echo message=static")
	if code != 0 || !strings.Contains(stdout, "static") || strings.Contains(errs, token) {
		t.Fatalf("static token: exit %d %q\n%s", code, stdout, errs)
	}
	if as.Count("/register") != registrations || as.Count("/authorize") != authorizations {
		t.Fatal("OAuth ran despite the Authorization header")
	}
	if b, _ := os.ReadFile(static); strings.Contains(string(b), token) {
		t.Fatal("the static token was stored")
	}
	// A token the server refuses is the user's to fix: the error says so.
	_, errs, code = runCLI(t, static, "", "--server-url", mcp, "--header", "Authorization: Bearer not-a-token", "--test-auth")
	if code != 1 || !strings.Contains(errs, "401") {
		t.Fatalf("refused static token: exit %d\n%s", code, errs)
	}
}

// secretsIn collects every token and secret the credentials file holds
// now.
func secretsIn(t *testing.T, creds string, into map[string]string) {
	t.Helper()
	c := readCredentials(t, creds)
	for _, tk := range c.Tokens {
		into[tk.AccessToken] = "access token"
		into[tk.RefreshToken] = "refresh token"
	}
	for _, r := range c.Registrations {
		into[r.ClientSecret] = "client secret"
		into[r.RegistrationAccessToken] = "registration access token"
	}
	delete(into, "")
}

// A full life with --log-level debug, a pre-registered confidential
// client (its secret in MCP_CLIENT_SECRET), a dynamic one, logins,
// refreshes, the bridge and every kind of output: neither stderr nor
// stdout ever shows an access token, refresh token, authorization code,
// client secret or registration access token.
func TestNoSecretInLogsOrOutput(t *testing.T) {
	as := authtest.StartChild(t, &authtest.ChildOptions{Env: []string{"ACCESS_TOKEN_LIFETIME=2s"}, Args: []string{"--store", "memory"}})
	mcp := as.ProtectedMCP(t)
	dir := t.TempDir()
	secrets := map[string]string{}
	var logs strings.Builder
	// The browser records where it ended: the callback, with the code.
	landed := filepath.Join(dir, "landed")
	browser := script(t, `curl -s -L --max-redirs 5 -o /dev/null -w '%{url_effective}\n' "$1" >> `+landed)
	run := func(creds string, env []string, stdin string, args ...string) {
		t.Helper()
		cmd := clientCmd(t, creds, append([]string{"--server-url", mcp, "--log-level", "debug"}, args...)...)
		cmd.Env = append(cmd.Env, env...)
		setEnv(cmd, "BROWSER", browser)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		cmd.Stdin = strings.NewReader(stdin)
		err := cmd.Run()
		logs.WriteString(out.String() + errb.String())
		if err != nil {
			t.Fatalf("%v: %v\n%s%s", args, err, out.String(), errb.String())
		}
		secretsIn(t, creds, secrets)
	}

	// The dynamic client: login, calls, refreshes, the bridge.
	dynamic := filepath.Join(dir, "dynamic.json")
	run(dynamic, nil, "", "-c", "echo message=one")
	time.Sleep(1500 * time.Millisecond) // past half the token's life: refreshed
	run(dynamic, nil, "", "--token")
	run(dynamic, nil, "", "--get-client-info")
	run(dynamic, nil, "", "--json", "--get-client-info")
	time.Sleep(2500 * time.Millisecond) // expired
	bridged := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}` + "\n" +
		`{"jsonrpc":"2.0","method":"notifications/initialized"}` + "\n" +
		`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"message":"bridged"}}}` + "\n"
	run(dynamic, nil, bridged)

	// A confidential client registered by hand, its secret in the
	// environment.
	port := testenv.Port(t)
	redirect := "http://127.0.0.1:" + port + "/callback"
	reg := register(t, as.Issuer, redirect)
	secrets[reg.secret] = "client secret"
	secrets[reg.registrationToken] = "registration access token"
	confidential := filepath.Join(dir, "confidential.json")
	env := []string{"MCP_CLIENT_ID=" + reg.id, "MCP_CLIENT_SECRET=" + reg.secret}
	run(confidential, env, "", "--callback-port", port, "-c", "echo message=two")
	time.Sleep(2500 * time.Millisecond)
	run(confidential, env, "", "--callback-port", port, "--json", "--token")

	// The codes, from where the browser landed.
	b, _ := os.ReadFile(landed)
	codes := 0
	for _, l := range strings.Fields(string(b)) {
		u, err := url.Parse(l)
		if err != nil || u.Query().Get("code") == "" {
			t.Fatalf("the browser landed on %q", l)
		}
		secrets[u.Query().Get("code")] = "authorization code"
		codes++
	}
	if codes != 2 || as.Count("token:refresh_token") < 3 {
		t.Fatalf("%d logins, %d refreshes: the run did not do what it should", codes, as.Count("token:refresh_token"))
	}
	kinds := map[string]bool{}
	for s, kind := range secrets {
		kinds[kind] = true
		if strings.Contains(logs.String(), s) {
			t.Errorf("the output shows a %s", kind)
		}
	}
	if len(kinds) != 5 {
		t.Fatalf("secrets looked for: %v", kinds)
	}
	if !strings.Contains(logs.String(), "level=DEBUG") {
		t.Fatal("no debug log at all")
	}
}

// script writes a shell script (a browser for BROWSER) and returns its
// path.
func script(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "browser.sh")
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// setEnv sets a variable of cmd's environment.
func setEnv(cmd *exec.Cmd, k, v string) {
	for i, e := range cmd.Env {
		if strings.HasPrefix(e, k+"=") {
			cmd.Env[i] = k + "=" + v
			return
		}
	}
	cmd.Env = append(cmd.Env, k+"="+v)
}

type registered struct{ id, secret, registrationToken string }

// register registers a confidential client for redirect (RFC 7591).
func register(t *testing.T, issuer, redirect string) registered {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"client_name": "confidential", "redirect_uris": []string{redirect},
		"token_endpoint_auth_method": "client_secret_basic", "grant_types": []string{"authorization_code", "refresh_token"}})
	resp, err := http.Post(issuer+"/register", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r struct {
		ClientID                string `json:"client_id"`
		ClientSecret            string `json:"client_secret"`
		RegistrationAccessToken string `json:"registration_access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || r.ClientSecret == "" {
		t.Fatalf("register: HTTP %d %v", resp.StatusCode, err)
	}
	return registered{r.ClientID, r.ClientSecret, r.RegistrationAccessToken}
}

// On a terminal, a progress line shows while the login waits for the
// browser, and is cleared when it is done; where standard error is not a
// terminal (a log file, Claude Desktop's pipe) there is none.
func TestProgressLineOnATerminal(t *testing.T) {
	as := authtest.StartChild(t, &authtest.ChildOptions{Args: []string{"--store", "memory"}})
	mcp := as.ProtectedMCP(t)
	ptm, pts, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer ptm.Close()
	cmd := clientCmd(t, filepath.Join(t.TempDir(), "credentials.json"), "--server-url", mcp, "--login", "browser", "--token")
	// A browser whose user takes a second and a half to approve.
	setEnv(cmd, "BROWSER", script(t, `sleep 1.5; curl -s -L --max-redirs 5 -o /dev/null "$1"`))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, pts
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pts.Close()
	var term bytes.Buffer
	copied := make(chan struct{})
	go func() { io.Copy(&term, ptm); close(copied) }()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("%v\n%s", err, term.String())
	}
	select {
	case <-copied:
	case <-time.After(5 * time.Second):
	}
	s := term.String()
	if !strings.Contains(s, "waiting for the authorization of "+as.Issuer) || !strings.Contains(s, "\r\x1b[K") {
		t.Fatalf("no progress line on the terminal:\n%q", s)
	}
	if !strings.Contains(out.String(), "Test call: OK") {
		t.Fatalf("stdout: %s", out.String())
	}
	// Not on a pipe.
	_, errs, _ := runCLI(t, filepath.Join(t.TempDir(), "credentials.json"), "", "--server-url", mcp, "--login", "browser", "--token")
	if strings.Contains(errs, "waiting for the authorization") {
		t.Fatalf("a progress line on a pipe:\n%s", errs)
	}
}

// The bridge ends its session at the server (DELETE) when it is stopped
// by SIGTERM or SIGINT, as when standard input ends.
func TestBridgeDeletesTheSessionOnSignals(t *testing.T) {
	as := authtest.StartChild(t, &authtest.ChildOptions{Args: []string{"--store", "memory"}})
	mcp := as.ProtectedMCP(t)
	creds := filepath.Join(t.TempDir(), "credentials.json")
	mustCLI(t, creds, "", "--server-url", mcp, "--token") // logged in
	before := as.Count("mcp:DELETE")
	for i, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		cmd := clientCmd(t, creds, "--server-url", mcp)
		stdin, _ := cmd.StdinPipe()
		stdout, _ := cmd.StdoutPipe()
		var errs bytes.Buffer
		cmd.Stderr = &errs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		io.WriteString(stdin, `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`+"\n")
		if l, err := bufio.NewReader(stdout).ReadString('\n'); err != nil || !strings.Contains(l, `"id":1`) {
			t.Fatalf("initialize: %q %v\n%s", l, err, errs.String())
		}
		if err := cmd.Process.Signal(sig); err != nil {
			t.Fatal(err)
		}
		if err := cmd.Wait(); err != nil {
			t.Fatalf("after %v: %v\n%s", sig, err, errs.String())
		}
		stdin.Close()
		if n := as.Count("mcp:DELETE") - before; n != i+1 {
			t.Fatalf("after %v: %d DELETE requests, want %d", sig, n, i+1)
		}
	}
}

// The bridge keeps the connections of the requests it had in flight: a
// second burst of 16 slow calls reuses those of the first one instead of
// opening (with TLS: handshaking) new ones.
func TestBridgeReusesConnections(t *testing.T) {
	as := authtest.StartChild(t, &authtest.ChildOptions{Args: []string{"--store", "memory"}})
	mcp := as.ProtectedMCP(t)
	creds := filepath.Join(t.TempDir(), "credentials.json")
	mustCLI(t, creds, "", "--server-url", mcp, "--token")
	cmd := clientCmd(t, creds, "--server-url", mcp, "--header", authtest.DelayHeader+": 300ms")
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	var errs bytes.Buffer
	cmd.Stderr = &errs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer stdin.Close()
	lines := bufio.NewScanner(stdout)
	io.WriteString(stdin, `{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`+"\n"+
		`{"jsonrpc":"2.0","method":"notifications/initialized"}`+"\n")
	if !lines.Scan() {
		t.Fatalf("initialize: %s", errs.String())
	}
	burst := func(first int) {
		t.Helper()
		var b strings.Builder
		for id := first; id < first+16; id++ {
			fmt.Fprintf(&b, `{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"echo","arguments":{"message":"m"}}}`+"\n", id)
		}
		io.WriteString(stdin, b.String())
		for range 16 {
			if !lines.Scan() || !strings.Contains(lines.Text(), `"result"`) {
				t.Fatalf("burst: %q\n%s", lines.Text(), errs.String())
			}
		}
	}
	burst(1)
	opened := as.Count("mcp:connections")
	if opened < 8 {
		t.Fatalf("the first burst opened %d connections: its calls did not overlap", opened)
	}
	burst(100)
	if n := as.Count("mcp:connections") - opened; n > 2 {
		t.Fatalf("the second burst opened %d new connections beside the %d of the first", n, opened)
	}
}

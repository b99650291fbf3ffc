package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mcp-oauth-gateway/gateway/internal/testenv"
	"github.com/mcp-oauth-gateway/gateway/stdiobridge/stdiotest"
)

// The tests run the real binary: the test executable re-runs itself as
// mcp-oauth-gateway when GATEWAY_TEST_MAIN is set, and as the stdio test
// server (stdiotest) when the gateway starts it as a stdio service.
func TestMain(m *testing.M) {
	if stdiotest.Enabled() {
		os.Exit(stdiotest.Main(os.Args[1:]))
	}
	if os.Getenv("GATEWAY_TEST_MAIN") == "1" {
		var args []string
		_ = json.Unmarshal([]byte(os.Getenv("GATEWAY_TEST_ARGS")), &args)
		os.Exit(run(args, os.Getenv, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// proc is a running gateway.
type proc struct {
	cmd    *exec.Cmd
	base   string // http://127.0.0.1:PORT
	port   string
	stdout *testenv.Output
	stderr *testenv.Output
	done   chan error
}

// command is the gateway binary with args and env (besides PATH and a
// fresh HOME), not started.
func command(t *testing.T, env []string, args ...string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(args)
	cmd := exec.Command(exe)
	cmd.Env = append([]string{"GATEWAY_TEST_MAIN=1", "GATEWAY_TEST_ARGS=" + string(a), "HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH")}, env...)
	return cmd
}

// start runs the gateway on a free loopback port and waits until it
// serves; it is killed when the test ends if it still runs.
func start(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	return startOn(t, testenv.Port(t), env, args...)
}

func startOn(t *testing.T, port string, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{port: port, base: "http://127.0.0.1:" + port, stdout: &testenv.Output{}, stderr: &testenv.Output{}, done: make(chan error, 1)}
	p.cmd = command(t, env, append([]string{"--port", port}, args...)...)
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("gateway stderr:\n%s", p.stderr)
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-p.done:
			p.done <- err // for Cleanup
			t.Fatalf("the gateway exited: %v\n%s", err, p.stderr)
		default:
		}
		if resp, err := http.Get(p.base + "/health"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("the gateway did not start: %s", p.stderr)
	return nil
}

// stop sends SIGTERM and waits for a clean exit.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		p.done <- err // for Cleanup
		if err != nil {
			t.Fatalf("exit: %v; log: %s", err, p.stderr)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no graceful shutdown within 30 s")
	}
}

// writeConfig writes a --config file and returns its path.
func writeConfig(t *testing.T, doc string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "gateway.yaml")
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// stdioService is the YAML of a stdio service running the test server.
func stdioService(name string, flags ...string) string {
	exe, _ := os.Executable()
	args, _ := json.Marshal(flags)
	return fmt.Sprintf("  - name: %s\n    stdio:\n      command: %q\n      args: %s\n      env: {%s: \"1\"}\n", name, exe, args, stdiotest.EnvVar)
}

// client is an MCP client of the tests: it discovers, registers, signs in
// (the gateway approves at once, --dev-user) and calls tools, with the
// requests of a real client.
type client struct {
	t    *testing.T
	http *http.Client
	// The results, for checks.
	clientID, clientSecret  string
	access, refresh, code   string
	tokenEndpoint, verifier string
	registrationAccessToken string
}

func newClient(t *testing.T) *client {
	return &client{t: t, http: &http.Client{Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

var resourceMetadataParam = regexp.MustCompile(`resource_metadata="([^"]+)"`)

// login follows the discovery of resource (an MCP endpoint URL) from its
// 401 to a token for it. confidential registers a client with a secret.
func (c *client) login(resource string, confidential bool) {
	t := c.t
	t.Helper()
	resp, err := c.http.Post(resource, "application/json", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	m := resourceMetadataParam.FindStringSubmatch(resp.Header.Get("WWW-Authenticate"))
	if resp.StatusCode != 401 || m == nil {
		t.Fatalf("no challenge from %s: %d %q", resource, resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	prm := c.getJSON(m[1])
	if prm["resource"] != resource {
		t.Fatalf("metadata of %s names resource %v", resource, prm["resource"])
	}
	issuer := prm["authorization_servers"].([]any)[0].(string)
	as := c.getJSON(issuer + "/.well-known/oauth-authorization-server")
	reg := map[string]any{"client_name": "gateway test", "redirect_uris": []string{"http://127.0.0.1:9/cb"}, "token_endpoint_auth_method": "none"}
	if confidential {
		reg["token_endpoint_auth_method"] = "client_secret_post"
	}
	r := c.postJSON(as["registration_endpoint"].(string), reg)
	c.clientID, _ = r["client_id"].(string)
	c.clientSecret, _ = r["client_secret"].(string)
	c.registrationAccessToken, _ = r["registration_access_token"].(string)
	if c.clientID == "" {
		t.Fatalf("registration: %v", r)
	}
	c.verifier = base64.RawURLEncoding.EncodeToString(randomBytes(32))
	sum := sha256.Sum256([]byte(c.verifier))
	q := url.Values{"response_type": {"code"}, "client_id": {c.clientID}, "redirect_uri": {"http://127.0.0.1:9/cb"}, "state": {"st"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}, "resource": {resource}, "scope": {"mcp"}}
	resp, err = c.http.Get(as["authorization_endpoint"].(string) + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	c.code = loc.Query().Get("code")
	if c.code == "" {
		t.Fatalf("authorize: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	c.tokenEndpoint = as["token_endpoint"].(string)
	form := url.Values{"grant_type": {"authorization_code"}, "code": {c.code}, "redirect_uri": {"http://127.0.0.1:9/cb"},
		"code_verifier": {c.verifier}, "client_id": {c.clientID}, "resource": {resource}}
	if c.clientSecret != "" {
		form.Set("client_secret", c.clientSecret)
	}
	tok := c.postForm(c.tokenEndpoint, form)
	c.access, _ = tok["access_token"].(string)
	c.refresh, _ = tok["refresh_token"].(string)
	if c.access == "" {
		t.Fatalf("token: %v", tok)
	}
}

// refreshTokens redeems the refresh token.
func (c *client) refreshTokens() {
	c.t.Helper()
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {c.refresh}, "client_id": {c.clientID}}
	if c.clientSecret != "" {
		form.Set("client_secret", c.clientSecret)
	}
	tok := c.postForm(c.tokenEndpoint, form)
	c.access, _ = tok["access_token"].(string)
	c.refresh, _ = tok["refresh_token"].(string)
	if c.access == "" || c.refresh == "" {
		c.t.Fatalf("refresh: %v", tok)
	}
}

func (c *client) getJSON(u string) map[string]any {
	c.t.Helper()
	resp, err := c.http.Get(u)
	if err != nil {
		c.t.Fatal(err)
	}
	return decode(c.t, resp)
}

func (c *client) postJSON(u string, v any) map[string]any {
	c.t.Helper()
	b, _ := json.Marshal(v)
	resp, err := c.http.Post(u, "application/json", bytes.NewReader(b))
	if err != nil {
		c.t.Fatal(err)
	}
	return decode(c.t, resp)
}

func (c *client) postForm(u string, form url.Values) map[string]any {
	c.t.Helper()
	resp, err := c.http.PostForm(u, form)
	if err != nil {
		c.t.Fatal(err)
	}
	return decode(c.t, resp)
}

func decode(t *testing.T, resp *http.Response) map[string]any {
	t.Helper()
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("status %d body %q", resp.StatusCode, body)
	}
	return m
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// mcp is an MCP session (or stateless calls) at one endpoint.
type mcp struct {
	c       *client
	url     string
	session string
	next    int
}

// rpc sends one JSON-RPC request and returns its result (or fails the
// test on an error), reading a JSON or SSE answer.
func (s *mcp) rpc(method string, params any) map[string]any {
	s.c.t.Helper()
	res, errObj, status := s.try(method, params)
	if errObj != nil || status != 200 {
		s.c.t.Fatalf("%s at %s: status %d error %v", method, s.url, status, errObj)
	}
	return res
}

// try is rpc that returns the error and the HTTP status.
func (s *mcp) try(method string, params any) (result, rpcErr map[string]any, status int) {
	t := s.c.t
	t.Helper()
	s.next++
	body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": s.next, "method": method, "params": params})
	req, _ := http.NewRequest("POST", s.url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Authorization", "Bearer "+s.c.access)
	if s.session != "" {
		req.Header.Set("Mcp-Session-Id", s.session)
		req.Header.Set("MCP-Protocol-Version", "2025-11-25")
	}
	resp, err := s.c.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if id := resp.Header.Get("Mcp-Session-Id"); id != "" {
		s.session = id
	}
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		e, _ := m["error"].(map[string]any)
		if e == nil {
			e = map[string]any{"body": string(b)}
		}
		return nil, e, resp.StatusCode
	}
	var msg map[string]any
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			data, ok := strings.CutPrefix(sc.Text(), "data: ")
			if !ok {
				continue
			}
			var m map[string]any
			if json.Unmarshal([]byte(data), &m) == nil && m["id"] != nil {
				msg = m
				break
			}
		}
	} else {
		_ = json.NewDecoder(resp.Body).Decode(&msg)
	}
	if msg == nil {
		t.Fatalf("%s at %s: no answer", method, s.url)
	}
	e, _ := msg["error"].(map[string]any)
	r, _ := msg["result"].(map[string]any)
	return r, e, resp.StatusCode
}

// initialize opens a session (protocol 2025-11-25).
func (s *mcp) initialize() {
	s.c.t.Helper()
	s.rpc("initialize", map[string]any{"protocolVersion": "2025-11-25", "capabilities": map[string]any{},
		"clientInfo": map[string]any{"name": "gateway-test", "version": "1"}})
	s.notify("notifications/initialized")
}

func (s *mcp) notify(method string) {
	body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "method": method})
	req, _ := http.NewRequest("POST", s.url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Authorization", "Bearer "+s.c.access)
	req.Header.Set("MCP-Protocol-Version", "2025-11-25")
	if s.session != "" {
		req.Header.Set("Mcp-Session-Id", s.session)
	}
	if resp, err := s.c.http.Do(req); err == nil {
		resp.Body.Close()
	}
}

// callTool calls a tool and returns the text of its content.
func (s *mcp) callTool(name string, args map[string]any) (text string, isError bool) {
	s.c.t.Helper()
	r := s.rpc("tools/call", map[string]any{"name": name, "arguments": args})
	var b strings.Builder
	content, _ := r["content"].([]any)
	for _, c := range content {
		if m, ok := c.(map[string]any); ok {
			if s, ok := m["text"].(string); ok {
				b.WriteString(s)
			}
		}
	}
	isErr, _ := r["isError"].(bool)
	return b.String(), isErr
}

// waitFor polls cond until it holds or 30 s passed.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// get fetches a URL's body and status.
func get(t *testing.T, u string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", u, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

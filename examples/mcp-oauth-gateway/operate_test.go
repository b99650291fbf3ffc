package main

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mcp-oauth-gateway/gateway/internal/redistest"
)

// TestShutdownEndsChildren: SIGTERM lets a call in flight finish, then
// ends the sessions and stops every stdio process: none is left behind.
func TestShutdownEndsChildren(t *testing.T) {
	conf := writeConfig(t, "services:\n"+stdioService("a")+stdioService("b"))
	g := start(t, nil, "--dev-user", "robot", "--config", conf, "--store", "memory")
	var pids []int
	var slow *mcp
	for _, name := range []string{"a", "b"} {
		c := newClient(t)
		u := g.base + "/" + name + "/mcp"
		c.login(u, false)
		s := &mcp{c: c, url: u}
		s.initialize()
		text, _ := s.callTool("pid", nil)
		pid, err := strconv.Atoi(strings.TrimSpace(text))
		if err != nil {
			t.Fatalf("pid tool: %q", text)
		}
		pids = append(pids, pid)
		slow = s
	}
	for _, pid := range pids {
		if syscall.Kill(pid, 0) != nil {
			t.Fatalf("stdio process %d is not running", pid)
		}
	}
	// A call in flight when the signal comes is answered: its first
	// progress notification shows it is in flight, its result comes after
	// the signal.
	inFlight := make(chan struct{})
	answered := make(chan string, 1)
	go func() {
		answered <- progressCall(t, slow, inFlight)
	}()
	select {
	case <-inFlight:
	case <-time.After(30 * time.Second):
		t.Fatal("the call did not start")
	}
	_ = g.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case text := <-answered:
		if !strings.Contains(text, `done 2 steps`) {
			t.Errorf("the call in flight got %q", text)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the call in flight was not answered")
	}
	select {
	case err := <-g.done:
		g.done <- err
		if err != nil {
			t.Fatalf("exit %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no shutdown")
	}
	for _, pid := range pids {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("stdio process %d outlived the gateway: %v", pid, err)
		}
	}
}

// progressCall calls the stdio test server's progress tool (two steps,
// 1.5 s apart) and returns the raw SSE answer; inFlight is closed at the
// first progress notification.
func progressCall(t *testing.T, s *mcp, inFlight chan struct{}) string {
	body := `{"jsonrpc":"2.0","id":99,"method":"tools/call","params":{"name":"progress","arguments":{"steps":2,"delay_ms":1500},"_meta":{"progressToken":"p1"}}}`
	req, _ := http.NewRequest("POST", s.url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Authorization", "Bearer "+s.c.access)
	req.Header.Set("Mcp-Session-Id", s.session)
	req.Header.Set("MCP-Protocol-Version", "2025-11-25")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		close(inFlight)
		return err.Error()
	}
	defer resp.Body.Close()
	var all strings.Builder
	sc := bufio.NewScanner(resp.Body)
	once := false
	for sc.Scan() {
		line := sc.Text()
		all.WriteString(line + "\n")
		if !once && strings.Contains(line, "notifications/progress") {
			once = true
			close(inFlight)
		}
		if strings.Contains(line, `"id":99`) {
			break
		}
	}
	if !once {
		close(inFlight)
	}
	return all.String()
}

// metricValue reads one sample of /metrics (0 when absent).
func metricValue(t *testing.T, base, name string, labels ...string) float64 {
	t.Helper()
	_, body := get(t, base+"/metrics")
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		ok := true
		for _, l := range labels {
			ok = ok && strings.Contains(line, l)
		}
		if ok {
			f, _ := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
			return f
		}
	}
	return 0
}

// TestMetrics: the counters and gauges move with what clients do.
func TestMetrics(t *testing.T) {
	conf := writeConfig(t, "services:\n  - {name: echo-stateful, builtin: echo-stateful}\n"+stdioService("memory"))
	g := start(t, nil, "--dev-user", "robot", "--config", conf, "--store", "memory")
	c := newClient(t)
	u := g.base + "/echo-stateful/mcp"
	c.login(u, false) // one 401 without a token on the way
	s := &mcp{c: c, url: u}
	s.initialize()
	s.callTool("echo", map[string]any{"message": "x"})
	c.refreshTokens()
	resp, err := http.PostForm(g.base+"/token", map[string][]string{"grant_type": {"refresh_token"}, "refresh_token": {"mrf_nope"}, "client_id": {c.clientID}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	sm := &mcp{c: newClient(t), url: g.base + "/memory/mcp"}
	sm.c.login(sm.url, false)
	sm.initialize()
	sm.callTool("echo", map[string]any{"text": "x"})

	checks := []struct {
		name   string
		labels []string
		min    float64
	}{
		{"mcp_gateway_tokens_issued_total", []string{`grant_type="authorization_code"`}, 2},
		{"mcp_gateway_tokens_issued_total", []string{`grant_type="refresh_token"`}, 1},
		{"mcp_gateway_token_requests_refused_total", []string{`reason="invalid_grant"`}, 1},
		{"mcp_gateway_resource_requests_refused_total", []string{`service="echo-stateful"`, `reason="no_token"`}, 1},
		{"mcp_gateway_http_requests_total", []string{`service="echo-stateful"`, `code="200"`}, 2},
		{"mcp_gateway_http_requests_total", []string{`service="auth"`, `code="201"`}, 2},
		{"mcp_gateway_http_request_duration_seconds_count", []string{`service="memory"`, `code="200"`}, 2},
		{"mcp_gateway_sessions_active", []string{`service="echo-stateful"`}, 1},
		{"mcp_gateway_sessions_active", []string{`service="memory"`}, 1},
		{"mcp_gateway_stdio_processes", []string{`service="memory"`}, 1},
		{"mcp_gateway_stdio_process_starts_total", []string{`service="memory"`}, 1},
		{"go_goroutines", nil, 1},
	}
	for _, ch := range checks {
		if v := metricValue(t, g.base, ch.name, ch.labels...); v < ch.min {
			t.Errorf("%s%v = %v, want at least %v", ch.name, ch.labels, v, ch.min)
		}
	}
	// The stdio process crashes: the crash is counted and the gauge drops.
	sm.try("tools/call", map[string]any{"name": "crash", "arguments": map[string]any{}})
	waitFor(t, "the crash to be counted", func() bool {
		return metricValue(t, g.base, "mcp_gateway_stdio_process_crashes_total", `service="memory"`) == 1 &&
			metricValue(t, g.base, "mcp_gateway_stdio_processes", `service="memory"`) == 0
	})
	// Metrics are for loopback clients that came through no proxy.
	req, _ := http.NewRequest("GET", g.base+"/metrics", nil)
	req.Header.Set("X-Forwarded-For", "203.0.113.7")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Errorf("/metrics through a proxy: %d", resp.StatusCode)
	}
}

// TestLogsHoldNoSecrets: after a whole flow with a confidential client
// (registration, code, token, refresh, calls, revocation), neither the
// access token, the code, the refresh tokens, the client secret, the
// registration token nor the PKCE verifier appears in the logs, at debug
// level too.
func TestLogsHoldNoSecrets(t *testing.T) {
	g := start(t, nil, "--dev-user", "robot", "--store", "memory", "--log-level", "debug")
	c := newClient(t)
	u := g.base + "/echo-stateless/mcp"
	c.login(u, true)
	if c.clientSecret == "" || c.registrationAccessToken == "" {
		t.Fatal("no confidential client")
	}
	secrets := map[string]string{"code": c.code, "client secret": c.clientSecret, "registration token": c.registrationAccessToken,
		"PKCE verifier": c.verifier, "first access token": c.access, "first refresh token": c.refresh}
	s := &mcp{c: c, url: u}
	s.callTool("echo", map[string]any{"message": "x"})
	s.callTool("authContext", nil)
	// A token in the query string is refused, and must not be logged either.
	resp, err := http.Post(u+"?access_token="+c.access, "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	c.refreshTokens()
	secrets["second access token"], secrets["second refresh token"] = c.access, c.refresh
	s.callTool("echo", map[string]any{"message": "y"})
	resp, err = http.PostForm(g.base+"/revoke", map[string][]string{"token": {c.refresh}, "client_id": {c.clientID}, "client_secret": {c.clientSecret}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	g.stop(t)
	logs := g.stderr.String() + g.stdout.String()
	if !strings.Contains(logs, "path=/token") || !strings.Contains(logs, "level=DEBUG") {
		t.Fatalf("the logs lack the flow: %s", logs)
	}
	for what, secret := range secrets {
		if secret == "" {
			t.Fatalf("no %s", what)
		}
		if strings.Contains(logs, secret) {
			t.Errorf("the logs hold the %s", what)
		}
	}
}

// TestReadyFollowsTheStore: /ready answers 200 while Redis answers, 503
// while it is stopped (and /health stays 200), and 200 again once a Redis
// is back on the same address.
func TestReadyFollowsTheStore(t *testing.T) {
	rs := redistest.Start(t)
	g := start(t, nil, "--dev-user", "robot", "--store", rs.URL)
	if code, body := get(t, g.base+"/ready"); code != 200 {
		t.Fatalf("/ready with Redis up: %d %s", code, body)
	}
	if err := rs.Stop(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "/ready to fail", func() bool { code, _ := get(t, g.base+"/ready"); return code == 503 })
	if code, _ := get(t, g.base+"/health"); code != 200 {
		t.Errorf("/health with Redis down: %d", code)
	}
	code, body := get(t, g.base+"/ready")
	if !strings.Contains(body, `"status":"unavailable"`) || strings.Contains(body, rs.URL) {
		t.Errorf("/ready body %q", body)
	}
	_ = code
	// Another Redis on the same port: readiness comes back by itself.
	addr := strings.TrimPrefix(rs.URL, "redis://")
	addr = strings.TrimSuffix(addr, "/0")
	_, port, _ := net.SplitHostPort(addr)
	if back := restartRedis(t, port); back {
		waitFor(t, "/ready to recover", func() bool { code, _ := get(t, g.base+"/ready"); return code == 200 })
	}
}

// restartRedis starts a redis-server on port (the stopped one's), for the
// recovery check; false when the port was taken meanwhile.
func restartRedis(t *testing.T, port string) bool {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:"+port)
	if err != nil {
		t.Logf("port %s taken; recovery not checked", port)
		return false
	}
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	cmd := redisCommand(ctx, t, port)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return true
}

func redisCommand(ctx context.Context, t *testing.T, port string) *exec.Cmd {
	return exec.CommandContext(ctx, "redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", t.TempDir())
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mcp-oauth-gateway/gateway/internal/testenv"
	"github.com/mcp-oauth-gateway/gateway/stdiobridge/stdiotest"
)

func TestMain(m *testing.M) {
	if stdiotest.Enabled() {
		os.Exit(stdiotest.Main(os.Args[1:]))
	}
	os.Exit(m.Run())
}

// start runs the binary's run in the background until the test ends.
func start(t *testing.T, args ...string) string {
	t.Helper()
	t.Setenv(stdiotest.EnvVar, "1") // the servers started are this test binary
	port := testenv.Port(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	var logs bytes.Buffer
	go func() {
		done <- run(ctx, append([]string{"--host", "127.0.0.1", "--port", port, "--log-level", "error"}, args...), os.Getenv, io.Discard, &logs)
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("exit status %d; log:\n%s", code, logs.String())
		}
	})
	base := "http://127.0.0.1:" + port
	for i := 0; ; i++ {
		if r, err := http.Get(base + "/health"); err == nil {
			r.Body.Close()
			return base
		}
		if i > 200 {
			t.Fatalf("not listening; log:\n%s", logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func initialize(t *testing.T, url string) (string, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("initialize %s: HTTP %d %s", url, resp.StatusCode, b)
	}
	return resp.Header.Get("Mcp-Session-Id"), string(b)
}

func TestSingleServerAfterDoubleDash(t *testing.T) {
	exe, _ := os.Executable()
	// Flags after -- belong to the server, even ones the proxy also has.
	base := start(t, "--", exe, "-name", "--port-is-not-mine")
	sid, body := initialize(t, base+"/mcp")
	if sid == "" || !strings.Contains(body, `"name":"--port-is-not-mine"`) {
		t.Fatalf("session %q, body %s", sid, body)
	}
	if _, body := initialize(t, base+"/mcp/"); !strings.Contains(body, "serverInfo") {
		t.Fatal("trailing slash not served")
	}
	resp, err := http.Get(base + "/health")
	if err != nil {
		t.Fatal(err)
	}
	var h struct {
		Status         string `json:"status"`
		ActiveSessions int    `json:"active_sessions"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&h)
	resp.Body.Close()
	if h.Status != "healthy" || h.ActiveSessions != 2 {
		t.Fatalf("health %+v", h)
	}
}

func TestConfigFile(t *testing.T) {
	exe, _ := os.Executable()
	cfg := filepath.Join(t.TempDir(), "servers.json")
	data, _ := json.Marshal(map[string]any{"mcpServers": map[string]any{
		"alpha": map[string]any{"command": exe, "args": []string{"-name", "alpha"}},
		"beta":  map[string]any{"command": exe, "args": []string{"-name", "beta"}, "shared": true, "path": "/b"},
	}})
	if err := os.WriteFile(cfg, data, 0o600); err != nil {
		t.Fatal(err)
	}
	base := start(t, "--config", cfg)
	if _, body := initialize(t, base+"/alpha/mcp"); !strings.Contains(body, `"name":"alpha"`) {
		t.Fatalf("alpha: %s", body)
	}
	if _, body := initialize(t, base+"/b"); !strings.Contains(body, `"name":"beta"`) {
		t.Fatalf("beta: %s", body)
	}
}

func TestBadSettingsExitWithStatus2(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "bad.json")
	_ = os.WriteFile(cfg, []byte(`{"mcpServers":{"a":{"args":["x"]}}}`), 0o600)
	cases := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"no command", nil, nil, "no server command given"},
		{"bad port", []string{"--port", "http", "--", "x"}, nil, `bad value "http" for --port / MCP_PORT: want a port number`},
		{"bad port variable", []string{"x"}, map[string]string{"MCP_PORT": "70000"}, `bad value "70000" for --port / MCP_PORT (from MCP_PORT)`},
		{"bad log level", []string{"--log-level", "loud", "--", "x"}, nil, "--log-level / LOG_LEVEL"},
		{"bad mode", []string{"--protocol-2026", "maybe", "--", "x"}, nil, "--protocol-2026 / MCP_PROTOCOL_2026: want auto, translate or off"},
		{"bad boolean", []string{"x"}, map[string]string{"MCP_TRUST_GATEWAY_HEADERS": "yes please"}, "--trust-gateway-headers / MCP_TRUST_GATEWAY_HEADERS"},
		{"bad timeout", []string{"--timeout", "-5", "x"}, nil, `bad value "-5" for --timeout`},
		{"bad pool size", []string{"--pool-size", "0", "x"}, nil, "--pool-size: want a whole number, 1 or more"},
		{"unknown flag", []string{"--nope", "--", "x"}, nil, "unknown flag --nope"},
		{"config and cmd", []string{"--config", cfg, "--", "x"}, nil, "either --config / MCP_PROXY_CONFIG or a server command"},
		{"bad config", []string{"--config", cfg}, nil, "--config / MCP_PROXY_CONFIG"},
		{"missing config", []string{"--config", cfg + ".missing"}, nil, "no such file"},
		{"exposed without allowed hosts", []string{"x"}, map[string]string{"MCP_BIND_HOST": "0.0.0.0"}, "--allowed-hosts / MCP_ALLOWED_HOSTS"},
	}
	for _, tc := range cases {
		var out bytes.Buffer
		if code := run(context.Background(), tc.args, func(k string) string { return tc.env[k] }, io.Discard, &out); code != 2 || !strings.Contains(out.String(), tc.want) {
			t.Errorf("%s: exit %d, stderr %q; want 2 and %q", tc.name, code, out.String(), tc.want)
		}
	}
}

func TestHelpExits0(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"--help"}, func(string) string { return "" }, &stdout, &stderr); code != 0 || stderr.Len() != 0 {
		t.Fatalf("--help: exit %d, stderr %q", code, stderr.String())
	}
	for _, want := range []string{"server_command", "--config", "MCP_PROXY_CONFIG", "--port", "MCP_PORT", "(default 3000)", "MCP_BIND_HOST", "(default 127.0.0.1)"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("--help lacks %q", want)
		}
	}
}

// One set of booleans everywhere: MCP_TRUST_GATEWAY_HEADERS=1 or TRUE
// used to be silently false.
func TestTrustGatewayHeadersBooleans(t *testing.T) {
	for v, want := range map[string]bool{"1": true, "TRUE": true, "yes": true, "On": true, "true": true, "0": false, "FALSE": false, "off": false, "no": false} {
		s, err := parse([]string{"srv"}, func(k string) string {
			if k == "MCP_TRUST_GATEWAY_HEADERS" {
				return v
			}
			return ""
		}, io.Discard)
		if err != nil || s.opts.TrustGatewayHeaders != want {
			t.Errorf("MCP_TRUST_GATEWAY_HEADERS=%s: %v, %v; want %v", v, s.opts.TrustGatewayHeaders, err, want)
		}
	}
}

func TestEnvironmentSettings(t *testing.T) {
	env := map[string]string{"MCP_BIND_HOST": "127.0.0.2", "MCP_PORT": "4321", "MCP_CORS_ORIGINS": "https://a.example, https://b.example"}
	getenv := func(k string) string { return env[k] }
	s, err := parse([]string{"--timeout", "60", "--", "srv", "--flag"}, getenv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if s.listen.Addr() != "127.0.0.2:4321" || strings.Join(s.command, " ") != "srv --flag" || len(s.opts.AllowedOrigins) != 2 ||
		s.opts.IdleTimeout != time.Minute {
		t.Fatalf("settings %+v", s)
	}
	s, err = parse([]string{"--port", "5000", "srv"}, getenv, io.Discard)
	if err != nil || s.listen.Addr() != "127.0.0.2:5000" {
		t.Fatalf("flag over env: %+v %v", s, err)
	}
	// Exposed with the hosts named, or with any host allowed.
	for _, args := range [][]string{{"--host", "0.0.0.0", "--allowed-hosts", "mcp.example.com", "srv"}, {"--host", "::", "--allow-any-host", "srv"}} {
		if s, err = parse(args, getenv, io.Discard); err != nil {
			t.Errorf("%v: %v", args, err)
		}
	}
	if !s.opts.AllowAnyHost {
		t.Error("--allow-any-host did not reach the proxy's options")
	}
	// 0 means no limit, which the library spells -1.
	if s, err = parse([]string{"--timeout", "0", "--request-timeout", "0", "srv"}, getenv, io.Discard); err != nil || s.opts.IdleTimeout != -1 || s.opts.RequestTimeout != -1 {
		t.Errorf("zero timeouts: %+v %v", s.opts, err)
	}
}

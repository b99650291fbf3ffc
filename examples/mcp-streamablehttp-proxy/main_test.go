package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mcp-oauth-gateway/gateway/stdiobridge/stdiotest"
)

func TestMain(m *testing.M) {
	if stdiotest.Enabled() {
		os.Exit(stdiotest.Main(os.Args[1:]))
	}
	os.Exit(m.Run())
}

func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
}

// start runs the binary's run in the background until the test ends.
func start(t *testing.T, args ...string) string {
	t.Helper()
	t.Setenv(stdiotest.EnvVar, "1") // the servers started are this test binary
	port := freePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	var logs bytes.Buffer
	go func() {
		done <- run(ctx, append([]string{"--host", "127.0.0.1", "--port", port, "--log-level", "error"}, args...), &logs)
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
	cases := map[string][]string{
		"no command":     {},
		"bad port":       {"--port", "http", "--", "x"},
		"bad log level":  {"--log-level", "loud", "--", "x"},
		"bad mode":       {"--protocol-2026", "maybe", "--", "x"},
		"unknown flag":   {"--nope", "--", "x"},
		"config and cmd": {"--config", cfg, "--", "x"},
		"bad config":     {"--config", cfg},
		"missing config": {"--config", cfg + ".missing"},
	}
	for name, args := range cases {
		var out bytes.Buffer
		if code := run(context.Background(), args, &out); code != 2 || out.Len() == 0 {
			t.Errorf("%s: exit %d, stderr %q", name, code, out.String())
		}
	}
}

func TestEnvironmentSettings(t *testing.T) {
	t.Setenv("MCP_BIND_HOST", "127.0.0.2")
	t.Setenv("MCP_PORT", "4321")
	t.Setenv("MCP_CORS_ORIGINS", "https://a.example, https://b.example")
	s, err := parse([]string{"--timeout", "60", "--", "srv", "--flag"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if s.addr != "127.0.0.2:4321" || strings.Join(s.command, " ") != "srv --flag" || len(s.opts.AllowedOrigins) != 2 ||
		s.opts.IdleTimeout != time.Minute {
		t.Fatalf("settings %+v", s)
	}
	s, err = parse([]string{"--port", "5000", "srv"}, io.Discard)
	if err != nil || s.addr != "127.0.0.2:5000" {
		t.Fatalf("flag over env: %+v %v", s, err)
	}
}

package main

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mcp-oauth-gateway/gateway/mcpserver"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestConfigDefaults(t *testing.T) {
	c, err := parseConfig(nil, envOf(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.listen.Addr() != "127.0.0.1:3000" || c.server.Sessions != mcpserver.Stateful {
		t.Errorf("defaults: %+v", c)
	}
	f := c.fetch
	if f.Client.MaxBodyBytes != 10<<20 || f.Client.Timeout != 30*time.Second || f.Client.MaxRedirects != 5 ||
		f.Client.AllowPrivateAddresses || f.IgnoreRobots || !slices.Equal(f.Client.AllowedSchemes, []string{"http", "https"}) {
		t.Errorf("fetch defaults: %+v", f)
	}
}

func TestConfigEnvironmentAndFlags(t *testing.T) {
	env := envOf(map[string]string{
		"HOST": "0.0.0.0", "PORT": "8080", "MCP_ALLOWED_HOSTS": "fetch.example.com",
		"MCP_FETCH_ALLOWED_SCHEMES":    `["https"]`,
		"MCP_FETCH_MAX_REDIRECTS":      "2",
		"MCP_FETCH_DEFAULT_USER_AGENT": "ModelContextProtocol/1.0 (Fetch Server)",
		"FETCH_MAX_SIZE":               "512KiB",
		"FETCH_TIMEOUT":                "10",
		"FETCH_MAX_TIMEOUT":            "1m",
		"FETCH_ALLOWED_DOMAINS":        "example.com, docs.example.org",
		"FETCH_BLOCKED_DOMAINS":        "bad.example.com",
		"FETCH_ALLOW_PRIVATE_IPS":      "true",
		"FETCH_ALLOWED_PORTS":          "443,8443",
		"MCP_ALLOWED_ORIGINS":          "https://claude.ai,https://chatgpt.com",
	})
	c, err := parseConfig([]string{"-port", "9090", "-max-redirects=0"}, env, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	f := c.fetch
	switch {
	case c.listen.Addr() != "0.0.0.0:9090":
		t.Errorf("address %s (the flag must win over PORT)", c.listen.Addr())
	case !slices.Equal(c.server.AllowedHosts, []string{"fetch.example.com"}):
		t.Errorf("allowed hosts %v", c.server.AllowedHosts)
	case !slices.Equal(f.Client.AllowedSchemes, []string{"https"}):
		t.Errorf("schemes %v", f.Client.AllowedSchemes)
	case f.Client.MaxRedirects != -1:
		t.Errorf("-max-redirects=0 gave %d, want -1 (none)", f.Client.MaxRedirects)
	case f.UserAgent != "ModelContextProtocol/1.0 (Fetch Server)":
		t.Errorf("user agent %q", f.UserAgent)
	case f.Client.MaxBodyBytes != 512<<10 || f.Client.Timeout != 10*time.Second || f.MaxTimeout != time.Minute:
		t.Errorf("limits %d %v %v", f.Client.MaxBodyBytes, f.Client.Timeout, f.MaxTimeout)
	case !slices.Equal(f.Client.AllowedDomains, []string{"example.com", "docs.example.org"}) || !slices.Equal(f.Client.BlockedDomains, []string{"bad.example.com"}):
		t.Errorf("domains %v %v", f.Client.AllowedDomains, f.Client.BlockedDomains)
	case !f.Client.AllowPrivateAddresses || !slices.Equal(f.Client.AllowedPorts, []int{443, 8443}):
		t.Errorf("private %v ports %v", f.Client.AllowPrivateAddresses, f.Client.AllowedPorts)
	case !slices.Equal(c.server.AllowedOrigins, []string{"https://claude.ai", "https://chatgpt.com"}):
		t.Errorf("origins %v", c.server.AllowedOrigins)
	}
}

func TestConfigBadValues(t *testing.T) {
	for _, c := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{map[string]string{"PORT": "http"}, nil, "PORT"},
		{map[string]string{"MCP_FETCH_ALLOWED_SCHEMES": "http,file"}, nil, `scheme "file"`},
		{map[string]string{"MCP_FETCH_ALLOWED_SCHEMES": `["http"`}, nil, "JSON array"},
		{map[string]string{"MCP_FETCH_MAX_REDIRECTS": "-1"}, nil, "MCP_FETCH_MAX_REDIRECTS"},
		{map[string]string{"FETCH_MAX_SIZE": "big"}, nil, "FETCH_MAX_SIZE"},
		{map[string]string{"FETCH_TIMEOUT": "0"}, nil, "FETCH_TIMEOUT"},
		{map[string]string{"FETCH_TIMEOUT": "60", "FETCH_MAX_TIMEOUT": "30"}, nil, "below the timeout"},
		{map[string]string{"FETCH_ALLOW_PRIVATE_IPS": "maybe"}, nil, "FETCH_ALLOW_PRIVATE_IPS"},
		{map[string]string{"FETCH_ALLOWED_PORTS": "80,x"}, nil, `"x" is not a port`},
		{map[string]string{"FETCH_ALLOWED_DOMAINS": "exa mple.com"}, nil, "not a domain name"},
		{map[string]string{"FETCH_PROXY": "socks5://p:1080"}, nil, "FETCH_PROXY"},
		{map[string]string{"MCP_PROTOCOL_VERSIONS_SUPPORTED": "1999-01-01"}, nil, "unknown protocol version"},
		{map[string]string{"LOG_LEVEL": "loud"}, nil, "LOG_LEVEL"},
		{nil, []string{"-timeout", "soon"}, `bad value "soon" for --timeout / FETCH_TIMEOUT`},
		{nil, []string{"extra"}, "unexpected argument"},
		{map[string]string{"HOST": "0.0.0.0"}, nil, "--allowed-hosts / MCP_ALLOWED_HOSTS"},
		{map[string]string{"MCP_ALLOWED_HOSTS": "*"}, nil, "--allow-any-host"},
	} {
		_, err := parseConfig(c.args, envOf(c.env), io.Discard)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("env %v args %v: error %v, want one mentioning %q", c.env, c.args, err, c.want)
		}
	}
}

// The binary itself, run as a child process: a bad setting exits with 2;
// a good one serves /health and /mcp and stops cleanly on SIGTERM.
func TestMain(m *testing.M) {
	if os.Getenv("FETCH_SERVER_RUN_MAIN") == "1" {
		os.Args = append([]string{"mcp-fetch-streamablehttp-server"}, strings.Fields(os.Getenv("FETCH_SERVER_ARGS"))...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func child(args string, env ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), append([]string{"FETCH_SERVER_RUN_MAIN=1", "FETCH_SERVER_ARGS=" + args}, env...)...)
	return cmd
}

func TestBinaryBadSettingExits2(t *testing.T) {
	var stderr bytes.Buffer
	cmd := child("", "FETCH_TIMEOUT=never")
	cmd.Stderr = &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 {
		t.Fatalf("exit: %v", err)
	}
	if !strings.Contains(stderr.String(), `bad value "never" for --timeout / FETCH_TIMEOUT (from FETCH_TIMEOUT)`) {
		t.Errorf("stderr: %s", stderr.String())
	}
}

func TestBinaryServesAndStops(t *testing.T) {
	cmd := child("-port 0 -log-level info")
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := bufio.NewScanner(stderr)
	addrRE := regexp.MustCompile(`addr=(127\.0\.0\.1:\d+)`)
	var addr string
	for lines.Scan() {
		if m := addrRE.FindStringSubmatch(lines.Text()); m != nil {
			addr = m[1]
			break
		}
	}
	if addr == "" {
		t.Fatal("the server never said where it listens")
	}
	go io.Copy(io.Discard, stderr)
	resp, err := http.Get("http://" + addr + "/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("/health: %s", resp.Status)
	}
	// DNS rebinding: a foreign Host on a loopback listener is refused.
	req, _ := http.NewRequest("POST", "http://"+addr+"/mcp", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
	req.Host = "evil.example"
	req.Header.Set("Content-Type", "application/json")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("foreign Host: %s, want 403", resp.Status)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no exit 10 s after SIGTERM")
	}
}

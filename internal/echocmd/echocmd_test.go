package echocmd

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The binaries under test, built once from examples/.
const (
	stateful  = "mcp-echo-streamablehttp-server-stateful"
	stateless = "mcp-echo-streamablehttp-server-stateless"
)

var binaries = map[string]string{}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "echocmd-test")
	if err != nil {
		panic(err)
	}
	for _, name := range []string{stateful, stateless} {
		binaries[name] = filepath.Join(dir, name)
		out, err := exec.Command("go", "build", "-o", binaries[name], "github.com/mcp-oauth-gateway/gateway/examples/"+name).CombinedOutput()
		if err != nil {
			os.Stderr.Write(out)
			os.RemoveAll(dir)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// command runs a binary with args and only the given environment.
func command(name string, args []string, env ...string) *exec.Cmd {
	cmd := exec.Command(binaries[name], args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, env...)
	return cmd
}

func TestBadSettingsExitWithStatus2(t *testing.T) {
	type badCase struct {
		args []string
		env  []string
		want string
	}
	both := []badCase{
		{[]string{"--port", "abc"}, nil, `bad value "abc" for --port / MCP_ECHO_PORT: want a port number from 0 to 65535`},
		{nil, []string{"MCP_ECHO_PORT=70000"}, `bad value "70000" for --port / MCP_ECHO_PORT (from MCP_ECHO_PORT)`},
		{[]string{"--host", " "}, nil, `bad value "" for --host / MCP_ECHO_HOST: want an IP address or a host name`},
		{[]string{"--host", "0.0.0.0"}, nil, "is not loopback"},
		{[]string{"--protocol-versions", "2025-06-18,1999-01-01"}, nil, `for --protocol-versions / MCP_PROTOCOL_VERSIONS_SUPPORTED: unknown protocol version "1999-01-01"`},
		{nil, []string{"MCP_PROTOCOL_VERSIONS_SUPPORTED= , "}, "(from MCP_PROTOCOL_VERSIONS_SUPPORTED): no protocol version given"},
		{nil, []string{"MCP_ECHO_DEBUG=maybe"}, `bad value "maybe" for --debug / MCP_ECHO_DEBUG (from MCP_ECHO_DEBUG): want true or false`},
		{nil, []string{"MCP_ECHO_TRUST_GATEWAY_HEADERS=2"}, `bad value "2" for --trust-gateway-headers / MCP_ECHO_TRUST_GATEWAY_HEADERS`},
		{[]string{"--allowed-origins", "https://ok.example,ftp://bad"}, nil, `for --allowed-origins / MCP_ECHO_ALLOWED_ORIGINS / MCP_CORS_ORIGINS: mcpserver: invalid origin "ftp://bad"`},
		{nil, []string{"MCP_CORS_ORIGINS=claude.ai"}, `(from MCP_CORS_ORIGINS): mcpserver: invalid origin "claude.ai"`},
		{nil, []string{"MCP_ALLOWED_HOSTS=a/b"}, `bad value "a/b" for --allowed-hosts / MCP_ECHO_ALLOWED_HOSTS / MCP_ALLOWED_HOSTS (from MCP_ALLOWED_HOSTS)`},
		{nil, []string{"LOG_FILE=/dev/null/log"}, `bad value "/dev/null/log" for --log-file / LOG_FILE (from LOG_FILE)`},
		{[]string{"--no-such-flag"}, nil, "unknown flag --no-such-flag"},
		{[]string{"serve"}, nil, `unexpected argument "serve"`},
	}
	cases := map[string][]badCase{
		stateful: append(both,
			badCase{[]string{"--session-timeout", "0"}, nil, `bad value "0" for --session-timeout / MCP_SESSION_TIMEOUT: want seconds above 0`},
			badCase{nil, []string{"MCP_SESSION_TIMEOUT=soon"}, `bad value "soon" for --session-timeout / MCP_SESSION_TIMEOUT (from MCP_SESSION_TIMEOUT)`},
			badCase{nil, []string{"MCP_SESSION_TIMEOUT=-5"}, `bad value "-5" for --session-timeout`}),
		stateless: append(both,
			badCase{[]string{"--session-timeout", "60"}, nil, "unknown flag --session-timeout"}),
	}
	for name, list := range cases {
		for _, tc := range list {
			t.Run(name+" "+strings.Join(append(tc.args, tc.env...), " "), func(t *testing.T) {
				var stderr bytes.Buffer
				cmd := command(name, tc.args, tc.env...)
				cmd.Stderr = &stderr
				err := cmd.Run()
				var exit *exec.ExitError
				if !errors.As(err, &exit) || exit.ExitCode() != 2 {
					t.Fatalf("exit %v, want status 2; stderr:\n%s", err, stderr.String())
				}
				if !strings.Contains(stderr.String(), tc.want) {
					t.Errorf("stderr lacks %q:\n%s", tc.want, stderr.String())
				}
			})
		}
	}
}

func TestHelp(t *testing.T) {
	for _, name := range []string{stateful, stateless} {
		out, err := command(name, []string{"--help"}).CombinedOutput()
		if err != nil {
			t.Fatalf("%s --help: %v", name, err)
		}
		want := []string{"-host", "MCP_ECHO_HOST", "-port", "-debug", "-protocol-versions", "MCP_PROTOCOL_VERSIONS_SUPPORTED",
			"-allowed-origins", "-allowed-hosts", "-trust-gateway-headers", "LOG_FILE"}
		if name == stateful {
			want = append(want, "-session-timeout", "MCP_SESSION_TIMEOUT")
		} else if bytes.Contains(out, []byte("session-timeout")) {
			t.Errorf("%s --help offers a session timeout", name)
		}
		for _, w := range want {
			if !bytes.Contains(out, []byte(w)) {
				t.Errorf("%s --help lacks %q", name, w)
			}
		}
	}
}

// server is a running binary.
type server struct {
	cmd    *exec.Cmd
	url    string      // http://127.0.0.1:PORT
	logs   chan string // stderr lines; closed after the server exits
	stderr *io.PipeWriter
}

// start runs the binary on a free port and waits until it listens.
func start(t *testing.T, name string, args []string, env ...string) *server {
	t.Helper()
	cmd := command(name, append([]string{"--port", "0"}, args...), env...)
	// An io.Pipe rather than StderrPipe: Wait then returns only after the
	// last log line is copied, and closing the writer ends the reader.
	stderr, stderrW := io.Pipe()
	cmd.Stderr = stderrW
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, logs: make(chan string, 1000), stderr: stderrW}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
		stderrW.Close()
	})
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			s.logs <- sc.Text()
		}
		close(s.logs)
	}()
	listening := regexp.MustCompile(`msg=listening .*url=(http://[^/ ]+)/mcp`)
	deadline := time.After(10 * time.Second)
	for {
		select {
		case line, ok := <-s.logs:
			if !ok {
				t.Fatal("the server exited before listening")
			}
			if m := listening.FindStringSubmatch(line); m != nil {
				s.url = m[1]
				return s
			}
		case <-deadline:
			t.Fatal("the server did not listen within 10s")
		}
	}
}

// stop sends SIGTERM and checks the server shuts down cleanly.
func (s *server) stop(t *testing.T) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		err := s.cmd.Wait()
		s.stderr.Close()
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("after SIGTERM: %v, want exit status 0", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no exit within 10s of SIGTERM")
	}
}

// rpc posts a JSON-RPC request and returns the response and its session id.
func rpc(t *testing.T, url, session, method string, params any) (map[string]any, string) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
	req, _ := http.NewRequest(http.MethodPost, url+"/mcp", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("MCP-Protocol-Version", "2025-11-25")
	if session != "" {
		req.Header.Set("Mcp-Session-Id", session)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var msg map[string]any
	if resp.StatusCode != http.StatusOK || json.Unmarshal(data, &msg) != nil {
		t.Fatalf("%s: %d %s", method, resp.StatusCode, data)
	}
	return msg, resp.Header.Get("Mcp-Session-Id")
}

// callTool calls a tool and returns its text.
func callTool(t *testing.T, url, session, tool string, args map[string]any) string {
	t.Helper()
	msg, _ := rpc(t, url, session, "tools/call", map[string]any{"name": tool, "arguments": args})
	result, _ := msg["result"].(map[string]any)
	content, _ := result["content"].([]any)
	if len(content) != 1 {
		t.Fatalf("result %v", msg)
	}
	text, _ := content[0].(map[string]any)["text"].(string)
	return text
}

func TestStatefulServesAndShutsDownGracefully(t *testing.T) {
	logFile := filepath.Join(t.TempDir(), "logs", "echo.log")
	s := start(t, stateful, nil, "MCP_SESSION_TIMEOUT=90m", "MCP_ECHO_TRUST_GATEWAY_HEADERS=true", "MCP_ECHO_DEBUG=yes",
		"MCP_PROTOCOL_VERSIONS_SUPPORTED=2025-06-18, 2025-11-25", "LOG_FILE="+logFile)

	init, session := rpc(t, s.url, "", "initialize", map[string]any{
		"protocolVersion": "2025-11-25", "capabilities": map[string]any{}, "clientInfo": map[string]any{"name": "binary-test", "version": "1"},
	})
	if info, _ := init["result"].(map[string]any)["serverInfo"].(map[string]any); info["name"] != stateful {
		t.Fatalf("serverInfo %v", info)
	}
	if session == "" {
		t.Fatal("initialize gave no Mcp-Session-Id")
	}
	echoed := callTool(t, s.url, session, "echo", map[string]any{"message": "hi"})
	if want := "[Session " + session[:8] + "... from binary-test] hi"; echoed != want {
		t.Errorf("echo = %q, want %q", echoed, want)
	}
	health := callTool(t, s.url, session, "healthProbe", nil)
	for _, want := range []string{"Protocol: 2025-11-25, 2025-06-18", "Session Timeout: 5400s", "Caller identity taken from trusted gateway headers"} {
		if !strings.Contains(health, want) {
			t.Errorf("healthProbe lacks %q:\n%s", want, health)
		}
	}
	resp, err := http.Get(s.url + "/health")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /health: %v", err)
	}
	resp.Body.Close()

	s.stop(t)
	var logs []string
	for line := range s.logs {
		logs = append(logs, line)
	}
	all := strings.Join(logs, "\n")
	for _, want := range []string{`msg="http request" method=POST path=/mcp status=200`, `msg="shutting down"`} {
		if !strings.Contains(all, want) {
			t.Errorf("stderr lacks %q:\n%s", want, all)
		}
	}
	written, err := os.ReadFile(logFile)
	if err != nil || !bytes.Contains(written, []byte("msg=listening")) || !bytes.Contains(written, []byte(`msg="shutting down"`)) {
		t.Errorf("LOG_FILE: %v\n%s", err, written)
	}
}

func TestStatefulFlagsWinOverEnvironment(t *testing.T) {
	// A bad MCP_ECHO_PORT does not matter when --port is given; seconds
	// from the flag beat the variable's.
	s := start(t, stateful, []string{"--session-timeout", "120"}, "MCP_ECHO_PORT=bad", "MCP_SESSION_TIMEOUT=bad")
	_, session := rpc(t, s.url, "", "initialize", map[string]any{
		"protocolVersion": "2025-11-25", "capabilities": map[string]any{}, "clientInfo": map[string]any{"name": "t", "version": "1"},
	})
	out := callTool(t, s.url, session, "sessionInfo", nil)
	if !strings.Contains(out, "Session Timeout: 120 seconds") {
		t.Errorf("sessionInfo:\n%s", out)
	}
	s.stop(t)
}

func TestStatelessServesAndShutsDownGracefully(t *testing.T) {
	logFile := filepath.Join(t.TempDir(), "logs", "echo.log")
	// MCP_SESSION_TIMEOUT, shared with the stateful server, is ignored.
	s := start(t, stateless, nil, "MCP_SESSION_TIMEOUT=soon", "MCP_ECHO_TRUST_GATEWAY_HEADERS=true", "MCP_ECHO_DEBUG=yes",
		"MCP_PROTOCOL_VERSIONS_SUPPORTED=2025-06-18, 2025-11-25", "LOG_FILE="+logFile)

	init, session := rpc(t, s.url, "", "initialize", map[string]any{
		"protocolVersion": "2025-11-25", "capabilities": map[string]any{}, "clientInfo": map[string]any{"name": "binary-test", "version": "1"},
	})
	if info, _ := init["result"].(map[string]any)["serverInfo"].(map[string]any); info["name"] != stateless {
		t.Fatalf("serverInfo %v", info)
	}
	if session != "" {
		t.Fatalf("initialize gave Mcp-Session-Id %q; a stateless server keeps none", session)
	}
	for _, msg := range []string{"hi", " exactly \n as given "} {
		if got := callTool(t, s.url, "", "echo", map[string]any{"message": msg}); got != msg {
			t.Errorf("echo(%q) = %q", msg, got)
		}
	}
	health := callTool(t, s.url, "", "healthProbe", nil)
	for _, want := range []string{"Protocol: 2025-11-25, 2025-06-18", "Type: Stateless (no sessions)", "Caller identity taken from trusted gateway headers"} {
		if !strings.Contains(health, want) {
			t.Errorf("healthProbe lacks %q:\n%s", want, health)
		}
	}
	resp, err := http.Get(s.url + "/health")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /health: %v", err)
	}
	resp.Body.Close()

	s.stop(t)
	var logs []string
	for line := range s.logs {
		logs = append(logs, line)
	}
	all := strings.Join(logs, "\n")
	for _, want := range []string{`msg="http request" method=POST path=/mcp status=200`, `msg="shutting down"`} {
		if !strings.Contains(all, want) {
			t.Errorf("stderr lacks %q:\n%s", want, all)
		}
	}
	written, err := os.ReadFile(logFile)
	if err != nil || !bytes.Contains(written, []byte("msg=listening")) || !bytes.Contains(written, []byte(`msg="shutting down"`)) {
		t.Errorf("LOG_FILE: %v\n%s", err, written)
	}
}

func TestStatelessFlagsWinOverEnvironment(t *testing.T) {
	// A bad MCP_ECHO_PORT does not matter when --port is given, nor a bad
	// version list when --protocol-versions is.
	s := start(t, stateless, []string{"--protocol-versions", "2025-11-25"}, "MCP_ECHO_PORT=bad", "MCP_PROTOCOL_VERSIONS_SUPPORTED=bogus")
	out := callTool(t, s.url, "", "protocolNegotiation", nil)
	if !strings.Contains(out, "Server Supported Versions: 2025-11-25\n") {
		t.Errorf("protocolNegotiation:\n%s", out)
	}
	s.stop(t)
}

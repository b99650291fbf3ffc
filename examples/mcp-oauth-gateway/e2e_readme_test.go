package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mcp-oauth-gateway/gateway/internal/testenv"
)

// The README test runs the quick start as a new user would: in a fresh
// clone of the repository's last commit (commit your README changes to
// test them), with a fresh HOME, it runs the commands of the code blocks
// that README.md and examples/mcp-oauth-gateway/README.md mark with
//
//	<!-- readme-test: NAME[, after: COMMAND] -->
//
// and checks what they print; COMMAND (a gateway) runs first. The blocks:
// quick-start (run the gateway; the test command, which is this test's
// own runner, is checked, not run), token-by-hand (curl to a token and a
// tool call) and claude-desktop (the client bridge as Claude Desktop would
// start it). The MCP Inspector step is checked as the browser would take
// it: its origin's CORS requests. The claude.ai step needs a public host
// and is not run.

// readmeBlock is a marked code block.
type readmeBlock struct {
	name, after, lang, body string
}

var readmeMarker = regexp.MustCompile("(?m)^[ \t]*<!-- readme-test: ([a-z-]+)(?:[^,>]*)?(?:, after: ([^>]+?))? -->\n[ \t]*```([a-z]*)\n((?s:.*?))\n[ \t]*```")

func readmeBlocks(t *testing.T, files ...string) map[string]readmeBlock {
	t.Helper()
	out := map[string]readmeBlock{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range readmeMarker.FindAllStringSubmatch(string(b), -1) {
			if _, dup := out[m[1]]; dup {
				t.Fatalf("two README blocks named %s", m[1])
			}
			out[m[1]] = readmeBlock{name: m[1], after: strings.TrimSpace(m[2]), lang: m[3], body: m[4]}
		}
	}
	return out
}

// commands are a shell block's command lines, without comments.
func commands(body string) []string {
	var out []string
	for _, line := range strings.Split(body, "\n") {
		if i := strings.Index(line, " #"); i >= 0 {
			line = line[:i]
		}
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			out = append(out, line)
		}
	}
	return out
}

// newUser is a fresh clone and a fresh home, with the Go caches of this
// machine (else every module would be downloaded again).
type newUser struct {
	t    *testing.T
	repo string
	env  []string
	bin  string
}

func cloneAsNewUser(t *testing.T) *newUser {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	if err := exec.Command("git", "-C", root, "rev-parse", "--is-inside-work-tree").Run(); err != nil {
		t.Skip("not a git checkout: the README test clones the repository")
	}
	if out, _ := exec.Command("git", "-C", root, "status", "--porcelain", "--", "README.md", "examples/mcp-oauth-gateway/README.md").Output(); len(out) > 0 {
		t.Logf("README changes not committed are not tested (a fresh clone has the last commit):\n%s", out)
	}
	dir := t.TempDir()
	u := &newUser{t: t, repo: filepath.Join(dir, "gateway"), bin: filepath.Join(dir, "bin")}
	if out, err := exec.Command("git", "clone", "--quiet", "--no-local", root, u.repo).CombinedOutput(); err != nil {
		t.Fatalf("git clone: %v\n%s", err, out)
	}
	home := filepath.Join(dir, "home")
	_ = os.MkdirAll(filepath.Join(home, ".config"), 0o755)
	_ = os.MkdirAll(u.bin, 0o755)
	goEnv := func(name string) string {
		out, err := exec.Command("go", "env", name).Output()
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(out))
	}
	u.env = []string{"HOME=" + home, "XDG_CONFIG_HOME=" + filepath.Join(home, ".config"),
		"PATH=" + u.bin + string(os.PathListSeparator) + os.Getenv("PATH"),
		"GOCACHE=" + goEnv("GOCACHE"), "GOMODCACHE=" + goEnv("GOMODCACHE"), "GOPATH=" + goEnv("GOPATH"),
		"GOPROXY=" + goEnv("GOPROXY"), "GOTOOLCHAIN=local"}
	return u
}

// gateway runs a command line of the README (a go run of the gateway) in
// the clone on port, and waits until it prints its summary. stop ends it
// as Ctrl-C would (go run and the program it started); so does the end of
// the test.
func (u *newUser) gateway(line, port string) (out *testenv.Output, stop func()) {
	t := u.t
	t.Helper()
	cmd := exec.Command("bash", "-c", line)
	cmd.Dir = u.repo
	cmd.Env = append(u.env, "PORT="+port)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out = &testenv.Output{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	}
	t.Cleanup(stop)
	// The first go run compiles: minutes on a loaded machine.
	deadline := time.Now().Add(8 * time.Minute)
	for !strings.Contains(out.String(), "MCP OAuth Gateway is running") {
		select {
		case <-done:
			t.Fatalf("%s exited:\n%s", line, out)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s printed no summary in 8 minutes:\n%s", line, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	waitFor(t, "the gateway's health", func() bool {
		resp, err := http.Get("http://127.0.0.1:" + port + "/health")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == 200
	})
	return out, stop
}

// onPort is a README text with the default port replaced.
func onPort(s, port string) string {
	return strings.ReplaceAll(s, "127.0.0.1:8080", "127.0.0.1:"+port)
}

func TestReadme(t *testing.T) {
	u := cloneAsNewUser(t)
	blocks := readmeBlocks(t, filepath.Join(u.repo, "README.md"), filepath.Join(u.repo, "examples", "mcp-oauth-gateway", "README.md"))
	for _, name := range []string{"quick-start", "token-by-hand", "claude-desktop"} {
		if _, ok := blocks[name]; !ok {
			t.Fatalf("no README block marked readme-test: %s", name)
		}
	}

	// The quick start: two commands, the gateway and the test command.
	qs := commands(blocks["quick-start"].body)
	if len(qs) != 2 || !strings.HasPrefix(qs[0], "go run ./examples/mcp-oauth-gateway") || qs[1] != "./scripts/test.sh" {
		t.Fatalf("the quick start is %q: want go run ./examples/mcp-oauth-gateway and ./scripts/test.sh", qs)
	}
	if st, err := os.Stat(filepath.Join(u.repo, "scripts", "test.sh")); err != nil || st.Mode()&0o111 == 0 {
		t.Errorf("./scripts/test.sh is not an executable file of the clone: %v", err)
	}
	if ci, err := os.ReadFile(filepath.Join(u.repo, ".ci", "run")); err != nil || !strings.Contains(string(ci), "./scripts/test.sh") {
		t.Errorf(".ci/run does not run ./scripts/test.sh: %v", err)
	}
	port := testenv.Port(t)
	out, stop := u.gateway(qs[0], port)
	readme, _ := os.ReadFile(filepath.Join(u.repo, "README.md"))
	for _, svc := range regexp.MustCompile(`http://127\.0\.0\.1:8080/[a-z-]+/mcp`).FindAllString(string(readme), -1) {
		if !strings.Contains(out.String(), onPort(svc, port)) {
			t.Errorf("the README shows %s; the gateway printed:\n%s", svc, out)
		}
	}
	if !strings.Contains(out.String(), "development login") {
		t.Errorf("the summary does not say how to sign in:\n%s", out)
	}

	t.Run("MCP Inspector's browser", func(t *testing.T) {
		inspectorCORS(t, "http://127.0.0.1:"+port+"/echo-stateful/mcp")
	})

	// A token and a tool call by hand, on the gateway the README says to
	// run first, once the first one is stopped (Ctrl-C): both would use
	// the same embedded store, which one process holds at a time.
	stop()
	tb := blocks["token-by-hand"]
	if !strings.HasPrefix(tb.after, "go run ./examples/mcp-oauth-gateway") {
		t.Fatalf("token-by-hand runs after %q", tb.after)
	}
	port2 := testenv.Port(t)
	u.gateway(tb.after, port2)
	t.Run("token by hand", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "bash", "-e", "-o", "pipefail", "-c", onPort(tb.body, port2))
		cmd.Dir, cmd.Env = t.TempDir(), u.env
		got, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("the commands failed: %v\n%s", err, got)
		}
		// Each answer the README shows (a comment line after a command)
		// is what the commands printed.
		for _, line := range strings.Split(tb.body, "\n") {
			want, ok := strings.CutPrefix(strings.TrimSpace(line), "# ")
			if !ok || !(strings.HasPrefix(want, "{") || strings.Contains(want, ": ")) || regexp.MustCompile(`^\d+\.`).MatchString(want) {
				continue
			}
			if !strings.Contains(strings.ToLower(string(got)), strings.ToLower(onPort(want, port2))) {
				t.Errorf("the README shows %q; the commands printed:\n%s", want, got)
			}
		}
		if !strings.Contains(string(got), `"text":"hello"`) {
			t.Errorf("no tool result:\n%s", got)
		}
	})

	t.Run("Claude Desktop through the client bridge", func(t *testing.T) {
		claudeDesktop(t, u, blocks["claude-desktop"], port2)
	})
}

// lookPathIn finds an executable in the PATH of env.
func lookPathIn(name string, env []string) (string, error) {
	for _, kv := range env {
		if p, ok := strings.CutPrefix(kv, "PATH="); ok {
			for _, dir := range filepath.SplitList(p) {
				f := filepath.Join(dir, name)
				if st, err := os.Stat(f); err == nil && st.Mode()&0o111 != 0 {
					return f, nil
				}
			}
		}
	}
	return "", fmt.Errorf("%s is not on the new user's PATH", name)
}

// inspectorCORS makes the requests MCP Inspector's page makes from its
// origin, http://localhost:6274: the preflight, the 401 it must be able to
// read, the metadata and the registration.
func inspectorCORS(t *testing.T, mcpURL string) {
	const origin = "http://localhost:6274"
	do := func(method, u string, h map[string]string, body string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(method, u, strings.NewReader(body))
		req.Header.Set("Origin", origin)
		for k, v := range h {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	allowed := func(resp *http.Response) bool {
		a := resp.Header.Get("Access-Control-Allow-Origin")
		return a == "*" || a == origin
	}
	pre := do("OPTIONS", mcpURL, map[string]string{"Access-Control-Request-Method": "POST",
		"Access-Control-Request-Headers": "authorization, content-type, mcp-protocol-version"}, "")
	if pre.StatusCode/100 != 2 || !allowed(pre) {
		t.Errorf("preflight: %d, Allow-Origin %q", pre.StatusCode, pre.Header.Get("Access-Control-Allow-Origin"))
	}
	r := do("POST", mcpURL, map[string]string{"Content-Type": "application/json"}, `{"jsonrpc":"2.0","id":1,"method":"initialize"}`)
	expose := strings.ToLower(r.Header.Get("Access-Control-Expose-Headers"))
	if r.StatusCode != 401 || !allowed(r) || !strings.Contains(expose, "www-authenticate") {
		t.Errorf("the 401: %d, Allow-Origin %q, Expose-Headers %q", r.StatusCode, r.Header.Get("Access-Control-Allow-Origin"), expose)
	}
	m := resourceMetadataParam.FindStringSubmatch(r.Header.Get("WWW-Authenticate"))
	if m == nil {
		t.Fatalf("no resource_metadata in %q", r.Header.Get("WWW-Authenticate"))
	}
	if meta := do("GET", m[1], nil, ""); meta.StatusCode != 200 || !allowed(meta) {
		t.Errorf("metadata: %d, Allow-Origin %q", meta.StatusCode, meta.Header.Get("Access-Control-Allow-Origin"))
	}
	base := strings.TrimSuffix(mcpURL, "/echo-stateful/mcp")
	if as := do("GET", base+"/.well-known/oauth-authorization-server", nil, ""); as.StatusCode != 200 || !allowed(as) {
		t.Errorf("authorization server metadata: %d, Allow-Origin %q", as.StatusCode, as.Header.Get("Access-Control-Allow-Origin"))
	}
	reg := do("POST", base+"/register", map[string]string{"Content-Type": "application/json"},
		`{"client_name":"MCP Inspector","redirect_uris":["http://localhost:6274/oauth/callback"],"token_endpoint_auth_method":"none"}`)
	if reg.StatusCode != 201 || !allowed(reg) {
		t.Errorf("registration from the Inspector's page: %d, Allow-Origin %q", reg.StatusCode, reg.Header.Get("Access-Control-Allow-Origin"))
	}
}

// claudeDesktop starts the README's claude_desktop_config.json entry as
// Claude Desktop does (its command with its arguments, the bridge built
// from the clone and found on PATH), with a "browser" that follows the
// gateway's redirect (--dev-user approves at once), and speaks MCP over
// its stdio: initialize, then a tool call.
func claudeDesktop(t *testing.T, u *newUser, b readmeBlock, port string) {
	var cfg struct {
		MCPServers map[string]struct {
			Command string   `json:"command"`
			Args    []string `json:"args"`
		} `json:"mcpServers"`
	}
	if err := json.Unmarshal([]byte(b.body), &cfg); err != nil || len(cfg.MCPServers) != 1 {
		t.Fatalf("the README's Claude Desktop configuration: %v\n%s", err, b.body)
	}
	var server struct {
		Command string   `json:"command"`
		Args    []string `json:"args"`
	}
	for _, s := range cfg.MCPServers {
		server = s
	}
	build := exec.Command("go", "build", "-o", filepath.Join(u.bin, server.Command), "./examples/"+server.Command)
	build.Dir, build.Env = u.repo, u.env
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./examples/%s: %v\n%s", server.Command, err, out)
	}
	args := make([]string, len(server.Args))
	for i, a := range server.Args {
		args[i] = onPort(a, port)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// The command by name, from the new user's PATH (where go install
	// would have put it).
	path, err := lookPathIn(server.Command, u.env)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = append(u.env, "BROWSER=curl -sL -o /dev/null")
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	var stderr testenv.Output
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close()
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("the bridge's stderr:\n%s", stderr.String())
		}
	}()
	lines := bufio.NewScanner(stdout)
	lines.Buffer(make([]byte, 1<<20), 1<<20)
	send := func(msg string) { fmt.Fprintln(stdin, msg) }
	await := func(id int) map[string]any {
		t.Helper()
		for lines.Scan() {
			var m map[string]any
			if json.Unmarshal(lines.Bytes(), &m) == nil && m["id"] == float64(id) {
				return m
			}
		}
		t.Fatalf("no answer to request %d; stderr:\n%s", id, stderr.String())
		return nil
	}
	send(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"claude-ai","version":"0.1"}}}`)
	if m := await(1); m["result"] == nil {
		t.Fatalf("initialize: %v", m)
	}
	send(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	send(`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"message":"hello from Claude Desktop"}}}`)
	m := await(2)
	b2, _ := json.Marshal(m)
	if !bytes.Contains(b2, []byte("hello from Claude Desktop")) {
		t.Fatalf("tools/call through the bridge: %s", b2)
	}
}

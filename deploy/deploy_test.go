// Package deploy holds the checks of the deployment files that need more
// than the proxies themselves: the compose file, loaded with compose-go as
// docker compose loads it, and the Dockerfile, parsed and held to its
// rules, with the binary built as it builds it. The directory is a module
// of its own so that the library's users never download compose-go.
//
//	cd deploy && go test ./...
//
// There is no Docker engine here: what these tests cannot see is the image
// itself (the base image's contents, the layers).
package deploy

import (
	"bufio"
	"context"
	"debug/elf"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

// composeEnv is a complete environment for compose.yml.
var composeEnv = map[string]string{
	"BASE_DOMAIN":          "example.com",
	"GITHUB_CLIENT_ID":     "Iv1.0123456789abcdef",
	"ALLOWED_GITHUB_USERS": "id:583231",
	"REDIS_PASSWORD":       "not-a-real-password",
}

// secretTarget is where a service's secret is mounted.
func secretTarget(s types.ServiceSecretConfig) string {
	if strings.HasPrefix(s.Target, "/") {
		return s.Target
	}
	if s.Target != "" {
		return "/run/secrets/" + s.Target
	}
	return "/run/secrets/" + s.Source
}

func envList(m map[string]string, without string) []string {
	var out []string
	for k, v := range m {
		if k != without {
			out = append(out, k+"="+v)
		}
	}
	return out
}

// loadCompose loads compose.yml with env only (not the test's own
// environment, nor a .env file), interpolated or not.
func loadCompose(t *testing.T, env []string, interpolate bool) (*types.Project, error) {
	t.Helper()
	opts, err := cli.NewProjectOptions([]string{"compose.yml"}, cli.WithWorkingDirectory("."), cli.WithEnv(env),
		cli.WithInterpolation(interpolate), cli.WithDiscardEnvFile)
	if err != nil {
		t.Fatal(err)
	}
	return opts.LoadProject(context.Background())
}

// TestCompose: compose.yml loads as docker compose loads it, with a
// gateway built from deploy/Dockerfile, published on loopback only, with
// its secrets from the environment (refused when missing) or from compose
// secrets its NAME_FILE variables name, and a persistent Redis it waits
// for.
func TestCompose(t *testing.T) {
	p, err := loadCompose(t, envList(composeEnv, ""), true)
	if err != nil {
		t.Fatalf("compose.yml: %v", err)
	}
	gw, err := p.GetService("gateway")
	if err != nil {
		t.Fatal(err)
	}
	redis, err := p.GetService("redis")
	if err != nil {
		t.Fatal(err)
	}
	root, _ := filepath.Abs("..")
	if gw.Build == nil || filepath.Clean(gw.Build.Context) != root || gw.Build.Dockerfile != "deploy/Dockerfile" {
		t.Errorf("gateway build %+v: want the repository's root with deploy/Dockerfile", gw.Build)
	}
	for _, port := range gw.Ports {
		if port.HostIP != "127.0.0.1" {
			t.Errorf("gateway port %+v is published beyond loopback", port)
		}
	}
	if d, ok := gw.DependsOn["redis"]; !ok || d.Condition != types.ServiceConditionHealthy {
		t.Errorf("the gateway does not wait for a healthy Redis: %+v", gw.DependsOn)
	}
	if redis.HealthCheck == nil || len(redis.HealthCheck.Test) == 0 {
		t.Error("redis has no healthcheck")
	}
	if cmd := strings.Join(redis.Command, " "); !strings.Contains(cmd, "--appendonly yes") || !strings.Contains(cmd, "--requirepass "+composeEnv["REDIS_PASSWORD"]) {
		t.Errorf("redis command %q: want persistence and the password", cmd)
	}
	if !slices.Contains(gw.CapDrop, "ALL") || !gw.ReadOnly {
		t.Errorf("the gateway keeps capabilities (%v) or a writable root (%v)", gw.CapDrop, gw.ReadOnly)
	}
	for k, v := range composeEnv {
		if got := gw.Environment[k]; got == nil || *got != v {
			val := "unset"
			if got != nil {
				val = fmt.Sprintf("%q", *got)
			}
			t.Errorf("gateway %s = %s, want %q from the environment", k, val, v)
		}
	}
	if len(gw.Configs) != 1 || p.Configs[gw.Configs[0].Source].File == "" {
		t.Fatalf("gateway configs %+v", gw.Configs)
	}

	// The GitHub client secret is a file: a compose secret of the
	// gateway's, from a file outside the repository's files (compose
	// copies a secret from the environment into the root file system,
	// which a read-only service does not allow), named by
	// GITHUB_CLIENT_SECRET_FILE; the secret itself is in no environment.
	if v := gw.Environment["GITHUB_CLIENT_SECRET"]; v != nil {
		t.Errorf("gateway GITHUB_CLIENT_SECRET = %q: want it in a file, GITHUB_CLIENT_SECRET_FILE", *v)
	}
	if v := gw.Environment["GITHUB_CLIENT_SECRET_FILE"]; v == nil || *v != "/run/secrets/github_client_secret" {
		t.Errorf("gateway GITHUB_CLIENT_SECRET_FILE = %v, want /run/secrets/github_client_secret", v)
	}
	secretsDir := filepath.Join(root, "deploy", "secrets")
	for _, s := range gw.Secrets {
		def, ok := p.Secrets[s.Source]
		if !ok || def.File == "" || def.Environment != "" || filepath.Dir(def.File) != secretsDir {
			t.Errorf("gateway secret %s: %+v, want a file in %s", s.Source, def, secretsDir)
		}
	}
	for file, line := range map[string]string{".gitignore": "/deploy/secrets/", "deploy/Dockerfile.dockerignore": "/deploy/secrets"} {
		b, err := os.ReadFile(filepath.Join(root, file))
		if err != nil || !slices.Contains(strings.Split(string(b), "\n"), line) {
			t.Errorf("%s lacks %s: the secrets' files would be committed or sent to the image build (%v)", file, line, err)
		}
	}

	// Before interpolation: every secret is a reference to the
	// environment, or a NAME_FILE naming one of the service's compose
	// secrets; never a value in the file.
	raw, err := loadCompose(t, envList(composeEnv, ""), false)
	if err != nil {
		t.Fatal(err)
	}
	secret := regexp.MustCompile(`SECRET|PASSWORD|TOKEN|KEY`)
	for _, svc := range raw.Services {
		mounted := map[string]bool{}
		for _, s := range svc.Secrets {
			mounted[secretTarget(s)] = true
		}
		for k, v := range svc.Environment {
			switch {
			case !secret.MatchString(k):
			case strings.HasSuffix(k, "_FILE"):
				if v == nil || !mounted[*v] {
					t.Errorf("service %s: %s names no secret of the service (%v)", svc.Name, k, v)
				}
			case v == nil || !strings.HasPrefix(*v, "${"):
				t.Errorf("service %s: %s is written in the file", svc.Name, k)
			}
		}
	}

	// A missing secret stops compose with a message naming it (a
	// missing secret file stops the gateway: TestComposeGatewayStarts).
	for _, name := range []string{"REDIS_PASSWORD", "GITHUB_CLIENT_ID", "BASE_DOMAIN"} {
		_, err := loadCompose(t, envList(composeEnv, name), true)
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("compose.yml without %s: %v", name, err)
		}
	}
}

// instruction is one Dockerfile instruction.
type instruction struct {
	line int
	cmd  string // upper case
	args string
}

// parseDockerfile reads instructions, joining continuation lines and
// dropping comments and the parser directive.
func parseDockerfile(t *testing.T, path string) []instruction {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []instruction
	var cur strings.Builder
	start := 0
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if cur.Len() == 0 && (line == "" || strings.HasPrefix(line, "#")) {
			continue
		}
		if cur.Len() == 0 {
			start = n
		}
		if strings.HasSuffix(line, "\\") {
			cur.WriteString(strings.TrimSuffix(line, "\\") + " ")
			continue
		}
		cur.WriteString(line)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		out = append(out, instruction{line: start, cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args)})
		cur.Reset()
	}
	if cur.Len() > 0 {
		t.Fatalf("Dockerfile ends in a continuation line")
	}
	return out
}

var (
	buildOnce sync.Once
	binary    string
	buildErr  error
)

// buildLike builds the gateway with the Dockerfile's own build command
// (its environment assignments and go build arguments, with -o in dir).
func buildLike(t *testing.T, run string) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "deploy-test")
		if err != nil {
			buildErr = err
			return
		}
		fields, err := shellWords(run)
		if err != nil {
			buildErr = err
			return
		}
		var env, args []string
		i := 0
		for ; i < len(fields) && strings.Contains(fields[i], "=") && !strings.HasPrefix(fields[i], "-"); i++ {
			env = append(env, fields[i])
		}
		if i+1 >= len(fields) || fields[i] != "go" || fields[i+1] != "build" {
			buildErr = fmt.Errorf("the build step %q is not VAR=... go build ...", run)
			return
		}
		for j := i + 2; j < len(fields); j++ {
			if fields[j] == "-o" && j+1 < len(fields) {
				binary = filepath.Join(dir, filepath.Base(fields[j+1]))
				args = append(args, "-o", binary)
				j++
				continue
			}
			args = append(args, fields[j])
		}
		cmd := exec.Command("go", append([]string{"build"}, args...)...)
		cmd.Dir = ".."
		cmd.Env = append(os.Environ(), env...)
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build %v: %v\n%s", args, err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binary
}

// TestDockerfile: a multi-stage build whose last stage is distroless/static
// or scratch, pinned, running as a non-root user, with the binary as an
// exec-form entrypoint; the build step, run here as written, gives a static
// binary (no interpreter, no shared libraries) for linux.
func TestDockerfile(t *testing.T) {
	ins := parseDockerfile(t, "Dockerfile")
	var stages []string
	var last []instruction
	var buildRun string
	copied := map[string]bool{}
	for _, in := range ins {
		switch in.cmd {
		case "FROM":
			f := strings.Fields(in.args)
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				stages = append(stages, f[2])
			} else {
				stages = append(stages, "")
			}
			if !strings.Contains(f[0], ":") || strings.HasSuffix(f[0], ":latest") {
				t.Errorf("line %d: FROM %s is not pinned to a tag", in.line, f[0])
			}
			last = nil
		case "ADD":
			if strings.Contains(in.args, "://") {
				t.Errorf("line %d: ADD of a URL; fetch in a RUN with a checksum instead", in.line)
			}
		case "RUN":
			if strings.Contains(in.args, "go build") {
				buildRun = in.args
			}
		case "COPY":
			for _, f := range strings.Fields(in.args) {
				if from, ok := strings.CutPrefix(f, "--from="); ok && !slices.Contains(stages, from) {
					t.Errorf("line %d: COPY --from=%s names no stage", in.line, from)
				}
			}
			f := strings.Fields(in.args)
			copied[f[len(f)-1]] = true
		}
		last = append(last, in)
	}
	if len(stages) < 2 {
		t.Fatalf("%d stages: want a build stage and a runtime stage", len(stages))
	}
	var from, user, entrypoint string
	for _, in := range ins {
		if in.cmd == "FROM" {
			from = strings.Fields(in.args)[0]
		}
	}
	for _, in := range last {
		switch in.cmd {
		case "USER":
			user = in.args
		case "ENTRYPOINT":
			entrypoint = in.args
		}
	}
	if !strings.HasPrefix(from, "gcr.io/distroless/static") && from != "scratch" {
		t.Errorf("runtime base %s: want gcr.io/distroless/static or scratch", from)
	}
	uid, _, _ := strings.Cut(user, ":")
	if uid == "" || uid == "0" || uid == "root" {
		t.Errorf("USER %q: the gateway must not run as root", user)
	}
	var ep []string
	if err := json.Unmarshal([]byte(entrypoint), &ep); err != nil || len(ep) == 0 {
		t.Fatalf("ENTRYPOINT %q: want the exec form, a JSON array", entrypoint)
	}
	if !copied[ep[0]] {
		t.Errorf("ENTRYPOINT %s: no COPY puts the binary there", ep[0])
	}
	if !strings.Contains(buildRun, "CGO_ENABLED=0") || !strings.Contains(buildRun, "./examples/mcp-oauth-gateway") {
		t.Fatalf("the build step %q: want CGO_ENABLED=0 go build ... ./examples/mcp-oauth-gateway", buildRun)
	}

	bin := buildLike(t, buildRun)
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary needs a dynamic loader: it would not run on distroless/static")
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("the binary links %v", libs)
	}
}

// TestComposeGatewayStarts: the binary, built as the Dockerfile builds it,
// starts with compose.yml's command, environment, config file and secrets
// (against a real Redis with the password, on loopback), serves the
// services of the original's layout and is ready; without the secret's
// file it exits with status 2 naming GITHUB_CLIENT_SECRET_FILE. GitHub is
// never contacted: its URLs point at a closed loopback port.
func TestComposeGatewayStarts(t *testing.T) {
	p, err := loadCompose(t, envList(composeEnv, ""), true)
	if err != nil {
		t.Fatal(err)
	}
	gw, _ := p.GetService("gateway")
	var buildRun string
	for _, in := range parseDockerfile(t, "Dockerfile") {
		if in.cmd == "RUN" && strings.Contains(in.args, "go build") {
			buildRun = in.args
		}
	}
	bin := buildLike(t, buildRun)

	redisBin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redis-server is not installed (apt-get install redis-server; scripts/setup.sh does it)")
	}
	redisPort, port, metricsPort := freePort(t), freePort(t), freePort(t)
	// The config file, its metrics listener moved to a free loopback port.
	conf, err := os.ReadFile(p.Configs[gw.Configs[0].Source].File)
	if err != nil {
		t.Fatal(err)
	}
	listen := regexp.MustCompile(`(?m)^(\s*listen:\s*)"[^"]*"`)
	if !listen.Match(conf) {
		t.Fatal("the config has no metrics listen address")
	}
	confPath := filepath.Join(t.TempDir(), "gateway.yaml")
	if err := os.WriteFile(confPath, listen.ReplaceAll(conf, []byte(`${1}"127.0.0.1:`+metricsPort+`"`)), 0o600); err != nil {
		t.Fatal(err)
	}
	rs := exec.Command(redisBin, "--port", redisPort, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--requirepass", composeEnv["REDIS_PASSWORD"], "--dir", t.TempDir())
	if err := rs.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rs.Process.Kill(); _ = rs.Wait() })
	waitListen(t, redisPort)

	// The command as compose gives it, on loopback and a free port; the
	// config file at its source.
	args := slices.Clone(gw.Command)
	for i := range args {
		switch {
		case i > 0 && args[i-1] == "--host":
			args[i] = "127.0.0.1"
		case i > 0 && args[i-1] == "--port":
			args[i] = port
		case i > 0 && args[i-1] == "--config":
			args[i] = confPath
		}
	}
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(),
		"GITHUB_BASE_URL=http://127.0.0.1:1", "GITHUB_API_URL=http://127.0.0.1:1"}
	for k, v := range gw.Environment {
		if k == "REDIS_URL" {
			env = append(env, "REDIS_URL=redis://127.0.0.1:"+redisPort+"/0")
			continue
		}
		if v != nil {
			env = append(env, k+"="+*v)
		}
	}

	// The secrets' files are not there yet (not at /run/secrets here).
	noSecret := exec.Command(bin, args...)
	noSecret.Env = env
	stderr, err := noSecret.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 ||
		!strings.Contains(string(stderr), "(from GITHUB_CLIENT_SECRET_FILE): cannot read /run/secrets/github_client_secret") {
		t.Errorf("without the secret's file: %v, want exit status 2 naming GITHUB_CLIENT_SECRET_FILE and the file:\n%s", err, stderr)
	}
	// Each secret's file, at a path of its own instead of its target, as
	// an operator writes it (a final newline, readable by the container).
	secretsDir := t.TempDir()
	for _, s := range gw.Secrets {
		path := filepath.Join(secretsDir, s.Source)
		if err := os.WriteFile(path, []byte("not-a-real-secret\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		for i, kv := range env {
			if k, v, _ := strings.Cut(kv, "="); strings.HasSuffix(k, "_FILE") && v == secretTarget(s) {
				env[i] = k + "=" + path
			}
		}
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	var out, logs lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("gateway output:\n%s\n%s", out.String(), logs.String())
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("the gateway exited: %v\n%s", err, logs.String())
		default:
		}
		if status, _ := get("http://127.0.0.1:" + port + "/ready"); status == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the gateway is not ready after 60 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The summary comes through a pipe: wait for its last line.
	for end := time.Now().Add(10 * time.Second); !strings.Contains(out.String(), "Health:") && time.Now().Before(end); {
		time.Sleep(20 * time.Millisecond)
	}
	for _, want := range []string{"https://echo.example.com/mcp", "https://echo-stateless.example.com/mcp", "https://fetch.example.com/mcp", "https://auth.example.com"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the summary does not show %s:\n%s", want, out.String())
		}
	}
	if status, body := get("http://127.0.0.1:" + metricsPort + "/metrics"); status != 200 || !strings.Contains(body, "# TYPE") {
		t.Errorf("metrics: status %d %.200s", status, body)
	}
}

// shellWords splits a simple shell command line into words: blanks
// separate them, single and double quotes group (no escapes, no
// expansions, which the build step does not use).
func shellWords(s string) ([]string, error) {
	var words []string
	var w strings.Builder
	in, quote := false, rune(0)
	for _, r := range s {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			w.WriteRune(r)
		case r == '"' || r == '\'':
			quote, in = r, true
		case r == ' ' || r == '\t':
			if in {
				words = append(words, w.String())
				w.Reset()
				in = false
			}
		case strings.ContainsRune("$`\\;&|<>()", r):
			return nil, fmt.Errorf("the build step %q uses shell syntax this check does not read (%q)", s, r)
		default:
			w.WriteRune(r)
			in = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("the build step %q has an unclosed quote", s)
	}
	if in {
		words = append(words, w.String())
	}
	return words, nil
}

func get(u string) (int, string) {
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(u)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}

func waitListen(t *testing.T, port string) {
	t.Helper()
	for range 200 {
		if c, err := net.Dial("tcp", "127.0.0.1:"+port); err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("nothing listens on port %s", port)
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

package cli_test

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mcp-oauth-gateway/gateway/internal/redistest"
)

// The same bad inputs against every binary of the module, built once and
// run as child processes, with nothing in their environment but what a
// case sets.

// binary describes one binary: the names its settings have in it.
type binary struct {
	name string
	// base are arguments every run gets, so that only the setting under
	// test is wrong: the proxy's server command (the conformance fixture
	// over stdio), the authorization server's development login and store.
	base       []string
	hostEnv    string // "" for a binary without a listener (no --host)
	portFlag   string // the port setting's flag; "" for --port
	portEnv    string
	boolFlag   string // a boolean setting with a variable
	boolEnv    string
	hostsEnv   string   // the variable of --allowed-hosts; "" for a binary without the MCP guard
	devLogin   bool     // the binary has --dev-login
	secretEnv  string   // the variable of a secret setting; "" for a binary without secrets
	secretFlag string   // that secret's flag; "" for one read only from the environment
	positional bool     // the binary takes positional arguments
	helpEnv    []string // variables --help must list
	helpFlags  []string // more that --help must show
	ready      string   // a path answered once it serves; "" for a binary that serves nothing
	extra      []badInput
}

// port is the name of the binary's port flag.
func (b binary) port() string {
	if b.portFlag == "" {
		return "port"
	}
	return b.portFlag
}

var binaries = []binary{
	{name: "mcp-echo-streamablehttp-server-stateful", hostEnv: "MCP_ECHO_HOST", portEnv: "MCP_ECHO_PORT",
		boolFlag: "debug", boolEnv: "MCP_ECHO_DEBUG", hostsEnv: "MCP_ECHO_ALLOWED_HOSTS",
		helpEnv: []string{"MCP_SESSION_TIMEOUT", "MCP_ECHO_TRUST_GATEWAY_HEADERS", "MCP_CORS_ORIGINS", "MCP_ALLOW_ANY_HOST", "LOG_FILE"}, ready: "/health"},
	{name: "mcp-echo-streamablehttp-server-stateless", hostEnv: "MCP_ECHO_HOST", portEnv: "MCP_ECHO_PORT",
		boolFlag: "trust-gateway-headers", boolEnv: "MCP_ECHO_TRUST_GATEWAY_HEADERS", hostsEnv: "MCP_ECHO_ALLOWED_HOSTS",
		helpEnv: []string{"MCP_PROTOCOL_VERSIONS_SUPPORTED", "MCP_ECHO_DEBUG", "MCP_ALLOW_ANY_HOST", "LOG_FILE"}, ready: "/health"},
	{name: "mcp-fetch-streamablehttp-server", hostEnv: "HOST", portEnv: "PORT",
		boolFlag: "ignore-robots", boolEnv: "FETCH_IGNORE_ROBOTS", hostsEnv: "MCP_ALLOWED_HOSTS",
		helpEnv: []string{"FETCH_MAX_SIZE", "FETCH_ALLOW_PRIVATE_IPS", "MCP_ALLOWED_ORIGINS", "MCP_ALLOW_ANY_HOST", "LOG_LEVEL", "LOG_FILE"}, ready: "/health"},
	{name: "mcp-streamablehttp-proxy", base: []string{"--", "{fixture}", "--stdio"}, hostEnv: "MCP_BIND_HOST", portEnv: "MCP_PORT",
		boolFlag: "trust-gateway-headers", boolEnv: "MCP_TRUST_GATEWAY_HEADERS", hostsEnv: "MCP_ALLOWED_HOSTS", positional: true,
		helpEnv: []string{"MCP_PROXY_CONFIG", "MCP_PROTOCOL_2026", "MCP_CORS_ORIGINS", "MCP_ALLOW_ANY_HOST", "LOG_LEVEL", "LOG_FILE"}, ready: "/health"},
	{name: "mcp-oauth-server", base: []string{"--dev-login", "--store", "memory"}, hostEnv: "HOST", portEnv: "PORT",
		boolFlag: "dev-login-on-network", boolEnv: "MCP_DEV_LOGIN_ON_NETWORK", devLogin: true, secretEnv: "GITHUB_CLIENT_SECRET",
		helpEnv: []string{"GITHUB_CLIENT_ID", "GITHUB_CLIENT_SECRET (or GITHUB_CLIENT_SECRET_FILE: a file holding it)", "BASE_DOMAIN",
			"ALLOWED_GITHUB_USERS", "REDIS_URL", "REDIS_PASSWORD (or REDIS_PASSWORD_FILE", "JWT_ALGORITHM", "JWT_PRIVATE_KEY_B64 (or JWT_PRIVATE_KEY_B64_FILE",
			"OIDC_CLIENT_SECRET (or OIDC_CLIENT_SECRET_FILE", "UPSTREAM_KEYS (or UPSTREAM_KEYS_FILE, --upstream-keys-file", "[UPSTREAM_KEYS_FILE]",
			"ACCESS_TOKEN_LIFETIME", "CLIENT_LIFETIME", "OAUTH_SCOPES", "LOG_LEVEL", "LOG_FILE"},
		helpFlags: []string{"--upstream-keys-file FILE", "A secret's variable NAME has NAME_FILE"},
		ready:     "/.well-known/oauth-authorization-server",
		extra: []badInput{
			{"upstream keys and their file", nil, []string{"UPSTREAM_KEYS=k1:s3cr3t", "UPSTREAM_KEYS_FILE=/nonexistent/keys"},
				[]string{"UPSTREAM_KEYS and UPSTREAM_KEYS_FILE are both set: use one"}},
			{"missing upstream keys file", []string{"--upstream-keys-file", "/nonexistent/keys"}, nil,
				[]string{"bad value for UPSTREAM_KEYS (from --upstream-keys-file): cannot read /nonexistent/keys: no such file or directory"}},
			// doc.go: a file that is there and not empty (the binaries run in
			// this package's directory).
			{"OIDC secret file without issuer", nil, []string{"OIDC_CLIENT_SECRET_FILE=doc.go"},
				[]string{"OIDC_CLIENT_SECRET_FILE is set but OIDC_ISSUER is not"}},
		}},
	// The gateway knows the hosts it serves (its issuer's and services'),
	// so a listener beyond loopback needs no --allowed-hosts; without a
	// GitHub app it runs the development login, which refuses that
	// listener anyway.
	{name: "mcp-oauth-gateway", base: []string{"--store", "memory"}, hostEnv: "HOST", portEnv: "PORT",
		boolFlag: "dev-login-on-network", boolEnv: "MCP_DEV_LOGIN_ON_NETWORK", devLogin: true,
		secretEnv: "GITHUB_CLIENT_SECRET",
		helpEnv: []string{"MCP_GATEWAY_CONFIG", "GITHUB_CLIENT_ID", "GITHUB_CLIENT_SECRET (or GITHUB_CLIENT_SECRET_FILE: a file holding it)", "BASE_DOMAIN",
			"ALLOWED_GITHUB_USERS", "REDIS_URL", "REDIS_PASSWORD_FILE", "JWT_PRIVATE_KEY_B64_FILE", "UPSTREAM_KEYS_FILE",
			"MCP_ALLOWED_HOSTS", "MCP_ALLOW_ANY_HOST", "OAUTH_RESOURCE_CONFIG", "LOG_LEVEL", "LOG_FILE"},
		ready: "/.well-known/oauth-authorization-server"},
	// The stdio bridge: no listener; its port is the login callback's.
	// With valid settings and no action it bridges standard input, which
	// is empty here, and exits.
	{name: "mcp-streamablehttp-client", base: []string{"--server-url", "http://127.0.0.1:9/mcp"},
		portFlag: "callback-port", portEnv: "MCP_CLIENT_CALLBACK_PORT", boolFlag: "json", boolEnv: "MCP_CLIENT_JSON",
		secretEnv: "MCP_CLIENT_SECRET", secretFlag: "client-secret",
		helpEnv: []string{"MCP_SERVER_URL", "MCP_CLIENT_ID", "[MCP_CLIENT_SECRET]", "[MCP_CLIENT_SECRET_FILE]", "LOG_LEVEL", "MCP_CLIENT_LOGIN", "MCP_CLIENT_CREDENTIALS_FILE"},
		helpFlags: []string{"-t, --token\n", "-c, --command 'TOOL ARGS'", "--env-file FILE", "--header NAME:VALUE", "(repeatable)", "--login auto|browser|device|paste", "--update-client k=v,...", "--raw JSON",
			"--client-secret SECRET", "--client-secret-file FILE"},
		extra: []badInput{
			{"server URL not http", []string{"--server-url", "ftp://x/mcp"}, nil, []string{`bad value "ftp://x/mcp" for --server-url / MCP_SERVER_URL`, "want a https:// or http:// URL"}},
			{"bad login", nil, []string{"MCP_CLIENT_LOGIN=telepathy"}, []string{`bad value "telepathy" for --login / MCP_CLIENT_LOGIN (from MCP_CLIENT_LOGIN): want auto, browser, device or paste`}},
			{"bad log level", []string{"--log-level", "loud"}, nil, []string{`bad value "loud" for --log-level / MCP_CLIENT_LOG_LEVEL / LOG_LEVEL`}},
			{"two actions", []string{"--list-tools", "-t"}, nil, []string{"--token and --list-tools cannot be combined"}},
			{"header without colon", []string{"--header", "nocolon"}, nil, []string{`bad value "nocolon" for --header: want NAME:VALUE`}},
			{"static Authorization with an OAuth action", []string{"--header", "authorization: Bearer x", "-t"}, nil, []string{"--token manages the OAuth client's tokens or registration, which a static Authorization --header turns off"}},
			{"static Authorization with a client id", []string{"--header", "Authorization: Bearer x", "--client-id", "c"}, nil, []string{"--client-id / MCP_CLIENT_ID is for the OAuth client"}},
			{"secret without client id", nil, []string{"MCP_CLIENT_SECRET=s3cr3t"}, []string{"for --client-secret / MCP_CLIENT_SECRET (from MCP_CLIENT_SECRET): a client secret needs --client-id / MCP_CLIENT_ID"}},
			{"secret file without client id", nil, []string{"MCP_CLIENT_SECRET_FILE=doc.go"},
				[]string{"for --client-secret / MCP_CLIENT_SECRET (from MCP_CLIENT_SECRET_FILE): a client secret needs --client-id / MCP_CLIENT_ID"}},
			{"update-client not k=v", []string{"--update-client", "client_name"}, nil, []string{`for --update-client: "client_name" is not k=v`}},
			{"raw not JSON", []string{"--raw", "tools/list"}, nil, []string{`bad value "tools/list" for --raw: not a JSON object`}},
			{"missing env file", []string{"--env-file", "/nonexistent/.env"}, nil, []string{`bad value "/nonexistent/.env" for --env-file`, "no such file"}},
		}},
}

var built struct {
	once sync.Once
	dir  string
	err  error
}

// path builds every binary once (into a directory TestMain removes) and
// returns where b is.
func (b binary) path(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		// CLI_TEST_BINARIES names a directory of binaries built elsewhere
		// (from another commit, to see these tests fail there).
		if dir := os.Getenv("CLI_TEST_BINARIES"); dir != "" {
			built.dir = dir
			return
		}
		if built.dir, built.err = os.MkdirTemp("", "cli-binaries"); built.err != nil {
			return
		}
		args := []string{"build", "-o", built.dir}
		for _, b := range binaries {
			args = append(args, "github.com/mcp-oauth-gateway/gateway/examples/"+b.name)
		}
		args = append(args, "github.com/mcp-oauth-gateway/gateway/internal/conformance/fixture")
		out, err := exec.Command("go", args...).CombinedOutput()
		if err != nil {
			built.err = errors.New(string(out))
		}
	})
	if built.err != nil {
		t.Fatalf("build: %v", built.err)
	}
	return filepath.Join(built.dir, b.name)
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" && os.Getenv("CLI_TEST_BINARIES") == "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// command runs b with b.base after args, and only env (plus PATH, and the
// pure-Go resolver, which never sends a query for a .onion name).
func (b binary) command(t *testing.T, args []string, env ...string) *exec.Cmd {
	t.Helper()
	path := b.path(t) // builds the binaries once, and sets built.dir
	full := append([]string{}, args...)
	for _, a := range b.base {
		full = append(full, strings.ReplaceAll(a, "{fixture}", filepath.Join(built.dir, "fixture")))
	}
	cmd := exec.Command(path, full...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "GODEBUG=netdns=go"}, env...)
	return cmd
}

// errStillRunning reports a binary that kept running where it should have
// exited at once.
var errStillRunning = errors.New("still running after 20 s (killed)")

// runBounded runs cmd and kills it if it has not exited within 20 s: a
// binary that accepts a bad setting goes on serving.
func runBounded(cmd *exec.Cmd) error {
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		<-done
		return errStillRunning
	}
}

type badInput struct {
	name string
	args []string
	env  []string
	want []string // in stderr
}

// badInputs are the inputs every binary must refuse with status 2 and a
// message naming the setting.
func (b binary) badInputs() []badInput {
	flagAndEnv := func(flagName, env string) string { return "--" + flagName + " / " + env }
	in := []badInput{
		{"bad boolean flag", []string{"--" + b.boolFlag + "=maybe"}, nil,
			[]string{`bad value "maybe" for ` + flagAndEnv(b.boolFlag, b.boolEnv), "want true or false"}},
		{"bad boolean variable", nil, []string{b.boolEnv + "=TRUEISH"},
			[]string{`bad value "TRUEISH" for ` + flagAndEnv(b.boolFlag, b.boolEnv), "(from " + b.boolEnv + ")"}},
		{"bad port flag", []string{"--" + b.port(), "70000"}, nil,
			[]string{`bad value "70000" for ` + flagAndEnv(b.port(), b.portEnv), "want a port number from 0 to 65535"}},
		{"bad port variable", nil, []string{b.portEnv + "=http"},
			[]string{`bad value "http" for ` + flagAndEnv(b.port(), b.portEnv) + " (from " + b.portEnv + ")"}},
		{"unknown flag", []string{"--no-such-flag"}, nil, []string{"unknown flag --no-such-flag", "--help"}},
		{"boolean flag with a space", []string{"--" + b.boolFlag, "false"}, nil, []string{"a boolean flag takes its value after ="}},
	}
	if b.hostEnv != "" {
		in = append(in,
			badInput{"bad host", []string{"--host", "bad host!"}, nil,
				[]string{`bad value "bad host!" for ` + flagAndEnv("host", b.hostEnv), "want an IP address or a host name"}},
			badInput{"unresolvable host", nil, []string{b.hostEnv + "=no-such-host.onion"},
				[]string{`bad value "no-such-host.onion" for ` + flagAndEnv("host", b.hostEnv) + " (from " + b.hostEnv + "): cannot resolve it"}},
		)
	}
	if !b.positional {
		in = append(in, badInput{"stray argument", []string{"serve"}, nil, []string{`unexpected argument "serve"`}})
	}
	if b.hostsEnv != "" {
		names := []string{"is not loopback", "DNS rebinding", "--allowed-hosts / " + b.hostsEnv, "--allow-any-host / MCP_ALLOW_ANY_HOST"}
		in = append(in,
			badInput{"every interface without allowed hosts", []string{"--host", "0.0.0.0"}, nil, names},
			badInput{"IPv6 any without allowed hosts", nil, []string{b.hostEnv + "=::"}, names},
			badInput{"a bad allowed host", []string{"--allowed-hosts", "mcp.example.com,a/b"}, nil,
				[]string{`bad value "mcp.example.com,a/b" for --allowed-hosts / ` + b.hostsEnv, `invalid allowed host "a/b"`}},
			badInput{"* as an allowed host", nil, []string{b.hostsEnv + "=*"}, []string{"--allow-any-host / MCP_ALLOW_ANY_HOST accepts every Host"}},
		)
	}
	if b.secretEnv != "" {
		// Every secret reads NAME_FILE the same way: one of these settings
		// stands for all. "s3cr3t" must never be in a message.
		names, file := b.secretEnv, b.secretEnv+"_FILE"
		if b.secretFlag != "" {
			names = flagAndEnv(b.secretFlag, b.secretEnv)
		}
		in = append(in,
			badInput{"secret file missing", nil, []string{file + "=/nonexistent/secret"},
				[]string{"bad value for " + names + " (from " + file + "): cannot read /nonexistent/secret: no such file or directory"}},
			badInput{"secret and its file", nil, []string{b.secretEnv + "=s3cr3t", file + "=/nonexistent/secret"},
				[]string{b.secretEnv + " and " + file + " are both set: use one"}},
			badInput{"empty secret file", nil, []string{file + "=/dev/null"}, []string{"bad value for " + names + " (from " + file + "): the file /dev/null is empty"}},
			badInput{"secret file a directory", nil, []string{file + "=/"}, []string{"(from " + file + "): / is a directory"}},
		)
		if b.secretFlag != "" {
			in = append(in,
				badInput{"secret flag's file missing", []string{"--" + b.secretFlag + "-file", "/nonexistent/secret"}, nil,
					[]string{"bad value for " + names + " (from --" + b.secretFlag + "-file): cannot read /nonexistent/secret"}},
				badInput{"secret flag and its file", []string{"--" + b.secretFlag, "s3cr3t", "--" + b.secretFlag + "-file", "/nonexistent/secret"}, nil,
					[]string{"--" + b.secretFlag + " and --" + b.secretFlag + "-file are both given: use one"}},
			)
		}
	}
	if b.devLogin {
		consent := []string{"development login lets anyone log in as anyone", "--dev-login-on-network / MCP_DEV_LOGIN_ON_NETWORK"}
		in = append(in,
			badInput{"dev login on every interface", []string{"--host", "0.0.0.0"}, nil, append(consent, "listen address 0.0.0.0")},
			badInput{"dev login on every interface, loopback issuer", []string{"--host", "::", "--issuer", "http://127.0.0.1:8000"}, nil, consent},
			badInput{"dev user on every interface", []string{"--dev-user", "robot"}, []string{b.hostEnv + "=0.0.0.0"}, consent},
			badInput{"dev login on a public issuer", []string{"--issuer", "https://auth.example.com"}, nil, append(consent, "issuer https://auth.example.com")},
			badInput{"REDIS_URL not a URL", nil, []string{"REDIS_URL=notaurl"},
				[]string{`bad value "notaurl" for --redis-url / REDIS_URL (from REDIS_URL): want a redis://, rediss:// or unix:// URL`}},
		)
	}
	return append(in, b.extra...)
}

func TestEveryBinaryRefusesBadInput(t *testing.T) {
	for _, b := range binaries {
		for _, tc := range b.badInputs() {
			t.Run(b.name+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				var stdout, stderr bytes.Buffer
				cmd := b.command(t, tc.args, tc.env...)
				cmd.Stdout, cmd.Stderr = &stdout, &stderr
				err := runBounded(cmd)
				var exit *exec.ExitError
				if !errors.As(err, &exit) || exit.ExitCode() != 2 {
					t.Fatalf("%v, want exit status 2; stderr:\n%s", err, stderr.String())
				}
				for _, want := range tc.want {
					if !strings.Contains(stderr.String(), want) {
						t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
					}
				}
				if !strings.HasPrefix(stderr.String(), b.name+": ") || strings.Count(stderr.String(), "\n") != 1 {
					t.Errorf("want one line starting with %q:\n%s", b.name+": ", stderr.String())
				}
				if stdout.Len() != 0 {
					t.Errorf("stdout: %s", stdout.String())
				}
				if strings.Contains(stderr.String(), "s3cr3t") {
					t.Errorf("the message shows a secret: %s", stderr.String())
				}
			})
		}
	}
}

func TestEveryBinaryHelp(t *testing.T) {
	for _, b := range binaries {
		for _, arg := range []string{"--help", "-h"} {
			t.Run(b.name+"/"+arg, func(t *testing.T) {
				t.Parallel()
				var stdout, stderr bytes.Buffer
				cmd := b.command(t, []string{arg})
				cmd.Stdout, cmd.Stderr = &stdout, &stderr
				if err := runBounded(cmd); err != nil {
					t.Fatalf("%s: %v, want exit status 0; stderr:\n%s", arg, err, stderr.String())
				}
				help := stdout.String()
				want := append([]string{"Usage: " + b.name, "--" + b.port() + " PORT",
					"[" + b.portEnv + "] (default", "--" + b.boolFlag + "\n", b.boolEnv, "true or false, 1 or 0, yes or no, on or off"}, b.helpEnv...)
				want = append(want, b.helpFlags...)
				if b.hostEnv != "" {
					want = append(want, "--host HOST", "["+b.hostEnv+"] (default 127.0.0.1)")
				}
				if b.hostsEnv != "" {
					want = append(want, "--allowed-hosts LIST", b.hostsEnv, "--allow-any-host")
				}
				for _, w := range want {
					if !strings.Contains(help, w) {
						t.Errorf("--help lacks %q:\n%s", w, help)
					}
				}
			})
		}
	}
}

// With nothing but --port 0, every binary listens on 127.0.0.1, serves,
// and stops cleanly on SIGTERM; the authorization server advertises the
// port it actually listens on.
func TestEveryBinaryListensOnLoopbackByDefault(t *testing.T) {
	for _, b := range binaries {
		if b.ready == "" {
			continue
		}
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			cmd, addr, listening := b.serving(t, []string{"--port", "0"})
			if !strings.HasPrefix(addr, "127.0.0.1:") || strings.HasSuffix(addr, ":0") {
				t.Fatalf("listening on %s, want 127.0.0.1 and a real port", addr)
			}
			resp, err := http.Get("http://" + addr + b.ready)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %s: %s %s", b.ready, resp.Status, body)
			}
			if b.devLogin {
				var meta struct {
					Issuer string `json:"issuer"`
				}
				if err := json.Unmarshal(body, &meta); err != nil || meta.Issuer != "http://"+addr {
					t.Errorf("issuer %q, want http://%s (%v)", meta.Issuer, addr, err)
				}
				if !strings.Contains(listening, "issuer=http://"+addr) {
					t.Errorf("listening line: %s", listening)
				}
			}
			if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("after SIGTERM: %v, want exit status 0", err)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("no exit within 20 s of SIGTERM")
			}
		})
	}
}

// serving starts b with args and env and returns, once it logged its
// listening line, the process, the address it listens on and that line.
// The process is killed at the end of the test unless it exited.
func (b binary) serving(t *testing.T, args []string, env ...string) (cmd *exec.Cmd, addr, listening string) {
	t.Helper()
	addrRE := regexp.MustCompile(`msg=listening addr=(\S+)`)
	cmd = b.command(t, args, env...)
	stderr, w := io.Pipe()
	cmd.Stderr = w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
		w.Close()
	})
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	deadline := time.After(20 * time.Second)
	for addr == "" {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatal("exited before listening")
			}
			if m := addrRE.FindStringSubmatch(line); m != nil {
				addr, listening = m[1], line
			}
		case <-deadline:
			t.Fatal("no listening line within 20 s")
		}
	}
	go func() {
		for range lines {
		}
	}()
	return cmd, addr, listening
}

// A secret from a file reaches the binary: mcp-oauth-server given
// JWT_PRIVATE_KEY_B64_FILE, a file as base64 writes it (76 columns and a
// final newline) and as Docker mounts it (mode 0444), signs with that
// key: its JWKS publishes the key's public half.
func TestSecretFileThroughTheBinary(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.StdEncoding.EncodeToString(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	var wrapped strings.Builder
	for len(b64) > 76 {
		wrapped.WriteString(b64[:76] + "\n")
		b64 = b64[76:]
	}
	wrapped.WriteString(b64 + "\n")
	path := filepath.Join(t.TempDir(), "jwt_private_key")
	if err := os.WriteFile(path, []byte(wrapped.String()), 0o444); err != nil {
		t.Fatal(err)
	}

	var server binary
	for _, b := range binaries {
		if b.name == "mcp-oauth-server" {
			server = b
		}
	}
	_, addr, _ := server.serving(t, []string{"--port", "0"}, "JWT_ALGORITHM=ES256", "JWT_PRIVATE_KEY_B64_FILE="+path)
	resp, err := http.Get("http://" + addr + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var jwks struct {
		Keys []struct {
			Kty, Crv, X, Y string
		} `json:"keys"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&jwks); err != nil {
		t.Fatal(err)
	}
	pub, err := key.PublicKey.ECDH()
	if err != nil {
		t.Fatal(err)
	}
	want := pub.Bytes() // the point, uncompressed: 0x04, X, Y
	wantX, wantY := base64.RawURLEncoding.EncodeToString(want[1:33]), base64.RawURLEncoding.EncodeToString(want[33:])
	if len(jwks.Keys) != 1 || jwks.Keys[0].Kty != "EC" || jwks.Keys[0].Crv != "P-256" || jwks.Keys[0].X != wantX || jwks.Keys[0].Y != wantY {
		t.Fatalf("JWKS %+v, want the one key of the file (x %s, y %s)", jwks.Keys, wantX, wantY)
	}
}

// REDIS_PASSWORD_FILE reaches the Redis client: against a real
// redis-server that requires a password, mcp-oauth-server given the
// password's file (a final newline, as an editor leaves it) serves and
// keeps a registered client in that Redis; given a file with a wrong
// password it exits at once, says Redis refused it, and prints neither
// password.
func TestRedisPasswordFileThroughTheBinary(t *testing.T) {
	const password = "correct horse battery"
	rds := redistest.StartWithPassword(t, password)
	var server binary
	for _, b := range binaries {
		if b.name == "mcp-oauth-server" {
			server = b
		}
	}
	server.base = []string{"--dev-login"} // the state in REDIS_URL, not in memory
	dir := t.TempDir()
	good, bad := filepath.Join(dir, "redis_password"), filepath.Join(dir, "wrong_password")
	if err := os.WriteFile(good, []byte(password+"\n"), 0o400); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("tr0ub4dor wrong\n"), 0o400); err != nil {
		t.Fatal(err)
	}

	_, addr, _ := server.serving(t, []string{"--port", "0"}, "REDIS_URL="+rds.URL, "REDIS_PASSWORD_FILE="+good)
	resp, err := http.Post("http://"+addr+"/register", "application/json",
		strings.NewReader(`{"redirect_uris":["http://127.0.0.1:9/cb"],"client_name":"password file test"}`))
	if err != nil {
		t.Fatal(err)
	}
	var reg struct {
		ClientID string `json:"client_id"`
	}
	err = json.NewDecoder(resp.Body).Decode(&reg)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || err != nil || reg.ClientID == "" {
		t.Fatalf("register: HTTP %d, %v, %+v", resp.StatusCode, err, reg)
	}
	keys, err := rds.Client.Keys(t.Context(), "*").Result()
	if err != nil || !strings.Contains(strings.Join(keys, " "), reg.ClientID) {
		t.Fatalf("Redis keys %v (%v): the registered client %s is not in the password-protected Redis", keys, err, reg.ClientID)
	}

	cmd := server.command(t, []string{"--port", "0"}, "REDIS_URL="+rds.URL, "REDIS_PASSWORD_FILE="+bad)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err = runBounded(cmd)
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("with a wrong password: %v, want a failed exit; stderr:\n%s", err, stderr.String())
	}
	out := stderr.String()
	if !strings.Contains(out, "redis") || !strings.Contains(strings.ToUpper(out), "WRONGPASS") {
		t.Fatalf("stderr does not say Redis refused the password:\n%s", out)
	}
	if strings.Contains(out, "tr0ub4dor") || strings.Contains(out, password) {
		t.Fatalf("stderr shows a password:\n%s", out)
	}
}

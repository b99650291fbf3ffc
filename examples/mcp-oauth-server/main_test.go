package main

import (
	"bytes"
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
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mcp-oauth-gateway/gateway/internal/redistest"
	"github.com/mcp-oauth-gateway/gateway/internal/testenv"
)

// The tests run the real binary: the test executable re-runs itself as
// mcp-oauth-server when MCP_OAUTH_SERVER_MAIN is set.
func TestMain(m *testing.M) {
	if os.Getenv("MCP_OAUTH_SERVER_MAIN") == "1" {
		os.Args = append([]string{"mcp-oauth-server"}, strings.Fields(os.Getenv("MCP_OAUTH_SERVER_ARGS"))...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// server is a running child process.
type server struct {
	cmd    *exec.Cmd
	issuer string
	stderr *bytes.Buffer
}

func command(t *testing.T, env []string, args ...string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append([]string{"MCP_OAUTH_SERVER_MAIN=1", "MCP_OAUTH_SERVER_ARGS=" + strings.Join(args, " "),
		"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH")}, env...)
	return cmd
}

func start(t *testing.T, port string, args ...string) *server {
	t.Helper()
	return startEnv(t, port, nil, args...)
}

// startEnv starts the server with extra environment variables.
func startEnv(t *testing.T, port string, env []string, args ...string) *server {
	t.Helper()
	issuer := "http://127.0.0.1:" + port
	cmd := command(t, env, append([]string{"--host", "127.0.0.1", "--port", port, "--issuer", issuer}, args...)...)
	s := &server{cmd: cmd, issuer: issuer, stderr: &bytes.Buffer{}}
	cmd.Stderr = s.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	for i := 0; i < 100; i++ {
		if resp, err := http.Get(issuer + "/.well-known/oauth-authorization-server"); err == nil {
			resp.Body.Close()
			return s
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("server did not start: %s", s.stderr)
	return nil
}

// stop sends SIGTERM and waits for a clean exit.
func (s *server) stop(t *testing.T) {
	t.Helper()
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit: %v; log: %s", err, s.stderr)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no graceful shutdown")
	}
}

func postJSON(t *testing.T, u string, v any) map[string]any {
	t.Helper()
	b, _ := json.Marshal(v)
	resp, err := http.Post(u, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return decode(t, resp)
}

func postForm(t *testing.T, u string, form url.Values) map[string]any {
	t.Helper()
	resp, err := http.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	return decode(t, resp)
}

func decode(t *testing.T, resp *http.Response) map[string]any {
	t.Helper()
	defer resp.Body.Close()
	var m map[string]any
	body, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("status %d body %q", resp.StatusCode, body)
	}
	return m
}

// TestRestartKeepsClientsAndTokens: with the embedded file store, a
// restart keeps the registration, the signing key and the refresh tokens.
func TestRestartKeepsClientsAndTokens(t *testing.T) {
	db := filepath.Join(t.TempDir(), "state", "oauth.db")
	restart(t, db)
	if info, err := os.Stat(db); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("store file: %v %v", info, err)
	}
}

// TestRedisStore: the same with a real redis-server (the replicas' store).
func TestRedisStore(t *testing.T) {
	rs := redistest.Start(t)
	restart(t, rs.URL)
}

// restart gets tokens from one server process, stops it, starts another
// on the same store and uses them.
func restart(t *testing.T, store string) {
	port := testenv.Port(t)
	s := start(t, port, "--dev-user", "robot", "--store", store)

	reg, tok := login(t, s.issuer, "")
	clientID := reg["client_id"].(string)
	s.stop(t)

	s = start(t, port, "--dev-user", "robot", "--store", store)
	in := postForm(t, s.issuer+"/introspect", url.Values{"token": {tok["access_token"].(string)}, "client_id": {clientID}})
	if in["active"] != true {
		t.Fatalf("access token after restart: %v", in)
	}
	next := postForm(t, s.issuer+"/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok["refresh_token"].(string)}, "client_id": {clientID}})
	if next["access_token"] == nil {
		t.Fatalf("refresh after restart: %v", next)
	}
	req, _ := http.NewRequest("GET", reg["registration_client_uri"].(string), nil)
	req.Header.Set("Authorization", "Bearer "+reg["registration_access_token"].(string))
	r2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if m := decode(t, r2); m["client_name"] != "restart" {
		t.Fatalf("registration after restart: %v", m)
	}
	s.stop(t)
}

// testRedirect is the redirect URI of the tests' clients.
const testRedirect = "http://127.0.0.1:9/cb"

// authorize registers a public client and runs an authorization (the
// server approves at once, --dev-user) for resource when it is not empty.
// It returns the registration, the PKCE verifier and the code ("" when the
// server refused).
func authorize(t *testing.T, issuer, resource string) (reg map[string]any, verifier, code string) {
	t.Helper()
	return authorizeScope(t, issuer, resource, "")
}

// authorizeScope is authorize asking for scope when it is not empty.
func authorizeScope(t *testing.T, issuer, resource, scope string) (reg map[string]any, verifier, code string) {
	t.Helper()
	reg = postJSON(t, issuer+"/register", map[string]any{"redirect_uris": []string{testRedirect}, "token_endpoint_auth_method": "none", "client_name": "restart"})
	clientID := reg["client_id"].(string)
	verifier = strings.TrimRight(base64.RawURLEncoding.EncodeToString(randomBytes(32)), "=")
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {testRedirect}, "state": {"s"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}
	if resource != "" {
		q.Set("resource", resource)
	}
	if scope != "" {
		q.Set("scope", scope)
	}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(issuer + "/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	return reg, verifier, loc.Query().Get("code")
}

// authorizeCode is authorize's registration and code.
func authorizeCode(t *testing.T, issuer, resource string) (reg map[string]any, code string) {
	t.Helper()
	reg, _, code = authorize(t, issuer, resource)
	return reg, code
}

// login runs authorize and the code exchange. It returns the registration
// and the token response.
func login(t *testing.T, issuer, resource string) (reg, tok map[string]any) {
	t.Helper()
	return loginScope(t, issuer, resource, "")
}

// loginScope is login asking for scope when it is not empty.
func loginScope(t *testing.T, issuer, resource, scope string) (reg, tok map[string]any) {
	t.Helper()
	reg, verifier, code := authorizeScope(t, issuer, resource, scope)
	tok = postForm(t, issuer+"/token", url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {testRedirect}, "code_verifier": {verifier}, "client_id": {reg["client_id"].(string)}})
	if tok["refresh_token"] == nil {
		t.Fatalf("token: %v", tok)
	}
	return reg, tok
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// TestBadSettings: each bad setting is a clear message and exit status 2.
func TestBadSettings(t *testing.T) {
	cases := []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"no GitHub app", nil, nil, "GITHUB_CLIENT_ID"},
		{"HS256", []string{"JWT_ALGORITHM=HS256"}, []string{"--dev-login"}, "HS256"},
		{"unknown algorithm", []string{"JWT_ALGORITHM=PS512"}, []string{"--dev-login"}, "PS512"},
		{"bad lifetime", []string{"ACCESS_TOKEN_LIFETIME=soon"}, []string{"--dev-login"}, "ACCESS_TOKEN_LIFETIME"},
		{"negative lifetime", []string{"REFRESH_TOKEN_LIFETIME=-5"}, []string{"--dev-login"}, "REFRESH_TOKEN_LIFETIME"},
		{"bad family lifetime", []string{"REFRESH_FAMILY_LIFETIME=forever"}, []string{"--dev-login"}, "REFRESH_FAMILY_LIFETIME"},
		{"bad check interval", nil, []string{"--dev-login", "--identity-check-interval", "0"}, "IDENTITY_CHECK_INTERVAL"},
		{"bad log level", []string{"LOG_LEVEL=LOUD"}, []string{"--dev-login"}, "LOG_LEVEL"},
		{"bad key", []string{"JWT_PRIVATE_KEY_B64=bm9wZQ=="}, []string{"--dev-login"}, "signing key"},
		{"dev user on a public issuer", nil, []string{"--dev-user", "robot", "--issuer", "https://auth.example.com", "--store", "memory"}, "loopback"},
		{"dev login on a public issuer", nil, []string{"--dev-login", "--issuer", "https://auth.example.com", "--store", "memory"}, "loopback"},
		{"bad issuer", nil, []string{"--dev-login", "--issuer", "auth.example.com", "--store", "memory"}, "issuer"},
		{"bad port", nil, []string{"--dev-login", "--port", "http"}, "port"},
		{"unknown flag", nil, []string{"--frobnicate"}, "frobnicate"},
		{"store is a directory", nil, []string{"--dev-login", "--port", "0", "--store", "/"}, "filestore"},
		{"bad redis URL", nil, []string{"--dev-login", "--port", "0", "--store", "redis://[::1"}, "redis"},
		{"REDIS_URL not a URL", []string{"REDIS_URL=notaurl"}, []string{"--dev-login"}, `bad value "notaurl" for --redis-url / REDIS_URL (from REDIS_URL): want a redis://, rediss:// or unix:// URL`},
		{"dev login on every interface", nil, []string{"--dev-login", "--host", "0.0.0.0", "--store", "memory"}, "--dev-login-on-network / MCP_DEV_LOGIN_ON_NETWORK"},
		{"dev user on every interface", []string{"HOST=::"}, []string{"--dev-user", "robot", "--store", "memory"}, "--dev-login-on-network / MCP_DEV_LOGIN_ON_NETWORK"},
		{"bad consent", []string{"MCP_DEV_LOGIN_ON_NETWORK=sure"}, []string{"--dev-login"}, `bad value "sure" for --dev-login-on-network / MCP_DEV_LOGIN_ON_NETWORK`},
		{"secret not shown", []string{"JWT_PRIVATE_KEY_B64=bm9wZQ==", "JWT_ALGORITHM=PS512"}, []string{"--dev-login"}, `bad value "PS512" for JWT_ALGORITHM`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cmd := command(t, tc.env, tc.args...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			ee, ok := err.(*exec.ExitError)
			if !ok || ee.ExitCode() != 2 {
				t.Fatalf("exit %v; stderr %s", err, stderr.String())
			}
			if !strings.Contains(strings.ToLower(stderr.String()), strings.ToLower(tc.want)) {
				t.Fatalf("message %q lacks %q", stderr.String(), tc.want)
			}
			if n := len(strings.Split(strings.TrimSpace(stderr.String()), "\n")); n > 3 && tc.name != "unknown flag" {
				t.Fatalf("message is %d lines: %s", n, stderr.String())
			}
		})
	}
}

// TestEnvironment maps the original variables onto options.
func TestEnvironment(t *testing.T) {
	env := map[string]string{
		"GITHUB_CLIENT_ID": "id", "GITHUB_CLIENT_SECRET": "secret", "BASE_DOMAIN": "example.com",
		"ACCESS_TOKEN_LIFETIME": "1800", "REFRESH_TOKEN_LIFETIME": "72h", "CLIENT_LIFETIME": "0",
		"ALLOWED_GITHUB_USERS": "alice, bob ,org:acme, id:4242", "REDIS_URL": "redis://127.0.0.1:6379/0", "JWT_ALGORITHM": "es256",
		"LOG_LEVEL": "debug", "REFRESH_FAMILY_LIFETIME": "720h", "IDENTITY_CHECK_INTERVAL": "900",
	}
	c, err := parseConfig(nil, func(k string) string { return env[k] }, io.Discard)
	if err != nil || c.Options.ClientLifetime != 0 {
		t.Fatalf("CLIENT_LIFETIME=0 (never): %v %v", c, err)
	}
	env["CLIENT_LIFETIME"] = "7776000"
	c, err = parseConfig(nil, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	o := c.Options
	if c.Issuer != "https://auth.example.com" || c.Store != env["REDIS_URL"] || o.AccessTokenLifetime != 30*time.Minute ||
		o.RefreshTokenLifetime != 72*time.Hour || o.ClientLifetime != 90*24*time.Hour || o.SigningAlgorithm != "ES256" ||
		fmt.Sprint(o.Policy.Logins) != "[alice bob]" || fmt.Sprint(o.Policy.Orgs) != "[acme]" || fmt.Sprint(o.Policy.IDs) != "[4242]" ||
		o.RefreshFamilyLifetime != 30*24*time.Hour || o.IdentityCheckInterval != 15*time.Minute {
		t.Fatalf("config %+v options %+v", c, o)
	}
	// Flags win over the environment.
	c, err = parseConfig([]string{"--issuer", "https://login.example.org", "--store", "/tmp/x.db",
		"--refresh-family-lifetime", "48h", "--identity-check-interval", "5m"}, func(k string) string { return env[k] }, io.Discard)
	if err != nil || c.Issuer != "https://login.example.org" || c.Store != "/tmp/x.db" ||
		c.Options.RefreshFamilyLifetime != 48*time.Hour || c.Options.IdentityCheckInterval != 5*time.Minute {
		t.Fatalf("flags: %+v %v", c, err)
	}
}

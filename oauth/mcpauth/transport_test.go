package mcpauth_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/mcp-oauth-gateway/gateway/internal/authtest"
	"github.com/mcp-oauth-gateway/gateway/oauth/mcpauth"
)

// The first run logs in and registers; a later one (another process: a new
// Transport on the same file) reuses the stored token without asking the
// authorization server anything. The file is private to the user.
func TestLoginOnceThenReuse(t *testing.T) {
	env := authtest.Start(t, nil)
	path := filepath.Join(t.TempDir(), "creds", "credentials.json")
	fs, err := mcpauth.NewFileStore(path)
	if err != nil {
		t.Fatal(err)
	}
	first := newTransport(t, env, fs, nil)
	if got := echoCall(t, first.Client(), env.MCP, "one"); got != "one" {
		t.Fatalf("echo = %q", got)
	}
	if env.Count("/authorize") != 1 || env.Count("/register") != 1 || env.Count("token:authorization_code") != 1 {
		t.Fatalf("first run: authorize %d, register %d, code %d", env.Count("/authorize"), env.Count("/register"), env.Count("token:authorization_code"))
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("credentials file: %v %v", st.Mode(), err)
	}
	b, _ := os.ReadFile(path)
	if !strings.Contains(string(b), `"format": "mcp-oauth-gateway/credentials"`) || !strings.Contains(string(b), `"version": 1`) {
		t.Fatalf("file: %s", b)
	}

	fs2, _ := mcpauth.NewFileStore(path)
	second := newTransport(t, env, fs2, func(o *mcpauth.Options) { o.Login = mcpauth.NoLogin })
	if got := echoCall(t, second.Client(), env.MCP, "two"); got != "two" {
		t.Fatalf("echo = %q", got)
	}
	if env.Count("/authorize") != 1 || env.Count("/register") != 1 || env.Count("token:refresh_token") != 0 {
		t.Fatalf("second run asked the authorization server: authorize %d, register %d, refresh %d",
			env.Count("/authorize"), env.Count("/register"), env.Count("token:refresh_token"))
	}
}

// A token that expires soon is refreshed before it is sent, with the
// resource; no new login.
func TestRefreshBeforeExpiry(t *testing.T) {
	env := authtest.Start(t, nil)
	store := mcpauth.NewMemoryStore()
	clk := &clock{}
	tr := newTransport(t, env, store, func(o *mcpauth.Options) { o.Now = clk.now })
	echoCall(t, tr.Client(), env.MCP, "a")
	before, _ := tr.Tokens(context.Background())
	clk.advance(time.Hour - 30*time.Second) // the default lifetime is one hour
	echoCall(t, tr.Client(), env.MCP, "b")
	after, _ := tr.Tokens(context.Background())
	if env.Count("token:refresh_token") != 1 || env.Count("/authorize") != 1 {
		t.Fatalf("refresh %d, authorize %d", env.Count("token:refresh_token"), env.Count("/authorize"))
	}
	if after.AccessToken == before.AccessToken || after.RefreshToken == before.RefreshToken || after.Resource != env.MCP {
		t.Fatalf("tokens not replaced: %+v", after)
	}
}

// A token the server refuses (here one that is not a token at all, as
// after a key change) is refreshed on the 401 and the request retried.
func TestRefreshOn401(t *testing.T) {
	env := authtest.Start(t, nil)
	store := mcpauth.NewMemoryStore()
	tr := newTransport(t, env, store, nil)
	echoCall(t, tr.Client(), env.MCP, "a")
	tok, _ := tr.Tokens(context.Background())
	tok.AccessToken = "garbage"
	_ = store.SaveTokens(context.Background(), tok)
	tr2 := newTransport(t, env, store, func(o *mcpauth.Options) { o.Login = mcpauth.NoLogin })
	if got := echoCall(t, tr2.Client(), env.MCP, "b"); got != "b" {
		t.Fatal(got)
	}
	if env.Count("token:refresh_token") != 1 || env.Count("/authorize") != 1 {
		t.Fatalf("refresh %d, authorize %d", env.Count("token:refresh_token"), env.Count("/authorize"))
	}
}

// A revoked authorization: the access token is refused, the refresh
// token too, and the client logs in again (once), instead of looping.
func TestRevokedLeadsToFreshLogin(t *testing.T) {
	env := authtest.Start(t, nil)
	tr := newTransport(t, env, mcpauth.NewMemoryStore(), nil)
	echoCall(t, tr.Client(), env.MCP, "a")
	tok, _ := tr.Tokens(context.Background())
	env.Revoke(t, tok.ClientID, tok.RefreshToken)
	deadline := time.Now().Add(10 * time.Second)
	for env.Count("/authorize") < 2 && time.Now().Before(deadline) {
		echoCall(t, tr.Client(), env.MCP, "b") // succeeds: before the revocation lands, or after the new login
		time.Sleep(50 * time.Millisecond)
	}
	if env.Count("/authorize") != 2 || env.Count("token:refresh_token") != 1 {
		t.Fatalf("authorize %d, refresh %d", env.Count("/authorize"), env.Count("token:refresh_token"))
	}
	nt, _ := tr.Tokens(context.Background())
	if nt.RefreshToken == tok.RefreshToken {
		t.Fatal("old refresh token kept")
	}
}

// Ten clients sharing a credentials file (as ten processes would) all
// find their token expiring at once: exactly one refresh reaches the
// server, and every call succeeds.
func TestConcurrentRefreshIsShared(t *testing.T) {
	env := authtest.Start(t, nil)
	path := filepath.Join(t.TempDir(), "credentials.json")
	fs, _ := mcpauth.NewFileStore(path)
	echoCall(t, newTransport(t, env, fs, nil).Client(), env.MCP, "login")
	clk := &clock{}
	clk.advance(time.Hour)
	var trs []*mcpauth.Transport
	for range 10 {
		fsi, _ := mcpauth.NewFileStore(path)
		trs = append(trs, newTransport(t, env, fsi, func(o *mcpauth.Options) { o.Now = clk.now; o.Login = mcpauth.NoLogin }))
	}
	var wg sync.WaitGroup
	for i, tr := range trs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 3 {
				if got := echoCall(t, tr.Client(), env.MCP, "x"); got != "x" {
					t.Errorf("client %d: %q", i, got)
				}
			}
		}()
	}
	wg.Wait()
	if n := env.Count("token:refresh_token"); n != 1 {
		t.Fatalf("%d refreshes reached the server, want 1", n)
	}
	if env.Count("/authorize") != 1 {
		t.Fatalf("authorize %d", env.Count("/authorize"))
	}
}

// The device authorization grant: the user opens the URL shown (here the
// test does, on the auto-approving server) and the client polls.
func TestDeviceLogin(t *testing.T) {
	env := authtest.Start(t, nil)
	pr, pw := io.Pipe()
	defer pw.Close()
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if m := regexp.MustCompile(`open (http\S+user_code=\S+)\)`).FindStringSubmatch(sc.Text()); m != nil {
				resp, err := http.Get(m[1])
				if err == nil {
					resp.Body.Close()
				}
			}
		}
	}()
	tr := newTransport(t, env, mcpauth.NewMemoryStore(), func(o *mcpauth.Options) { o.Login = &mcpauth.Device{Out: pw} })
	if got := echoCall(t, tr.Client(), env.MCP, "device"); got != "device" {
		t.Fatal(got)
	}
	if env.Count("/device_authorization") != 1 || env.Count("token:urn:ietf:params:oauth:grant-type:device_code") < 1 || env.Count("/authorize") != 0 {
		t.Fatalf("device %d, polls %d, authorize %d", env.Count("/device_authorization"),
			env.Count("token:urn:ietf:params:oauth:grant-type:device_code"), env.Count("/authorize"))
	}
}

// The paste-back login talks on the terminal: the user pastes the address
// the browser was sent to. Driven through a pseudo-terminal.
func TestPasteLogin(t *testing.T) {
	env := authtest.Start(t, nil)
	ptm, pts, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer ptm.Close()
	defer pts.Close()
	go func() {
		rd := bufio.NewReader(ptm)
		re := regexp.MustCompile(`(http://127\.0\.0\.1:\d+/authorize\?\S+)`)
		for {
			line, err := rd.ReadString('\n')
			if err != nil {
				return
			}
			m := re.FindStringSubmatch(line)
			if m == nil {
				continue
			}
			// The browser: stop at the redirect to the (unreachable) callback.
			hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			resp, err := hc.Get(strings.TrimSpace(m[1]))
			if err != nil {
				return
			}
			resp.Body.Close()
			loc := resp.Header.Get("Location")
			// A wrong paste first, then the right one.
			io.WriteString(ptm, "nonsense\n")
			io.WriteString(ptm, loc+"\n")
		}
	}()
	tr := newTransport(t, env, mcpauth.NewMemoryStore(), func(o *mcpauth.Options) { o.Login = &mcpauth.Paste{TTY: pts.Name()} })
	if got := echoCall(t, tr.Client(), env.MCP, "pasted"); got != "pasted" {
		t.Fatal(got)
	}
	if env.Count("token:authorization_code") != 1 {
		t.Fatalf("code exchanges %d", env.Count("token:authorization_code"))
	}
}

// With NoLogin, a request that needs a login fails with ErrLoginRequired
// instead of waiting for a user.
func TestNoLoginError(t *testing.T) {
	env := authtest.Start(t, nil)
	tr := newTransport(t, env, mcpauth.NewMemoryStore(), func(o *mcpauth.Options) { o.Login = mcpauth.NoLogin })
	req, _ := http.NewRequest(http.MethodPost, env.MCP, strings.NewReader(`{}`))
	_, err := tr.Client().Do(req)
	if !errors.Is(err, mcpauth.ErrLoginRequired) {
		t.Fatalf("err = %v", err)
	}
}

// loggedInThenForgotten logs a client in, then deletes its registration at
// the server. The login it returns gives up after 20 s: a login that
// waits for a page nobody sees fails the test instead of hanging it.
func loggedInThenForgotten(t *testing.T) (*authtest.Env, *mcpauth.MemoryStore, *mcpauth.Tokens, func(*mcpauth.Options)) {
	t.Helper()
	env := authtest.Start(t, nil)
	store := mcpauth.NewMemoryStore()
	short := func(o *mcpauth.Options) {
		o.Login = &mcpauth.Browser{Open: authtest.Browser, Out: io.Discard, Timeout: 20 * time.Second}
	}
	tr := newTransport(t, env, store, short)
	echoCall(t, tr.Client(), env.MCP, "a")
	tok, _ := tr.Tokens(context.Background())
	if err := env.Store.DeleteClient(context.Background(), tok.ClientID); err != nil {
		t.Fatal(err)
	}
	return env, store, tok, short
}

// The server forgets the client (its registration expired, or it lost its
// store) while the client still has tokens: the refresh is refused with
// invalid_client, and the client registers again before it logs in,
// instead of sending the user to the server's "unknown client" page.
func TestRefusedClientRegistersAgain(t *testing.T) {
	env, store, tok, short := loggedInThenForgotten(t)
	tok.AccessToken = "refused"
	_ = store.SaveTokens(context.Background(), tok)
	tr2 := newTransport(t, env, store, short)
	if got := echoCall(t, tr2.Client(), env.MCP, "b"); got != "b" {
		t.Fatal(got)
	}
	if env.Count("token:refresh_token") != 1 || env.Count("/register") != 2 || env.Count("/authorize") != 2 {
		t.Fatalf("refresh %d, register %d, authorize %d", env.Count("token:refresh_token"), env.Count("/register"), env.Count("/authorize"))
	}
	if env.Count("/register/"+tok.ClientID) != 0 {
		t.Fatal("the refused refresh was not enough to drop the registration")
	}
}

// A login with a stored registration the server no longer knows (and no
// tokens to refresh): the client asks the server (RFC 7592 read) before
// it uses the registration, and registers again.
func TestForgottenRegistrationRegistersAgain(t *testing.T) {
	env, store, tok, short := loggedInThenForgotten(t)
	_ = store.DeleteTokens(context.Background(), tok.Server)
	tr2 := newTransport(t, env, store, short)
	if got := echoCall(t, tr2.Client(), env.MCP, "b"); got != "b" {
		t.Fatal(got)
	}
	if env.Count("/register") != 2 || env.Count("/authorize") != 2 || env.Count("/register/"+tok.ClientID) != 1 {
		t.Fatalf("register %d, authorize %d, registration reads %d", env.Count("/register"), env.Count("/authorize"), env.Count("/register/"+tok.ClientID))
	}
	// A registration the server knows is asked about once per Transport.
	_ = store.DeleteTokens(context.Background(), tok.Server)
	echoCall(t, newTransport(t, env, store, short).Client(), env.MCP, "c")
	reg, _ := store.Registration(context.Background(), tok.Issuer)
	if env.Count("/register/"+reg.ClientID) != 1 || env.Count("/register") != 2 {
		t.Fatalf("reads of the new registration %d, registrations %d", env.Count("/register/"+reg.ClientID), env.Count("/register"))
	}
}

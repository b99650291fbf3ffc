package main

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
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

	"github.com/creack/pty"

	"github.com/mcp-oauth-gateway/gateway/internal/authtest"
)

// The logins and key changes, end to end: the real binary against the
// real mcp-oauth-server (a child process) and an MCP server behind its
// /verify, on loopback.

// deviceCode reads the client's stderr until it shows a device code and
// returns the verification URL and the code; the rest of stderr is kept.
func deviceCode(t *testing.T, stderr io.Reader, rest *lockedText) (uri, code string) {
	t.Helper()
	re := regexp.MustCompile(`open\s+(http\S+)\s+and enter the code\s+(\S+)`)
	found := make(chan []string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			rest.add(sc.Text() + "\n")
			if m := re.FindStringSubmatch(rest.String()); m != nil {
				select {
				case found <- m:
				default:
				}
			}
		}
	}()
	select {
	case m := <-found:
		return m[1], m[2]
	case <-time.After(60 * time.Second):
		t.Fatalf("no device code on stderr:\n%s", rest.String())
	}
	return "", ""
}

type lockedText struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedText) add(s string) { l.mu.Lock(); l.b.WriteString(s); l.mu.Unlock() }
func (l *lockedText) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// The device authorization grant as a user on another device does it:
// the client shows a URL and a code; the user opens the server's /device
// page, enters the code, approves and signs in (here with the development
// login's forms). A denial ends the client at once with a clear error; an
// approval logs it in, and the next run reuses the token.
func TestDeviceLoginAtTheServersPages(t *testing.T) {
	as := authtest.StartChild(t, &authtest.ChildOptions{Forms: true, Env: []string{"ALLOWED_GITHUB_USERS=alice"}, Args: []string{"--store", "memory"}})
	mcp := as.ProtectedMCP(t)
	creds := filepath.Join(t.TempDir(), "credentials.json")

	run := func(decide func(uri, code string)) (string, string, error) {
		cmd := clientCmd(t, creds, "--server-url", mcp, "--login", "device", "-c", "echo message=from-device")
		var out strings.Builder
		cmd.Stdout = &out
		stderr, err := cmd.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		var rest lockedText
		uri, code := deviceCode(t, stderr, &rest)
		decide(uri, code)
		err = cmd.Wait()
		return out.String(), rest.String(), err
	}

	_, errs, err := run(func(uri, code string) {
		if page, err := authtest.DenyDevice(uri, code, "alice"); err != nil {
			t.Fatalf("deny: %v (%s)", err, page)
		}
	})
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(errs, "denied") {
		t.Fatalf("after a denial: %v\n%s", err, errs)
	}

	out, errs, err := run(func(uri, code string) {
		if !strings.HasPrefix(uri, as.Issuer+"/device") {
			t.Errorf("verification URI %s, want the server's /device page", uri)
		}
		page, err := authtest.ApproveDevice(uri, code, "alice")
		if err != nil || !strings.Contains(page, "connected") {
			t.Fatalf("approve: %v (%s)", err, page)
		}
	})
	if err != nil || !strings.Contains(out, "from-device") {
		t.Fatalf("after the approval: %v %q\n%s", err, out, errs)
	}
	if as.Count("/device_authorization") != 2 || as.Count("/authorize") != 0 || as.Count("token:urn:ietf:params:oauth:grant-type:device_code") < 1 {
		t.Fatalf("device authorizations %d, authorize %d, polls %d", as.Count("/device_authorization"), as.Count("/authorize"),
			as.Count("token:urn:ietf:params:oauth:grant-type:device_code"))
	}
	if out := mustCLI(t, creds, "", "--server-url", mcp, "--login", "device", "-c", "echo message=again"); !strings.Contains(out, "again") {
		t.Fatalf("second run: %q", out)
	}
	if as.Count("/device_authorization") != 2 {
		t.Fatalf("the second run asked for another device code")
	}
}

// The paste-back login talks on the terminal (a pseudo-terminal here, the
// child's controlling one), never on standard input, which carries the
// MCP messages of the bridge: the user opens the URL shown there in a
// browser elsewhere and pastes the address the browser ended on (a wrong
// paste first).
func TestPasteLoginOnTheTerminal(t *testing.T) {
	as := authtest.StartChild(t, &authtest.ChildOptions{Args: []string{"--store", "memory"}})
	mcp := as.ProtectedMCP(t)
	creds := filepath.Join(t.TempDir(), "credentials.json")
	ptm, pts, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer ptm.Close()
	cmd := clientCmd(t, creds, "--server-url", mcp, "--login", "paste")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var errs strings.Builder
	cmd.Stderr = &errs
	cmd.ExtraFiles = []*os.File{pts} // fd 3, the controlling terminal
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 3}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pts.Close()

	var terminal lockedText
	go func() {
		rd := bufio.NewReader(ptm)
		re := regexp.MustCompile(`(http://127\.0\.0\.1:\d+/authorize\?\S+)`)
		for {
			line, err := rd.ReadString('\n')
			terminal.add(line)
			if err != nil {
				return
			}
			m := re.FindStringSubmatch(line)
			if m == nil {
				continue
			}
			// The browser on another machine: it ends on the loopback
			// redirect, which does not load there.
			hc := &http.Client{CheckRedirect: func(r *http.Request, _ []*http.Request) error {
				if r.URL.Hostname() == "127.0.0.1" && r.URL.Path == "/callback" {
					return http.ErrUseLastResponse
				}
				return nil
			}}
			resp, err := hc.Get(m[1])
			if err != nil {
				t.Errorf("browser: %v", err)
				return
			}
			resp.Body.Close()
			io.WriteString(ptm, "not the address\n")
			io.WriteString(ptm, resp.Header.Get("Location")+"\n")
		}
	}()

	io.WriteString(stdin, `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`+"\n"+
		`{"jsonrpc":"2.0","method":"notifications/initialized"}`+"\n"+
		`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"message":"pasted"}}}`+"\n")
	sc := bufio.NewScanner(stdout)
	var got []string
	for sc.Scan() {
		got = append(got, sc.Text())
		if strings.Contains(sc.Text(), `"id":2`) {
			break
		}
	}
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("bridge: %v\n%s", err, errs.String())
	}
	if len(got) != 2 || !strings.Contains(got[0], `"id":1`) || !strings.Contains(got[1], "pasted") {
		t.Fatalf("stdout: %q\nterminal:\n%s\nstderr:\n%s", got, terminal.String(), errs.String())
	}
	term := terminal.String()
	for _, want := range []string{"Open this URL in a browser", "Redirect URL: ", "That is not the redirect URL", "Authorized."} {
		if !strings.Contains(term, want) {
			t.Errorf("the terminal lacks %q:\n%s", want, term)
		}
	}
	if as.Count("token:authorization_code") != 1 || as.Count("/authorize") != 1 {
		t.Fatalf("code exchanges %d, authorize %d", as.Count("token:authorization_code"), as.Count("/authorize"))
	}
}

// ecKey is a new P-256 signing key as JWT_PRIVATE_KEY_B64 takes it.
func ecKey(t *testing.T) string {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

// refused reports whether the MCP server refuses the access token with 401.
func refused(t *testing.T, mcp, token string) bool {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, mcp, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusUnauthorized
}

// The server restarts with another signing key (JWT_PRIVATE_KEY_B64; the
// old key is gone, so the stored access token is refused): the client
// refreshes once, without a new login, since the refresh token lives in
// the server's store. Then it restarts with yet another key and an empty
// store (its registration and refresh token forgotten too): the client
// registers again and logs in once, instead of waiting on a login with a
// client the server no longer knows.
func TestServerRestartsWithANewSigningKey(t *testing.T) {
	storeFile := filepath.Join(t.TempDir(), "oauth.db")
	opts := func(key string, store string) *authtest.ChildOptions {
		return &authtest.ChildOptions{Env: []string{"JWT_ALGORITHM=ES256", "JWT_PRIVATE_KEY_B64=" + key}, Args: []string{"--store", store}}
	}
	as := authtest.StartChild(t, opts(ecKey(t), storeFile))
	mcp := as.ProtectedMCP(t)
	creds := filepath.Join(t.TempDir(), "credentials.json")
	mustCLI(t, creds, "", "--server-url", mcp, "-c", "echo message=first")
	first := storedTokens(t, creds)

	as.Restart(opts(ecKey(t), storeFile))
	if !refused(t, mcp, first.AccessToken) {
		t.Fatal("the old access token is still accepted after the key change")
	}
	if out := mustCLI(t, creds, "", "--server-url", mcp, "-c", "echo message=second"); !strings.Contains(out, "second") {
		t.Fatalf("after the key change: %q", out)
	}
	if as.Count("token:refresh_token") != 1 || as.Count("/authorize") != 1 || as.Count("/register") != 1 {
		t.Fatalf("after the key change: refresh %d, authorize %d, register %d, want 1, 1, 1",
			as.Count("token:refresh_token"), as.Count("/authorize"), as.Count("/register"))
	}
	if storedTokens(t, creds).RefreshToken == first.RefreshToken {
		t.Fatal("the refresh token did not rotate")
	}

	as.Restart(opts(ecKey(t), "memory"))
	if out := mustCLI(t, creds, "", "--server-url", mcp, "-c", "echo message=third"); !strings.Contains(out, "third") {
		t.Fatalf("after the fresh store: %q", out)
	}
	if as.Count("token:refresh_token") != 2 || as.Count("/register") != 2 || as.Count("/authorize") != 2 {
		t.Fatalf("after the fresh store: refresh %d, register %d, authorize %d, want 2, 2, 2",
			as.Count("token:refresh_token"), as.Count("/register"), as.Count("/authorize"))
	}
	// And the next run just works.
	mustCLI(t, creds, "", "--server-url", mcp, "-c", "echo message=fourth")
	if as.Count("token:refresh_token") != 2 || as.Count("/authorize") != 2 {
		t.Fatalf("the next run: refresh %d, authorize %d", as.Count("token:refresh_token"), as.Count("/authorize"))
	}
}

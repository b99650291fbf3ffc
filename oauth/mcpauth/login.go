package mcpauth

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// Login obtains the user's authorization for a Flow: through a browser, a
// device code, or whatever else an application does. It returns the
// tokens of Flow.Exchange or Flow.DeviceToken.
type Login interface {
	Authorize(ctx context.Context, f *Flow) (*oauth2.Token, error)
}

// LoginFunc adapts a function to Login.
type LoginFunc func(ctx context.Context, f *Flow) (*oauth2.Token, error)

// Authorize calls fn.
func (fn LoginFunc) Authorize(ctx context.Context, f *Flow) (*oauth2.Token, error) { return fn(ctx, f) }

// NoLogin refuses every login with ErrLoginRequired: for programs that
// must only use and refresh stored tokens.
var NoLogin Login = LoginFunc(func(context.Context, *Flow) (*oauth2.Token, error) { return nil, ErrLoginRequired })

// DefaultLoginTimeout bounds a login waiting for the user.
const DefaultLoginTimeout = 5 * time.Minute

// Browser logs in with the authorization code flow and a loopback redirect
// (RFC 8252): it listens on 127.0.0.1, opens the authorization URL in the
// browser, and takes the redirect.
type Browser struct {
	// CallbackPort is the port to listen on. Zero: the port of the stored
	// registration's redirect URI when it is free, else any free port.
	CallbackPort int
	// Open opens a URL in the user's browser. Nil: OpenBrowser. When it
	// fails, the URL is printed to Out for the user to open.
	Open func(url string) error
	// Out receives the messages for the user. Nil: os.Stderr.
	Out io.Writer
	// Timeout bounds the wait. Zero: DefaultLoginTimeout.
	Timeout time.Duration
}

const callbackPath = "/callback"

// Authorize implements Login.
func (b *Browser) Authorize(ctx context.Context, f *Flow) (*oauth2.Token, error) {
	out := writerOr(b.Out)
	ln, err := listenCallback(b.CallbackPort, f.RedirectURI(ctx))
	if err != nil {
		return nil, err
	}
	defer ln.Close()
	redirect := "http://" + ln.Addr().String() + callbackPath
	authURL, err := f.AuthCodeURL(ctx, redirect)
	if err != nil {
		return nil, err
	}
	type result struct {
		tok *oauth2.Token
		err error
	}
	done := make(chan result, 1)
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+callbackPath, func(w http.ResponseWriter, r *http.Request) {
		tok, err := f.Exchange(r.Context(), r.URL.Query())
		if errors.Is(err, ErrState) {
			writePage(w, http.StatusBadRequest, "This is not the response of the login in progress. Close this window.")
			return
		}
		if err != nil {
			writePage(w, http.StatusBadRequest, "Authorization failed: "+err.Error())
		} else {
			writePage(w, http.StatusOK, "Authorized. You can close this window and go back to your application.")
		}
		select {
		case done <- result{tok, err}:
		default:
		}
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	open := b.Open
	if open == nil {
		open = OpenBrowser
	}
	if err := open(authURL); err != nil {
		fmt.Fprintf(out, "Open this URL in your browser to authorize access to %s:\n\n  %s\n\n", f.Server(), authURL)
	} else {
		fmt.Fprintf(out, "Opened your browser to authorize access to %s. If it did not open, visit:\n\n  %s\n\n", f.Server(), authURL)
	}
	ctx, cancel := context.WithTimeout(ctx, durationOr(b.Timeout, DefaultLoginTimeout))
	defer cancel()
	select {
	case r := <-done:
		return r.tok, r.err
	case <-ctx.Done():
		return nil, fmt.Errorf("mcpauth: waiting for the browser login: %w", ctx.Err())
	}
}

// listenCallback listens on 127.0.0.1: on port when it is set, else on the
// port of the registered redirect URI when free, else on any port.
func listenCallback(port int, registered string) (net.Listener, error) {
	if port != 0 {
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			return nil, fmt.Errorf("mcpauth: callback port %d: %w", port, err)
		}
		return ln, nil
	}
	if u, err := url.Parse(registered); err == nil && u.Hostname() == "127.0.0.1" && u.Port() != "" {
		if ln, err := net.Listen("tcp", u.Host); err == nil {
			return ln, nil
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("mcpauth: callback listener: %w", err)
	}
	return ln, nil
}

func writePage(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'")
	w.Header().Set("X-Frame-Options", "DENY")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<!doctype html><meta charset=utf-8><title>Authorization</title><p>%s</p>\n", html.EscapeString(msg))
}

// OpenBrowser opens url with the system's opener (xdg-open, open, or
// rundll32).
func OpenBrowser(u string) error {
	var cmd *exec.Cmd
	switch runtime.GOOS {
	case "darwin":
		cmd = exec.Command("open", u)
	case "windows":
		cmd = exec.Command("rundll32", "url.dll,FileProtocolHandler", u)
	default:
		cmd = exec.Command("xdg-open", u)
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	go func() { _ = cmd.Wait() }()
	return nil
}

// Device logs in with the device authorization grant (RFC 8628): it shows
// a URL and a code, which the user opens and enters on any device, and
// polls until they approve. For SSH sessions and machines without a
// browser.
type Device struct {
	// Out receives the URL and code. Nil: os.Stderr.
	Out io.Writer
}

// Authorize implements Login.
func (d *Device) Authorize(ctx context.Context, f *Flow) (*oauth2.Token, error) {
	da, err := f.DeviceAuth(ctx)
	if err != nil {
		return nil, err
	}
	out := writerOr(d.Out)
	fmt.Fprintf(out, "To authorize access to %s, open\n\n  %s\n\nand enter the code  %s\n", f.Server(), da.VerificationURI, da.UserCode)
	if da.VerificationURIComplete != "" {
		fmt.Fprintf(out, "\n(or open %s)\n", da.VerificationURIComplete)
	}
	fmt.Fprintln(out)
	return f.DeviceToken(ctx, da)
}

// Paste logs in with the authorization code flow for a browser on another
// machine: it prints the authorization URL and reads the URL the browser
// was redirected to (which shows an error page there: copy its address)
// from the terminal. It never reads standard input, which may carry a
// protocol.
type Paste struct {
	// TTY is the terminal to talk on. Empty: /dev/tty.
	TTY string
	// CallbackPort is the port of the loopback redirect URI. Zero: the
	// stored registration's, else a free port.
	CallbackPort int
	// Timeout bounds the wait. Zero: DefaultLoginTimeout.
	Timeout time.Duration
}

// Authorize implements Login.
func (p *Paste) Authorize(ctx context.Context, f *Flow) (*oauth2.Token, error) {
	name := p.TTY
	if name == "" {
		name = "/dev/tty"
	}
	tty, err := os.OpenFile(name, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("mcpauth: paste login needs a terminal: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, durationOr(p.Timeout, DefaultLoginTimeout))
	defer cancel()
	stop := context.AfterFunc(ctx, func() { tty.Close() })
	defer stop()
	defer tty.Close()

	redirect := f.RedirectURI(ctx)
	if p.CallbackPort != 0 || !strings.HasPrefix(redirect, "http://127.0.0.1:") {
		port := p.CallbackPort
		if port == 0 {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				return nil, err
			}
			port = ln.Addr().(*net.TCPAddr).Port
			ln.Close()
		}
		redirect = "http://127.0.0.1:" + strconv.Itoa(port) + callbackPath
	}
	authURL, err := f.AuthCodeURL(ctx, redirect)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(tty, "Open this URL in a browser to authorize access to %s:\n\n  %s\n\n"+
		"After you approve, the browser goes to %s... and shows an error.\nCopy that address from its address bar and paste it here.\n", f.Server(), authURL, redirect)
	rd := bufio.NewReader(tty)
	for {
		fmt.Fprint(tty, "Redirect URL: ")
		line, err := rd.ReadString('\n')
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("mcpauth: waiting for the pasted URL: %w", ctx.Err())
			}
			return nil, fmt.Errorf("mcpauth: reading the terminal: %w", err)
		}
		params, ok := pastedParams(strings.TrimSpace(line))
		if !ok {
			fmt.Fprintln(tty, "That is not the redirect URL (it has code= and state= in it). Try again.")
			continue
		}
		tok, err := f.Exchange(ctx, params)
		if errors.Is(err, ErrState) {
			fmt.Fprintln(tty, "That URL belongs to another login. Paste the one of this login.")
			continue
		}
		if err == nil {
			fmt.Fprintln(tty, "Authorized.")
		}
		return tok, err
	}
}

// pastedParams reads the parameters of a pasted redirect: a URL, or just
// its query.
func pastedParams(s string) (url.Values, bool) {
	if s == "" {
		return nil, false
	}
	q := s
	if u, err := url.Parse(s); err == nil && u.RawQuery != "" {
		q = u.RawQuery
	}
	q = strings.TrimPrefix(q, "?")
	v, err := url.ParseQuery(q)
	if err != nil || v.Get("state") == "" || (v.Get("code") == "" && v.Get("error") == "") {
		return nil, false
	}
	return v, true
}

func writerOr(w io.Writer) io.Writer {
	if w == nil {
		return os.Stderr
	}
	return w
}

func durationOr(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

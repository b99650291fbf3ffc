package authtest

import (
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mcp-oauth-gateway/gateway/echo"
	"github.com/mcp-oauth-gateway/gateway/internal/testenv"
	"github.com/mcp-oauth-gateway/gateway/mcpserver"
)

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
)

// oauthServerBinary builds examples/mcp-oauth-server once per test binary.
func oauthServerBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "authtest-")
		if err != nil {
			buildErr = err
			return
		}
		buildPath = filepath.Join(dir, "mcp-oauth-server")
		out, err := exec.Command("go", "build", "-o", buildPath, "github.com/mcp-oauth-gateway/gateway/examples/mcp-oauth-server").CombinedOutput()
		if err != nil {
			buildErr = &buildError{err, out}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildPath
}

type buildError struct {
	err error
	out []byte
}

func (e *buildError) Error() string {
	return "build mcp-oauth-server: " + e.err.Error() + ": " + string(e.out)
}

// DelayHeader makes ProtectedMCP answer a POST later, by the duration it
// gives ("200ms").
const DelayHeader = "X-Authtest-Delay"

// Child is the real mcp-oauth-server binary running as a child process,
// behind a counting proxy whose URL is the issuer (so that the issuer
// stays the same when the child restarts on another port).
type Child struct {
	Env
	target atomic.Pointer[url.URL]
	log    testenv.Output
	cmd    *exec.Cmd
	t      testing.TB
}

// ChildOptions say how to run the child. The zero value (or nil) approves
// every authorization at once, as the user robot (--dev-user robot).
type ChildOptions struct {
	// Env is the child's environment besides PATH and HOME.
	Env []string
	// Args are more arguments, such as "--store", "memory".
	Args []string
	// Forms runs the development login with its pages (--dev-login): the
	// user enters the device code, approves on the consent page and signs
	// in by name, as FillForms does. Env should name the users allowed
	// (ALLOWED_GITHUB_USERS).
	Forms bool
}

// StartChild runs mcp-oauth-server as opts says; it is stopped when the
// test ends.
func StartChild(t testing.TB, opts *ChildOptions) *Child {
	t.Helper()
	if opts == nil {
		opts = &ChildOptions{}
	}
	proxyLn := listen(t)
	c := &Child{Env: Env{Issuer: "http://" + proxyLn.Addr().String(), counts: map[string]int{}}, t: t}
	// A Director, not a Rewrite: the X-Forwarded-* headers of the /verify
	// requests must reach the server as they are.
	rp := &httputil.ReverseProxy{
		Director: func(r *http.Request) {
			target := c.target.Load()
			r.URL.Scheme, r.URL.Host = target.Scheme, target.Host
		},
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			http.Error(w, err.Error(), http.StatusBadGateway) // while the child starts
		},
	}
	serve(t, proxyLn, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.count(r)
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(c.Stop)
	c.start(opts)
	return c
}

// start runs the binary on a free port and waits until it serves.
func (c *Child) start(opts *ChildOptions) {
	t := c.t
	t.Helper()
	bin := oauthServerBinary(t)
	asLn := listen(t)
	asAddr := asLn.Addr().String()
	asLn.Close()
	_, port, _ := net.SplitHostPort(asAddr)
	args := []string{"--host", "127.0.0.1", "--port", port, "--issuer", c.Issuer}
	if opts.Forms {
		args = append(args, "--dev-login")
	} else {
		args = append(args, "--dev-user", "robot")
	}
	c.cmd = exec.Command(bin, append(args, opts.Args...)...)
	c.cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, opts.Env...)
	c.cmd.Stderr = &c.log
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c.target.Store(&url.URL{Scheme: "http", Host: asAddr})
	for i := 0; ; i++ {
		resp, err := http.Get(c.Issuer + "/.well-known/oauth-authorization-server")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if i > 200 {
			t.Fatalf("mcp-oauth-server did not start: %s", c.log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop ends the child (SIGKILL) and waits.
func (c *Child) Stop() {
	if c.cmd != nil && c.cmd.ProcessState == nil {
		_ = c.cmd.Process.Kill()
		_ = c.cmd.Wait()
	}
}

// Restart stops the child and starts it again as opts says, under the
// same issuer URL: with a new signing key, say, or a fresh store.
func (c *Child) Restart(opts *ChildOptions) {
	c.t.Helper()
	if opts == nil {
		opts = &ChildOptions{}
	}
	c.Stop()
	c.start(opts)
}

// Log is what the child wrote to stderr so far.
func (c *Child) Log() string { return c.log.String() }

// ProtectedMCP serves the stateful echo tools behind the child's /verify
// (as Traefik's forwardAuth would) and the child's protected resource
// metadata for this host; it returns the MCP endpoint URL. Requests to it
// count under "mcp:METHOD" ("mcp:DELETE"), its connections under
// "mcp:connections"; a POST with the DelayHeader (a duration) is answered
// that much later.
func (c *Child) ProtectedMCP(t testing.TB) string {
	t.Helper()
	ln := listen(t)
	srv, err := mcpserver.New("echo", "1.0.0", &mcpserver.Options{Sessions: mcpserver.Stateful, AllowedHosts: []string{"127.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	if err := echo.RegisterStateful(srv, nil); err != nil {
		t.Fatal(err)
	}
	issuer, _ := url.Parse(c.Issuer)
	forward := func(r *http.Request, h http.Header) {
		h.Set("X-Forwarded-Proto", "http")
		h.Set("X-Forwarded-Host", r.Host)
		h.Set("X-Forwarded-Uri", r.URL.RequestURI())
		h.Set("X-Forwarded-Method", r.Method)
	}
	wellKnown := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(issuer)
		pr.Out.Host = issuer.Host
		forward(pr.In, pr.Out.Header)
	}}
	mux := http.NewServeMux()
	mux.Handle("/.well-known/", wellKnown)
	mux.Handle("/mcp", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		c.counts["mcp:"+r.Method]++
		c.mu.Unlock()
		if d, err := time.ParseDuration(r.Header.Get(DelayHeader)); err == nil && r.Method == http.MethodPost {
			time.Sleep(min(d, 10*time.Second))
		}
		vr, _ := http.NewRequestWithContext(r.Context(), http.MethodGet, c.Issuer+"/verify", nil)
		forward(r, vr.Header)
		if a := r.Header.Get("Authorization"); a != "" {
			vr.Header.Set("Authorization", a)
		}
		resp, err := http.DefaultClient.Do(vr)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			for _, k := range []string{"Www-Authenticate", "Content-Type"} {
				if v := resp.Header.Values(k); len(v) > 0 {
					w.Header()[k] = v
				}
			}
			w.WriteHeader(resp.StatusCode)
			_, _ = io.Copy(w, resp.Body)
			return
		}
		srv.Handler().ServeHTTP(w, r)
	}))
	s := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ConnState: func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			c.mu.Lock()
			c.counts["mcp:connections"]++
			c.mu.Unlock()
		}
	}}
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(func() { s.Close() })
	return "http://" + ln.Addr().String() + "/mcp"
}

package authtest

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/mcp-oauth-gateway/gateway/echo"
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

// Child is the real mcp-oauth-server binary running as a child process
// (--dev-user robot: every authorization is approved at once), behind a
// counting proxy whose URL is the issuer.
type Child struct {
	Env
	cmd *exec.Cmd
	log *bytes.Buffer
}

// StartChild runs mcp-oauth-server with the extra arguments and
// environment; it is stopped when the test ends.
func StartChild(t testing.TB, env []string, args ...string) *Child {
	t.Helper()
	bin := oauthServerBinary(t)
	proxyLn := listen(t)
	asLn := listen(t)
	asAddr := asLn.Addr().String()
	asLn.Close()
	_, port, _ := net.SplitHostPort(asAddr)
	c := &Child{Env: Env{Issuer: "http://" + proxyLn.Addr().String(), counts: map[string]int{}}, log: &bytes.Buffer{}}
	c.cmd = exec.Command(bin, append([]string{"--host", "127.0.0.1", "--port", port, "--issuer", c.Issuer, "--dev-user", "robot"}, args...)...)
	c.cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, env...)
	c.cmd.Stderr = c.log
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.cmd.Process.Kill(); _ = c.cmd.Wait() })
	target, _ := url.Parse("http://" + asAddr)
	rp := httputil.NewSingleHostReverseProxy(target)
	serve(t, proxyLn, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.count(r)
		rp.ServeHTTP(w, r)
	}))
	for i := 0; ; i++ {
		resp, err := http.Get(c.Issuer + "/.well-known/oauth-authorization-server")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if i > 200 {
			t.Fatalf("mcp-oauth-server did not start: %s", c.log)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return c
}

// Stop ends the child (SIGKILL) and waits.
func (c *Child) Stop() { _ = c.cmd.Process.Kill(); _ = c.cmd.Wait() }

// ProtectedMCP serves the stateless echo tools behind the child's /verify
// (as Traefik's forwardAuth would) and the child's protected resource
// metadata for this host; it returns the MCP endpoint URL.
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
	serve(t, ln, mux)
	return "http://" + ln.Addr().String() + "/mcp"
}

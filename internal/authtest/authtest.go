package authtest

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcp-oauth-gateway/gateway/echo"
	"github.com/mcp-oauth-gateway/gateway/mcpserver"
	"github.com/mcp-oauth-gateway/gateway/oauth"
)

// Options tune Start. The zero value is a server with default lifetimes.
type Options struct {
	// AccessTokenLifetime of the authorization server. Zero: its default.
	AccessTokenLifetime time.Duration
	// RequiredScopes of the protected MCP server.
	RequiredScopes []string
	// Scopes the authorization server grants. Zero: its default ("mcp").
	Scopes []string
	// ResourceScopes are the scopes the MCP server's metadata and
	// challenges name. Zero: Scopes.
	ResourceScopes []string
	// DevicePollInterval of the authorization server. Zero: one second.
	DevicePollInterval time.Duration
	// KeySource verifies tokens at the MCP server. Nil: the authorization
	// server in process.
	KeySource oauth.KeySource
	// Wrap wraps the MCP server's handler, inside the token check (the
	// request carries the caller's caller.Identity). Nil: none.
	Wrap func(http.Handler) http.Handler
}

// Env is a running authorization server and protected MCP server.
type Env struct {
	// Issuer is the authorization server's URL, MCP the MCP endpoint.
	Issuer, MCP string
	// AS is the authorization server, Store its store.
	AS    *oauth.Server
	Store *oauth.MemoryStore

	mu     sync.Mutex
	counts map[string]int
}

// Count returns how many requests reached the authorization server under
// key: a path ("/authorize", "/register", "/device_authorization") or
// "token:GRANT" for a token request ("token:refresh_token"); for a Child,
// also "mcp:METHOD" for the requests to its ProtectedMCP.
func (e *Env) Count(key string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.counts[key]
}

func (e *Env) count(r *http.Request) {
	key := r.URL.Path
	if r.Method == http.MethodPost && r.URL.Path == "/token" {
		b, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(b))
		v, _ := url.ParseQuery(string(b))
		key = "token:" + v.Get("grant_type")
	}
	e.mu.Lock()
	e.counts[key]++
	e.mu.Unlock()
}

// Start starts both servers on loopback; they stop when the test ends.
func Start(t testing.TB, opts *Options) *Env {
	t.Helper()
	if opts == nil {
		opts = &Options{}
	}
	asLn := listen(t)
	mcpLn := listen(t)
	e := &Env{Issuer: "http://" + asLn.Addr().String(), MCP: "http://" + mcpLn.Addr().String() + "/mcp", counts: map[string]int{}}
	e.Store = oauth.NewMemoryStore(nil)
	t.Cleanup(func() { e.Store.Close() })
	idp, err := oauth.NewDevLogin(&oauth.DevLoginOptions{User: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	poll := opts.DevicePollInterval
	if poll == 0 {
		poll = time.Second
	}
	as, err := oauth.NewServer(context.Background(), e.Issuer, e.Store, idp, &oauth.Options{
		Policy: oauth.ParsePolicy("alice"), SigningAlgorithm: oauth.ES256,
		AccessTokenLifetime: opts.AccessTokenLifetime, Scopes: opts.Scopes, DevicePollInterval: poll,
		RegistrationLimit: -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	e.AS = as
	serve(t, asLn, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.count(r)
		as.ServeHTTP(w, r)
	}))

	keys := opts.KeySource
	if keys == nil {
		keys = as
	}
	v, err := oauth.NewVerifier(e.Issuer, keys, &oauth.VerifierOptions{Revocations: e.Store, Leeway: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	resourceScopes := opts.ResourceScopes
	if resourceScopes == nil {
		resourceScopes = opts.Scopes
	}
	pr, err := oauth.NewProtectedResource(v, oauth.Resource{URL: e.MCP, Name: "Echo", RequiredScopes: opts.RequiredScopes, Scopes: resourceScopes})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := mcpserver.New("echo", "1.0.0", &mcpserver.Options{Sessions: mcpserver.Stateless, AllowedHosts: []string{"127.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	if err := echo.RegisterStateless(srv, nil); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET "+pr.MetadataPath(), pr.MetadataHandler())
	var h http.Handler = srv.Handler()
	if opts.Wrap != nil {
		h = opts.Wrap(h)
	}
	mux.Handle("/mcp", pr.Middleware(h))
	serve(t, mcpLn, mux)
	return e
}

// Revoke revokes a refresh token (RFC 7009) for the public client
// clientID, which revokes every token of its authorization.
func (e *Env) Revoke(t testing.TB, clientID, refreshToken string) {
	t.Helper()
	resp, err := http.PostForm(e.Issuer+"/revoke", url.Values{"token": {refreshToken}, "client_id": {clientID}, "token_type_hint": {"refresh_token"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("revoke: HTTP %d", resp.StatusCode)
	}
}

func listen(t testing.TB) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

func serve(t testing.TB, ln net.Listener, h http.Handler) {
	s := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(func() { s.Close() })
}

// Browser is a Browser.Open for tests: it plays the user's browser,
// fetching the authorization URL and following the redirects to the
// callback, in the background.
func Browser(u string) error {
	if !strings.HasPrefix(u, "http://127.0.0.1:") {
		return io.ErrUnexpectedEOF
	}
	go func() {
		resp, err := http.Get(u)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}()
	return nil
}

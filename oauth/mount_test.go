package oauth

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mcp-oauth-gateway/gateway/mcpserver"
)

// TestMountHostRouting: with MatchHost each service answers on its own
// host only, with its metadata and (for 2025-03-26 clients) the
// authorization server's metadata there.
func TestMountHostRouting(t *testing.T) {
	e := newEnv(t)
	v, err := NewVerifier(e.srv.Issuer(), e.srv, &VerifierOptions{Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	guard, _ := mcpserver.NewGuard(&mcpserver.GuardOptions{AllowedHosts: []string{"echo.example.com", "fetch.example.com"}})
	mux := http.NewServeMux()
	for _, host := range []string{"echo.example.com", "fetch.example.com"} {
		pr, err := NewProtectedResource(v, Resource{URL: "https://" + host + "/mcp"})
		if err != nil {
			t.Fatal(err)
		}
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(host)) })
		if err := pr.Mount(mux, h, &MountOptions{Guard: guard.Wrap, MatchHost: true, AuthorizationServer: e.srv}); err != nil {
			t.Fatal(err)
		}
	}
	mux.Handle("/", http.NotFoundHandler())
	get := func(u string) (int, string) {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest("GET", u, nil))
		return rec.Code, rec.Body.String() + rec.Header().Get("WWW-Authenticate")
	}
	for _, tc := range []struct {
		url    string
		status int
		want   string
	}{
		{"https://echo.example.com/mcp", 401, `resource_metadata="https://echo.example.com/.well-known/oauth-protected-resource/mcp"`},
		{"https://fetch.example.com/mcp", 401, `resource_metadata="https://fetch.example.com/.well-known/oauth-protected-resource/mcp"`},
		{"https://fetch.example.com/.well-known/oauth-protected-resource/mcp", 200, `"resource":"https://fetch.example.com/mcp"`},
		{"https://echo.example.com/.well-known/oauth-authorization-server", 200, `"issuer":"` + e.issuer + `"`},
		{"https://other.example.com/mcp", 404, ""},
		{"https://echo.example.com/mcp/x", 404, ""},
	} {
		code, body := get(tc.url)
		if code != tc.status || !strings.Contains(body, tc.want) {
			t.Errorf("%s: %d %q, want %d %q", tc.url, code, body, tc.status, tc.want)
		}
	}
}

// TestMountRefusesConflicts: a second resource at the same path is an
// error, and registers nothing.
func TestMountRefusesConflicts(t *testing.T) {
	e := newEnv(t)
	v, _ := NewVerifier(e.srv.Issuer(), e.srv, &VerifierOptions{Logger: discardLogger()})
	defer v.Close()
	mux := http.NewServeMux()
	a, _ := NewProtectedResource(v, Resource{URL: "http://127.0.0.1:8080/a/mcp"})
	if err := a.Mount(mux, http.NotFoundHandler(), nil); err != nil {
		t.Fatal(err)
	}
	if err := a.Mount(mux, http.NotFoundHandler(), nil); err == nil || !strings.Contains(err.Error(), "already serves /a/mcp") {
		t.Fatalf("second mount: %v", err)
	}
	root, _ := NewProtectedResource(v, Resource{URL: "http://127.0.0.1:8080"})
	if err := root.Mount(mux, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("root")) }), nil); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "http://127.0.0.1:8080/elsewhere", nil))
	if rec.Code != 404 {
		t.Errorf("a resource at the root claimed /elsewhere: %d", rec.Code)
	}
	rec = httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "http://127.0.0.1:8080/", nil))
	if rec.Code != 401 {
		t.Errorf("the root resource: %d", rec.Code)
	}
	if err := a.Mount(nil, nil, nil); err == nil {
		t.Error("nil mux accepted")
	}
}

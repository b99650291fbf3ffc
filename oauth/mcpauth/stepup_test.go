package mcpauth_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/mcp-oauth-gateway/gateway/caller"
	"github.com/mcp-oauth-gateway/gateway/internal/authtest"
	"github.com/mcp-oauth-gateway/gateway/oauth/mcpauth"
)

// needScopes refuses, with 403 insufficient_scope naming the scopes that
// next(held) returns, every request whose token lacks one of them.
func needScopes(env **authtest.Env, next func(held []string) []string) func(http.Handler) http.Handler {
	return func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id := caller.FromContext(r.Context())
			want := next(id.Scopes)
			for _, s := range want {
				if !id.HasScope(s) {
					meta := strings.Replace((*env).MCP, "/mcp", "/.well-known/oauth-protected-resource/mcp", 1)
					w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer error="insufficient_scope", scope=%q, resource_metadata=%q`, strings.Join(want, " "), meta))
					http.Error(w, "insufficient scope", http.StatusForbidden)
					return
				}
			}
			h.ServeHTTP(w, r)
		})
	}
}

// A token that lacks a scope the server needs (403 insufficient_scope)
// leads to one more authorization, for the scopes the token had and those
// the challenge names; the request is then sent again and succeeds.
func TestStepUpOnInsufficientScope(t *testing.T) {
	var env *authtest.Env
	env = authtest.Start(t, &authtest.Options{
		Scopes: []string{"mcp", "admin"}, ResourceScopes: []string{"mcp"},
		Wrap: needScopes(&env, func([]string) []string { return []string{"mcp", "admin"} }),
	})
	tr := newTransport(t, env, mcpauth.NewMemoryStore(), func(o *mcpauth.Options) { o.Scopes = []string{"mcp"} })
	if got := echoCall(t, tr.Client(), env.MCP, "needs admin"); got != "needs admin" {
		t.Fatalf("echo = %q", got)
	}
	if n := env.Count("/authorize"); n != 2 {
		t.Fatalf("authorizations: %d, want 2 (the login, then the step-up)", n)
	}
	// The stepped-up token serves the next call without asking again.
	if got := echoCall(t, tr.Client(), env.MCP, "again"); got != "again" || env.Count("/authorize") != 2 {
		t.Fatalf("echo = %q after %d authorizations", got, env.Count("/authorize"))
	}
}

// A server that asks for one more scope every time gets at most
// MaxStepUps step-ups for a request; the caller then sees its 403, and no
// authorization loop starts.
func TestStepUpLimit(t *testing.T) {
	var env *authtest.Env
	all := []string{"mcp", "s1", "s2", "s3", "s4"}
	var asked atomic.Int32
	env = authtest.Start(t, &authtest.Options{
		Scopes: all, ResourceScopes: []string{"mcp"},
		Wrap: needScopes(&env, func(held []string) []string {
			asked.Add(1)
			// One scope more than the token holds.
			return all[:min(len(held)+1, len(all))]
		}),
	})
	tr := newTransport(t, env, mcpauth.NewMemoryStore(), func(o *mcpauth.Options) {
		o.Scopes = []string{"mcp"}
		o.MaxStepUps = 2
	})
	resp := ping(t, tr.Client(), env.MCP)
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("status %d, want the server's 403", resp.StatusCode)
	}
	if n := env.Count("/authorize"); n != 3 {
		t.Fatalf("authorizations: %d, want 3 (the login and 2 step-ups)", n)
	}
}

// With step-ups turned off (MaxStepUps < 0) a 403 reaches the caller
// without a new authorization.
func TestStepUpOff(t *testing.T) {
	var env *authtest.Env
	env = authtest.Start(t, &authtest.Options{
		Scopes: []string{"mcp", "admin"}, ResourceScopes: []string{"mcp"},
		Wrap: needScopes(&env, func([]string) []string { return []string{"mcp", "admin"} }),
	})
	tr := newTransport(t, env, mcpauth.NewMemoryStore(), func(o *mcpauth.Options) {
		o.Scopes = []string{"mcp"}
		o.MaxStepUps = -1
	})
	resp := ping(t, tr.Client(), env.MCP)
	if resp.StatusCode != http.StatusForbidden || env.Count("/authorize") != 1 {
		t.Fatalf("status %d after %d authorizations, want 403 after 1", resp.StatusCode, env.Count("/authorize"))
	}
}

// ping sends a ping with hc and returns the answer, its body closed.
func ping(t *testing.T, hc *http.Client, url string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

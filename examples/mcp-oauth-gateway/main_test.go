package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// upstreamMCP is a StreamableHTTP MCP server of the tests' own, written
// without OAuth: its whoami tool answers with the identity headers it got
// and whether it saw an Authorization header.
func upstreamMCP(t *testing.T) (*httptest.Server, *seenHeaders) {
	seen := &seenHeaders{}
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			ID     any    `json:"id"`
			Method string `json:"method"`
		}
		b, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(b, &req)
		seen.add(r.Header.Clone())
		if req.ID == nil {
			w.WriteHeader(http.StatusAccepted)
			return
		}
		var result any
		switch req.Method {
		case "initialize":
			result = map[string]any{"protocolVersion": "2025-11-25", "capabilities": map[string]any{"tools": map[string]any{}},
				"serverInfo": map[string]any{"name": "upstream", "version": "1"}}
			w.Header().Set("Mcp-Session-Id", "upstream-session")
		case "tools/call":
			text := fmt.Sprintf("user=%s name=%s client=%s authorization=%q api-key=%s", r.Header.Get("X-User-Id"), r.Header.Get("X-User-Name"),
				r.Header.Get("X-Auth-Client-Id"), r.Header.Get("Authorization"), r.Header.Get("X-Api-Key"))
			result = map[string]any{"content": []any{map[string]any{"type": "text", "text": text}}}
		default:
			result = map[string]any{}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"jsonrpc": "2.0", "id": req.ID, "result": result})
	}))
	t.Cleanup(s.Close)
	return s, seen
}

type seenHeaders struct {
	mu  sync.Mutex
	all []http.Header
}

func (s *seenHeaders) add(h http.Header) {
	s.mu.Lock()
	s.all = append(s.all, h)
	s.mu.Unlock()
}

// TestEveryService: a client follows the discovery of each service from
// its 401 to a token for it and calls a tool: the built-in echo and fetch
// servers, a stdio server and an upstream server, which sees the
// caller's identity and never the token. A token for one service is
// refused by another.
func TestEveryService(t *testing.T) {
	up, _ := upstreamMCP(t)
	conf := writeConfig(t, "services:\n"+
		"  - {name: echo-stateful, builtin: echo-stateful}\n"+
		"  - {name: echo-stateless, builtin: echo-stateless}\n"+
		"  - {name: fetch, builtin: fetch}\n"+
		stdioService("memory")+
		"  - name: tickets\n    upstream:\n      url: "+up.URL+"/mcp\n      headers:\n        X-Api-Key: {env: TICKETS_KEY}\n")
	g := start(t, []string{"TICKETS_KEY=svc-key-123"}, "--dev-user", "robot", "--config", conf, "--store", "memory")
	for _, name := range []string{"echo-stateful", "echo-stateless", "fetch", "memory", "tickets"} {
		if !strings.Contains(g.stdout.String(), g.base+"/"+name+"/mcp") {
			t.Errorf("the summary does not show %s: %s", name, g.stdout)
		}
	}
	calls := []struct {
		service, tool string
		args          map[string]any
		want          string
		session       bool
	}{
		{"echo-stateful", "echo", map[string]any{"message": "hello stateful"}, "hello stateful", true},
		{"echo-stateless", "echo", map[string]any{"message": "hello stateless"}, "hello stateless", false},
		// Loopback is refused by the SSRF guard: the refusal is the
		// tool's own answer, so the call went through.
		{"fetch", "fetch", map[string]any{"url": "http://127.0.0.1:8080/"}, "Refused to fetch http://127.0.0.1:8080/", true},
		{"memory", "echo", map[string]any{"text": "hello stdio"}, "hello stdio", true},
		{"tickets", "whoami", nil, `user=dev:robot name=robot`, true},
	}
	tokens := map[string]string{}
	for _, tc := range calls {
		t.Run(tc.service, func(t *testing.T) {
			c := newClient(t)
			u := g.base + "/" + tc.service + "/mcp"
			c.login(u, false)
			tokens[tc.service] = c.access
			s := &mcp{c: c, url: u}
			if tc.session {
				s.initialize()
			}
			text, _ := s.callTool(tc.tool, tc.args)
			if !strings.Contains(text, tc.want) {
				t.Fatalf("%s: %q, want %q", tc.tool, text, tc.want)
			}
			if tc.service == "tickets" {
				if !strings.Contains(text, "client="+c.clientID) || !strings.Contains(text, `authorization=""`) || !strings.Contains(text, "api-key=svc-key-123") {
					t.Fatalf("upstream saw %q", text)
				}
			}
		})
	}
	// A token for one service is refused by every other.
	for from, tok := range tokens {
		for _, to := range []string{"echo-stateless", "memory", "tickets"} {
			if to == from {
				continue
			}
			req, _ := http.NewRequest("POST", g.base+"/"+to+"/mcp", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
			req.Header.Set("Authorization", "Bearer "+tok)
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 401 || !strings.Contains(resp.Header.Get("WWW-Authenticate"), "invalid_token") {
				t.Errorf("token of %s at %s: %d %q", from, to, resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
			}
		}
	}
	g.stop(t)
}

// TestServicePolicy: a service's allowed_users decides who may get a
// token for it, and its challenge names its required_scopes.
func TestServicePolicy(t *testing.T) {
	conf := writeConfig(t, "services:\n"+
		"  - {name: open, builtin: echo-stateless}\n"+
		"  - {name: alice-only, builtin: echo-stateless, allowed_users: alice}\n"+
		"  - {name: admin, builtin: echo-stateless, required_scopes: [admin]}\n")
	g := start(t, nil, "--dev-user", "robot", "--config", conf, "--store", "memory", "--scopes", "mcp admin")
	c := newClient(t)
	c.login(g.base+"/open/mcp", false)
	// robot is refused a token for alice-only, at /authorize.
	c2 := newClient(t)
	resp, err := c2.http.Post(g.base+"/alice-only/mcp", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	reg := c2.postJSON(g.base+"/register", map[string]any{"redirect_uris": []string{"http://127.0.0.1:9/cb"}, "token_endpoint_auth_method": "none"})
	q := "response_type=code&client_id=" + reg["client_id"].(string) + "&redirect_uri=http://127.0.0.1:9/cb&state=s" +
		"&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256&resource=" + g.base + "/alice-only/mcp"
	resp, err = c2.http.Get(g.base + "/authorize?" + q)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); !strings.Contains(loc, "error=access_denied") {
		t.Fatalf("alice-only for robot: %d %q", resp.StatusCode, loc)
	}
	// The admin service challenges for its scope.
	adm := newClient(t)
	resp, _ = adm.http.Post(g.base+"/admin/mcp", "application/json", strings.NewReader("{}"))
	resp.Body.Close()
	if h := resp.Header.Get("WWW-Authenticate"); !strings.Contains(h, `scope="admin"`) {
		t.Fatalf("admin challenge %q", h)
	}
}

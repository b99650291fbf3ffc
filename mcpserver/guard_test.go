package mcpserver_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mcp-oauth-gateway/gateway/mcpserver"
)

// guardStatus runs one request through a guard built from opts, as if it
// had arrived on the listener local (nil: no listener in the context), and
// returns the status.
func guardStatus(t *testing.T, opts *mcpserver.GuardOptions, local net.Addr, host string, header map[string]string) int {
	t.Helper()
	g, err := mcpserver.NewGuard(opts)
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodPost, "/mcp", strings.NewReader(`{}`))
	req.Host = host
	for k, v := range header {
		req.Header.Set(k, v)
	}
	if local != nil {
		req = req.WithContext(context.WithValue(req.Context(), http.LocalAddrContextKey, local))
	}
	rec := httptest.NewRecorder()
	g.Wrap(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })).ServeHTTP(rec, req)
	return rec.Code
}

// The Host check holds on every listener. The non-loopback listener is an
// address of TEST-NET-1 (RFC 5737) placed in the request's context: the
// guard sees a request that arrived on 0.0.0.0 from the LAN, and no packet
// leaves this machine.
func TestGuardChecksHostOnEveryListener(t *testing.T) {
	listeners := map[string]net.Addr{
		"loopback":     &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 3000},
		"non-loopback": &net.TCPAddr{IP: net.IPv4(192, 0, 2, 10), Port: 3000},
		"ipv6 any":     &net.TCPAddr{IP: net.IPv6unspecified, Port: 3000},
		"no listener":  nil,
	}
	allowed := &mcpserver.GuardOptions{AllowedHosts: []string{"mcp.example.com", "lan.example:8443", "[fd00::7]"}}
	anyHost := &mcpserver.GuardOptions{AllowAnyHost: true}
	anyHostNamed := &mcpserver.GuardOptions{AllowAnyHost: true, AllowedHosts: []string{"mcp.example.com"}}
	cases := []struct {
		name   string
		opts   *mcpserver.GuardOptions
		host   string
		header map[string]string
		want   int
	}{
		{"loopback name", nil, "localhost:3000", nil, 200},
		{"loopback IP", nil, "127.0.0.1:3000", nil, 200},
		{"loopback IPv6", nil, "[::1]:3000", nil, 200},
		{"sub.localhost", nil, "mcp.localhost:3000", nil, 200},
		{"foreign name, default options", nil, "evil.example", nil, 403},
		{"the rebinding page: its Host and Origin agree", nil, "evil.example:3000",
			map[string]string{"Origin": "http://evil.example:3000"}, 403},
		{"empty Host", nil, "", nil, 403},
		{"allowed host, any port", allowed, "MCP.example.com.:443", nil, 200},
		{"allowed host:port", allowed, "lan.example:8443", nil, 200},
		{"allowed host, other port", allowed, "lan.example:8444", nil, 403},
		{"allowed IPv6 literal", allowed, "[fd00::7]:3000", nil, 200},
		{"allowed host, same-host Origin", allowed, "mcp.example.com",
			map[string]string{"Origin": "https://mcp.example.com"}, 200},
		{"allowed host, rebinding Origin", allowed, "mcp.example.com",
			map[string]string{"Origin": "http://evil.example"}, 403},
		{"spoofed X-Forwarded-Host does not make an Origin same-host", allowed, "mcp.example.com",
			map[string]string{"Origin": "http://evil.example", "X-Forwarded-Host": "evil.example"}, 403},
		{"any host: no Origin", anyHost, "evil.example", nil, 200},
		{"any host: the rebinding page's same-host Origin is refused", anyHost, "evil.example",
			map[string]string{"Origin": "http://evil.example"}, 403},
		{"any host: a named host's same-host Origin", anyHostNamed, "mcp.example.com",
			map[string]string{"Origin": "https://mcp.example.com"}, 200},
		{"any host: loopback Origin", anyHost, "evil.example",
			map[string]string{"Origin": "http://localhost:6274"}, 200},
	}
	for lname, local := range listeners {
		for _, tc := range cases {
			t.Run(lname+"/"+tc.name, func(t *testing.T) {
				if got := guardStatus(t, tc.opts, local, tc.host, tc.header); got != tc.want {
					t.Errorf("Host %q %v: status %d, want %d", tc.host, tc.header, got, tc.want)
				}
			})
		}
	}
}

// The attack end to end, on a real loopback server: a page on
// evil.example, whose name the attacker re-pointed at the server, posts to
// it from the browser. It is refused; the named host's own page is not.
func TestGuardDefeatsDNSRebinding(t *testing.T) {
	_, c := testServer(t, &mcpserver.Options{AllowedHosts: []string{"mcp.example.com"}}, echoTool)
	init := c.request("initialize", map[string]any{"protocolVersion": "2025-11-25", "capabilities": map[string]any{},
		"clientInfo": map[string]any{"name": "t", "version": "1"}})
	for _, tc := range []struct {
		host, origin string
		want         int
	}{
		{"evil.example", "http://evil.example", http.StatusForbidden},
		{"evil.example", "", http.StatusForbidden},
		{"mcp.example.com", "https://mcp.example.com", http.StatusOK},
	} {
		header := map[string]string{}
		if tc.origin != "" {
			header["Origin"] = tc.origin
		}
		req := c.newRequest(http.MethodPost, init, header)
		req.Host = tc.host
		r := c.do(req)
		if r.status != tc.want {
			t.Errorf("Host %s Origin %q: status %d, want %d: %s", tc.host, tc.origin, r.status, tc.want, r.body)
		}
		if tc.want == http.StatusForbidden && !strings.Contains(string(r.body), "DNS rebinding") && tc.origin == "" {
			t.Errorf("refusal does not say why: %s", r.body)
		}
	}
}

func TestNewGuardRefusesBadHosts(t *testing.T) {
	if _, err := mcpserver.NewGuard(&mcpserver.GuardOptions{AllowedHosts: []string{"*"}}); !errors.Is(err, mcpserver.ErrAnyHostInList) {
		t.Errorf(`"*": %v, want ErrAnyHostInList`, err)
	}
	for _, h := range []string{"", " ", "a/b", "host:99999", "host:http", "user@host"} {
		if _, err := mcpserver.NewGuard(&mcpserver.GuardOptions{AllowedHosts: []string{h}}); err == nil {
			t.Errorf("allowed host %q accepted", h)
		}
	}
	if _, err := mcpserver.New("t", "1", &mcpserver.Options{AllowedHosts: []string{"*"}}); !errors.Is(err, mcpserver.ErrAnyHostInList) {
		t.Errorf(`New with "*": %v`, err)
	}
}

// The first refused Host is a warning that tells the operator what to set;
// the next ones are debug lines, so an attacker cannot flood the log.
func TestGuardLogsFirstRefusedHost(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	g, err := mcpserver.NewGuard(&mcpserver.GuardOptions{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	h := g.Wrap(http.NotFoundHandler())
	for range 3 {
		req := httptest.NewRequest(http.MethodPost, "/mcp", nil)
		req.Host = "mcp.example.com"
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
	out := buf.String()
	if strings.Count(out, "level=WARN") != 1 || !strings.Contains(out, "host=mcp.example.com") || !strings.Contains(out, "AllowedHosts") {
		t.Errorf("log:\n%s", out)
	}
}

package main

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mcp-oauth-gateway/gateway/internal/testenv"
)

// TestHostRouting: with routing mode host each service is its own host,
// NAME.DOMAIN, with its metadata and the authorization server's there, and
// the authorization server answers on its issuer's host only.
func TestHostRouting(t *testing.T) {
	port := testenv.Port(t)
	conf := writeConfig(t, "routing: {mode: host, domain: localhost}\n")
	g := startOn(t, port, nil, "--dev-user", "robot", "--config", conf, "--store", "memory", "--issuer", "http://localhost:"+port)
	dialer := &net.Dialer{Timeout: 10 * time.Second}
	// Every name reaches the gateway, as DNS would have it.
	transport := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return dialer.DialContext(ctx, network, "127.0.0.1:"+port)
	}}
	c := newClient(t)
	c.http.Transport = transport
	svc := "http://echo-stateless.localhost:" + port + "/mcp"
	if !strings.Contains(g.stdout.String(), svc) {
		t.Errorf("the summary lacks %s: %s", svc, g.stdout)
	}
	c.login(svc, false) // the challenge, the metadata on the service's host, the issuer on its own
	s := &mcp{c: c, url: svc}
	if text, _ := s.callTool("echo", map[string]any{"message": "by host"}); text != "by host" {
		t.Fatalf("echo: %q", text)
	}
	for _, tc := range []struct {
		url    string
		status int
		want   string
	}{
		{"http://echo-stateless.localhost:" + port + "/.well-known/oauth-authorization-server", 200, `"issuer":"http://localhost:` + port + `"`},
		{"http://fetch.localhost:" + port + "/.well-known/oauth-protected-resource/mcp", 200, `"resource":"http://fetch.localhost:` + port + `/mcp"`},
		{"http://localhost:" + port + "/.well-known/oauth-authorization-server", 200, `"issuer"`},
		{"http://localhost:" + port + "/mcp", 404, ""},
		{"http://echo-stateless.localhost:" + port + "/authorize", 404, ""},
		{"http://other.localhost:" + port + "/mcp", 404, ""},
		{"http://echo-stateful.localhost:" + port + "/health", 200, `"ok"`},
	} {
		resp, err := c.http.Get(tc.url)
		if err != nil {
			t.Fatal(err)
		}
		b := make([]byte, 4096)
		n, _ := resp.Body.Read(b)
		resp.Body.Close()
		if resp.StatusCode != tc.status || !strings.Contains(string(b[:n]), tc.want) {
			t.Errorf("%s: %d %q, want %d %q", tc.url, resp.StatusCode, b[:n], tc.status, tc.want)
		}
	}
	// The token for echo-stateless is for that host alone.
	s2 := &mcp{c: c, url: "http://echo-stateful.localhost:" + port + "/mcp"}
	if _, e, status := s2.try("ping", nil); status != 401 {
		t.Errorf("echo-stateless's token at echo-stateful: %d %v", status, e)
	}
}

package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mcp-oauth-gateway/gateway/internal/testenv"
)

// verify asks the server's /verify about a client's POST to rawURL, as
// Traefik does.
func verify(t *testing.T, issuer, rawURL, token string) *http.Response {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", issuer+"/verify", nil)
	req.Header.Set("X-Forwarded-Method", "POST")
	req.Header.Set("X-Forwarded-Proto", u.Scheme)
	req.Header.Set("X-Forwarded-Host", u.Host)
	req.Header.Set("X-Forwarded-Uri", u.RequestURI())
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// TestVerifyEndpoint runs the binary as the gateway's auth service: /verify
// with per-resource policies (reloaded on SIGHUP), the protected-resource
// metadata for the MCP hosts, and revocation reaching /verify.
func TestVerifyEndpoint(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "resources.json")
	write := func(adminUsers string) {
		doc := `{"resources": [
			{"url": "https://mcp.example.com/mcp", "name": "Echo", "allowed_users": "robot"},
			{"url": "https://admin.example.com/mcp", "allowed_users": "` + adminUsers + `", "required_scopes": ["mcp"]}
		]}`
		if err := os.WriteFile(conf, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("alice")
	s := start(t, testenv.Port(t), "--dev-user", "robot", "--store", "memory", "--resource-config", conf)

	reg, tok := login(t, s.issuer, "https://mcp.example.com/mcp")
	at := tok["access_token"].(string)
	resp := verify(t, s.issuer, "https://mcp.example.com/mcp", at)
	if resp.StatusCode != 200 || resp.Header.Get("X-User-Name") != "robot" || resp.Header.Get("X-User-Id") == "" || resp.Header.Get("X-Auth-Client-Id") == "" || resp.Header.Get("X-Auth-Token") != "" {
		t.Fatalf("good token: %d %v", resp.StatusCode, resp.Header)
	}
	resp = verify(t, s.issuer, "https://mcp.example.com/mcp", "")
	if want := `Bearer resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp", scope="mcp"`; resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") != want {
		t.Fatalf("no token: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	if resp = verify(t, s.issuer, "https://admin.example.com/mcp", at); resp.StatusCode != 401 {
		t.Fatalf("token of another resource: %d", resp.StatusCode)
	}
	if resp = verify(t, s.issuer, "https://other.example.com/mcp", at); resp.StatusCode != 403 {
		t.Fatalf("unlisted resource: %d", resp.StatusCode)
	}

	// A request the proxy and /verify could read differently is refused,
	// whatever the token: 400 invalid_request, and for nginx (which takes
	// only 2xx, 401 and 403 from /verify) 403 with X-Mcp-Oauth-Error, which
	// deploy/nginx turns into the client's 400.
	for _, uri := range []string{"/mcp#/../.well-known/oauth-protected-resource", "/mcp%2F..%2F.well-known%2Foauth-protected-resource", "/mcp/../mcp", "//mcp", "/MCP/"} {
		for _, nginx := range []bool{false, true} {
			req, _ := http.NewRequest("GET", s.issuer+"/verify", nil)
			req.Header.Set("X-Forwarded-Proto", "https")
			req.Header.Set("X-Forwarded-Host", "mcp.example.com")
			req.Header.Set("Authorization", "Bearer "+at)
			want := 400
			if nginx {
				req.Header.Set("X-Original-URI", uri)
				req.Header.Set("X-Original-Method", "POST")
				want = 403
			} else {
				req.Header.Set("X-Forwarded-Uri", uri)
				req.Header.Set("X-Forwarded-Method", "POST")
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != want || resp.Header.Get("X-Mcp-Oauth-Error") != "invalid_request" || resp.Header.Get("X-User-Id") != "" ||
				!strings.Contains(string(body), `"error":"invalid_request"`) {
				t.Fatalf("%q (nginx %v): %d %v %s", uri, nginx, resp.StatusCode, resp.Header, body)
			}
		}
	}

	// The metadata, as the proxy forwards it from the MCP host.
	meta := resourceMetadata(t, s.issuer, "mcp.example.com", "/mcp")
	if meta["resource"] != "https://mcp.example.com/mcp" || meta["resource_name"] != "Echo" || meta["authorization_servers"].([]any)[0] != s.issuer {
		t.Fatalf("metadata: %v", meta)
	}
	if as := decode(t, mustGet(t, s.issuer+"/.well-known/oauth-authorization-server")); as["client_id_metadata_document_supported"] != true {
		t.Fatalf("AS metadata: %v", as)
	}

	// The admin service's policy does not admit robot: no token for it.
	// Admitting robot takes effect on SIGHUP.
	if _, code := authorizeCode(t, s.issuer, "https://admin.example.com/mcp"); code != "" {
		t.Fatal("robot got a code for the admin service")
	}
	write("alice, robot")
	if err := s.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the reloaded policy", func() bool {
		_, code := authorizeCode(t, s.issuer, "https://admin.example.com/mcp")
		return code != ""
	})
	_, adminTok := login(t, s.issuer, "https://admin.example.com/mcp")
	if resp = verify(t, s.issuer, "https://admin.example.com/mcp", adminTok["access_token"].(string)); resp.StatusCode != 200 {
		t.Fatalf("robot on the admin service once admitted: %d", resp.StatusCode)
	}

	// Revocation at /revoke reaches /verify within a second.
	rr, err := http.PostForm(s.issuer+"/revoke", url.Values{"token": {at}, "client_id": {reg["client_id"].(string)}})
	if err != nil || rr.StatusCode != 200 {
		t.Fatalf("revoke: %v %v", rr, err)
	}
	rr.Body.Close()
	start := time.Now()
	eventually(t, "the revocation", func() bool {
		r := verify(t, s.issuer, "https://mcp.example.com/mcp", at)
		return r.StatusCode == 401 && strings.Contains(r.Header.Get("WWW-Authenticate"), "revoked")
	})
	if d := time.Since(start); d > time.Second {
		t.Fatalf("revocation took %v", d)
	}
	s.stop(t)
}

// resourceMetadata fetches the RFC 9728 metadata of https://host+path as
// the proxy forwards the request from the MCP host.
func resourceMetadata(t *testing.T, issuer, host, path string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest("GET", issuer+"/.well-known/oauth-protected-resource"+path, nil)
	req.Header.Set("X-Forwarded-Host", host)
	req.Header.Set("X-Forwarded-Proto", "https")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var meta map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&meta); err != nil {
		t.Fatalf("metadata of %s%s: status %d: %v", host, path, resp.StatusCode, err)
	}
	return meta
}

func mustGet(t *testing.T, u string) *http.Response {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestBadResourceConfig: a bad --resource-config is a clear error and exit
// status 2.
func TestBadResourceConfig(t *testing.T) {
	dir := t.TempDir()
	for name, doc := range map[string]string{
		"unknown member": `{"resources": [{"url": "https://a.example/mcp", "alowed_users": "x"}]}`,
		"no url":         `{"resources": [{"name": "x"}]}`,
		"bad url":        `{"resources": [{"url": "mcp.example.com"}]}`,
		"empty":          `{}`,
		"not JSON":       `resources:`,
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".json")
			if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
				t.Fatal(err)
			}
			cmd := command(t, nil, "--dev-user", "robot", "--store", "memory", "--port", testenv.Port(t), "--resource-config", path)
			out, err := cmd.CombinedOutput()
			if ee, ok := err.(interface{ ExitCode() int }); !ok || ee.ExitCode() != 2 || !strings.Contains(string(out), "resource") {
				t.Fatalf("exit %v: %s", err, out)
			}
		})
	}
}

package main

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
)

// Traefik is not packaged for this machine, so deploy/traefik/dynamic.yml is exercised
// here: the test reads the file's forwardAuth and headers middlewares and its discovery
// router, and a stand-in proxy applies them the way Traefik does (its forwardAuth
// middleware, pkg/middlewares/auth/forward.go: a GET to the address with the original
// headers plus X-Forwarded-Method/-Proto/-Host/-Uri/-For; on 2xx the authResponseHeaders
// replace the request's, client-sent ones deleted first; otherwise the auth answer goes
// back to the client) in front of the real binary and a service that reports what it
// received.

// traefikConfig is what the test needs of dynamic.yml.
type traefikConfig struct {
	verifyPath          string
	trustForwardHeader  bool
	authResponseHeaders []string
	removedHeaders      []string // customRequestHeaders with an empty value
	discovery           []string // path prefixes of the discovery router
}

func readTraefikConfig(t *testing.T) traefikConfig {
	t.Helper()
	data, err := os.ReadFile("../../deploy/traefik/dynamic.yml")
	if err != nil {
		t.Fatal(err)
	}
	var c traefikConfig
	lines := strings.Split(string(data), "\n")
	section := ""
	for _, line := range lines {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") || trimmed == "" {
			continue
		}
		switch {
		case strings.HasPrefix(trimmed, "address:") && strings.Contains(trimmed, "/verify"):
			u, err := url.Parse(strings.Trim(strings.TrimSpace(strings.TrimPrefix(trimmed, "address:")), `"`))
			if err != nil {
				t.Fatal(err)
			}
			c.verifyPath = u.Path
		case strings.HasPrefix(trimmed, "trustForwardHeader:"):
			c.trustForwardHeader = strings.HasSuffix(trimmed, "true")
		case strings.HasSuffix(trimmed, ":") && !strings.HasPrefix(trimmed, "-"):
			section = strings.TrimSuffix(trimmed, ":")
		case section == "authResponseHeaders" && strings.HasPrefix(trimmed, "- "):
			c.authResponseHeaders = append(c.authResponseHeaders, strings.TrimPrefix(trimmed, "- "))
		case section == "customRequestHeaders" && strings.HasSuffix(trimmed, `: ""`):
			c.removedHeaders = append(c.removedHeaders, strings.TrimSuffix(trimmed, `: ""`))
		}
		if strings.HasPrefix(trimmed, "rule:") && strings.Contains(trimmed, ".well-known") {
			for _, m := range regexp.MustCompile("PathPrefix\\(`([^`]+)`\\)").FindAllStringSubmatch(trimmed, -1) {
				c.discovery = append(c.discovery, m[1])
			}
		}
	}
	if c.verifyPath == "" || len(c.authResponseHeaders) == 0 || len(c.discovery) != 2 {
		t.Fatalf("dynamic.yml: could not find the forwardAuth middleware and discovery router: %+v", c)
	}
	return c
}

// traefikProxy stands in for Traefik with the configuration c, the auth
// server at authURL and the MCP service at serviceURL.
func traefikProxy(t *testing.T, c traefikConfig, authURL, serviceURL string) *httptest.Server {
	auth, _ := url.Parse(authURL)
	service, _ := url.Parse(serviceURL)
	toAuth := httputil.NewSingleHostReverseProxy(auth)
	toService := httputil.NewSingleHostReverseProxy(service)
	// Traefik passes the Host header and sets X-Forwarded-* on proxied requests.
	for _, p := range []*httputil.ReverseProxy{toAuth, toService} {
		director := p.Director
		p.Director = func(r *http.Request) {
			host := r.Host
			director(r)
			r.Host = host
			r.Header.Set("X-Forwarded-Host", host)
			r.Header.Set("X-Forwarded-Proto", "http")
		}
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		for _, prefix := range c.discovery {
			if strings.HasPrefix(req.URL.Path, prefix) {
				toAuth.ServeHTTP(w, req)
				return
			}
		}
		// forwardAuth.
		fwd, _ := http.NewRequest(http.MethodGet, authURL+c.verifyPath, nil)
		for k, v := range req.Header {
			fwd.Header[k] = v
		}
		clientIP, _, _ := net.SplitHostPort(req.RemoteAddr)
		fwd.Header.Set("X-Forwarded-For", clientIP)
		if v := req.Header.Get("X-Forwarded-Method"); v == "" || !c.trustForwardHeader {
			fwd.Header.Set("X-Forwarded-Method", req.Method)
		}
		fwd.Header.Set("X-Forwarded-Proto", "http")
		fwd.Header.Set("X-Forwarded-Host", req.Host)
		fwd.Header.Set("X-Forwarded-Uri", req.URL.RequestURI())
		resp, err := client.Do(fwd)
		if err != nil {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode < 200 || resp.StatusCode >= 300 {
			for k, v := range resp.Header {
				w.Header()[k] = v
			}
			w.WriteHeader(resp.StatusCode)
			_, _ = w.Write(body)
			return
		}
		for _, name := range c.authResponseHeaders {
			key := http.CanonicalHeaderKey(name)
			req.Header.Del(key)
			if v := resp.Header[key]; len(v) > 0 {
				req.Header[key] = append([]string(nil), v...)
			}
		}
		// The headers middleware.
		for _, name := range c.removedHeaders {
			req.Header.Del(name)
		}
		toService.ServeHTTP(w, req)
	}))
	t.Cleanup(ts.Close)
	return ts
}

// TestTraefikConfig: behind deploy/traefik/dynamic.yml, an MCP client gets the
// challenge and the discovery documents from the MCP host, and the service gets the
// verified identity, never the client's X-User-* values nor its token.
func TestTraefikConfig(t *testing.T) {
	c := readTraefikConfig(t)
	s := start(t, freePort(t), "--dev-user", "robot", "--store", "memory")
	service := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(r.Header)
	}))
	defer service.Close()
	proxy := traefikProxy(t, c, s.issuer, service.URL)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(proxy.URL, "http://"))
	mcp := "http://mcp.localhost:" + port
	call := func(path, token string, extra map[string]string) (*http.Response, []byte) {
		req, _ := http.NewRequest("POST", proxy.URL+path, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
		req.Host = "mcp.localhost:" + port
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		for k, v := range extra {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, body
	}

	resp, _ := call("/mcp", "", nil)
	if want := `Bearer resource_metadata="` + mcp + `/.well-known/oauth-protected-resource/mcp", scope="mcp"`; resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") != want {
		t.Fatalf("no token: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	req, _ := http.NewRequest("GET", proxy.URL+"/.well-known/oauth-protected-resource/mcp", nil)
	req.Host = "mcp.localhost:" + port
	mresp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if meta := decode(t, mresp); meta["resource"] != mcp+"/mcp" || meta["authorization_servers"].([]any)[0] != s.issuer {
		t.Fatalf("metadata on the MCP host: %v", meta)
	}

	_, tok := login(t, s.issuer, mcp+"/mcp")
	at := tok["access_token"].(string)
	resp, body := call("/mcp", at, map[string]string{"X-User-Id": "spoofed", "X-User-Email": "spoofed@evil.example"})
	var seen http.Header
	if err := json.Unmarshal(body, &seen); err != nil || resp.StatusCode != 200 {
		t.Fatalf("good token: %d %s", resp.StatusCode, body)
	}
	if seen.Get("X-User-Name") != "robot" || seen.Get("X-User-Id") == "spoofed" || seen.Get("X-User-Id") == "" ||
		seen.Get("X-User-Email") != "" || seen.Get("Authorization") != "" || seen.Get("X-Auth-Client-Id") == "" {
		t.Fatalf("the service saw %v", seen)
	}
	// A client cannot choose what /verify checks: Traefik sets X-Forwarded-*
	// itself, and they win over the nginx-style X-Original-*.
	if resp, _ = call("/other", at, map[string]string{"X-Forwarded-Uri": "/mcp", "X-Original-URI": "/mcp"}); resp.StatusCode != 401 {
		t.Fatalf("client-sent URI headers: %d", resp.StatusCode)
	}
	if resp, _ = call("/mcp", "", map[string]string{"X-Forwarded-Method": "OPTIONS", "X-Original-Method": "OPTIONS",
		"Origin": "https://claude.ai", "Access-Control-Request-Method": "POST"}); resp.StatusCode != 401 {
		t.Fatalf("a POST posing as a preflight: %d", resp.StatusCode)
	}
	_, other := login(t, s.issuer, mcp+"/other")
	if resp, _ = call("/mcp", other["access_token"].(string), nil); resp.StatusCode != 401 {
		t.Fatalf("token of another resource: %d", resp.StatusCode)
	}
	s.stop(t)
}

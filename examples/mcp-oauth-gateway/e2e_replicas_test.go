package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mcp-oauth-gateway/gateway/internal/redistest"
	"github.com/mcp-oauth-gateway/gateway/internal/testenv"
)

// replicas is two gateways on one Redis behind nginx, configured with
// deploy/nginx's mcp-oauth-gateway files: the original's layout, the
// authorization server at its own host (localhost for auth.example.com)
// and each service at its own, echo.localhost and so on.
type replicas struct {
	nginxPort string
	gw        [2]*proc
	issuer    string
	work      string
}

// serviceURL is a service's resource, as clients reach it through nginx.
func (r *replicas) serviceURL(name string) string {
	return fmt.Sprintf("http://%s.localhost:%s/mcp", name, r.nginxPort)
}

// client is an HTTP client that sends every request, whatever its host,
// to addr: nginx, or one replica directly. No name is ever looked up.
func dialClient(t *testing.T, addr string) *client {
	c := newClient(t)
	c.http.Transport = &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "tcp", addr)
		},
		MaxIdleConnsPerHost: 64,
	}
	return c
}

func deployDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "deploy")
}

// nginxConfig turns deploy/nginx/mcp-oauth-gateway.conf into a loopback
// configuration: plain HTTP on port, example.com as localhost, the
// snippets from deploy/, the upstream's servers the replicas'. Each
// answer names the replica that gave it (X-Upstream), for the test.
func nginxConfig(t *testing.T, work, port string, replicaPorts []string) string {
	t.Helper()
	dir := filepath.Join(deployDir(), "nginx")
	up, err := os.ReadFile(filepath.Join(dir, "mcp-oauth-gateway-upstream.conf"))
	if err != nil {
		t.Fatal(err)
	}
	servers := regexp.MustCompile(`(?m)^\s*server \S+:\d+(.*);\n`)
	if n := len(servers.FindAll(up, -1)); n != 2 {
		t.Fatalf("mcp-oauth-gateway-upstream.conf has %d servers, want 2", n)
	}
	i := 0
	up = servers.ReplaceAllFunc(up, func(m []byte) []byte {
		sub := servers.FindSubmatch(m)
		s := fmt.Sprintf("    server 127.0.0.1:%s%s;\n", replicaPorts[i], sub[1])
		i++
		return []byte(s)
	})
	gw, err := os.ReadFile(filepath.Join(dir, "mcp-oauth-gateway.conf"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(gw)
	// The port-80 redirect block goes; TLS becomes plain HTTP on loopback.
	if k := strings.LastIndex(s, "server {\n    listen 80;"); k > 0 {
		s = s[:k]
	} else {
		t.Fatal("mcp-oauth-gateway.conf: no port-80 server block")
	}
	s = regexp.MustCompile(`listen 443 ssl http2;.*`).ReplaceAllString(s, "listen 127.0.0.1:"+port+";")
	s = regexp.MustCompile(`(?m)^\s*ssl_certificate.*\n`).ReplaceAllString(s, "")
	s = strings.ReplaceAll(s, "auth.example.com", "localhost")
	s = strings.ReplaceAll(s, "example.com", "localhost")
	s = strings.ReplaceAll(s, "include /etc/nginx/snippets/mcp-oauth-gateway-proxy.conf;",
		"include "+filepath.Join(dir, "mcp-oauth-gateway-proxy.conf")+";\n        add_header X-Upstream $upstream_addr always;")
	conf := fmt.Sprintf(`daemon off;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events {}
http {
    access_log off;
    client_body_temp_path %[1]s/body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;
%[2]s
%[3]s
}
`, work, up, s)
	path := filepath.Join(work, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestNginxGatewayConfig: deploy/nginx/mcp-oauth-gateway.conf as
// written, with its TLS server blocks (a throwaway certificate in place of
// the Let's Encrypt one) and its snippets, passes nginx -t.
func TestNginxGatewayConfig(t *testing.T) {
	nginx := lookPath(t, "nginx", "apt-get install nginx-light")
	work := t.TempDir()
	cert, key := throwawayCert(t, work)
	dir := filepath.Join(deployDir(), "nginx")
	gw, err := os.ReadFile(filepath.Join(dir, "mcp-oauth-gateway.conf"))
	if err != nil {
		t.Fatal(err)
	}
	s := regexp.MustCompile(`/etc/letsencrypt/live/[^/]+/fullchain.pem`).ReplaceAllString(string(gw), cert)
	s = regexp.MustCompile(`/etc/letsencrypt/live/[^/]+/privkey.pem`).ReplaceAllString(s, key)
	s = strings.ReplaceAll(s, "/etc/nginx/snippets/", dir+"/")
	conf := fmt.Sprintf("pid %[1]s/nginx.pid;\nerror_log %[1]s/error.log warn;\nevents {}\nhttp {\n    include %[2]s;\n    include %[1]s/gateway.conf;\n}\n",
		work, filepath.Join(dir, "mcp-oauth-gateway-upstream.conf"))
	if err := os.WriteFile(filepath.Join(work, "gateway.conf"), []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(work, "nginx.conf"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(nginx, "-t", "-q", "-p", work, "-c", filepath.Join(work, "nginx.conf")).CombinedOutput(); err != nil {
		t.Fatalf("nginx -t: %v\n%s", err, out)
	}
}

// throwawayCert writes a throwaway certificate and key for example.com.
func throwawayCert(t *testing.T, dir string) (cert, key string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "example.com"},
		DNSNames: []string{"example.com", "*.example.com"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(k)
	cert, key = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	_ = os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	_ = os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	return cert, key
}

// startNginx runs nginx with conf until the test ends.
func startNginx(t *testing.T, nginx, work, conf, port string) {
	t.Helper()
	if out, err := exec.Command(nginx, "-t", "-q", "-p", work, "-c", conf).CombinedOutput(); err != nil {
		t.Fatalf("nginx -t: %v\n%s", err, out)
	}
	cmd := exec.Command(nginx, "-p", work, "-c", conf)
	var out testenv.Output
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(work, "error.log"))
			t.Logf("nginx: %s\n%s", out.String(), b)
		}
	})
	waitListen(t, "nginx", port)
}

// waitListen waits until something accepts connections on the loopback
// port.
func waitListen(t *testing.T, what, port string) {
	t.Helper()
	waitFor(t, what+" to listen", func() bool {
		c, err := net.Dial("tcp", "127.0.0.1:"+port)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
}

// startReplicas starts Redis, two gateways sharing it (at the same time,
// as an orchestrator does) and the proxy (nginx or caddy) in front of
// them.
func startReplicas(t *testing.T, proxy string) *replicas {
	t.Helper()
	bin := lookPath(t, proxy, "apt-get install "+map[string]string{"nginx": "nginx-light", "caddy": "caddy"}[proxy])
	rs := redistest.Start(t)
	r := &replicas{nginxPort: testenv.Port(t), work: t.TempDir()}
	// The issuer is localhost (--dev-user approves only on a loopback
	// issuer) where the original has auth.example.com.
	r.issuer = "http://localhost:" + r.nginxPort
	conf := writeConfig(t, "routing: {mode: host, domain: localhost}\nservices:\n"+
		"  - {name: echo, builtin: echo-stateful}\n"+
		"  - {name: echo-stateless, builtin: echo-stateless}\n"+
		"  - {name: fetch, builtin: fetch}\n")
	ports := []string{testenv.Port(t), testenv.Port(t)}
	var wg sync.WaitGroup
	for i := range r.gw {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.gw[i] = startOn(t, ports[i], []string{"REDIS_URL=" + rs.URL}, "--issuer", r.issuer, "--dev-user", "robot", "--trust-proxy", "--config", conf)
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	switch proxy {
	case "nginx":
		startNginx(t, bin, r.work, nginxConfig(t, r.work, r.nginxPort, ports), r.nginxPort)
	case "caddy":
		startCaddy(t, bin, r, ports)
	}
	return r
}

// startCaddy runs deploy/caddy/Caddyfile.gateway as written, its hosts
// and upstreams from the environment, over plain HTTP on loopback.
func startCaddy(t *testing.T, caddy string, r *replicas, ports []string) {
	t.Helper()
	site := func(name string) string { return "http://" + name + ":" + r.nginxPort }
	cmd := exec.Command(caddy, "run", "--adapter", "caddyfile", "--config", filepath.Join(deployDir(), "caddy", "Caddyfile.gateway"))
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + r.work, "XDG_DATA_HOME=" + r.work, "XDG_CONFIG_HOME=" + r.work,
		"CADDY_ADMIN=off", "AUTH_HOST=" + site("localhost"),
		"MCP_HOSTS=" + site("echo.localhost") + ", " + site("echo-stateless.localhost") + ", " + site("fetch.localhost"),
		"GATEWAY_UPSTREAMS=127.0.0.1:" + ports[0] + " 127.0.0.1:" + ports[1]}
	var out testenv.Output
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("caddy: %s", out.String())
		}
	})
	waitListen(t, "caddy", r.nginxPort)
}

// answer is one raw HTTP exchange.
type answer struct {
	status   int
	header   http.Header
	body     string
	upstream string // the replica nginx chose (X-Upstream), last if several
}

// post sends a JSON-RPC message with the given headers.
func post(t *testing.T, c *client, u string, msg any, h map[string]string) answer {
	t.Helper()
	b, _ := json.Marshal(msg)
	req, _ := http.NewRequest("POST", u, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	for k, v := range h {
		req.Header.Set(k, v)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	up := resp.Header.Get("X-Upstream")
	if i := strings.LastIndex(up, ", "); i >= 0 {
		up = up[i+2:]
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: string(body), upstream: up}
}

func toolCall(id int, name string, args map[string]any) map[string]any {
	return map[string]any{"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": map[string]any{"name": name, "arguments": args}}
}

// modernCall is a tools/call of the 2026-07-28 protocol: no session, the
// version and client in _meta and headers.
func modernCall(id int, msg string) (map[string]any, map[string]string) {
	m := toolCall(id, "echo", map[string]any{"message": msg})
	m["params"].(map[string]any)["_meta"] = map[string]any{
		"io.modelcontextprotocol/protocolVersion":    "2026-07-28",
		"io.modelcontextprotocol/clientInfo":         map[string]any{"name": "replica-test", "version": "1"},
		"io.modelcontextprotocol/clientCapabilities": map[string]any{},
	}
	return m, map[string]string{"MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "tools/call", "Mcp-Name": "echo"}
}

// legacy is a client of the 2025-11-25 protocol with a session, through
// nginx. call re-initializes when its session is gone (404), as MCP
// prescribes, and counts how often it had to.
type legacy struct {
	t            *testing.T
	c            *client
	url, session string
	next         int
	reinits      int
	replica      string // the replica that answered initialize
}

func (l *legacy) initialize() {
	l.t.Helper()
	l.next++
	a := post(l.t, l.c, l.url, map[string]any{"jsonrpc": "2.0", "id": l.next, "method": "initialize", "params": map[string]any{
		"protocolVersion": "2025-11-25", "capabilities": map[string]any{}, "clientInfo": map[string]any{"name": "legacy", "version": "1"}}},
		map[string]string{"Authorization": "Bearer " + l.c.access})
	l.session = a.header.Get("Mcp-Session-Id")
	if a.status != 200 || l.session == "" {
		l.t.Fatalf("initialize: %d %s", a.status, a.body)
	}
	l.replica = a.upstream
	n := post(l.t, l.c, l.url, map[string]any{"jsonrpc": "2.0", "method": "notifications/initialized"}, l.headers())
	if n.status != 202 {
		l.t.Fatalf("initialized: %d %s", n.status, n.body)
	}
}

func (l *legacy) headers() map[string]string {
	return map[string]string{"Authorization": "Bearer " + l.c.access, "Mcp-Session-Id": l.session, "MCP-Protocol-Version": "2025-11-25"}
}

// call calls echo; a 404 (the session is gone) costs one initialize and
// a second try; anything else but success fails the test.
func (l *legacy) call(msg string) answer {
	l.t.Helper()
	for try := 0; ; try++ {
		l.next++
		a := post(l.t, l.c, l.url, toolCall(l.next, "echo", map[string]any{"message": msg}), l.headers())
		if a.status == 404 && try == 0 {
			l.reinits++
			l.initialize()
			continue
		}
		if a.status != 200 || !strings.Contains(a.body, msg) {
			l.t.Fatalf("echo in session %s: %d %s", l.session, a.status, a.body)
		}
		return a
	}
}

// TestReplicasBehindNginx: two gateways on one Redis behind nginx with
// deploy/nginx's files are one gateway to their clients: the signing keys
// come from Redis, a token from one replica works on the other, refresh
// tokens rotate consistently across them, a revocation reaches both at
// once, stateless 2026-07-28 requests go to either, legacy sessions stay
// on their replica, and a replica's death costs its legacy clients one
// re-initialize.
func TestReplicasBehindNginx(t *testing.T) {
	r := startReplicas(t, "nginx")
	direct := [2]string{"127.0.0.1:" + r.gw[0].port, "127.0.0.1:" + r.gw[1].port}
	viaNginx := "127.0.0.1:" + r.nginxPort
	stateless := r.serviceURL("echo-stateless")

	t.Run("signing keys shared", func(t *testing.T) {
		var jwks [2]string
		for i := range direct {
			c := dialClient(t, direct[i])
			resp, err := c.http.Get(r.issuer + "/jwks")
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			jwks[i] = string(b)
		}
		if jwks[0] != jwks[1] || !strings.Contains(jwks[0], `"kid"`) {
			t.Fatalf("the replicas publish different keys:\n%s\n%s", jwks[0], jwks[1])
		}
	})

	t.Run("a token from one replica works on the other", func(t *testing.T) {
		for from := range direct {
			c := dialClient(t, direct[from])
			c.login(stateless, false)
			for on := range direct {
				c2 := dialClient(t, direct[on])
				c2.access = c.access
				a := post(t, c2, stateless, toolCall(1, "echo", map[string]any{"message": "across"}), map[string]string{"Authorization": "Bearer " + c.access})
				if a.status != 200 || !strings.Contains(a.body, "across") {
					t.Errorf("token of replica %d on replica %d: %d %s", from+1, on+1, a.status, a.body)
				}
			}
		}
	})

	t.Run("refresh rotation across replicas", func(t *testing.T) {
		c := dialClient(t, direct[0])
		c.login(stateless, false)
		var used []string
		for i := range 8 {
			// Alternate refreshes hit alternate replicas.
			c.http = dialClient(t, direct[i%2]).http
			used = append(used, c.refresh)
			c.refreshTokens()
			a := post(t, dialClient(t, direct[(i+1)%2]), stateless, toolCall(1, "echo", map[string]any{"message": "rotated"}), map[string]string{"Authorization": "Bearer " + c.access})
			if a.status != 200 {
				t.Fatalf("refresh %d: the new token on the other replica: %d %s", i+1, a.status, a.body)
			}
		}
		// Each spent refresh token is spent on every replica.
		for i, old := range used {
			for on := range direct {
				form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {old}, "client_id": {c.clientID}}
				resp, err := dialClient(t, direct[on]).http.PostForm(c.tokenEndpoint, form)
				if err != nil {
					t.Fatal(err)
				}
				m := decode(t, resp)
				if resp.StatusCode != 400 || m["error"] != "invalid_grant" {
					t.Fatalf("spent refresh token %d on replica %d: %d %v", i+1, on+1, resp.StatusCode, m)
				}
			}
		}
		// One refresh token spent at once on the two replicas (a client
		// retrying after a lost answer): one rotation, whose pair both get
		// (the grace window), or one refusal; never two different pairs.
		c2 := dialClient(t, direct[0])
		c2.login(stateless, false)
		var pairs []string
		var refusals int
		var mu sync.Mutex
		var wg sync.WaitGroup
		for on := range direct {
			wg.Add(1)
			go func() {
				defer wg.Done()
				form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {c2.refresh}, "client_id": {c2.clientID}}
				resp, err := dialClient(t, direct[on]).http.PostForm(c2.tokenEndpoint, form)
				if err != nil {
					t.Error(err)
					return
				}
				m := decode(t, resp)
				mu.Lock()
				defer mu.Unlock()
				if resp.StatusCode == 200 {
					pairs = append(pairs, fmt.Sprint(m["access_token"], " ", m["refresh_token"]))
				} else {
					refusals++
				}
			}()
		}
		wg.Wait()
		if len(pairs) == 0 || len(pairs) == 2 && pairs[0] != pairs[1] {
			t.Fatalf("one refresh token spent at once on both replicas: %d refusals, pairs %q", refusals, pairs)
		}
	})

	t.Run("revocation reaches both replicas", func(t *testing.T) {
		c := dialClient(t, direct[0])
		c.login(stateless, false)
		for on := range direct {
			if a := post(t, dialClient(t, direct[on]), stateless, toolCall(1, "echo", map[string]any{"message": "before"}), map[string]string{"Authorization": "Bearer " + c.access}); a.status != 200 {
				t.Fatalf("before the revocation, replica %d: %d", on+1, a.status)
			}
		}
		start := time.Now()
		resp, err := c.http.PostForm(r.issuer+"/revoke", url.Values{"token": {c.access}, "client_id": {c.clientID}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("revoke: %d", resp.StatusCode)
		}
		var wg sync.WaitGroup
		var took [2]time.Duration
		for on := range direct {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rc := dialClient(t, direct[on])
				for time.Since(start) < 30*time.Second {
					a := post(t, rc, stateless, toolCall(1, "echo", map[string]any{"message": "after"}), map[string]string{"Authorization": "Bearer " + c.access})
					if a.status == 401 {
						took[on] = time.Since(start)
						return
					}
					time.Sleep(2 * time.Millisecond)
				}
				took[on] = -1
			}()
		}
		wg.Wait()
		t.Logf("revoked at replica 1: refused by replica 1 after %v, by replica 2 after %v", took[0], took[1])
		for on, d := range took {
			// The documented bound is 1 s (a few milliseconds measured);
			// the test allows for a loaded machine and fails on a feed
			// that does not deliver (a cached answer would stand for a
			// minute).
			if d < 0 || d > 5*time.Second {
				t.Errorf("replica %d still accepted the revoked token after %v", on+1, d)
			}
		}
	})

	t.Run("2026-07-28 requests go to either replica", func(t *testing.T) {
		c := dialClient(t, viaNginx)
		c.login(stateless, false)
		served := map[string]int{}
		for i := range 10 {
			m, h := modernCall(i+1, fmt.Sprintf("modern %d", i))
			h["Authorization"] = "Bearer " + c.access
			a := post(t, c, stateless, m, h)
			if a.status != 200 || !strings.Contains(a.body, fmt.Sprintf("modern %d", i)) || a.header.Get("Mcp-Session-Id") != "" {
				t.Fatalf("2026-07-28 tools/call: %d %s (session %q)", a.status, a.body, a.header.Get("Mcp-Session-Id"))
			}
			served[a.upstream]++
		}
		if len(served) != 2 || served[direct[0]] == 0 || served[direct[1]] == 0 {
			t.Fatalf("served by %v, want both replicas %v", served, direct)
		}
	})

	t.Run("legacy sessions, and one replica killed", func(t *testing.T) {
		tok := dialClient(t, viaNginx)
		tok.login(r.serviceURL("echo"), false)
		var clients []*legacy
		started := map[string]int{}
		for range 8 {
			l := &legacy{t: t, c: dialClient(t, viaNginx), url: r.serviceURL("echo")}
			l.c.access = tok.access
			l.initialize()
			started[l.replica]++
			clients = append(clients, l)
		}
		if len(started) != 2 {
			t.Fatalf("initialize went to %v only", started)
		}
		// Every session stays on the replica that holds it, whichever
		// replica the hash of its id names first.
		for round := range 3 {
			for i, l := range clients {
				a := l.call(fmt.Sprintf("round %d client %d", round, i))
				if a.upstream != l.replica {
					t.Fatalf("session of %s answered by %s", l.replica, a.upstream)
				}
			}
		}
		for _, l := range clients {
			if l.reinits != 0 {
				t.Fatalf("a session was lost with both replicas up")
			}
		}
		// Replica 2 dies (SIGKILL). Its clients re-initialize once, on
		// replica 1; replica 1's clients notice nothing.
		orig := make([]string, len(clients))
		for i, l := range clients {
			orig[i] = l.replica
		}
		_ = r.gw[1].cmd.Process.Kill()
		<-r.gw[1].done
		r.gw[1].done <- nil
		for round := range 3 {
			for i, l := range clients {
				l.call(fmt.Sprintf("after round %d client %d", round, i))
			}
		}
		for i, l := range clients {
			want := 0
			if orig[i] == direct[1] {
				want = 1
			}
			if l.reinits != want || l.replica != direct[0] {
				t.Errorf("client %d (session on %s): %d re-initializations, now on %s; want %d", i, orig[i], l.reinits, l.replica, want)
			}
		}
	})
}

// TestReplicasBehindCaddy: deploy/caddy/Caddyfile.gateway in front of two
// replicas on one Redis: a client stays on one replica (ip_hash), so its
// legacy sessions live; when that replica is killed, each session costs
// one re-initialize on the other and goes on. /verify and /metrics are not
// served from the outside.
func TestReplicasBehindCaddy(t *testing.T) {
	r := startReplicas(t, "caddy")
	via := "127.0.0.1:" + r.nginxPort
	tok := dialClient(t, via)
	tok.login(r.serviceURL("echo"), false)
	var clients []*legacy
	for range 6 {
		l := &legacy{t: t, c: dialClient(t, via), url: r.serviceURL("echo")}
		l.c.access = tok.access
		l.initialize()
		clients = append(clients, l)
	}
	for round := range 3 {
		for i, l := range clients {
			l.call(fmt.Sprintf("round %d client %d", round, i))
		}
	}
	for i, l := range clients {
		if l.reinits != 0 {
			t.Fatalf("client %d lost its session with both replicas up", i)
		}
	}
	// The replica that holds the sessions (its access log shows them).
	holder := -1
	for i, g := range r.gw {
		if strings.Contains(g.stderr.String(), "path=/mcp status=200") && strings.Contains(g.stderr.String(), "service=echo ") {
			if holder >= 0 {
				t.Fatal("both replicas served the sessions of one client address")
			}
			holder = i
		}
	}
	if holder < 0 {
		t.Fatal("no replica served the sessions")
	}
	_ = r.gw[holder].cmd.Process.Kill()
	<-r.gw[holder].done
	r.gw[holder].done <- nil
	for round := range 3 {
		for i, l := range clients {
			l.call(fmt.Sprintf("after round %d client %d", round, i))
		}
	}
	for i, l := range clients {
		if l.reinits != 1 {
			t.Errorf("client %d: %d re-initializations after its replica died, want 1", i, l.reinits)
		}
	}
	for _, path := range []string{"/verify", "/VERIFY", "/%76erify", "/metrics"} {
		for _, host := range []string{"localhost", "echo.localhost"} {
			req, _ := http.NewRequest("GET", "http://"+host+":"+r.nginxPort+path, nil)
			resp, err := dialClient(t, via).http.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 404 {
				t.Errorf("%s%s through Caddy: %d, want 404", host, path, resp.StatusCode)
			}
		}
	}
}

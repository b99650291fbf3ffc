package identityproxy_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mcp-oauth-gateway/gateway/oauth"
	"github.com/mcp-oauth-gateway/gateway/oauth/identityproxy"
)

// seen is what the upstream received.
type seen struct {
	path, query string
	header      http.Header
	body        string
}

// recorder is an upstream that reports each request on a channel and
// answers with a small JSON body.
func recorder(t *testing.T) (*httptest.Server, chan seen) {
	ch := make(chan seen, 10)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		ch <- seen{r.URL.Path, r.URL.RawQuery, r.Header.Clone(), string(b)}
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.Header().Set("Mcp-Session-Id", "s-1")
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"jsonrpc":"2.0","id":1,"result":{}}`)
	}))
	t.Cleanup(up.Close)
	return up, ch
}

// front serves the proxy to target behind the gateway's bearer check.
func front(t *testing.T, g *gateway, target string, opts *identityproxy.Options) *httptest.Server {
	t.Helper()
	if opts == nil {
		opts = &identityproxy.Options{}
	}
	opts.Logger = quiet
	p, err := identityproxy.New(target, opts)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	if err := g.pr.Mount(mux, p, nil); err != nil {
		t.Fatal(err)
	}
	s := httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

// TestIdentityReachesUpstream: the upstream gets the verified identity
// and nothing a client could forge: identity headers sent in any spelling
// are gone, as are the bearer token, cookies, Origin and forged
// forwarding headers; the path is the upstream's, the query and body
// pass, and the upstream's CORS headers are dropped.
func TestIdentityReachesUpstream(t *testing.T) {
	g := newGateway(t)
	up, got := recorder(t)
	gw := front(t, g, up.URL+"/mcp", &identityproxy.Options{Header: http.Header{"X-Api-Key": {"service-key"}, "X-User-Id": {"config"}}})
	token, clientID := g.token(t)

	req, _ := http.NewRequest("POST", gw.URL+"/svc/mcp?x=1", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Mcp-Session-Id", "s-1")
	// Forgeries, spelled every way a lenient server might read them.
	for _, name := range []string{"X-User-Id", "x-user-id", "X_User_Id", "x_user_name", "X-USER-EMAIL", "X-Auth-Client-Id", "X-Auth-Token", "X-User-Groups", "X_Auth_Whatever"} {
		req.Header[name] = []string{"mallory", "mallory2"}
	}
	req.Header["Cookie"] = []string{"session=gateway"}
	req.Header["X-Forwarded-For"] = []string{"203.0.113.9"}
	req.Header["X_Forwarded_Host"] = []string{"evil.example"}
	req.Header["Forwarded"] = []string{"for=203.0.113.9"}
	req.Header["X-Real-Ip"] = []string{"203.0.113.9"}
	req.Header["Connection"] = []string{"X-Hop"}
	req.Header["X-Hop"] = []string{"hop"}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"result"`) || resp.Header.Get("Mcp-Session-Id") != "s-1" {
		t.Fatalf("answer %d %v %s", resp.StatusCode, resp.Header, body)
	}
	if v := resp.Header.Values("Access-Control-Allow-Origin"); len(v) != 0 {
		t.Errorf("the upstream's CORS header reached the client: %v", v)
	}
	s := <-got
	if s.path != "/mcp" || s.query != "x=1" || s.body != `{"jsonrpc":"2.0","id":1,"method":"ping"}` {
		t.Errorf("upstream request %q %q %q", s.path, s.query, s.body)
	}
	want := map[string]string{"X-User-Id": "dev:alice", "X-User-Name": "alice", "X-User-Email": "", "X-Auth-Client-Id": clientID}
	for name, values := range s.header {
		if oauth.IsIdentityHeader(name) {
			w, ok := want[name]
			if !ok || len(values) != 1 || values[0] != w {
				t.Errorf("upstream got %s: %q", name, values)
			}
			delete(want, name)
		}
	}
	if len(want) != 0 {
		t.Errorf("identity headers missing upstream: %v", want)
	}
	for _, name := range []string{"Authorization", "Cookie", "Forwarded", "X-Real-Ip", "X_forwarded_host", "X-Hop", "Origin"} {
		if v, ok := s.header[name]; ok {
			t.Errorf("upstream got %s: %q", name, v)
		}
	}
	if s.header.Get("X-Forwarded-For") != "127.0.0.1" || len(s.header.Values("X-Forwarded-For")) != 1 {
		t.Errorf("X-Forwarded-For %q", s.header.Values("X-Forwarded-For"))
	}
	if s.header.Get("Mcp-Session-Id") != "s-1" {
		t.Errorf("Mcp-Session-Id did not pass")
	}
	if s.header.Get("X-Api-Key") != "service-key" {
		t.Errorf("the configured header did not reach the upstream: %q", s.header.Values("X-Api-Key"))
	}
	if strings.Contains(strings.Join(flatten(s.header), "\n"), token) {
		t.Error("the bearer token reached the upstream")
	}
}

// TestHeaderFor: a header computed from the request (the caller's own
// upstream token) reaches the upstream in place of the client's
// Authorization, and cannot overwrite the identity headers.
func TestHeaderFor(t *testing.T) {
	g := newGateway(t)
	up, got := recorder(t)
	gw := front(t, g, up.URL+"/mcp", &identityproxy.Options{HeaderFor: func(r *http.Request) http.Header {
		c, ok := oauth.ClaimsFromContext(r.Context())
		if !ok {
			return nil
		}
		return http.Header{"Authorization": {"Bearer upstream-of-" + c.Subject}, "X-User-Id": {"forged"}}
	}})
	token, _ := g.token(t)
	req, _ := http.NewRequest("POST", gw.URL+"/svc/mcp", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	s := <-got
	if a := s.header.Values("Authorization"); len(a) != 1 || a[0] != "Bearer upstream-of-dev:alice" {
		t.Fatalf("upstream Authorization %q", a)
	}
	if s.header.Get("X-User-Id") != "dev:alice" {
		t.Fatalf("X-User-Id %q", s.header.Values("X-User-Id"))
	}
}

func flatten(h http.Header) []string {
	var out []string
	for k, vs := range h {
		for _, v := range vs {
			out = append(out, k+": "+v)
		}
	}
	return out
}

// TestRefusedRequestsStayHere: without a token (or with a bad one) the
// gateway answers with its challenge and the upstream sees nothing; the
// proxy mounted without the bearer check refuses everything.
func TestRefusedRequestsStayHere(t *testing.T) {
	g := newGateway(t)
	up, got := recorder(t)
	gw := front(t, g, up.URL+"/mcp", nil)
	for _, auth := range []string{"", "Bearer not-a-token"} {
		req, _ := http.NewRequest("POST", gw.URL+"/svc/mcp", strings.NewReader(`{}`))
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 || !strings.Contains(resp.Header.Get("WWW-Authenticate"), "resource_metadata=") {
			t.Errorf("%q: %d %q", auth, resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
		}
	}

	p, _ := identityproxy.New(up.URL+"/mcp", &identityproxy.Options{Logger: quiet})
	bare := httptest.NewServer(p)
	defer bare.Close()
	resp, err := http.Post(bare.URL+"/svc/mcp", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 500 {
		t.Errorf("proxy without the bearer check: %d", resp.StatusCode)
	}
	select {
	case s := <-got:
		t.Fatalf("the upstream was called: %+v", s)
	default:
	}
}

// TestSSEIsStreamed: the client reads the upstream's first event while the
// upstream still holds the stream open, before it writes the second.
func TestSSEIsStreamed(t *testing.T) {
	g := newGateway(t)
	next := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "id: 1\ndata: {\"n\":1}\n\n")
		w.(http.Flusher).Flush()
		select {
		case <-next:
		case <-time.After(30 * time.Second):
		}
		io.WriteString(w, "id: 2\ndata: {\"n\":2}\n\n")
	}))
	defer up.Close()
	gw := front(t, g, up.URL+"/mcp", nil)
	token, _ := g.token(t)
	req, _ := http.NewRequest("GET", gw.URL+"/svc/mcp", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rd := bufio.NewReader(resp.Body)
	readEvent := func() string {
		var lines []string
		for {
			line, err := rd.ReadString('\n')
			if err != nil {
				t.Fatalf("stream ended: %v", err)
			}
			if line == "\n" {
				return strings.Join(lines, "")
			}
			lines = append(lines, line)
		}
	}
	if e := readEvent(); !strings.Contains(e, `{"n":1}`) {
		t.Fatalf("first event %q", e)
	}
	close(next) // only now does the upstream write the second event
	if e := readEvent(); !strings.Contains(e, `{"n":2}`) {
		t.Fatalf("second event %q", e)
	}
}

// TestUpstreamFailures: an upstream that is down gives a JSON-RPC error
// with 502; a body over the cap gives 413 and does not reach it.
func TestUpstreamFailures(t *testing.T) {
	g := newGateway(t)
	token, _ := g.token(t)
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	post := func(gw *httptest.Server, body string) (int, map[string]any) {
		req, _ := http.NewRequest("POST", gw.URL+"/svc/mcp", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	if code, m := post(front(t, g, deadURL+"/mcp", nil), `{}`); code != 502 || m["error"] == nil {
		t.Errorf("upstream down: %d %v", code, m)
	}
	up, got := recorder(t)
	small := front(t, g, up.URL+"/mcp", &identityproxy.Options{MaxBodyBytes: 64})
	if code, m := post(small, strings.Repeat("x", 65)); code != 413 || m["error"] == nil {
		t.Errorf("body over the cap: %d %v", code, m)
	}
	select {
	case s := <-got:
		if len(s.body) > 64 {
			t.Errorf("the upstream got %d bytes", len(s.body))
		}
	default:
	}
}

func TestNewRefusesBadTargets(t *testing.T) {
	for _, target := range []string{"", "127.0.0.1:9000/mcp", "ftp://h/mcp", "http:///mcp", "http://u:p@h/mcp", "http://h/mcp#x"} {
		if _, err := identityproxy.New(target, nil); err == nil {
			t.Errorf("%q accepted", target)
		}
	}
}

package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/mcp-oauth-gateway/gateway/internal/proxymodel"
	"github.com/mcp-oauth-gateway/gateway/internal/testenv"
)

// Traefik is not packaged for the test machines, and building it (v3.6.12,
// some 400 modules) does not fit the test command's time, so
// deploy/traefik is exercised here by a stand-in: it reads traefik.yml's
// websecure entry point and dynamic.yml's routers, middlewares and
// services, and serves them the way Traefik v3.6.12 does, in front of the
// real binary and a service that records what it receives. What it
// applies, from Traefik's source (github.com/traefik/traefik/v3@v3.6.12):
//
//   - the request as Go's server parses it (Traefik is a Go server);
//   - pkg/middlewares/forwardedheaders: a client's X-Forwarded-*, X-Real-Ip
//     removed (no trusted IPs), then X-Forwarded-Host, -Proto, -For set;
//   - the entry point's path handling (denyFragment, normalizePath,
//     sanitizePath, the encodedCharacters refusals) and the routing path
//     and host the rules see: internal/proxymodel, which cites the files;
//   - pkg/muxer/http: the v3 rule syntax (Host, Path, PathPrefix, !, &&, ||,
//     parentheses), routers tried by priority (the rule's length unless
//     set), 404 when none matches;
//   - pkg/middlewares/headers customRequestHeaders (an empty value
//     deletes), pkg/middlewares/replacepath, and pkg/middlewares/auth
//     forward.go: a GET to the address with every header but hop-by-hop
//     ones and X-Forwarded-Method, -Proto, -Host, -Uri (RequestURI after the
//     entry point) and -For; a non-2xx answer goes back to the client as it
//     is; on 2xx authResponseHeaders and the request headers matching
//     authResponseHeadersRegex are deleted and the answer's copied.

// yamlMap is a YAML mapping of the subset deploy/traefik uses.
type yamlMap = map[string]any

// parseYAML reads block mappings, block lists of scalars or mappings
// ("- url: x"), flow lists of scalars ("[a, b]"), plain and quoted scalars
// and comments: the subset of YAML the deploy files use. It fails on
// anything else rather than guess.
func parseYAML(t *testing.T, path string) yamlMap {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	type line struct {
		indent int
		text   string
	}
	var lines []line
	for _, raw := range strings.Split(string(data), "\n") {
		text := strings.TrimRight(raw, " \r")
		trimmed := strings.TrimLeft(text, " ")
		if trimmed == "" || trimmed[0] == '#' {
			continue
		}
		lines = append(lines, line{len(text) - len(trimmed), trimmed})
	}
	scalar := func(s string) any {
		s = strings.TrimSpace(s)
		switch {
		case strings.HasPrefix(s, `"`):
			v, err := strconv.Unquote(s)
			if err != nil {
				t.Fatalf("%s: bad quoted string %s", path, s)
			}
			return v
		case strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]"):
			var list []any
			for item := range strings.SplitSeq(s[1:len(s)-1], ",") {
				list = append(list, strings.TrimSpace(item))
			}
			return list
		}
		return s
	}
	var block func(i, indent int) (any, int)
	block = func(i, indent int) (any, int) {
		if strings.HasPrefix(lines[i].text, "- ") {
			var list []any
			for i < len(lines) && lines[i].indent == indent && strings.HasPrefix(lines[i].text, "- ") {
				item := strings.TrimPrefix(lines[i].text, "- ")
				if k, v, ok := strings.Cut(item, ": "); ok { // "- key: value" starts a mapping
					lines[i] = line{indent + 2, k + ": " + v}
					var m any
					m, i = block(i, indent+2)
					list = append(list, m)
					continue
				}
				list = append(list, scalar(item))
				i++
			}
			return list, i
		}
		m := yamlMap{}
		for i < len(lines) && lines[i].indent == indent {
			key, value, ok := strings.Cut(lines[i].text, ":")
			if !ok {
				t.Fatalf("%s: cannot read %q", path, lines[i].text)
			}
			i++
			if value = strings.TrimSpace(value); value != "" {
				m[key] = scalar(value)
				continue
			}
			if i == len(lines) || lines[i].indent <= indent && !(lines[i].indent == indent && strings.HasPrefix(lines[i].text, "- ")) {
				m[key] = nil
				continue
			}
			m[key], i = block(i, lines[i].indent)
		}
		if i < len(lines) && lines[i].indent > indent {
			t.Fatalf("%s: unexpected indentation at %q", path, lines[i].text)
		}
		return m, i
	}
	doc, _ := block(0, 0)
	return doc.(yamlMap)
}

// at walks a YAML document: at(doc, "http", "routers") is that mapping,
// nil when there is none.
func at(doc any, keys ...string) yamlMap {
	for _, k := range keys {
		m, _ := doc.(yamlMap)
		doc = m[k]
	}
	m, _ := doc.(yamlMap)
	return m
}

// rule is a parsed Traefik v3 router rule.
type rule func(host, path string) bool

// parseRule parses the rule syntax the deploy file uses.
func parseRule(t *testing.T, src string) rule {
	t.Helper()
	tokens := regexp.MustCompile("`[^`]*`|&&|\\|\\||[()!,]|[A-Za-z]+").FindAllString(src, -1)
	if strings.Join(tokens, "") != strings.Join(strings.Fields(src), "") {
		t.Fatalf("rule %q: unsupported syntax", src)
	}
	pos := 0
	next := func() string {
		if pos == len(tokens) {
			return ""
		}
		pos++
		return tokens[pos-1]
	}
	peek := func() string {
		if pos == len(tokens) {
			return ""
		}
		return tokens[pos]
	}
	var or, un func() rule
	un = func() rule {
		switch tok := next(); {
		case tok == "!":
			r := un()
			return func(h, p string) bool { return !r(h, p) }
		case tok == "(":
			r := or()
			if next() != ")" {
				t.Fatalf("rule %q: missing )", src)
			}
			return r
		case tok == "Host" || tok == "Path" || tok == "PathPrefix":
			if next() != "(" {
				t.Fatalf("rule %q: %s without (", src, tok)
			}
			arg := strings.Trim(next(), "`")
			if next() != ")" {
				t.Fatalf("rule %q: %s takes one value here", src, tok)
			}
			switch tok {
			case "Host":
				want := strings.ToLower(arg)
				return func(h, _ string) bool { return strings.TrimSuffix(h, ".") == strings.TrimSuffix(want, ".") }
			case "Path":
				return func(_, p string) bool { return p == arg }
			default:
				return func(_, p string) bool { return strings.HasPrefix(p, arg) }
			}
		default:
			t.Fatalf("rule %q: unexpected %q", src, tok)
			return nil
		}
	}
	and := func() rule {
		r := un()
		for peek() == "&&" {
			next()
			l, rr := r, un()
			r = func(h, p string) bool { return l(h, p) && rr(h, p) }
		}
		return r
	}
	or = func() rule {
		r := and()
		for peek() == "||" {
			next()
			l, rr := r, and()
			r = func(h, p string) bool { return l(h, p) || rr(h, p) }
		}
		return r
	}
	r := or()
	if pos != len(tokens) {
		t.Fatalf("rule %q: trailing %v", src, tokens[pos:])
	}
	return r
}

// traefik is the stand-in, serving deploy/traefik in front of the
// authorization server at authURL and the MCP service at serviceURL.
type traefik struct {
	*httptest.Server
	ep      proxymodel.TraefikEntryPoint
	routers []traefikRouter
	mw      yamlMap
	targets map[string]*url.URL // service name -> URL
	verify  *url.URL
}

type traefikRouter struct {
	name        string
	match       rule
	priority    int
	service     string
	middlewares []string
}

// newTraefik starts the stand-in. defaults drops traefik.yml's
// encodedCharacters section: Traefik 3.6.7+ then allows every encoded
// character, and /verify alone must refuse them.
func newTraefik(t *testing.T, authURL, serviceURL string, defaults bool) *traefik {
	t.Helper()
	static := parseYAML(t, filepath.Join("..", "..", "deploy", "traefik", "traefik.yml"))
	dynamic := parseYAML(t, filepath.Join("..", "..", "deploy", "traefik", "dynamic.yml"))
	tr := &traefik{mw: at(dynamic, "http", "middlewares"), targets: map[string]*url.URL{}}

	epHTTP := at(static, "entryPoints", "websecure", "http")
	tr.ep.SanitizePath = epHTTP["sanitizePath"] != "false"
	if ec := at(epHTTP, "encodedCharacters"); ec != nil && !defaults {
		for option, enc := range map[string]string{"allowEncodedSlash": "%2F", "allowEncodedBackSlash": "%5C", "allowEncodedNullCharacter": "%00",
			"allowEncodedSemicolon": "%3B", "allowEncodedPercent": "%25", "allowEncodedQuestionMark": "%3F", "allowEncodedHash": "%23"} {
			if ec[option] == "false" { // true when the section is present but the option is not
				tr.ep.Deny = append(tr.ep.Deny, enc)
			}
		}
		if len(tr.ep.Deny) != len(proxymodel.TraefikDenyAll) {
			t.Fatalf("traefik.yml refuses %v, not every encoded character Traefik can refuse", tr.ep.Deny)
		}
	}

	auth, _ := url.Parse(authURL)
	service, _ := url.Parse(serviceURL)
	for name, svc := range at(dynamic, "http", "services") {
		servers, _ := at(svc, "loadBalancer")["servers"].([]any)
		if len(servers) != 1 {
			t.Fatalf("service %s: want one server", name)
		}
		u, err := url.Parse(servers[0].(yamlMap)["url"].(string))
		if err != nil {
			t.Fatal(err)
		}
		// The file's upstreams are 127.0.0.1:8000 (mcp-oauth-server) and :3000.
		switch u.Port() {
		case "8000":
			tr.targets[name] = auth
		default:
			tr.targets[name] = service
		}
	}
	for name, r := range at(dynamic, "http", "routers") {
		m := r.(yamlMap)
		src := m["rule"].(string)
		tr2 := traefikRouter{name: name, match: parseRule(t, src), priority: len(src), service: m["service"].(string)}
		if p, ok := m["priority"].(string); ok {
			tr2.priority, _ = strconv.Atoi(p)
		}
		for _, mw := range asListOrNil(m["middlewares"]) {
			if at(tr.mw, mw) == nil {
				t.Fatalf("router %s: no middleware %s", name, mw)
			}
			tr2.middlewares = append(tr2.middlewares, mw)
		}
		if tr.targets[tr2.service] == nil {
			t.Fatalf("router %s: no service %s", name, tr2.service)
		}
		tr.routers = append(tr.routers, tr2)
	}
	slices.SortFunc(tr.routers, func(a, b traefikRouter) int { return b.priority - a.priority })
	tr.Server = httptest.NewServer(http.HandlerFunc(tr.serve))
	t.Cleanup(tr.Close)
	return tr
}

func asList(v any) []string {
	var out []string
	for _, item := range v.([]any) {
		out = append(out, item.(string))
	}
	return out
}

func (tr *traefik) serve(w http.ResponseWriter, req *http.Request) {
	for _, h := range []string{"X-Forwarded-Proto", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Port", "X-Forwarded-Server",
		"X-Forwarded-Uri", "X-Forwarded-Method", "X-Forwarded-Prefix", "X-Forwarded-Tls-Client-Cert", "X-Forwarded-Tls-Client-Cert-Info", "X-Real-Ip"} {
		req.Header.Del(h)
	}
	clientIP, _, _ := net.SplitHostPort(req.RemoteAddr)
	req.Header.Set("X-Forwarded-For", clientIP)
	req.Header.Set("X-Forwarded-Host", req.Host)
	req.Header.Set("X-Forwarded-Proto", "http")
	req, ok := tr.ep.Prepare(req)
	if !ok {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	path, err := proxymodel.TraefikRoutingPath(req)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	host := strings.ToLower(req.Host)
	if h, _, err := net.SplitHostPort(req.Host); err == nil {
		host = strings.ToLower(h)
	}
	for _, r := range tr.routers {
		if r.match(host, path) {
			tr.route(w, req, r)
			return
		}
	}
	http.NotFound(w, req)
}

func (tr *traefik) route(w http.ResponseWriter, req *http.Request, r traefikRouter) {
	for _, name := range r.middlewares {
		mw := tr.mw[name].(yamlMap)
		switch {
		case mw["headers"] != nil:
			for k, v := range at(mw, "headers", "customRequestHeaders") {
				if v == "" {
					req.Header.Del(k)
				} else {
					req.Header.Set(k, v.(string))
				}
			}
		case mw["replacePath"] != nil:
			req.Header.Add("X-Replaced-Path", req.URL.EscapedPath())
			req.URL.RawPath = at(mw, "replacePath")["path"].(string)
			req.URL.Path, _ = url.PathUnescape(req.URL.RawPath)
			req.RequestURI = req.URL.RequestURI()
		case mw["forwardAuth"] != nil:
			if !tr.forwardAuth(w, req, at(mw, "forwardAuth")) {
				return
			}
		}
	}
	target := tr.targets[r.service]
	(&httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(target)
		pr.Out.Host = pr.In.Host
		for _, h := range []string{"X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto"} {
			pr.Out.Header[h] = pr.In.Header[h] // Rewrite removed them
		}
	}}).ServeHTTP(w, req)
}

// forwardAuth asks the address about req; false when it answered the
// client.
func (tr *traefik) forwardAuth(w http.ResponseWriter, req *http.Request, cfg yamlMap) bool {
	address, _ := url.Parse(cfg["address"].(string))
	address.Host = tr.targets["mcp-oauth"].Host
	fwd, _ := http.NewRequest(http.MethodGet, address.String(), nil)
	for k, v := range req.Header {
		fwd.Header[k] = slices.Clone(v)
	}
	for _, h := range []string{"Connection", "Keep-Alive", "Te", "Trailers", "Transfer-Encoding", "Upgrade"} {
		fwd.Header.Del(h)
	}
	if cfg["trustForwardHeader"] != "false" {
		panic("the stand-in models trustForwardHeader: false only")
	}
	clientIP, _, _ := net.SplitHostPort(req.RemoteAddr)
	fwd.Header.Set("X-Forwarded-For", clientIP)
	fwd.Header.Set("X-Forwarded-Method", req.Method)
	fwd.Header.Set("X-Forwarded-Proto", "http")
	fwd.Header.Set("X-Forwarded-Host", req.Host)
	fwd.Header.Set("X-Forwarded-Uri", req.URL.RequestURI())
	resp, err := http.DefaultTransport.RoundTrip(fwd)
	if err != nil {
		w.WriteHeader(http.StatusInternalServerError)
		return false
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = w.Write(body)
		return false
	}
	for _, name := range asListOrNil(cfg["authResponseHeaders"]) {
		key := http.CanonicalHeaderKey(name)
		req.Header.Del(key)
		if v := resp.Header[key]; len(v) > 0 {
			req.Header[key] = slices.Clone(v)
		}
	}
	if src, ok := cfg["authResponseHeadersRegex"].(string); ok {
		re := regexp.MustCompile(src)
		for k := range req.Header {
			if re.MatchString(k) {
				req.Header.Del(k)
			}
		}
		for k, v := range resp.Header {
			if re.MatchString(k) {
				req.Header[k] = slices.Clone(v)
			}
		}
	}
	req.RequestURI = req.URL.RequestURI()
	return true
}

func asListOrNil(v any) []string {
	if v == nil {
		return nil
	}
	return asList(v)
}

// recorder is an MCP service that records the requests it receives.
type recorder struct {
	*httptest.Server
	mu   sync.Mutex
	seen []seenRequest
}

type seenRequest struct {
	uri, host string
	header    http.Header
}

func newRecorder(t *testing.T) *recorder {
	rec := &recorder{}
	rec.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.mu.Lock()
		rec.seen = append(rec.seen, seenRequest{r.RequestURI, r.Host, r.Header.Clone()})
		rec.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"jsonrpc":"2.0","id":1,"result":{}}`)
	}))
	t.Cleanup(rec.Close)
	return rec
}

func (rec *recorder) count() int {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return len(rec.seen)
}

func (rec *recorder) last() seenRequest {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return rec.seen[len(rec.seen)-1]
}

// send writes a request to addr byte for byte (a fragment, %XX, dot
// segments, an absolute-form target) and reads the answer.
func send(t *testing.T, addr, target, host string, headers ...string) (int, http.Header, string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`
	var b strings.Builder
	fmt.Fprintf(&b, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nConnection: close\r\n", target, host)
	for _, h := range headers {
		b.WriteString(h + "\r\n")
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(body), body)
	if _, err := io.WriteString(conn, b.String()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(data)
}

// TestTraefikConfig: behind deploy/traefik (through the stand-in), an MCP
// client gets the challenge and the discovery documents from the MCP host;
// the service gets the verified identity, never the client's identity
// headers in any spelling nor its token; every request Traefik and /verify
// could read differently is refused before it reaches the service; and
// /verify is not served on the issuer host. Run with traefik.yml as it is,
// and with Traefik's default of allowing every encoded character, where
// /verify alone refuses them.
func TestTraefikConfig(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "resources.json")
	if err := os.WriteFile(conf, []byte(`{"resources": [
		{"url": "http://mcp.example.com/mcp", "name": "Echo"},
		{"url": "http://mcp.example.com/admin/mcp", "name": "Admin"}
	]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	s := start(t, testenv.Port(t), "--dev-user", "robot", "--store", "memory", "--resource-config", conf)
	_, tok := login(t, s.issuer, "http://mcp.example.com/mcp")
	echoToken := tok["access_token"].(string)
	_, tok = login(t, s.issuer, "http://mcp.example.com/admin/mcp")
	adminToken := tok["access_token"].(string)
	const mcpHost, authHost = "mcp.example.com", "auth.example.com"

	for _, defaults := range []bool{false, true} {
		t.Run(map[bool]string{false: "deploy files", true: "encoded characters allowed"}[defaults], func(t *testing.T) {
			svc := newRecorder(t)
			tr := newTraefik(t, s.issuer, svc.URL, defaults)
			addr := strings.TrimPrefix(tr.URL, "http://")

			code, h, _ := send(t, addr, "/mcp", mcpHost)
			if want := `Bearer resource_metadata="http://mcp.example.com/.well-known/oauth-protected-resource/mcp", scope="mcp"`; code != 401 || h.Get("WWW-Authenticate") != want {
				t.Fatalf("no token: %d %q", code, h.Get("WWW-Authenticate"))
			}
			req, _ := http.NewRequest("GET", tr.URL+"/.well-known/oauth-protected-resource/mcp", nil)
			req.Host = mcpHost
			mresp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			if meta := decode(t, mresp); meta["resource"] != "http://mcp.example.com/mcp" || meta["authorization_servers"].([]any)[0] != s.issuer {
				t.Fatalf("metadata on the MCP host: %v", meta)
			}

			// A good token, with the identity headers a client may send in
			// other spellings.
			code, _, body := send(t, addr, "/mcp", mcpHost, "Authorization: Bearer "+echoToken, "X-User-Id: spoofed", "X_User_Name: spoofed",
				"x_user_id: spoofed", "X-User_Email: spoofed", "X_Auth_Client_Id: spoofed", "X-USER-NAME: spoofed", "X_Auth_Token: spoofed")
			seen := svc.last()
			if code != 200 || svc.count() != 1 {
				t.Fatalf("good token: %d %s", code, body)
			}
			if seen.header.Get("X-User-Name") != "robot" || len(seen.header["X-User-Name"]) != 1 || seen.header.Get("X-User-Id") == "" ||
				seen.header.Get("X-Auth-Client-Id") == "" || seen.header.Get("Authorization") != "" || seen.uri != "/mcp" {
				t.Fatalf("the service saw %s %v", seen.uri, seen.header)
			}
			for k, v := range seen.header {
				if slices.Contains(v, "spoofed") {
					t.Fatalf("the service received the client's %s", k)
				}
			}
			if code, _, _ = send(t, addr, "/admin/mcp", mcpHost, "Authorization: Bearer "+adminToken); code != 200 || svc.last().uri != "/mcp" {
				t.Fatalf("admin token on the admin service: %d %s", code, svc.last().uri)
			}

			// Each request: what the client gets, and the service receives
			// nothing. encodedStatus: Traefik refuses the encoded characters
			// itself (traefik.yml), else /verify does with invalid_request.
			const encodedStatus = -400
			for _, c := range []struct {
				name, target, host string
				headers            []string
				status             int
			}{
				{"token of /mcp on /admin/mcp", "/admin/mcp", mcpHost, []string{"Authorization: Bearer " + echoToken}, 401},
				{"token of /admin/mcp on /mcp", "/mcp", mcpHost, []string{"Authorization: Bearer " + adminToken}, 401},
				{"encoded slash into a discovery path, no token", "/mcp%2F..%2F.well-known%2Foauth-protected-resource", mcpHost, nil, encodedStatus},
				{"encoded slash onto /admin/mcp", "/mcp%2F..%2Fadmin%2Fmcp", mcpHost, []string{"Authorization: Bearer " + adminToken}, encodedStatus},
				{"lower-case encoded slash", "/mcp%2f..%2fadmin%2fmcp", mcpHost, []string{"Authorization: Bearer " + adminToken}, encodedStatus},
				{"double encoding", "/mcp%252F..%252Fadmin", mcpHost, []string{"Authorization: Bearer " + echoToken}, encodedStatus},
				{"encoded backslash", "/mcp%5C..%5Cadmin%5Cmcp", mcpHost, []string{"Authorization: Bearer " + adminToken}, encodedStatus},
				{"encoded semicolon", "/mcp%3Bx", mcpHost, []string{"Authorization: Bearer " + echoToken}, encodedStatus},
				{"encoded space", "/mcp/a%20b", mcpHost, []string{"Authorization: Bearer " + echoToken}, 400}, // /verify's
				// Traefik removes dot segments before routing and before
				// X-Forwarded-Uri, so these are checked as /admin/mcp.
				{"encoded dots onto /admin/mcp", "/mcp/%2e%2e/admin/mcp", mcpHost, []string{"Authorization: Bearer " + echoToken}, 401},
				{"dot segments onto /admin/mcp", "/mcp/../admin/mcp", mcpHost, []string{"Authorization: Bearer " + echoToken}, 401},
				{"dot segments into a discovery path on /mcp's route", "/mcp/x/../../.well-known/oauth-protected-resource/../../mcp", mcpHost, nil, 401},
				{"fragment", "/mcp#/../.well-known/oauth-protected-resource", mcpHost, nil, 400},
				{"client X-Forwarded-Uri and X-Original-URI", "/admin/mcp", mcpHost, []string{"Authorization: Bearer " + echoToken, "X-Forwarded-Uri: /mcp", "X-Original-URI: /mcp"}, 401},
				{"client X-Forwarded-Method, a POST as a preflight", "/mcp", mcpHost, []string{"X-Forwarded-Method: OPTIONS", "X-Original-Method: OPTIONS", "Origin: https://claude.ai", "Access-Control-Request-Method: POST"}, 401},
				{"another resource's path in capitals", "/ADMIN/mcp", mcpHost, []string{"Authorization: Bearer " + echoToken}, 404},
				{"absolute-form request line for another host", "http://admin.example.com/mcp", mcpHost, []string{"Authorization: Bearer " + echoToken}, 404},
				{"/verify on the issuer host", "/verify", authHost, []string{"Authorization: Bearer " + echoToken, "X-Forwarded-Uri: /mcp"}, 404},
				{"/verify, encoded, on the issuer host", "/%76erify", authHost, []string{"Authorization: Bearer " + echoToken}, 404},
				{"/verify, with dot segments, on the issuer host", "/x/../verify", authHost, []string{"Authorization: Bearer " + echoToken}, 404},
				{"/verify, doubled slash, on the issuer host", "//verify", authHost, []string{"Authorization: Bearer " + echoToken}, 404},
			} {
				before := svc.count()
				code, h, body := send(t, addr, c.target, c.host, c.headers...)
				want := c.status
				if want == encodedStatus {
					want = 400
				}
				if code != want || svc.count() != before || h.Get("X-User-Id") != "" {
					t.Errorf("%s (%s): %d %s, the service received %d request(s); want %d and none", c.name, c.target, code, body, svc.count()-before, want)
				}
				if c.status == encodedStatus && defaults && !strings.Contains(body, `"error":"invalid_request"`) {
					t.Errorf("%s: not /verify's invalid_request: %s", c.name, body)
				}
			}
			// The issuer host serves the authorization server.
			req, _ = http.NewRequest("GET", tr.URL+"/.well-known/oauth-authorization-server", nil)
			req.Host = authHost
			aresp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			if meta := decode(t, aresp); meta["issuer"] != s.issuer {
				t.Fatalf("issuer host metadata: %v", meta)
			}
		})
	}
	s.stop(t)
}

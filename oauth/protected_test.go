package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcp-oauth-gateway/gateway/mcpserver"
)

const testMetadataURL = "https://mcp.example.com/.well-known/oauth-protected-resource/mcp"

// protectedServer serves testResource behind pr on loopback; the handler
// answers what it saw of the caller.
func protectedServer(t *testing.T, pr *ProtectedResource) *httptest.Server {
	t.Helper()
	h := pr.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := mcpserver.IdentityFromContext(r.Context())
		c, ok := ClaimsFromContext(r.Context())
		if !ok {
			c = &AccessTokenClaims{}
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"identity": id, "claims_sub": c.Subject, "claims_jti": c.ID})
	}))
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return ts
}

func newProtected(t *testing.T, v *Verifier, r Resource) *ProtectedResource {
	t.Helper()
	if r.URL == "" {
		r.URL = testResource
	}
	pr, err := NewProtectedResource(v, r)
	if err != nil {
		t.Fatal(err)
	}
	return pr
}

// call sends a request with the given Authorization headers (none when
// empty) and query.
func call(t *testing.T, url, query string, auth ...string) (*http.Response, string) {
	t.Helper()
	if query != "" {
		url += "?" + query
	}
	req, _ := http.NewRequest("POST", url, strings.NewReader("{}"))
	for _, a := range auth {
		req.Header.Add("Authorization", a)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// TestChallenges: the status and the exact WWW-Authenticate value of every
// refusal (RFC 6750 §3, RFC 9728 §5.1, MCP 2025-11-25).
func TestChallenges(t *testing.T) {
	e := newEnv(t)
	rs := &countingStore{MemoryStore: e.store}
	v := newVerifier(t, e, nil, &VerifierOptions{Revocations: rs})
	pr := newProtected(t, v, Resource{RequiredScopes: []string{"mcp"}, Scopes: []string{"mcp", "admin"}})
	ts := protectedServer(t, pr)
	prAdmin := newProtected(t, v, Resource{RequiredScopes: []string{"mcp", "admin"}})
	tsAdmin := protectedServer(t, prAdmin)

	good := e.sign(t, e.claimsFor())
	expiredClaims := e.claimsFor()
	expiredClaims["exp"] = e.clock.Now().Add(-time.Hour).Unix()
	expired := e.sign(t, expiredClaims)
	otherAud := e.sign(t, e.claimsFor("https://other.example.com/mcp"))
	revokedClaims := e.claimsFor()
	revoked := e.sign(t, revokedClaims)
	if err := e.store.RevokeToken(t.Context(), "client-1", revokedClaims["jti"].(string), e.clock.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	invalid := func(desc string) string {
		return `Bearer error="invalid_token", error_description="` + desc + `", resource_metadata="` + testMetadataURL + `"`
	}
	badRequest := func(desc string) string {
		return `Bearer error="invalid_request", error_description="` + desc + `", resource_metadata="` + testMetadataURL + `"`
	}
	cases := []struct {
		name      string
		srv       *httptest.Server
		query     string
		auth      []string
		status    int
		challenge string
	}{
		{"no token", ts, "", nil, 401, `Bearer resource_metadata="` + testMetadataURL + `", scope="mcp"`},
		{"basic auth", ts, "", []string{"Basic dXNlcjpwYXNz"}, 401, `Bearer resource_metadata="` + testMetadataURL + `", scope="mcp"`},
		{"empty bearer", ts, "", []string{"Bearer "}, 400, badRequest("the bearer token is empty or not a valid token")},
		{"bearer with spaces", ts, "", []string{"Bearer a b"}, 400, badRequest("the bearer token is empty or not a valid token")},
		{"two headers", ts, "", []string{"Bearer " + good, "Bearer " + good}, 400, badRequest("more than one Authorization header")},
		{"token in query", ts, "access_token=" + good, nil, 400, badRequest("the access token must be sent in the Authorization header, not in the query string")},
		{"token in query and header", ts, "x=1&access_token=" + good, []string{"Bearer " + good}, 400, badRequest("the access token must be sent in the Authorization header, not in the query string")},
		{"garbage token", ts, "", []string{"Bearer abc.def.ghi"}, 401, invalid("the access token is invalid")},
		{"expired", ts, "", []string{"Bearer " + expired}, 401, invalid("the access token expired")},
		{"other audience", ts, "", []string{"Bearer " + otherAud}, 401, invalid("the access token was not issued for this resource")},
		{"revoked", ts, "", []string{"Bearer " + revoked}, 401, invalid("the access token was revoked")},
		{"missing scope", tsAdmin, "", []string{"Bearer " + good}, 403,
			`Bearer error="insufficient_scope", error_description="the access token lacks a scope this resource requires", resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp", scope="mcp admin"`},
		{"good", ts, "", []string{"Bearer " + good}, 200, ""},
		{"good, lowercase scheme", ts, "", []string{"bearer " + good}, 200, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, body := call(t, c.srv.URL, c.query, c.auth...)
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d (%s)", resp.StatusCode, c.status, body)
			}
			if got := resp.Header.Get("WWW-Authenticate"); got != c.challenge {
				t.Fatalf("WWW-Authenticate:\n got %s\nwant %s", got, c.challenge)
			}
			if c.status != 200 {
				var m map[string]string
				if err := json.Unmarshal([]byte(body), &m); err != nil || m["error"] == "" || resp.Header.Get("Cache-Control") != "no-store" {
					t.Fatalf("refusal body %q (%v), Cache-Control %q", body, err, resp.Header.Get("Cache-Control"))
				}
			}
		})
	}

	t.Run("store down", func(t *testing.T) {
		fresh := e.sign(t, e.claimsFor())
		rs.fail.Store(true)
		defer rs.fail.Store(false)
		resp, _ := call(t, ts.URL, "", "Bearer "+fresh)
		if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("store down: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
		}
	})
	t.Run("preflight passes", func(t *testing.T) {
		req, _ := http.NewRequest("OPTIONS", ts.URL, nil)
		req.Header.Set("Origin", "https://claude.ai")
		req.Header.Set("Access-Control-Request-Method", "POST")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("preflight: %d", resp.StatusCode)
		}
	})
}

// TestProtectedIdentity: a good token reaches the handler with the caller
// as mcpserver tools see it and the token's claims.
func TestProtectedIdentity(t *testing.T) {
	e := newEnv(t)
	v := newVerifier(t, e, nil, nil)
	ts := protectedServer(t, newProtected(t, v, Resource{}))
	claims := e.claimsFor()
	// The audience matches in canonical form.
	claims["aud"] = []string{"HTTPS://MCP.Example.COM:443/mcp/"}
	resp, body := call(t, ts.URL, "", "Bearer "+e.sign(t, claims))
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	var got struct {
		Identity  mcpserver.Identity `json:"identity"`
		ClaimsSub string             `json:"claims_sub"`
		ClaimsJTI string             `json:"claims_jti"`
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	id := got.Identity
	if id.Subject != "4242" || id.Name != "octocat" || id.Email != "octo@example.com" || id.ClientID != "client-1" ||
		!slices.Equal(id.Scopes, []string{"mcp"}) || id.Source != "token" || id.Claims["fid"] != "family-1" {
		t.Fatalf("identity: %+v", id)
	}
	if got.ClaimsSub != "4242" || got.ClaimsJTI != claims["jti"] {
		t.Fatalf("claims in context: %+v", got)
	}
}

// TestProtectedAuthenticate: the direct form of the check, for callers
// that build their own refusals, and the metadata a resource reports.
func TestProtectedAuthenticate(t *testing.T) {
	e := newEnv(t)
	v := newVerifier(t, e, nil, nil)
	pr := newProtected(t, v, Resource{})
	req := func(auth string) *http.Request {
		r := httptest.NewRequest("POST", pr.URL(), nil)
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		return r
	}
	id, err := pr.Authenticate(req("Bearer " + e.sign(t, e.claimsFor())))
	if err != nil || id.Subject != "4242" || id.Name != "octocat" {
		t.Fatalf("good token: %+v, %v", id, err)
	}
	if _, err := pr.Authenticate(req("")); !errors.Is(err, ErrNoToken) {
		t.Errorf("no token: %v, want ErrNoToken", err)
	}
	other := e.claimsFor()
	other["aud"] = []string{"https://other.example.com/mcp"}
	if _, err := pr.Authenticate(req("Bearer " + e.sign(t, other))); !errors.Is(err, ErrTokenAudience) {
		t.Errorf("another resource's token: %v, want ErrTokenAudience", err)
	}
	m := pr.Metadata()
	if m.Resource != pr.URL() || !slices.Equal(m.AuthorizationServers, []string{e.issuer}) {
		t.Fatalf("metadata %+v", m)
	}
	m.AuthorizationServers[0] = "https://changed.example"
	if pr.Metadata().AuthorizationServers[0] != e.issuer {
		t.Error("Metadata returned a slice the resource shares")
	}
}

// TestResourcePolicy: per-resource rules are checked on every request;
// replacing the policy takes effect at the next request, cached token or
// not.
func TestResourcePolicy(t *testing.T) {
	e := newEnv(t)
	v := newVerifier(t, e, nil, nil)
	octocat := e.sign(t, e.claimsFor())
	memberClaims := e.claimsFor()
	memberClaims["preferred_username"] = "bob"
	memberClaims["orgs"] = []string{"Acme"}
	member := e.sign(t, memberClaims)

	allow := ParsePolicy("OctoCat, org:acme")
	pr := newProtected(t, v, Resource{Allow: &allow})
	ts := protectedServer(t, pr)
	for name, tok := range map[string]string{"login": octocat, "organization": member} {
		if resp, body := call(t, ts.URL, "", "Bearer "+tok); resp.StatusCode != 200 {
			t.Fatalf("allowed by %s: %d %s", name, resp.StatusCode, body)
		}
	}
	pr.SetAllow(&Policy{Logins: []string{"alice"}})
	for name, tok := range map[string]string{"login": octocat, "organization": member} {
		resp, body := call(t, ts.URL, "", "Bearer "+tok)
		if resp.StatusCode != 403 || !strings.Contains(body, `"access_denied"`) || resp.Header.Get("WWW-Authenticate") != "" {
			t.Fatalf("removed %s: %d %s (challenge %q)", name, resp.StatusCode, body, resp.Header.Get("WWW-Authenticate"))
		}
	}
	pr.SetAllow(nil)
	if resp, _ := call(t, ts.URL, "", "Bearer "+octocat); resp.StatusCode != 200 {
		t.Fatalf("nil policy: %d", resp.StatusCode)
	}
}

// TestAuthFuncInMCPServer: the hook plugs into mcpserver: no token gets the
// challenge, a good token reaches the tool with the caller's identity.
func TestAuthFuncInMCPServer(t *testing.T) {
	e := newEnv(t)
	v := newVerifier(t, e, nil, nil)
	pr := newProtected(t, v, Resource{Name: "Who am I"})
	s, err := mcpserver.New("whoami", "1.0.0", &mcpserver.Options{Sessions: mcpserver.Stateless, Authenticate: pr.AuthFunc()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.AddTool(mcp.NewTool("whoami"), func(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		id := mcpserver.IdentityFromContext(ctx)
		return mcp.NewToolResultText("you are " + id.Name + " via " + id.ClientID), nil
	})
	mux := http.NewServeMux()
	mux.Handle(pr.MetadataPath(), pr.MetadataHandler())
	mux.Handle("GET /.well-known/oauth-authorization-server", e.srv) // for 2025-03-26 clients
	mux.Handle("/mcp", s.Handler())
	ts := httptest.NewServer(mux)
	defer ts.Close()

	post := func(auth string) (*http.Response, string) {
		req, _ := http.NewRequest("POST", ts.URL+"/mcp", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami"}}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("MCP-Protocol-Version", "2025-11-25")
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	resp, _ := post("")
	if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") != `Bearer resource_metadata="`+testMetadataURL+`"` {
		t.Fatalf("no token: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	resp, body := post("Bearer " + e.sign(t, e.claimsFor()))
	if resp.StatusCode != 200 || !strings.Contains(body, "you are octocat via client-1") {
		t.Fatalf("with a token: %d %s", resp.StatusCode, body)
	}
	// The metadata the challenge points at (on the MCP host; here, the
	// test server's path).
	resp2, err := http.Get(ts.URL + pr.MetadataPath())
	if err != nil {
		t.Fatal(err)
	}
	defer resp2.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp2.Body).Decode(&m); err != nil || m["resource"] != testResource || m["resource_name"] != "Who am I" {
		t.Fatalf("metadata: %v %v", m, err)
	}
	resp3, err := http.Get(ts.URL + "/.well-known/oauth-authorization-server")
	if err != nil {
		t.Fatal(err)
	}
	defer resp3.Body.Close()
	var as Metadata
	if err := json.NewDecoder(resp3.Body).Decode(&as); err != nil || as.Issuer != e.issuer || as.TokenEndpoint != e.issuer+"/token" {
		t.Fatalf("authorization server metadata on the MCP host: %+v %v", as, err)
	}
}

// TestResourceMetadata: the RFC 9728 document, its URL, CORS and
// preflight.
func TestResourceMetadata(t *testing.T) {
	e := newEnv(t)
	v := newVerifier(t, e, nil, nil)
	pr := newProtected(t, v, Resource{URL: "https://MCP.example.com/svc/mcp/", Name: "Echo", Scopes: []string{"mcp", "admin"},
		DocumentationURL: "https://docs.example.com/echo"})
	if pr.URL() != "https://mcp.example.com/svc/mcp" || pr.MetadataURL() != "https://mcp.example.com/.well-known/oauth-protected-resource/svc/mcp" ||
		pr.MetadataPath() != "/.well-known/oauth-protected-resource/svc/mcp" {
		t.Fatalf("URL %s, metadata %s at %s", pr.URL(), pr.MetadataURL(), pr.MetadataPath())
	}
	rec := httptest.NewRecorder()
	pr.MetadataHandler().ServeHTTP(rec, httptest.NewRequest("GET", pr.MetadataPath(), nil))
	want := `{"resource":"https://mcp.example.com/svc/mcp","authorization_servers":["` + e.issuer + `"],"scopes_supported":["mcp","admin"],` +
		`"bearer_methods_supported":["header"],"resource_name":"Echo","resource_documentation":"https://docs.example.com/echo"}`
	if rec.Code != 200 || rec.Body.String() != want || rec.Header().Get("Access-Control-Allow-Origin") != "*" || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("metadata: %d %s (ACAO %q)", rec.Code, rec.Body, rec.Header().Get("Access-Control-Allow-Origin"))
	}
	rec = httptest.NewRecorder()
	req := httptest.NewRequest("OPTIONS", pr.MetadataPath(), nil)
	req.Header.Set("Origin", "http://localhost:6274")
	req.Header.Set("Access-Control-Request-Method", "GET")
	pr.MetadataHandler().ServeHTTP(rec, req)
	if rec.Code != 204 || !strings.Contains(rec.Header().Get("Access-Control-Allow-Methods"), "GET") {
		t.Fatalf("preflight: %d %v", rec.Code, rec.Header())
	}
	rec = httptest.NewRecorder()
	pr.MetadataHandler().ServeHTTP(rec, httptest.NewRequest("POST", pr.MetadataPath(), nil))
	if rec.Code != 405 {
		t.Fatalf("POST: %d", rec.Code)
	}
	// A resource at the root has its metadata at the root well-known URL.
	root := newProtected(t, v, Resource{URL: "https://mcp.example.com/"})
	if root.MetadataPath() != "/.well-known/oauth-protected-resource" || root.MetadataURL() != "https://mcp.example.com/.well-known/oauth-protected-resource" {
		t.Fatalf("root: %s %s", root.MetadataPath(), root.MetadataURL())
	}
	for _, bad := range []Resource{{URL: ""}, {URL: "mcp.example.com/mcp"}, {URL: "https://mcp.example.com/mcp?x=1"}, {URL: "https://mcp.example.com/mcp", RequiredScopes: []string{"a b"}},
		{URL: "https://mcp.example.com/mcp", DocumentationURL: "javascript:alert(1)"}, {URL: "https://mcp.example.com/mcp", Name: "bad\nname"}} {
		if _, err := NewProtectedResource(v, bad); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

// TestCanonicalResource: the canonical form tokens and resources are
// compared in.
func TestCanonicalResource(t *testing.T) {
	good := map[string]string{
		"https://mcp.example.com/mcp":          "https://mcp.example.com/mcp",
		"HTTPS://MCP.Example.com/mcp":          "https://mcp.example.com/mcp",
		"https://mcp.example.com:443/mcp/":     "https://mcp.example.com/mcp",
		"https://mcp.example.com:8443/Mcp":     "https://mcp.example.com:8443/Mcp",
		"http://127.0.0.1:80/":                 "http://127.0.0.1",
		"http://[::1]:3000/mcp":                "http://[::1]:3000/mcp",
		"https://mcp.example.com":              "https://mcp.example.com",
		"https://mcp.example.com/a%20b":        "https://mcp.example.com/a%20b",
		"http://mcp.example.com:443/mcp":       "http://mcp.example.com:443/mcp",
		"https://mcp.example.com/svc/mcp////":  "https://mcp.example.com/svc/mcp",
		"https://xn--bcher-kva.example.com/ok": "https://xn--bcher-kva.example.com/ok",
	}
	for in, want := range good {
		got, err := CanonicalResource(in)
		if err != nil || got != want {
			t.Errorf("CanonicalResource(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "mcp", "/mcp", "ftp://x/y", "https://", "https://u:p@h/x", "https://h/x?q=1", "https://h/x#f",
		"https://h/../x", "https://h/a/./b", "https://h:99999/x", "https://h x/y", "urn:example:mcp"} {
		if got, err := CanonicalResource(bad); err == nil {
			t.Errorf("CanonicalResource(%q) = %q, want an error", bad, got)
		}
	}
}

// TestOrganizationPolicyEndToEnd: the organizations GitHub reported at
// login travel in the access token (and its refreshed successors), so a
// per-resource organization rule admits the member.
func TestOrganizationPolicyEndToEnd(t *testing.T) {
	e := newEnv(t)
	v := newVerifier(t, e, nil, nil)
	acme, other := ParsePolicy("org:acme"), ParsePolicy("org:globex")
	tsAcme := protectedServer(t, newProtected(t, v, Resource{Allow: &acme}))
	tsOther := protectedServer(t, newProtected(t, v, Resource{Allow: &other}))
	c := e.register(nil)
	tok := e.tokens(c, url.Values{"resource": {testResource}})
	refreshed := func() string {
		resp, m := e.refresh(c, str(tok["refresh_token"]), nil)
		if resp.StatusCode != 200 {
			t.Fatalf("refresh: %d %v", resp.StatusCode, m)
		}
		return str(m["access_token"])
	}
	for name, at := range map[string]string{"issued": str(tok["access_token"]), "refreshed": refreshed()} {
		if resp, body := call(t, tsAcme.URL, "", "Bearer "+at); resp.StatusCode != 200 {
			t.Fatalf("%s token, member of acme: %d %s", name, resp.StatusCode, body)
		}
		if resp, _ := call(t, tsOther.URL, "", "Bearer "+at); resp.StatusCode != 403 {
			t.Fatalf("%s token, not a member of globex: %d", name, resp.StatusCode)
		}
	}
}

// TestB64Token: the bit sets hold exactly the RFC 6750 b64token characters.
func TestB64Token(t *testing.T) {
	const want = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/"
	for c := 0; c < 256; c++ {
		if got := b64tokenChar(byte(c)); got != strings.ContainsRune(want, rune(c)) || c >= 128 && got {
			t.Errorf("b64tokenChar(%q) = %v", rune(c), got)
		}
	}
	for tok, ok := range map[string]bool{"abc": true, "a.b-c_d~e+f/g==": true, "=": false, "a=b": false, "a b": false, "": false, "é": false} {
		if validB64Token(tok) != ok {
			t.Errorf("validB64Token(%q) != %v", tok, ok)
		}
	}
}

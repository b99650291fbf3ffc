package oauth_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/mcp-oauth-gateway/gateway/mcpserver"
	"github.com/mcp-oauth-gateway/gateway/oauth"
)

// An MCP endpoint protected by tokens of an authorization server in the
// same process: without a token the client gets the challenge that leads it
// to the resource's metadata; with one, the handler sees the caller.
func ExampleNewProtectedResource() {
	store := oauth.NewMemoryStore(nil)
	defer store.Close()
	idp, _ := oauth.NewDevLogin(&oauth.DevLoginOptions{User: "alice"}) // approves at once (loopback only)
	srv, _ := oauth.NewServer(context.Background(), "http://127.0.0.1:8000", store, idp, &oauth.Options{
		Policy: oauth.ParsePolicy("alice"), SigningAlgorithm: oauth.ES256,
	})

	v, err := oauth.NewVerifier(srv.Issuer(), srv, &oauth.VerifierOptions{Revocations: store})
	if err != nil {
		panic(err)
	}
	defer v.Close()
	pr, err := oauth.NewProtectedResource(v, oauth.Resource{URL: "https://mcp.example.com/mcp", Name: "Weather", Scopes: []string{"mcp"}})
	if err != nil {
		panic(err)
	}
	mcp := pr.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "hello", mcpserver.IdentityFromContext(r.Context()).Name)
	}))

	rec := httptest.NewRecorder()
	mcp.ServeHTTP(rec, httptest.NewRequest("POST", "https://mcp.example.com/mcp", nil))
	fmt.Println(rec.Code, rec.Header().Get("WWW-Authenticate"))

	token := tokenFor(srv, "https://mcp.example.com/mcp")
	req := httptest.NewRequest("POST", "https://mcp.example.com/mcp", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	rec = httptest.NewRecorder()
	mcp.ServeHTTP(rec, req)
	fmt.Print(rec.Code, " ", rec.Body)
	// Output:
	// 401 Bearer resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp", scope="mcp"
	// 200 hello alice
}

// tokenFor registers a public client and gets an access token for resource
// through /authorize (approved at once) and /token.
func tokenFor(srv *oauth.Server, resource string) string {
	do := func(req *http.Request) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		return rec
	}
	req := httptest.NewRequest("POST", "/register", strings.NewReader(`{"redirect_uris":["http://127.0.0.1:3000/cb"],"token_endpoint_auth_method":"none"}`))
	req.Header.Set("Content-Type", "application/json")
	var reg struct {
		ClientID string `json:"client_id"`
	}
	_ = json.Unmarshal(do(req).Body.Bytes(), &reg)
	verifier := strings.Repeat("v", 43)
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{"response_type": {"code"}, "client_id": {reg.ClientID}, "redirect_uri": {"http://127.0.0.1:3000/cb"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}, "resource": {resource}}
	loc, _ := url.Parse(do(httptest.NewRequest("GET", "/authorize?"+q.Encode(), nil)).Header().Get("Location"))
	form := url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")}, "redirect_uri": {"http://127.0.0.1:3000/cb"},
		"code_verifier": {verifier}, "client_id": {reg.ClientID}}
	req = httptest.NewRequest("POST", "/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.Unmarshal(do(req).Body.Bytes(), &tok)
	return tok.AccessToken
}

// The /verify endpoint of a reverse proxy, asked by Traefik about a client's
// request without a token: the challenge points at the MCP host's metadata.
func ExampleNewForwardAuth() {
	store := oauth.NewMemoryStore(nil)
	defer store.Close()
	idp, _ := oauth.NewDevLogin(&oauth.DevLoginOptions{User: "alice"})
	srv, _ := oauth.NewServer(context.Background(), "http://127.0.0.1:8000", store, idp, &oauth.Options{
		Policy: oauth.ParsePolicy("alice"), SigningAlgorithm: oauth.ES256,
	})
	v, _ := oauth.NewVerifier(srv.Issuer(), srv, &oauth.VerifierOptions{Revocations: store})
	defer v.Close()
	fa, err := oauth.NewForwardAuth(v, &oauth.ForwardAuthOptions{Default: oauth.Resource{Scopes: []string{"mcp"}}})
	if err != nil {
		panic(err)
	}

	req := httptest.NewRequest("GET", "http://127.0.0.1:8000/verify", nil)
	req.Header.Set("X-Forwarded-Method", "POST")
	req.Header.Set("X-Forwarded-Proto", "https")
	req.Header.Set("X-Forwarded-Host", "mcp.example.com")
	req.Header.Set("X-Forwarded-Uri", "/mcp")
	rec := httptest.NewRecorder()
	fa.ServeHTTP(rec, req)
	fmt.Println(rec.Code, rec.Header().Get("WWW-Authenticate"))

	req.Header.Set("Authorization", "Bearer "+tokenFor(srv, "https://mcp.example.com/mcp"))
	rec = httptest.NewRecorder()
	fa.ServeHTTP(rec, req)
	fmt.Println(rec.Code, rec.Header().Get("X-User-Name"))
	// Output:
	// 401 Bearer resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp", scope="mcp"
	// 200 alice
}

// Resources and audiences are compared in canonical form; the metadata of a
// resource lives at its path-inserted well-known URL.
func ExampleCanonicalResource() {
	r, _ := oauth.CanonicalResource("HTTPS://MCP.Example.com:443/svc/mcp/")
	fmt.Println(r)
	fmt.Println(oauth.ResourceMetadataURL(r))
	// Output:
	// https://mcp.example.com/svc/mcp
	// https://mcp.example.com/.well-known/oauth-protected-resource/svc/mcp
}

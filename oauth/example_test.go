package oauth_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/mcp-oauth-gateway/gateway/oauth"
)

// A server with the development login in automatic mode, on a loopback
// issuer, answering its metadata.
func ExampleNewServer() {
	store := oauth.NewMemoryStore(nil)
	defer store.Close()
	idp, err := oauth.NewDevLogin(&oauth.DevLoginOptions{User: "alice"})
	if err != nil {
		panic(err)
	}
	srv, err := oauth.NewServer(context.Background(), "http://127.0.0.1:8000", store, idp, &oauth.Options{
		Policy:           oauth.ParsePolicy("alice"),
		SigningAlgorithm: oauth.ES256,
	})
	if err != nil {
		panic(err)
	}
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest("GET", "/.well-known/oauth-authorization-server", nil))
	var m oauth.Metadata
	_ = json.Unmarshal(rec.Body.Bytes(), &m)
	fmt.Println(m.Issuer)
	fmt.Println(m.TokenEndpoint)
	fmt.Println(m.CodeChallengeMethodsSupported)
	// Output:
	// http://127.0.0.1:8000
	// http://127.0.0.1:8000/token
	// [S256]
}

// Dynamic client registration (RFC 7591).
func Example_registration() {
	store := oauth.NewMemoryStore(nil)
	defer store.Close()
	idp, _ := oauth.NewDevLogin(nil)
	srv, _ := oauth.NewServer(context.Background(), "http://127.0.0.1:8000", store, idp, &oauth.Options{SigningAlgorithm: oauth.ES256})
	body := `{"client_name":"My MCP client","redirect_uris":["http://127.0.0.1:3000/callback"],"token_endpoint_auth_method":"none"}`
	req := httptest.NewRequest("POST", "/register", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	var reg map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &reg)
	fmt.Println(rec.Code == http.StatusCreated, reg["token_endpoint_auth_method"], reg["grant_types"])
	// Output: true none [authorization_code refresh_token]
}

// The allow policy in ALLOWED_GITHUB_USERS syntax. An id: entry names the
// GitHub account id, which survives a rename and is never given to another
// account; a login may be registered again by someone else. Email and
// domain rules admit only addresses the provider verified.
func ExampleParsePolicy() {
	p := oauth.ParsePolicy("alice, Bob, org:acme, id:583231, domain:example.com, group:mcp-users")
	alice := &oauth.Identity{Login: "ALICE", Provider: oauth.ProviderGitHub}
	carol := &oauth.Identity{Login: "carol", Orgs: []string{"acme"}}
	dave := &oauth.Identity{Login: "dave"}
	octocat := &oauth.Identity{Subject: "583231", Login: "octocat-renamed"}
	fmt.Println(p.Allows(alice), p.Allows(carol), p.Allows(dave), p.Allows(octocat))

	erin := &oauth.Identity{Subject: "oidc:corp:e1", Provider: "oidc:corp", Email: "erin@example.com", EmailVerified: true}
	frank := &oauth.Identity{Subject: "oidc:corp:f1", Provider: "oidc:corp", Email: "frank@example.com"} // unverified
	grace := &oauth.Identity{Subject: "oidc:corp:g1", Provider: "oidc:corp", Groups: []string{"mcp-users"}}
	bob := &oauth.Identity{Subject: "oidc:corp:b1", Provider: "oidc:corp", Login: "bob"} // not the GitHub bob
	fmt.Println(p.Allows(erin), p.Allows(frank), p.Allows(grace), p.Allows(bob))
	fmt.Println(oauth.ParsePolicy("").Empty())
	// Output:
	// true true false true
	// true false true false
	// true
}

package oauth_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"

	"github.com/mcp-oauth-gateway/gateway/mcpserver"
	"github.com/mcp-oauth-gateway/gateway/oauth"
)

// Two MCP services on one mux, each its own resource: a token for one is
// refused by the other, and each serves its metadata at its own
// path-inserted well-known URL.
func ExampleProtectedResource_Mount() {
	store := oauth.NewMemoryStore(nil)
	defer store.Close()
	idp, _ := oauth.NewDevLogin(&oauth.DevLoginOptions{User: "alice"})
	srv, _ := oauth.NewServer(context.Background(), "http://127.0.0.1:8080", store, idp, &oauth.Options{
		Policy: oauth.ParsePolicy("alice"), SigningAlgorithm: oauth.ES256, Logger: slog.New(slog.DiscardHandler),
	})
	v, _ := oauth.NewVerifier(srv.Issuer(), srv, &oauth.VerifierOptions{Revocations: store})
	defer v.Close()
	guard, _ := mcpserver.NewGuard(nil) // loopback Host and Origin, CORS on refusals

	mux := http.NewServeMux()
	for _, name := range []string{"weather", "notes"} {
		pr, err := oauth.NewProtectedResource(v, oauth.Resource{URL: "http://127.0.0.1:8080/" + name + "/mcp", Scopes: []string{"mcp"}})
		if err != nil {
			panic(err)
		}
		service := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "%s for %s", name, mcpserver.IdentityFromContext(r.Context()).Name)
		})
		if err := pr.Mount(mux, service, &oauth.MountOptions{Guard: guard.Wrap}); err != nil {
			panic(err)
		}
	}
	mux.Handle("/", srv)

	call := func(method, path, token string) {
		req := httptest.NewRequest(method, "http://127.0.0.1:8080"+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		body, _ := io.ReadAll(rec.Body)
		if rec.Code == 401 {
			body = []byte(rec.Header().Get("WWW-Authenticate"))
		}
		fmt.Printf("%s %s: %d %s\n", method, path, rec.Code, body)
	}
	call("GET", "/.well-known/oauth-protected-resource/weather/mcp", "")
	call("POST", "/weather/mcp", "")
	token := tokenFor(srv, "http://127.0.0.1:8080/weather/mcp")
	call("POST", "/weather/mcp", token)
	call("POST", "/notes/mcp", token)
	// Output:
	// GET /.well-known/oauth-protected-resource/weather/mcp: 200 {"resource":"http://127.0.0.1:8080/weather/mcp","authorization_servers":["http://127.0.0.1:8080"],"scopes_supported":["mcp"],"bearer_methods_supported":["header"]}
	// POST /weather/mcp: 401 Bearer resource_metadata="http://127.0.0.1:8080/.well-known/oauth-protected-resource/weather/mcp", scope="mcp"
	// POST /weather/mcp: 200 weather for alice
	// POST /notes/mcp: 401 Bearer error="invalid_token", error_description="the access token was not issued for this resource", resource_metadata="http://127.0.0.1:8080/.well-known/oauth-protected-resource/notes/mcp"
}

package identityproxy_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/mcp-oauth-gateway/gateway/oauth"
)

const resourceURL = "http://127.0.0.1:8000/svc/mcp"

var quiet = slog.New(slog.DiscardHandler)

// gateway is an authorization server and a resource guarded by it, in
// memory, approving every request as alice.
type gateway struct {
	srv *oauth.Server
	pr  *oauth.ProtectedResource
}

func newGateway(t testing.TB) *gateway {
	t.Helper()
	store := oauth.NewMemoryStore(nil)
	t.Cleanup(func() { store.Close() })
	idp, err := oauth.NewDevLogin(&oauth.DevLoginOptions{User: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := oauth.NewServer(context.Background(), "http://127.0.0.1:8000", store, idp, &oauth.Options{
		Policy: oauth.ParsePolicy("alice"), SigningAlgorithm: oauth.ES256, Logger: quiet,
	})
	if err != nil {
		t.Fatal(err)
	}
	v, err := oauth.NewVerifier(srv.Issuer(), srv, &oauth.VerifierOptions{Revocations: store, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	pr, err := oauth.NewProtectedResource(v, oauth.Resource{URL: resourceURL})
	if err != nil {
		t.Fatal(err)
	}
	return &gateway{srv: srv, pr: pr}
}

// token registers a public client and returns an access token for the
// resource and the client's id.
func (g *gateway) token(t testing.TB) (token, clientID string) {
	t.Helper()
	do := func(req *http.Request) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		g.srv.ServeHTTP(rec, req)
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
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}, "resource": {resourceURL}}
	loc, _ := url.Parse(do(httptest.NewRequest("GET", "/authorize?"+q.Encode(), nil)).Header().Get("Location"))
	form := url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")}, "redirect_uri": {"http://127.0.0.1:3000/cb"},
		"code_verifier": {verifier}, "client_id": {reg.ClientID}}
	req = httptest.NewRequest("POST", "/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.Unmarshal(do(req).Body.Bytes(), &tok)
	if tok.AccessToken == "" {
		t.Fatal("no access token")
	}
	return tok.AccessToken, reg.ClientID
}

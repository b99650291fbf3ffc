package oauth_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/mcp-oauth-gateway/gateway/internal/redistest"
	"github.com/mcp-oauth-gateway/gateway/oauth"
	"github.com/mcp-oauth-gateway/gateway/oauth/filestore"
	"github.com/mcp-oauth-gateway/gateway/oauth/redisstore"
)

// Benchmarks of the token endpoint's two hot paths, code-grant issuance
// and refresh, on each store and signing algorithm, against a baseline in
// the same run: a bare handler that parses the same form and writes a token
// response without any OAuth work. The requests go to ServeHTTP directly,
// so the figures are the server's own cost (no TCP).
//
//	go test -run XXX -bench . -benchmem ./oauth

var (
	keysOnce sync.Once
	benchRSA *rsa.PrivateKey
	benchEC  *ecdsa.PrivateKey
)

func benchKey(alg string) crypto.Signer {
	keysOnce.Do(func() {
		benchRSA, _ = rsa.GenerateKey(rand.Reader, 2048)
		benchEC, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	})
	if alg == oauth.RS256 {
		return benchRSA
	}
	return benchEC
}

// BenchmarkBaseline is the floor: form parsing and a JSON token response.
func BenchmarkBaseline(b *testing.B) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": r.PostForm.Get("code"), "token_type": "Bearer", "expires_in": 3600})
	})
	form := url.Values{"grant_type": {"authorization_code"}, "code": {"mac_0123456789abcdef"}, "redirect_uri": {"http://127.0.0.1:9999/cb"},
		"code_verifier": {strings.Repeat("v", 43)}, "client_id": {"client"}}.Encode()
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("POST", "/token", strings.NewReader(form))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatal(rec.Code)
		}
	}
}

// BenchmarkSign is the cryptographic floor of every token response:
// signing one access token's worth of claims with go-jose.
func BenchmarkSign(b *testing.B) {
	for _, alg := range []string{oauth.RS256, oauth.ES256} {
		b.Run(alg, func(b *testing.B) {
			signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(alg), Key: benchKey(alg)}, (&jose.SignerOptions{}).WithType("at+jwt"))
			if err != nil {
				b.Fatal(err)
			}
			payload := []byte(`{"iss":"http://127.0.0.1:8000","sub":"dev:bench","aud":"https://mcp.example.com/mcp","exp":1795760133,"iat":1795756533,"jti":"gcEwHwZ4TEAwjIvmCeSHWg","client_id":"osD1zpkFeiXUPud7j_HA4w","scope":"mcp"}`)
			b.ReportAllocs()
			for b.Loop() {
				jws, err := signer.Sign(payload)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := jws.CompactSerialize(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

type benchStore struct {
	name string
	open func(b *testing.B) oauth.Store
}

// benchStores lists the stores. The Redis server is started here, by the
// top-level benchmark, so it outlives the sub-benchmarks' runs.
func benchStores(b *testing.B) []benchStore {
	rs := redistest.Start(b)
	var n int
	return []benchStore{
		{"memory", func(b *testing.B) oauth.Store {
			s := oauth.NewMemoryStore(nil)
			b.Cleanup(func() { s.Close() })
			return s
		}},
		{"file", func(b *testing.B) oauth.Store {
			s, err := filestore.Open(filepath.Join(b.TempDir(), "oauth.db"), nil)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { s.Close() })
			return s
		}},
		{"redis", func(b *testing.B) oauth.Store {
			n++
			s, err := redisstore.New(rs.Client, &redisstore.Options{Prefix: fmt.Sprintf("bench%d:", n)})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { s.Close() })
			return s
		}},
	}
}

// benchServer is a server in automatic-approval mode and a registered
// public client.
type benchServer struct {
	srv       *oauth.Server
	clientID  string
	redirect  string
	verifier  string
	challenge string
}

func newBenchServer(b testing.TB, store oauth.Store, alg string) *benchServer {
	idp, _ := oauth.NewDevLogin(&oauth.DevLoginOptions{User: "bench"})
	srv, err := oauth.NewServer(context.Background(), "http://127.0.0.1:8000", store, idp, &oauth.Options{
		Policy: oauth.ParsePolicy("bench"), SigningAlgorithm: alg, SigningKey: benchKey(alg), RegistrationLimit: -1,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		b.Fatal(err)
	}
	bs := &benchServer{srv: srv, redirect: "http://127.0.0.1:9999/cb", verifier: strings.Repeat("v", 43)}
	sum := sha256.Sum256([]byte(bs.verifier))
	bs.challenge = base64.RawURLEncoding.EncodeToString(sum[:])
	req := httptest.NewRequest("POST", "/register", strings.NewReader(`{"redirect_uris":["`+bs.redirect+`"],"token_endpoint_auth_method":"none"}`))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	var m map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil || rec.Code != 201 {
		b.Fatalf("register: %d %s", rec.Code, rec.Body)
	}
	bs.clientID = m["client_id"].(string)
	return bs
}

// code gets an authorization code through /authorize.
func (bs *benchServer) code(b testing.TB) string {
	q := url.Values{"response_type": {"code"}, "client_id": {bs.clientID}, "redirect_uri": {bs.redirect},
		"code_challenge": {bs.challenge}, "code_challenge_method": {"S256"}, "resource": {"https://mcp.example.com/mcp"}}
	rec := httptest.NewRecorder()
	bs.srv.ServeHTTP(rec, httptest.NewRequest("GET", "/authorize?"+q.Encode(), nil))
	u, err := url.Parse(rec.Header().Get("Location"))
	if err != nil || u.Query().Get("code") == "" {
		b.Fatalf("authorize: %d %s", rec.Code, rec.Header().Get("Location"))
	}
	return u.Query().Get("code")
}

func (bs *benchServer) token(b testing.TB, form url.Values) map[string]any {
	m, code := bs.tryToken(form)
	if code != 200 {
		b.Fatalf("token: %d %v", code, m)
	}
	return m
}

// tryToken posts to /token and returns the JSON answer and the status.
func (bs *benchServer) tryToken(form url.Values) (map[string]any, int) {
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("POST", "/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	bs.srv.ServeHTTP(rec, req)
	var m map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &m)
	return m, rec.Code
}

// BenchmarkCodeGrant: POST /token with grant_type=authorization_code
// (client lookup, atomic code redemption, PKCE, JWT signing, refresh
// token issue).
func BenchmarkCodeGrant(b *testing.B) {
	for _, st := range benchStores(b) {
		for _, alg := range []string{oauth.RS256, oauth.ES256} {
			b.Run(st.name+"/"+alg, func(b *testing.B) {
				bs := newBenchServer(b, st.open(b), alg)
				codes := make([]string, b.N)
				for i := range codes {
					codes[i] = bs.code(b)
				}
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					bs.token(b, url.Values{"grant_type": {"authorization_code"}, "code": {codes[i]}, "redirect_uri": {bs.redirect},
						"code_verifier": {bs.verifier}, "client_id": {bs.clientID}})
				}
			})
		}
	}
}

// BenchmarkRefresh: POST /token with grant_type=refresh_token, each
// iteration rotating the token the previous one got (client lookup,
// refresh lookup, JWT signing, encrypted grace blob, atomic rotation).
func BenchmarkRefresh(b *testing.B) {
	for _, st := range benchStores(b) {
		for _, alg := range []string{oauth.RS256, oauth.ES256} {
			b.Run(st.name+"/"+alg, func(b *testing.B) {
				bs := newBenchServer(b, st.open(b), alg)
				tok := bs.token(b, url.Values{"grant_type": {"authorization_code"}, "code": {bs.code(b)}, "redirect_uri": {bs.redirect},
					"code_verifier": {bs.verifier}, "client_id": {bs.clientID}})
				rt := tok["refresh_token"].(string)
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					rt = bs.token(b, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {bs.clientID}})["refresh_token"].(string)
				}
			})
		}
	}
}

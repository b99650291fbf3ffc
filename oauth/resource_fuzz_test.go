package oauth

import (
	"context"
	"crypto"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// Fuzz targets for the untrusted input of the resource-server side: bearer
// headers, resource URLs, proxy headers, key sets, metadata documents,
// cache headers and tokens. Run one with, e.g.,
// go test -fuzz FuzzBearerHeader ./oauth

func FuzzBearerHeader(f *testing.F) {
	for _, s := range []string{"Bearer abc.def.ghi", "bearer  x", "Bearer", "Basic dXNlcg==", "Bearer a b", "Bearer ==", "Bearer a==", "Bearer \x00", ""} {
		f.Add(s, "")
	}
	f.Add("Bearer x", "access_token=x")
	f.Add("", "a=1&access_token")
	f.Fuzz(func(t *testing.T, auth, query string) {
		h := http.Header{}
		if auth != "" {
			h.Set("Authorization", auth)
		}
		tok, err := bearerFromRequest(h, query)
		if err != nil {
			if tok != "" {
				t.Fatal("a token with an error")
			}
			return
		}
		if !validB64Token(tok) || strings.ContainsAny(tok, " \t\r\n") {
			t.Fatalf("accepted token %q from %q", tok, auth)
		}
		if queryHasToken(query) {
			t.Fatalf("accepted a request with access_token in %q", query)
		}
	})
}

func FuzzCanonicalResource(f *testing.F) {
	for _, s := range []string{"https://mcp.example.com/mcp", "HTTPS://A:443/", "http://[::1]:80/x/", "https://h/a%2Fb", "https://h/../x", "https://h:0/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := CanonicalResource(s)
		if err != nil {
			return
		}
		again, err := CanonicalResource(c)
		if err != nil || again != c {
			t.Fatalf("not idempotent: %q -> %q -> %q (%v)", s, c, again, err)
		}
		if strings.HasSuffix(c, "/") || strings.ContainsAny(c, "?# ") {
			t.Fatalf("canonical form %q of %q", c, s)
		}
		if m := ResourceMetadataURL(c); !strings.Contains(m, WellKnownResourceMetadata) {
			t.Fatalf("metadata URL %q of %q", m, c)
		}
	})
}

// FuzzForwardAuth: whatever the proxy headers say, /verify answers with
// one of its statuses, never panics, and never lets a request through
// without a token unless it is a preflight or a discovery path.
func FuzzForwardAuth(f *testing.F) {
	for _, s := range [][4]string{
		{"/mcp", "mcp.example.com", "https", "POST"},
		{"/mcp/../admin?x=1", "MCP.example.com:443, other", "HTTPS", "GET"},
		{"/.well-known/oauth-protected-resource/mcp", "h", "http", "GET"},
		{"//evil/%2e%2e/x", "[::1", "gopher", "OPTIONS"},
		{"https://evil/", "", "", ""},
	} {
		f.Add(s[0], s[1], s[2], s[3], "Bearer x.y.z")
	}
	fa := newFuzzForwardAuth(f)
	f.Fuzz(func(t *testing.T, uri, host, proto, method, auth string) {
		r := httptest.NewRequest("GET", "/verify", nil)
		for name, value := range map[string]string{"X-Forwarded-Uri": uri, "X-Forwarded-Host": host, "X-Forwarded-Proto": proto, "X-Forwarded-Method": method, "Authorization": auth} {
			if value != "" && !strings.ContainsAny(value, "\r\n\x00") {
				r.Header.Set(name, value)
			}
		}
		rec := httptest.NewRecorder()
		fa.ServeHTTP(rec, r)
		switch rec.Code {
		case 200:
			p := uri
			if i := strings.IndexByte(p, '?'); i >= 0 {
				p = p[:i]
			}
			if rec.Header().Get(HeaderUserID) == "" && !strings.Contains(p, "/.well-known/") && !strings.EqualFold(method, "OPTIONS") {
				t.Fatalf("200 without identity for %q %q", method, uri)
			}
		case 400, 401, 403, 503:
		default:
			t.Fatalf("status %d", rec.Code)
		}
	})
}

func FuzzParseJWKS(f *testing.F) {
	f.Add(`{"keys":[{"kty":"EC","crv":"P-256","kid":"a","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}`)
	f.Add(`{"keys":[{"kty":"oct","k":"c2VjcmV0","kid":"h"}]}`)
	f.Add(`{"keys":null}`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, body string) {
		keys, err := parseJWKS([]byte(body))
		if err != nil {
			return
		}
		for kid, k := range keys {
			if _, private := k.Key.(crypto.Signer); kid == "" || private || k.algorithm() == "" || k.algorithm() != k.Algorithm {
				t.Fatalf("kept key %q: %+v", kid, k)
			}
		}
	})
}

func FuzzClientMetadataDocument(f *testing.F) {
	f.Add(`{"client_id":"https://app.example.com/c.json","client_name":"A","redirect_uris":["https://app.example.com/cb"]}`)
	f.Add(`{"client_id":"https://app.example.com/c.json","client_name":"A","redirect_uris":["javascript:x"],"token_endpoint_auth_method":"client_secret_post"}`)
	f.Add(`{"client_id":1}`)
	e := newEnv(f)
	d := e.srv.documents
	f.Fuzz(func(t *testing.T, body string) {
		c, err := d.validate("https://app.example.com/c.json", []byte(body))
		if err != nil {
			return
		}
		if c.ID != "https://app.example.com/c.json" || c.Metadata.TokenEndpointAuthMethod != "none" || c.SecretHash != "" ||
			strings.TrimSpace(c.Metadata.ClientName) == "" || len(c.Metadata.RedirectURIs) == 0 {
			t.Fatalf("accepted %s as %+v", body, c)
		}
		for _, u := range c.Metadata.RedirectURIs {
			if validateRedirectURI(u, nil) != nil {
				t.Fatalf("accepted redirect URI %q", u)
			}
		}
	})
}

func FuzzCacheLifetime(f *testing.F) {
	for _, s := range []string{"max-age=60", "no-store", "public, max-age=99999999999", "max-age=-1", "max-age=\"5\"", ""} {
		f.Add(s, "Wed, 21 Oct 2026 07:28:00 GMT")
	}
	now := time.Now()
	f.Fuzz(func(t *testing.T, cc, expires string) {
		h := http.Header{}
		h.Set("Cache-Control", cc)
		h.Set("Expires", expires)
		if d := cacheLifetime(h, now); d < 0 || d > maxClientMetadataCache {
			t.Fatalf("lifetime %v for %q / %q", d, cc, expires)
		}
	})
}

// FuzzVerifyToken: any string given as a token is refused with a token
// error (or accepted only if it is the valid token), never a panic.
func FuzzVerifyToken(f *testing.F) {
	e := newEnv(f)
	v, err := NewVerifier(e.issuer, e.srv, &VerifierOptions{Logger: discardLogger(), Now: e.clock.Now})
	if err != nil {
		f.Fatal(err)
	}
	defer v.Close()
	good := e.sign(f, e.claimsFor())
	f.Add(good)
	f.Add(good[:len(good)-2])
	f.Add("a.b.c")
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Fuzz(func(t *testing.T, tok string) {
		_, err := v.Verify(context.Background(), tok)
		if err == nil && tok != good {
			t.Fatalf("accepted %q", tok)
		}
	})
}

package identityproxy_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mcp-oauth-gateway/gateway/oauth"
	"github.com/mcp-oauth-gateway/gateway/oauth/identityproxy"
)

// roundTripper captures the upstream request instead of sending it.
type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// FuzzForwardedHeaders: whatever headers a client sends (names in any
// spelling, repeated, with any value), the upstream request carries
// exactly the verified identity headers, no credential and no client
// forwarding header.
func FuzzForwardedHeaders(f *testing.F) {
	f.Add("X-User-Id", "mallory", "x_user_name", "mallory")
	f.Add("X_AUTH_CLIENT_ID", "c", "Authorization", "Bearer x")
	f.Add("x-forwarded-for", "203.0.113.1", "X_Forwarded_Proto", "https")
	f.Add("Cookie", "a=b", "x-user-email", "m@example.com")
	f.Add("Connection", "X-User-Id", "X-User-Id", "m")
	f.Add("X-User-", "", "Proxy_Authorization", "Basic x")
	g := newGateway(f)
	token, clientID := g.token(f)
	var got *http.Request
	p, err := identityproxy.New("http://upstream.invalid/mcp", &identityproxy.Options{Logger: quiet, Transport: roundTripper(func(r *http.Request) (*http.Response, error) {
		got = r
		return &http.Response{StatusCode: 200, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("{}")), Request: r}, nil
	})})
	if err != nil {
		f.Fatal(err)
	}
	mux := http.NewServeMux()
	if err := g.pr.Mount(mux, p, nil); err != nil {
		f.Fatal(err)
	}
	want := map[string]string{"X-User-Id": "dev:alice", "X-User-Name": "alice", "X-User-Email": "", "X-Auth-Client-Id": clientID}
	f.Fuzz(func(t *testing.T, n1, v1, n2, v2 string) {
		req := httptest.NewRequest("POST", resourceURL, strings.NewReader("{}"))
		req.Header["Authorization"] = []string{"Bearer " + token}
		for _, h := range [][2]string{{n1, v1}, {n2, v2}} {
			if h[0] == "" || strings.EqualFold(h[0], "Authorization") {
				continue
			}
			req.Header[h[0]] = append(req.Header[h[0]], h[1])
		}
		got = nil
		mux.ServeHTTP(httptest.NewRecorder(), req)
		if got == nil {
			t.Fatal("not forwarded")
		}
		seen := map[string]bool{}
		for name, values := range got.Header {
			lower := strings.ToLower(strings.ReplaceAll(name, "_", "-"))
			switch {
			case oauth.IsIdentityHeader(name):
				w, ok := want[name]
				if !ok || len(values) != 1 || values[0] != w {
					t.Fatalf("upstream got %q: %q", name, values)
				}
				seen[name] = true
			case lower == "authorization" || lower == "proxy-authorization" || lower == "cookie" || lower == "forwarded" || lower == "x-real-ip":
				t.Fatalf("upstream got %q: %q", name, values)
			case strings.HasPrefix(lower, "x-forwarded-"):
				if name != "X-Forwarded-For" && name != "X-Forwarded-Host" && name != "X-Forwarded-Proto" || len(values) != 1 {
					t.Fatalf("upstream got %q: %q", name, values)
				}
			}
		}
		if len(seen) != len(want) {
			t.Fatalf("identity headers upstream: %v", got.Header)
		}
		if got.Header.Get("X-Forwarded-For") != "192.0.2.1" {
			t.Fatalf("X-Forwarded-For %q", got.Header.Values("X-Forwarded-For"))
		}
	})
}

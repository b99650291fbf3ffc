package oauth

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mcp-oauth-gateway/gateway/fetch/safehttp"
)

// docServer serves Client ID Metadata Documents over TLS on loopback; each
// path's answer can be set.
type docServer struct {
	*httptest.Server
	mu      sync.Mutex
	answers map[string]docAnswer
	fetches atomic.Int64
}

type docAnswer struct {
	status  int
	body    string
	header  map[string]string
	delay   time.Duration
	rawBody bool // body is not to be generated
}

func newDocServer(t *testing.T) *docServer {
	d := &docServer{answers: make(map[string]docAnswer)}
	d.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d.fetches.Add(1)
		d.mu.Lock()
		a, ok := d.answers[r.URL.Path]
		d.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		if a.delay > 0 {
			select {
			case <-time.After(a.delay):
			case <-r.Context().Done():
				return
			}
		}
		w.Header().Set("Content-Type", "application/json")
		for k, v := range a.header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(cmpOr(a.status, 200))
		_, _ = w.Write([]byte(a.body))
	}))
	t.Cleanup(d.Close)
	return d
}

func (d *docServer) set(path string, a docAnswer) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.answers[path] = a
}

// doc is a valid document for the client id d.URL+path.
func (d *docServer) doc(path string, mod func(m map[string]any)) string {
	m := map[string]any{
		"client_id":                  d.URL + path,
		"client_name":                "Doc Client",
		"redirect_uris":              []string{"http://127.0.0.1:9999/cb"},
		"token_endpoint_auth_method": "none",
		"grant_types":                []string{"authorization_code", "refresh_token"},
	}
	if mod != nil {
		mod(m)
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// loopbackFetcher is the test-only allowance: the fetch package's guarded
// client, allowed to reach loopback and trusting the test server's
// certificate.
func loopbackFetcher(t *testing.T, d *docServer) *http.Client {
	pool := x509.NewCertPool()
	pool.AddCert(d.Certificate())
	c, err := safehttp.NewClient(&safehttp.Options{UnsafeAllowLoopback: true, TLSConfig: &tls.Config{RootCAs: pool}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func cimdEnv(t *testing.T, d *docServer, f func(*Options)) *testEnv {
	return newEnv(t, withOptions(func(o *Options) {
		o.ClientMetadataHTTPClient = loopbackFetcher(t, d)
		o.ClientMetadataTimeout = 500 * time.Millisecond
		if f != nil {
			f(o)
		}
	}))
}

// authorizePage opens /authorize for a document client and returns the
// status and page.
func (e *testEnv) authorizePage(t *testing.T, clientID, redirect string) (int, string) {
	_, challenge := pkcePair()
	q := authQuery(registered{ID: clientID, Redirect: redirect}, challenge, nil)
	resp, page := e.get(e.issuer + "/authorize?" + q.Encode())
	return resp.StatusCode, string(page)
}

// TestClientMetadataDocumentFlow: a client identified by its document's
// URL goes through the whole flow without registering; the consent page
// names the host that published the document.
func TestClientMetadataDocumentFlow(t *testing.T) {
	d := newDocServer(t)
	e := cimdEnv(t, d, nil)
	d.set("/client.json", docAnswer{body: d.doc("/client.json", nil)})
	id := d.URL + "/client.json"

	var meta map[string]any
	_, m := e.postJSON("GET", "/.well-known/oauth-authorization-server", nil, "")
	meta = m
	if meta["client_id_metadata_document_supported"] != true {
		t.Fatalf("metadata does not advertise client_id_metadata_document_supported: %v", meta)
	}

	status, page := e.authorizePage(t, id, "http://127.0.0.1:9999/cb")
	host := strings.TrimPrefix(d.URL, "https://")
	if status != 200 || !strings.Contains(page, "Doc Client") || !strings.Contains(page, "Published by</dt><dd><code>"+host+"</code>") {
		t.Fatalf("consent page (%d) does not name the client and %s:\n%s", status, host, page)
	}
	c := registered{ID: id, Redirect: "http://127.0.0.1:9999/cb"}
	tok := e.tokens(c, url.Values{"resource": {testResource}})
	v := newVerifier(t, e, nil, nil)
	claims, err := v.Verify(t.Context(), str(tok["access_token"]))
	if err != nil || claims.ClientID != id {
		t.Fatalf("token of the document client: %+v %v", claims, err)
	}
	// Refresh works with the client id URL as a public client.
	resp, m2 := e.refresh(c, str(tok["refresh_token"]), nil)
	if resp.StatusCode != 200 {
		t.Fatalf("refresh: %d %v", resp.StatusCode, m2)
	}
	// Management endpoints do not know it: it never registered.
	resp, _ = e.postJSON("GET", "/register/"+url.PathEscape(id), nil, "anything")
	if resp.StatusCode != 401 {
		t.Fatalf("RFC 7592 read of a document client: %d", resp.StatusCode)
	}
}

// TestClientMetadataDocumentRefusals: documents the server must not use,
// and what the user sees.
func TestClientMetadataDocumentRefusals(t *testing.T) {
	d := newDocServer(t)
	e := cimdEnv(t, d, func(o *Options) { o.Limits.MetadataFetchesPerAddress = 100 })
	big := strings.Repeat("x", DefaultClientMetadataMaxBytes)
	cases := []struct {
		name   string
		path   string
		answer docAnswer
		want   string
	}{
		{"mismatched client_id", "/a.json", docAnswer{body: d.doc("/a.json", func(m map[string]any) { m["client_id"] = d.URL + "/other.json" })}, "its client_id is not the URL it was fetched from"},
		{"no client_id", "/b.json", docAnswer{body: d.doc("/b.json", func(m map[string]any) { delete(m, "client_id") })}, "its client_id is not the URL"},
		{"oversized", "/c.json", docAnswer{body: d.doc("/c.json", func(m map[string]any) { m["client_uri"] = "https://example.com/" + big })}, "larger than 5120 bytes"},
		{"slow", "/d.json", docAnswer{body: d.doc("/d.json", nil), delay: 10 * time.Second}, "did not arrive within 500ms"},
		{"not found", "/e.json", docAnswer{status: 404, body: "{}"}, "status 404"},
		{"redirect", "/f.json", docAnswer{status: 302, header: map[string]string{"Location": "/a.json"}}, "status 302"},
		{"not JSON", "/g.json", docAnswer{body: "<html>", header: map[string]string{"Content-Type": "text/html"}}, "is not JSON"},
		{"client secret", "/h.json", docAnswer{body: d.doc("/h.json", func(m map[string]any) { m["client_secret"] = "s3cret" })}, "must not contain client_secret"},
		{"secret auth method", "/i.json", docAnswer{body: d.doc("/i.json", func(m map[string]any) { m["token_endpoint_auth_method"] = "client_secret_basic" })}, "cannot be used with a metadata document"},
		{"private_key_jwt", "/j.json", docAnswer{body: d.doc("/j.json", func(m map[string]any) { m["token_endpoint_auth_method"] = "private_key_jwt" })}, "private_key_jwt is not supported"},
		{"no client_name", "/k.json", docAnswer{body: d.doc("/k.json", func(m map[string]any) { delete(m, "client_name") })}, "client_name is required"},
		{"no redirect_uris", "/l.json", docAnswer{body: d.doc("/l.json", func(m map[string]any) { delete(m, "redirect_uris") })}, "redirect_uris is required"},
		{"javascript redirect", "/m.json", docAnswer{body: d.doc("/m.json", func(m map[string]any) { m["redirect_uris"] = []string{"javascript:alert(1)"} })}, "not allowed"},
		{"malformed JSON", "/n.json", docAnswer{body: `{"client_id":`}, "malformed JSON"},
		{"array", "/o.json", docAnswer{body: `[]`}, "not a JSON object"},
		{"only unknown scopes", "/p.json", docAnswer{body: d.doc("/p.json", func(m map[string]any) { m["scope"] = "openid profile" })}, "none of its scopes is offered here"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d.set(c.path, c.answer)
			start := time.Now()
			status, page := e.authorizePage(t, d.URL+c.path, "http://127.0.0.1:9999/cb")
			if status != 400 || !strings.Contains(page, htmlEscaped(c.want)) {
				t.Fatalf("status %d, page lacks %q:\n%s", status, c.want, page)
			}
			if took := time.Since(start); took > 5*time.Second {
				t.Fatalf("refusal took %v: the fetch was not cut short", took)
			}
		})
	}
	// Scopes this server does not offer are dropped, the others kept.
	d.set("/q.json", docAnswer{body: d.doc("/q.json", func(m map[string]any) { m["scope"] = "openid mcp profile" })})
	if status, page := e.authorizePage(t, d.URL+"/q.json", "http://127.0.0.1:9999/cb"); status != 200 || !strings.Contains(page, "<code>mcp</code>") || strings.Contains(page, "openid") {
		t.Fatalf("document with extra scopes: %d %.400s", status, page)
	}

	// URLs that are not Client Identifier URLs are refused before any fetch.
	n := d.fetches.Load()
	for _, bad := range []string{d.URL, d.URL + "/a/../b.json", d.URL + "/x.json#frag", "https://user:pw@" + strings.TrimPrefix(d.URL, "https://") + "/x.json"} {
		status, page := e.authorizePage(t, bad, "http://127.0.0.1:9999/cb")
		if status != 400 || !strings.Contains(page, "client_id URL") {
			t.Errorf("%s: %d %s", bad, status, page)
		}
	}
	if d.fetches.Load() != n {
		t.Fatal("invalid client_id URLs were fetched")
	}
}

func htmlEscaped(s string) string {
	return strings.NewReplacer("'", "&#39;", `"`, "&#34;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// TestClientMetadataDocumentRedirectMatch: the redirect URI must be one the
// document lists, exactly (only a loopback port may differ, RFC 8252).
func TestClientMetadataDocumentRedirectMatch(t *testing.T) {
	d := newDocServer(t)
	e := cimdEnv(t, d, nil)
	d.set("/c.json", docAnswer{body: d.doc("/c.json", func(m map[string]any) {
		m["redirect_uris"] = []string{"https://app.example.com/cb", "http://127.0.0.1/cb"}
	})})
	id := d.URL + "/c.json"
	for redirect, ok := range map[string]bool{
		"https://app.example.com/cb":        true,
		"http://127.0.0.1:53111/cb":         true,
		"https://app.example.com/cb/":       false,
		"https://app.example.com/cb?x=1":    false,
		"https://app.example.com/cbx":       false,
		"https://APP.example.com/cb":        false,
		"https://app.example.com.evil/cb":   false,
		"http://127.0.0.1:53111/cb/../evil": false,
	} {
		status, page := e.authorizePage(t, id, redirect)
		if (status == 200) != ok {
			t.Errorf("redirect %s: status %d (want accepted %v): %.200s", redirect, status, ok, page)
		}
	}
}

// TestClientMetadataDocumentCache: the document is cached as its headers
// say; errors are not cached.
func TestClientMetadataDocumentCache(t *testing.T) {
	d := newDocServer(t)
	e := cimdEnv(t, d, nil)
	open := func(path string) int {
		status, page := e.authorizePage(t, d.URL+path, "http://127.0.0.1:9999/cb")
		if status != 200 && status != 400 {
			t.Fatalf("%s: %d %s", path, status, page)
		}
		return status
	}
	d.set("/max-age.json", docAnswer{body: d.doc("/max-age.json", nil), header: map[string]string{"Cache-Control": "public, max-age=60"}})
	n := d.fetches.Load()
	open("/max-age.json")
	open("/max-age.json")
	if got := d.fetches.Load() - n; got != 1 {
		t.Fatalf("max-age=60: %d fetches for two authorizations", got)
	}
	e.clock.Advance(61 * time.Second)
	open("/max-age.json")
	if got := d.fetches.Load() - n; got != 2 {
		t.Fatalf("max-age=60 after 61 s: %d fetches, want 2", got)
	}

	d.set("/no-store.json", docAnswer{body: d.doc("/no-store.json", nil), header: map[string]string{"Cache-Control": "no-store"}})
	n = d.fetches.Load()
	open("/no-store.json")
	open("/no-store.json")
	if got := d.fetches.Load() - n; got != 2 {
		t.Fatalf("no-store: %d fetches for two authorizations", got)
	}

	d.set("/expires.json", docAnswer{body: d.doc("/expires.json", nil), header: map[string]string{
		"Date": e.clock.Now().UTC().Format(http.TimeFormat), "Expires": e.clock.Now().Add(2 * time.Minute).UTC().Format(http.TimeFormat)}})
	n = d.fetches.Load()
	open("/expires.json")
	e.clock.Advance(time.Minute)
	open("/expires.json")
	e.clock.Advance(2 * time.Minute)
	open("/expires.json")
	if got := d.fetches.Load() - n; got != 2 {
		t.Fatalf("Expires in 2 min: %d fetches over 3 min, want 2", got)
	}

	// An error is remembered for MetadataFailureCache only, whatever the
	// answer's cache headers: then the URL is fetched again and succeeds.
	d.set("/flaky.json", docAnswer{status: 500, body: "{}", header: map[string]string{"Cache-Control": "max-age=600"}})
	if open("/flaky.json") != 400 {
		t.Fatal("a 500 document was used")
	}
	d.set("/flaky.json", docAnswer{body: d.doc("/flaky.json", nil), header: map[string]string{"Cache-Control": "max-age=600"}})
	n = d.fetches.Load()
	if open("/flaky.json") != 400 || d.fetches.Load() != n {
		t.Fatal("a failed fetch was repeated at once")
	}
	e.clock.Advance(DefaultMetadataFailureCache)
	if open("/flaky.json") != 200 {
		t.Fatal("the error outlived MetadataFailureCache")
	}
	// So is an invalid document.
	d.set("/invalid.json", docAnswer{body: d.doc("/invalid.json", func(m map[string]any) { delete(m, "client_name") }), header: map[string]string{"Cache-Control": "max-age=600"}})
	open("/invalid.json")
	d.set("/invalid.json", docAnswer{body: d.doc("/invalid.json", nil)})
	if open("/invalid.json") != 400 {
		t.Fatal("an invalid document was fetched again at once")
	}
	e.clock.Advance(DefaultMetadataFailureCache)
	if open("/invalid.json") != 200 {
		t.Fatal("an invalid document was cached for longer than MetadataFailureCache")
	}
}

// TestClientMetadataDocumentSSRF: without the test-only allowance, the
// server refuses to fetch documents from private or loopback addresses.
func TestClientMetadataDocumentSSRF(t *testing.T) {
	d := newDocServer(t)
	d.set("/client.json", docAnswer{body: d.doc("/client.json", nil)})
	e := newEnv(t) // the default fetcher: no loopback, no private networks
	for _, id := range []string{d.URL + "/client.json", "https://10.1.2.3/client.json", "https://169.254.169.254/latest/meta-data", "https://[::1]:8443/c.json", "https://localhost:1/c.json"} {
		status, page := e.authorizePage(t, id, "http://127.0.0.1:9999/cb")
		if status != 400 || !strings.Contains(page, "may not be fetched") {
			t.Errorf("%s: %d %.300s", id, status, page)
		}
	}
	if d.fetches.Load() != 0 {
		t.Fatal("the loopback document server was reached")
	}
}

// TestClientMetadataDocumentsDisabled: with the option off, a URL client_id
// is an unknown client and the metadata does not advertise support.
func TestClientMetadataDocumentsDisabled(t *testing.T) {
	d := newDocServer(t)
	d.set("/client.json", docAnswer{body: d.doc("/client.json", nil)})
	e := cimdEnv(t, d, func(o *Options) { o.DisableClientMetadataDocuments = true })
	status, page := e.authorizePage(t, d.URL+"/client.json", "http://127.0.0.1:9999/cb")
	if status != 400 || !strings.Contains(page, "not registered") || d.fetches.Load() != 0 {
		t.Fatalf("disabled: %d (fetches %d) %.300s", status, d.fetches.Load(), page)
	}
	if e.srv.Metadata().ClientIDMetadataDocumentSupported {
		t.Fatal("disabled, still advertised")
	}
}

// TestClientMetadataDocumentAtTokenEndpoint: a document that cannot be
// fetched any more makes the token endpoint answer invalid_client.
func TestClientMetadataDocumentAtTokenEndpoint(t *testing.T) {
	d := newDocServer(t)
	e := cimdEnv(t, d, nil)
	d.set("/client.json", docAnswer{body: d.doc("/client.json", nil), header: map[string]string{"Cache-Control": "max-age=60"}})
	c := registered{ID: d.URL + "/client.json", Redirect: "http://127.0.0.1:9999/cb"}
	verifier, challenge := pkcePair()
	code := e.codeFor(c, challenge, nil)
	d.set("/client.json", docAnswer{status: 404, body: "{}"})
	e.clock.Advance(2 * time.Minute)
	resp, m := e.exchange(c, code, verifier, nil)
	wantOAuthError(t, resp, m, 401, ErrorInvalidClient)
	if !strings.Contains(str(m["error_description"]), "status 404") {
		t.Fatalf("description: %v", m["error_description"])
	}
}

// lateTransport answers only once the request is given up, with an empty
// 200: what net/http hands over when a server that ends its handler on
// cancellation answers in the instant the client's deadline closes the
// connection.
type lateTransport struct{}

func (lateTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	<-r.Context().Done()
	return &http.Response{StatusCode: 200, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("")), Request: r}, nil
}

// TestClientMetadataDocumentLateAnswer: an answer that comes only after the
// time is up counts as no answer: the user reads that the document did not
// arrive in time, not that it is not JSON (TestClientMetadataDocumentRefusals
// "slow" saw that once in some hundred runs under load).
func TestClientMetadataDocumentLateAnswer(t *testing.T) {
	e := newEnv(t, withOptions(func(o *Options) {
		o.ClientMetadataHTTPClient = &http.Client{Transport: lateTransport{}}
		o.ClientMetadataTimeout = 200 * time.Millisecond
	}))
	status, page := e.authorizePage(t, "https://docs.example.test/late.json", "http://127.0.0.1:9999/cb")
	if want := "did not arrive within 200ms"; status != 400 || !strings.Contains(page, want) {
		t.Fatalf("status %d, page lacks %q:\n%s", status, want, page)
	}
}

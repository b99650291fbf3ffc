package oauth

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// pendingCount is how many pending authorizations the memory store holds.
func (e *testEnv) pendingCount() int {
	e.store.mu.RLock()
	defer e.store.mu.RUnlock()
	return len(e.store.pending)
}

func (e *testEnv) deviceCount() int {
	e.store.mu.RLock()
	defer e.store.mu.RUnlock()
	return len(e.store.devices)
}

// wantRetryAfter fails unless resp carries a positive Retry-After.
func wantRetryAfter(t *testing.T, resp *http.Response) {
	t.Helper()
	if n, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || n <= 0 {
		t.Fatalf("Retry-After %q, want a positive number of seconds", resp.Header.Get("Retry-After"))
	}
}

// TestAuthorizeQuotaPerAddress: GET /authorize stores a pending
// authorization; one address may start only so many, the rest get a page
// saying so with 429 and Retry-After, and nothing is stored for them.
func TestAuthorizeQuotaPerAddress(t *testing.T) {
	e := newEnv(t)
	c := e.register(nil)
	_, challenge := pkcePair()
	q := authQuery(c, challenge, nil).Encode()
	const quota = DefaultPendingPerAddress
	for i := range quota + 10 {
		resp, page := e.get(e.issuer + "/authorize?" + q)
		switch {
		case i < quota && resp.StatusCode != 200:
			t.Fatalf("authorization %d of the quota: %d %s", i+1, resp.StatusCode, page)
		case i >= quota:
			if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(resp.Header.Get("Content-Type"), "text/html") ||
				!strings.Contains(string(page), "Too many sign-ins") {
				t.Fatalf("authorization %d past the quota: %d %s", i+1, resp.StatusCode, page)
			}
			wantRetryAfter(t, resp)
		}
	}
	if n := e.pendingCount(); n != quota {
		t.Fatalf("%d pending authorizations stored, want %d", n, quota)
	}
}

// TestRegisterQuotaGroupsIPv6: the registration quota counts an IPv6
// client by its /64, so rotating through the addresses of one /64 does not
// escape it; an IPv4-mapped address counts as the IPv4 address.
func TestRegisterQuotaGroupsIPv6(t *testing.T) {
	e := newEnv(t, withOptions(func(o *Options) {
		o.RegistrationLimit = 3
		o.TrustProxyHeaders = true // the test client is on loopback
	}))
	post := func(from string) *http.Response {
		req, _ := http.NewRequest("POST", e.issuer+"/register", strings.NewReader(`{"redirect_uris":["https://a.example.com/cb"]}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Forwarded-For", from)
		resp, _ := e.do(req)
		return resp
	}
	for i := 1; i <= 3; i++ {
		if resp := post(fmt.Sprintf("2001:db8:5:6::%x", i)); resp.StatusCode != 201 {
			t.Fatalf("registration %d: %d", i, resp.StatusCode)
		}
	}
	resp := post("2001:db8:5:6:ffff:1:2:3")
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("a 4th address of the same /64: %d, want 429", resp.StatusCode)
	}
	wantRetryAfter(t, resp)
	if resp := post("2001:db8:5:7::1"); resp.StatusCode != 201 {
		t.Fatalf("another /64 is limited by the first: %d", resp.StatusCode)
	}
	for i := range 3 {
		if resp := post("203.0.113.9"); resp.StatusCode != 201 {
			t.Fatalf("IPv4 registration %d: %d", i+1, resp.StatusCode)
		}
	}
	if resp := post("::ffff:203.0.113.9"); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("the IPv4-mapped form of a limited IPv4 address: %d, want 429", resp.StatusCode)
	}
}

// TestDeviceAuthorizationQuota: POST /device_authorization stores a device
// authorization; one address may start only so many.
func TestDeviceAuthorizationQuota(t *testing.T) {
	e := newEnv(t)
	c := e.register(map[string]any{"client_name": "CLI", "grant_types": []string{GrantTypeDeviceCode}, "token_endpoint_auth_method": "none"})
	const quota = DefaultDevicesPerAddress
	for i := range quota + 5 {
		resp, m := e.postForm("/device_authorization", url.Values{"client_id": {c.ID}})
		switch {
		case i < quota && resp.StatusCode != 200:
			t.Fatalf("device authorization %d of the quota: %d %v", i+1, resp.StatusCode, m)
		case i >= quota:
			wantOAuthError(t, resp, m, http.StatusTooManyRequests, "too_many_requests")
			wantRetryAfter(t, resp)
		}
	}
	if n := e.deviceCount(); n != quota {
		t.Fatalf("%d device authorizations stored, want %d", n, quota)
	}
}

// TestClientMetadataFetchThrottle: an address may make the server fetch
// only so many unknown client_id URLs, and a URL that failed is not fetched
// again at once.
func TestClientMetadataFetchThrottle(t *testing.T) {
	d := newDocServer(t)
	e := cimdEnv(t, d, nil)
	const quota = DefaultMetadataFetchesPerAddress
	for i := range quota {
		status, page := e.authorizePage(t, fmt.Sprintf("%s/unknown-%d.json", d.URL, i), "http://127.0.0.1:9999/cb")
		if status != 400 || !strings.Contains(page, "status 404") {
			t.Fatalf("fetch %d: %d %s", i+1, status, page)
		}
	}
	if n := d.fetches.Load(); n != quota {
		t.Fatalf("%d fetches, want %d", n, quota)
	}
	_, challenge := pkcePair()
	q := authQuery(registered{ID: d.URL + "/one-more.json", Redirect: "http://127.0.0.1:9999/cb"}, challenge, nil)
	resp, page := e.get(e.issuer + "/authorize?" + q.Encode())
	if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(string(page), "Too many") {
		t.Fatalf("a fetch past the quota: %d %s", resp.StatusCode, page)
	}
	wantRetryAfter(t, resp)
	if n := d.fetches.Load(); n != quota {
		t.Fatalf("a refused request fetched: %d fetches", n)
	}
	// A failed URL is answered from the negative cache: no new fetch and
	// no quota used.
	for range 3 {
		status, page := e.authorizePage(t, d.URL+"/unknown-0.json", "http://127.0.0.1:9999/cb")
		if status != 400 || !strings.Contains(page, "status 404") {
			t.Fatalf("a failed URL again: %d %s", status, page)
		}
	}
	if n := d.fetches.Load(); n != quota {
		t.Fatalf("a failed URL was fetched again: %d fetches", n)
	}
}

// livePending counts the unexpired pending authorizations.
func (e *testEnv) livePending() int {
	now := e.clock.Now()
	e.store.mu.RLock()
	defer e.store.mu.RUnlock()
	n := 0
	for _, p := range e.store.pending {
		if now.Before(p.ExpiresAt) {
			n++
		}
	}
	return n
}

// TestAuthorizeGlobalCap: however many addresses ask, no more than
// MaxPending pending authorizations are alive at any moment; past the cap
// a page says so with 503 and Retry-After, and the cap frees up as the
// windows pass.
func TestAuthorizeGlobalCap(t *testing.T) {
	e := newEnv(t, withOptions(func(o *Options) {
		o.Limits = Limits{PendingPerAddress: -1, MaxPending: 10}
		o.TrustProxyHeaders = true
	}))
	c := e.register(nil)
	_, challenge := pkcePair()
	q := authQuery(c, challenge, nil).Encode()
	n := 0
	start := func() *http.Response {
		n++
		req, _ := http.NewRequest("GET", e.issuer+"/authorize?"+q, nil)
		req.Header.Set("X-Forwarded-For", fmt.Sprintf("198.51.100.%d", n%250))
		resp, _ := e.do(req)
		return resp
	}
	if resp := start(); resp.StatusCode != 200 {
		t.Fatalf("first: %d", resp.StatusCode)
	}
	e.clock.Advance(9 * time.Minute)
	for i := range 4 {
		if resp := start(); resp.StatusCode != 200 {
			t.Fatalf("authorization %d of the window: %d", i+2, resp.StatusCode)
		}
	}
	resp := start()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("past half the cap in one window: %d, want 503", resp.StatusCode)
	}
	wantRetryAfter(t, resp)
	if ra, _ := strconv.Atoi(resp.Header.Get("Retry-After")); ra > 60 {
		t.Fatalf("Retry-After %d s, the window ends in 60 s", ra)
	}
	// A new window: the one created first has expired, the other four
	// are alive; five more make nine, under the cap.
	e.clock.Advance(time.Minute)
	for range 8 {
		start()
	}
	if live := e.livePending(); live != 9 {
		t.Fatalf("%d pending authorizations alive, want 9 (the cap is 10)", live)
	}
}

// TestJSONEndpointsGlobalCaps: registration and device authorization
// answer 503 temporarily_unavailable with Retry-After past their global
// caps.
func TestJSONEndpointsGlobalCaps(t *testing.T) {
	e := newEnv(t, withOptions(func(o *Options) {
		o.Limits = Limits{DevicesPerAddress: -1, MaxDevices: 4, MaxRegistrations: 3}
		o.RegistrationLimit = -1
	}))
	c := e.register(map[string]any{"client_name": "CLI", "grant_types": []string{GrantTypeDeviceCode}, "token_endpoint_auth_method": "none"})
	e.register(nil)
	e.register(nil)
	resp, m := e.postJSON("POST", "/register", map[string]any{"redirect_uris": []string{"https://a.example.com/cb"}}, "")
	wantOAuthError(t, resp, m, http.StatusServiceUnavailable, ErrorTemporarilyUnavailable)
	wantRetryAfter(t, resp)
	for range 2 {
		startDevice(t, e, c, nil)
	}
	resp, m = e.postForm("/device_authorization", url.Values{"client_id": {c.ID}})
	wantOAuthError(t, resp, m, http.StatusServiceUnavailable, ErrorTemporarilyUnavailable)
	wantRetryAfter(t, resp)
	if n := e.deviceCount(); n != 2 {
		t.Fatalf("%d device authorizations stored, want 2", n)
	}
}

// TestRegisterInvalidDoesNotCount: refused registrations do not use the
// quota; only what would be stored counts.
func TestRegisterInvalidDoesNotCount(t *testing.T) {
	e := newEnv(t, withOptions(func(o *Options) { o.RegistrationLimit = 2 }))
	for range 5 {
		resp, m := e.postJSON("POST", "/register", map[string]any{"redirect_uris": []string{"javascript:alert(1)"}}, "")
		wantOAuthError(t, resp, m, 400, ErrorInvalidRedirectURI)
	}
	e.register(nil)
	e.register(nil)
	resp, m := e.postJSON("POST", "/register", map[string]any{"redirect_uris": []string{"https://a.example.com/cb"}}, "")
	wantOAuthError(t, resp, m, http.StatusTooManyRequests, ErrorTooManyRequests)
}

// TestDeviceEntryStartsPendingWithinQuota: a user code entered at /device
// creates a pending authorization, under the same quota as /authorize.
func TestDeviceEntryStartsPendingWithinQuota(t *testing.T) {
	e := newEnv(t, withOptions(func(o *Options) { o.Limits.PendingPerAddress = 2 }))
	c := e.register(map[string]any{"client_name": "CLI", "grant_types": []string{GrantTypeDeviceCode}, "token_endpoint_auth_method": "none"})
	code := str(startDevice(t, e, c, nil)["user_code"])
	for i := range 3 {
		action, f := formFields(t, mustBody(t, e, e.issuer+"/device"))
		f.Set("user_code", code)
		resp, page := e.browserPost(action, f)
		switch {
		case i < 2 && (resp.StatusCode != 200 || !strings.Contains(string(page), "Authorize access")):
			t.Fatalf("entry %d: %d %s", i+1, resp.StatusCode, page)
		case i == 2:
			if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(string(page), "Too many sign-ins") {
				t.Fatalf("entry past the quota: %d %s", resp.StatusCode, page)
			}
			wantRetryAfter(t, resp)
		}
	}
	if n := e.pendingCount(); n != 2 {
		t.Fatalf("%d pending authorizations, want 2", n)
	}
}

// TestClientMetadataGlobalCap: past the global cap on fetches, a new URL is
// refused with 503 on the page and at the token endpoint; a cached
// document still works.
func TestClientMetadataGlobalCap(t *testing.T) {
	d := newDocServer(t)
	e := cimdEnv(t, d, func(o *Options) { o.Limits = Limits{MetadataFetchesPerAddress: -1, MaxMetadataFetches: 2} })
	d.set("/ok.json", docAnswer{body: d.doc("/ok.json", nil)})
	if status, page := e.authorizePage(t, d.URL+"/ok.json", "http://127.0.0.1:9999/cb"); status != 200 {
		t.Fatalf("first document: %d %s", status, page)
	}
	e.authorizePage(t, d.URL+"/missing.json", "http://127.0.0.1:9999/cb")
	status, page := e.authorizePage(t, d.URL+"/third.json", "http://127.0.0.1:9999/cb")
	if status != http.StatusServiceUnavailable || !strings.Contains(page, "The server is busy") {
		t.Fatalf("past the cap: %d %s", status, page)
	}
	resp, m := e.postForm("/token", url.Values{"grant_type": {"authorization_code"}, "code": {"x"}, "client_id": {d.URL + "/third.json"}})
	wantOAuthError(t, resp, m, http.StatusServiceUnavailable, ErrorTemporarilyUnavailable)
	wantRetryAfter(t, resp)
	if status, _ := e.authorizePage(t, d.URL+"/ok.json", "http://127.0.0.1:9999/cb"); status != 200 {
		t.Fatalf("a cached document past the cap: %d", status)
	}
	if n := d.fetches.Load(); n != 2 {
		t.Fatalf("%d fetches, want 2", n)
	}
}

// TestClientMetadataFailureCacheBounded: the negative cache keeps at most
// MaxMetadataDocuments entries.
func TestClientMetadataFailureCacheBounded(t *testing.T) {
	d := newDocServer(t)
	e := cimdEnv(t, d, func(o *Options) {
		o.Limits = Limits{MetadataFetchesPerAddress: -1, MaxMetadataFetches: -1, MaxMetadataDocuments: 5}
	})
	for i := range 20 {
		e.authorizePage(t, fmt.Sprintf("%s/gone-%d.json", d.URL, i), "http://127.0.0.1:9999/cb")
	}
	docs := e.srv.documents
	docs.mu.Lock()
	n := len(docs.failed.m)
	docs.mu.Unlock()
	if n != 5 {
		t.Fatalf("%d failures cached, want the bound of 5", n)
	}
}

// TestAuthorizeQuotaGroupsIPv6: at the handler, RemoteAddr decides, an IPv6
// client counts by its /64 and an IPv4-mapped one as IPv4; a client's own
// X-Forwarded-For is ignored when no proxy is trusted.
func TestAuthorizeQuotaGroupsIPv6(t *testing.T) {
	e := newEnv(t, withOptions(func(o *Options) { o.Limits.PendingPerAddress = 3 }))
	c := e.register(nil)
	_, challenge := pkcePair()
	q := authQuery(c, challenge, nil).Encode()
	from := func(remote, xff string) int {
		req := httptest.NewRequest("GET", "/authorize?"+q, nil)
		req.RemoteAddr = remote
		if xff != "" {
			req.Header.Set("X-Forwarded-For", xff)
		}
		rec := httptest.NewRecorder()
		e.srv.ServeHTTP(rec, req)
		return rec.Code
	}
	for i := range 3 {
		if code := from(fmt.Sprintf("[2001:db8:a:b:%x::1]:4000", i), fmt.Sprintf("203.0.113.%d", i)); code != 200 {
			t.Fatalf("authorization %d: %d", i+1, code)
		}
	}
	if code := from("[2001:db8:a:b:ffff:ffff:ffff:ffff]:1", "203.0.113.99"); code != http.StatusTooManyRequests {
		t.Fatalf("4th address of one /64 with a fresh X-Forwarded-For: %d, want 429", code)
	}
	if code := from("[2001:db8:a:c::1]:1", ""); code != 200 {
		t.Fatalf("the next /64: %d", code)
	}
	for range 3 {
		from("192.0.2.44:5555", "")
	}
	if code := from("[::ffff:192.0.2.44]:5556", ""); code != http.StatusTooManyRequests {
		t.Fatalf("IPv4-mapped form of a limited address: %d, want 429", code)
	}
}

func TestClientAddress(t *testing.T) {
	prefixes := func(s string) []netip.Prefix {
		p, err := ParseTrustedProxies(s)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := []struct {
		name   string
		opts   Options
		remote string
		header map[string][]string
		want   string // addrGroup of the result
	}{
		{"peer", Options{}, "192.0.2.1:443", nil, "192.0.2.1/32"},
		{"peer IPv6 by /64", Options{}, "[2001:db8:1:2:3:4:5:6]:443", nil, "2001:db8:1:2::/64"},
		{"peer IPv4-mapped", Options{}, "[::ffff:192.0.2.1]:443", nil, "192.0.2.1/32"},
		{"peer with zone", Options{}, "[fe80::1%eth0]:443", nil, "fe80::/64"},
		{"no port", Options{}, "192.0.2.1", nil, "192.0.2.1/32"},
		{"unix socket", Options{}, "@", nil, "unknown"},
		{"untrusted peer's header ignored", Options{}, "192.0.2.1:1", map[string][]string{"X-Forwarded-For": {"203.0.113.5"}}, "192.0.2.1/32"},
		{"trusted by TrustProxyHeaders", Options{TrustProxyHeaders: true}, "10.0.0.2:1", map[string][]string{"X-Forwarded-For": {"203.0.113.5"}}, "203.0.113.5/32"},
		{"public peer not trusted by TrustProxyHeaders", Options{TrustProxyHeaders: true}, "192.0.2.1:1", map[string][]string{"X-Forwarded-For": {"203.0.113.5"}}, "192.0.2.1/32"},
		{"spoofed left entries", Options{TrustProxyHeaders: true}, "127.0.0.1:1", map[string][]string{"X-Forwarded-For": {"198.51.100.1, 203.0.113.5"}}, "203.0.113.5/32"},
		{"chain of trusted proxies", Options{TrustedProxies: prefixes("127.0.0.1, 10.0.0.0/8")}, "127.0.0.1:1",
			map[string][]string{"X-Forwarded-For": {"198.51.100.1, 203.0.113.5", "10.1.1.1,10.2.2.2"}}, "203.0.113.5/32"},
		{"only the named proxies", Options{TrustedProxies: prefixes("10.0.0.7")}, "10.0.0.8:1", map[string][]string{"X-Forwarded-For": {"203.0.113.5"}}, "10.0.0.8/32"},
		{"garbage ends the walk", Options{TrustProxyHeaders: true}, "10.0.0.2:1", map[string][]string{"X-Forwarded-For": {"203.0.113.5, nonsense"}}, "10.0.0.2/32"},
		{"all hops trusted", Options{TrustProxyHeaders: true}, "10.0.0.2:1", map[string][]string{"X-Forwarded-For": {"10.9.9.9"}}, "10.9.9.9/32"},
		{"XFF with ports and mapped", Options{TrustProxyHeaders: true}, "10.0.0.2:1", map[string][]string{"X-Forwarded-For": {"[::ffff:203.0.113.5]:9"}}, "203.0.113.5/32"},
		{"IPv6 client behind proxy", Options{TrustProxyHeaders: true}, "[::1]:1", map[string][]string{"X-Forwarded-For": {"2001:db8:7:8::99"}}, "2001:db8:7:8::/64"},
		{"Forwarded ignored by default", Options{TrustProxyHeaders: true}, "10.0.0.2:1", map[string][]string{"Forwarded": {"for=203.0.113.5"}}, "10.0.0.2/32"},
		{"Forwarded", Options{TrustProxyHeaders: true, ForwardedHeader: "forwarded"}, "10.0.0.2:1",
			map[string][]string{"Forwarded": {`for=198.51.100.1, for="[2001:db8:7:8::99]:4711";proto=https;by=10.0.0.2`}}, "2001:db8:7:8::/64"},
		{"Forwarded quoted comma", Options{TrustProxyHeaders: true, ForwardedHeader: "Forwarded"}, "10.0.0.2:1",
			map[string][]string{"Forwarded": {`for=203.0.113.5;x="a,b", for=10.0.0.9`}}, "203.0.113.5/32"},
		{"Forwarded unknown", Options{TrustProxyHeaders: true, ForwardedHeader: "Forwarded"}, "10.0.0.2:1",
			map[string][]string{"Forwarded": {"for=203.0.113.5, for=unknown"}}, "10.0.0.2/32"},
		{"XFF ignored when Forwarded is chosen", Options{TrustProxyHeaders: true, ForwardedHeader: "Forwarded"}, "10.0.0.2:1",
			map[string][]string{"X-Forwarded-For": {"203.0.113.5"}}, "10.0.0.2/32"},
		{"mapped trusted proxy", Options{TrustedProxies: prefixes("::ffff:10.0.0.0/104")}, "10.1.2.3:1", map[string][]string{"X-Forwarded-For": {"203.0.113.5"}}, "203.0.113.5/32"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ca, err := newClientAddrs(&c.opts)
			if err != nil {
				t.Fatal(err)
			}
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = c.remote
			for k, vs := range c.header {
				for _, v := range vs {
					r.Header.Add(k, v)
				}
			}
			if got := addrGroup(ca.addr(r)); got != c.want {
				t.Fatalf("client address %s, want %s", got, c.want)
			}
		})
	}
}

func TestClientAddressOptions(t *testing.T) {
	if _, err := ParseTrustedProxies("10.0.0.0/8, 192.0.2.7 2001:db8::/48"); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"10.0.0.0/33", "proxy.example.com", "fe80::1%eth0"} {
		if _, err := ParseTrustedProxies(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if _, err := newClientAddrs(&Options{ForwardedHeader: "X-Real-IP"}); err == nil {
		t.Error("ForwardedHeader X-Real-IP accepted")
	}
}

// TestMetadataCacheDetachesKeys: a cached client_id (cut from the request
// that named it) does not keep its request alive.
func TestMetadataCacheDetachesKeys(t *testing.T) {
	c := newTTLCache[error](100)
	now := time.Now()
	const n, reqSize = 20, 512 << 10
	before := liveHeapBytes()
	for i := range n {
		req := strings.Repeat("x", reqSize) + strconv.Itoa(i)
		c.put(req[reqSize-20:], nil, now.Add(time.Minute), now)
	}
	if grew := liveHeapBytes() - before; grew > n*reqSize/8 {
		t.Fatalf("%d cached failures hold %d bytes", n, grew)
	}
	if len(c.m) != n {
		t.Fatalf("%d entries", len(c.m))
	}
}

package oauth_test

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mcp-oauth-gateway/gateway/fetch/safehttp"
	"github.com/mcp-oauth-gateway/gateway/internal/redistest"
	"github.com/mcp-oauth-gateway/gateway/oauth"
	"github.com/mcp-oauth-gateway/gateway/oauth/filestore"
	"github.com/mcp-oauth-gateway/gateway/oauth/redisstore"
)

var floodBig = flag.Bool("flood", false, "TestFlood at 2,000 and 20,000 requests per endpoint and store (slow; run by hand)")

// The flood: every endpoint that stores something for a client without
// credentials (GET /authorize, POST /register, POST /device_authorization,
// a client_id URL to fetch) is flooded on each store, in three steps:
//
//  1. n1 requests from floodAddrs loopback addresses (127.1.0.x), each
//     with a made-up X-Forwarded-For that must be ignored, while a normal
//     client on 127.0.0.2 registers, authorizes, consents, logs in and
//     gets its tokens;
//  2. up to n2 requests in all the same way: the state is where step 1
//     left it, floodAddrs times the per-address quota;
//  3. nGlobal requests through a trusted proxy (127.0.0.10) from a new
//     IPv6 /64 each, which no per-address quota holds: the state stops at
//     the global cap, and a new client gets 503 with Retry-After.
//
// The clock stands still, so no window ends and nothing expires: what is
// stored stays stored, and the counts are exact. The figures (state,
// live heap after GC, peak heap, file size, Redis memory) are logged;
// go test -run TestFlood -v -flood -timeout 60m ./oauth runs it at 2,000
// and 20,000, after a baseline of the same flood with every limit off.
func TestFlood(t *testing.T) {
	n1, n2, nGlobal := 250, 1250, 250
	if *floodBig {
		n1, n2, nGlobal = 2000, 20000, 2000
	}
	rs := redistest.Start(t)
	docs := newFloodDocs(t)
	if *floodBig {
		// The baseline: the same flood with every limit off, as before
		// the limits existed.
		for _, store := range []string{"memory", "file", "redis"} {
			for _, ep := range floodEndpoints {
				t.Run("unlimited/"+store+"/"+ep.name, func(t *testing.T) {
					f := newFlood(t, store, rs, docs, unlimited)
					target := ep.prepare(t, f)
					stop := f.samplePeak()
					t.Logf("%-8s unlimited %6d requests: %s", store, 0, f.measure(ep))
					f.fire(t, ep, target, n1, false)
					a := f.measure(ep)
					t.Logf("%-8s unlimited %6d requests: %s", store, n1, a)
					f.fire(t, ep, target, n2-n1, false)
					b := f.measure(ep)
					t.Logf("%-8s unlimited %6d requests: %s", store, n2, b)
					t.Logf("%-8s peak heap %.1f MB", store, float64(stop())/1e6)
					if b.state <= a.state {
						t.Fatalf("without limits the state did not grow: %d then %d", a.state, b.state)
					}
				})
			}
		}
	}
	for _, store := range []string{"memory", "file", "redis"} {
		for _, ep := range floodEndpoints {
			t.Run(store+"/"+ep.name, func(t *testing.T) {
				f := newFlood(t, store, rs, docs, floodLimits)
				target := ep.prepare(t, f)
				checkpoint := func(label string, requests int) floodFigures {
					fig := f.measure(ep)
					fig.requests = requests
					t.Logf("%-8s %-9s %6d requests: %s", store, label, requests, fig)
					return fig
				}
				base := checkpoint("before", 0)
				stop := f.samplePeak()

				normal := make(chan error, 1)
				go func() { normal <- f.normalFlow() }()
				f.fire(t, ep, target, n1, false)
				if err := <-normal; err != nil {
					t.Fatalf("the normal client's flow during the flood: %v", err)
				}
				a := checkpoint("flood", n1)
				f.fire(t, ep, target, n2-n1, false)
				b := checkpoint("flood", n2)
				want := base.state + floodAddrs*ep.perAddress + ep.normalState
				if a.state != want || b.state != want {
					t.Fatalf("%s: state %d after %d requests and %d after %d; want %d both times (%d addresses × %d)",
						ep.name, a.state, n1, b.state, n2, want, floodAddrs, ep.perAddress)
				}
				if b.fileBytes != a.fileBytes || b.redisKeys != a.redisKeys {
					t.Fatalf("%s: the store grew from %d to %d requests: file %d -> %d bytes, Redis keys %d -> %d",
						ep.name, n1, n2, a.fileBytes, b.fileBytes, a.redisKeys, b.redisKeys)
				}
				f.fire(t, ep, target, nGlobal, true)
				c := checkpoint("global", n2+nGlobal)
				if want := base.state + ep.globalLive - ep.normalQuota + ep.normalState; c.state != want {
					t.Fatalf("%s: state %d past the global cap, want %d", ep.name, c.state, want)
				}
				if status, retry := ep.newcomer(t, f, target); status != http.StatusServiceUnavailable || retry <= 0 {
					t.Fatalf("%s: a new client past the global cap got %d (Retry-After %d), want 503 with Retry-After", ep.name, status, retry)
				}
				peak := stop()
				t.Logf("%-8s peak heap %.1f MB", store, float64(peak)/1e6)
			})
		}
	}
}

const (
	floodAddrs   = 64
	floodWorkers = 8
	normalAddr   = "127.0.0.2"
	setupAddr    = "127.0.0.3"
	proxyAddr    = "127.0.0.10"
)

// floodLimits are the server's limits in the test: small, so that the caps
// are reached quickly, and the global ones above what the per-address
// quotas let the loopback addresses store.
var floodLimits = oauth.Limits{
	PendingPerAddress: 3, MaxPending: 600, // at most 300 per window
	DevicesPerAddress: 3, MaxDevices: 600,
	MaxRegistrations:          300,
	MetadataFetchesPerAddress: 3, MaxMetadataFetches: 300,
}

type floodEndpoint struct {
	name string
	// perAddress and globalLive are the state the quotas allow: per
	// address, and in all past the global cap.
	perAddress, globalLive int
	// normalState is what the normal client's flow leaves of this state;
	// normalQuota how much of the global cap it used.
	normalState, normalQuota int
	// prepare sets up what the requests need (a client) and returns it.
	prepare func(t *testing.T, f *flood) string
	// request builds flood request n.
	request func(f *flood, target string, n int) *http.Request
	// state counts what the endpoint stores.
	state func(f *flood) int
	// newcomer is a request from a client never seen before, past the
	// global cap; it returns the status and Retry-After.
	newcomer func(t *testing.T, f *flood, target string) (int, int)
}

var floodEndpoints = []floodEndpoint{
	{
		name: "authorize", perAddress: floodLimits.PendingPerAddress, globalLive: floodLimits.MaxPending / 2, normalQuota: 1,
		prepare: func(t *testing.T, f *flood) string { return f.registerClient(t, setupAddr, nil) },
		request: func(f *flood, target string, n int) *http.Request {
			// Large: a state as long as the server takes, long resources.
			q := f.authQuery(target, strconv.Itoa(n)+strings.Repeat("s", 2000))
			q["resource"] = heavyResources()
			req, _ := http.NewRequest("GET", f.issuer+"/authorize?"+q.Encode(), nil)
			return req
		},
		state: func(f *flood) int { return f.count("pending") },
		newcomer: func(t *testing.T, f *flood, target string) (int, int) {
			req, _ := http.NewRequest("GET", f.issuer+"/authorize?"+f.authQuery(target, "late").Encode(), nil)
			return f.status(t, "127.0.0.20", req)
		},
	},
	{
		name: "register", perAddress: oauthRegistrationLimit, globalLive: floodLimits.MaxRegistrations, normalState: 1, normalQuota: 1,
		prepare: func(t *testing.T, f *flood) string { return "" },
		request: func(f *flood, _ string, n int) *http.Request {
			var uris []string
			for i := range 5 {
				uris = append(uris, fmt.Sprintf("http://127.0.0.1:9/cb/%d/%s", i, strings.Repeat("p", 1000)))
			}
			b, _ := json.Marshal(map[string]any{"client_name": fmt.Sprintf("flood %d", n), "redirect_uris": uris, "token_endpoint_auth_method": "none"})
			req, _ := http.NewRequest("POST", f.issuer+"/register", strings.NewReader(string(b)))
			req.Header.Set("Content-Type", "application/json")
			return req
		},
		state: func(f *flood) int { return f.count("clients") },
		newcomer: func(t *testing.T, f *flood, _ string) (int, int) {
			req, _ := http.NewRequest("POST", f.issuer+"/register", strings.NewReader(`{"redirect_uris":["http://127.0.0.1:9/cb"]}`))
			req.Header.Set("Content-Type", "application/json")
			return f.status(t, "127.0.0.20", req)
		},
	},
	{
		name: "device", perAddress: floodLimits.DevicesPerAddress, globalLive: floodLimits.MaxDevices / 2,
		prepare: func(t *testing.T, f *flood) string {
			return f.registerClient(t, setupAddr, map[string]any{"grant_types": []string{oauth.GrantTypeDeviceCode}})
		},
		request: func(f *flood, target string, _ int) *http.Request {
			form := url.Values{"client_id": {target}, "resource": heavyResources()}
			req, _ := http.NewRequest("POST", f.issuer+"/device_authorization", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return req
		},
		state: func(f *flood) int { return f.count("devices") },
		newcomer: func(t *testing.T, f *flood, target string) (int, int) {
			req, _ := http.NewRequest("POST", f.issuer+"/device_authorization", strings.NewReader(url.Values{"client_id": {target}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return f.status(t, "127.0.0.20", req)
		},
	},
	{
		// Every request names a client_id URL never seen before (the
		// documents do not exist): each would be a fetch.
		name: "cimd", perAddress: floodLimits.MetadataFetchesPerAddress, globalLive: floodLimits.MaxMetadataFetches,
		prepare: func(t *testing.T, f *flood) string { return "" },
		request: func(f *flood, _ string, _ int) *http.Request {
			id := fmt.Sprintf("%s/flood-%d.json", f.docs.URL, f.docs.next.Add(1))
			req, _ := http.NewRequest("GET", f.issuer+"/authorize?"+f.authQuery(id, "").Encode(), nil)
			return req
		},
		state: func(f *flood) int { return int(f.docs.fetches.Load() - f.docsBase) },
		newcomer: func(t *testing.T, f *flood, _ string) (int, int) {
			req, _ := http.NewRequest("GET", f.issuer+"/authorize?"+f.authQuery(f.docs.URL+"/late.json", "").Encode(), nil)
			return f.status(t, "127.0.0.20", req)
		},
	},
}

// heavyResources are four resource indicators of 1,900 characters (the
// server takes up to ten; four keep the test quick under -race).
func heavyResources() []string {
	var rs []string
	for i := range 4 {
		rs = append(rs, fmt.Sprintf("https://mcp%d.example.com/%s", i, strings.Repeat("r", 1880)))
	}
	return rs
}

// unlimited turns every limit off (the baseline of -flood).
var unlimited = oauth.Limits{PendingPerAddress: -1, MaxPending: -1, DevicesPerAddress: -1, MaxDevices: -1,
	MaxRegistrations: -1, MetadataFetchesPerAddress: -1, MaxMetadataFetches: -1}

// oauthRegistrationLimit is the per-address registration quota of the
// flood server.
const oauthRegistrationLimit = 3

// flood is one server on one store, and its clients.
type flood struct {
	t        *testing.T
	store    string
	st       oauth.Store
	rdb      *redis.Client
	prefix   string
	srv      *oauth.Server
	issuer   string
	docs     *floodDocs
	docsBase int64
	clients  map[string]*http.Client // by local address
	mu       sync.Mutex
	verifier string
}

func newFlood(t *testing.T, kind string, rs *redistest.Server, docs *floodDocs, limits oauth.Limits) *flood {
	f := &flood{t: t, store: kind, docs: docs, clients: map[string]*http.Client{}, verifier: strings.Repeat("v", 43)}
	now := time.Now()
	clock := func() time.Time { return now }
	switch kind {
	case "memory":
		s := oauth.NewMemoryStore(&oauth.MemoryStoreOptions{Now: clock})
		t.Cleanup(func() { s.Close() })
		f.st = s
	case "file":
		s, err := filestore.Open(filepath.Join(t.TempDir(), "oauth.db"), &filestore.Options{Now: clock})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		f.st = s
	case "redis":
		f.prefix = "flood:" + t.Name() + ":"
		s, err := redisstore.New(rs.Client, &redisstore.Options{Prefix: f.prefix, Now: clock})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		f.st, f.rdb = s, rs.Client
	}
	regLimit := oauthRegistrationLimit
	if limits == unlimited {
		regLimit = -1
	}
	ts := httptest.NewUnstartedServer(nil)
	f.issuer = "http://" + ts.Listener.Addr().String()
	idp, _ := oauth.NewDevLogin(nil)
	srv, err := oauth.NewServer(context.Background(), f.issuer, f.st, idp, &oauth.Options{
		Policy: oauth.ParsePolicy("alice"), SigningAlgorithm: oauth.ES256, Now: clock,
		Logger:                   slog.New(slog.NewTextHandler(io.Discard, nil)),
		Limits:                   limits,
		RegistrationLimit:        regLimit,
		TrustedProxies:           mustPrefixes(t, proxyAddr),
		ClientMetadataHTTPClient: docs.fetcher,
	})
	if err != nil {
		t.Fatal(err)
	}
	f.srv = srv
	ts.Config.Handler = srv
	ts.Start()
	t.Cleanup(ts.Close)
	f.docsBase = docs.fetches.Load()
	return f
}

func mustPrefixes(t *testing.T, s string) []netip.Prefix {
	p, err := oauth.ParseTrustedProxies(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// client is an HTTP client whose connections leave from the local address
// addr, following no redirects.
func (f *flood) client(addr string) *http.Client {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c, ok := f.clients[addr]; ok {
		return c
	}
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(addr)}, Timeout: 10 * time.Second}
	tr := &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: floodWorkers}
	c := &http.Client{Transport: tr, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if addr == normalAddr { // the browser of the normal flow keeps cookies
		c.Jar, _ = cookiejar.New(nil)
	}
	f.clients[addr] = c
	f.t.Cleanup(tr.CloseIdleConnections)
	return c
}

func (f *flood) closeIdle() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.clients {
		c.CloseIdleConnections()
	}
}

func (f *flood) challenge() string {
	sum := sha256.Sum256([]byte(f.verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func (f *flood) authQuery(clientID, state string) url.Values {
	q := url.Values{"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {"http://127.0.0.1:9/cb"},
		"code_challenge": {f.challenge()}, "code_challenge_method": {"S256"}, "resource": {"https://mcp.example.com/mcp"}}
	if state != "" {
		q.Set("state", state)
	}
	return q
}

// registerClient registers a public client from addr and returns its id.
func (f *flood) registerClient(t *testing.T, addr string, extra map[string]any) string {
	meta := map[string]any{"client_name": "setup", "redirect_uris": []string{"http://127.0.0.1:9/cb"}, "token_endpoint_auth_method": "none"}
	for k, v := range extra {
		meta[k] = v
	}
	b, _ := json.Marshal(meta)
	resp, err := f.client(addr).Post(f.issuer+"/register", "application/json", strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil || resp.StatusCode != 201 {
		t.Fatalf("register: %d %v %v", resp.StatusCode, m, err)
	}
	return m["client_id"].(string)
}

// fire sends n requests of ep, floodWorkers at a time: from the flood
// addresses with a spoofed X-Forwarded-For, or (viaProxy) from the trusted
// proxy for a new IPv6 /64 each. Every answer must be a success, 429 or
// 503: never a server error.
func (f *flood) fire(t *testing.T, ep floodEndpoint, target string, n int, viaProxy bool) {
	var next atomic.Int64
	var wg sync.WaitGroup
	var bad atomic.Value
	for range floodWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1))
				if i > n || bad.Load() != nil {
					return
				}
				req := ep.request(f, target, i)
				from := fmt.Sprintf("127.1.0.%d", 1+i%floodAddrs)
				req.Header.Set("X-Forwarded-For", fmt.Sprintf("2001:db8:ffff:%x::1", i))
				if viaProxy {
					from = proxyAddr
					req.Header.Set("X-Forwarded-For", fmt.Sprintf("2001:db8:%x:%x::1", i>>16, i&0xffff))
				}
				resp, err := f.client(from).Do(req)
				if err != nil {
					bad.Store(err.Error())
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				switch resp.StatusCode {
				case 200, 201, 400, 429, 503: // 400: a client_id URL whose document does not exist
				default:
					bad.Store(fmt.Sprintf("%s: status %d", req.URL.Path, resp.StatusCode))
					return
				}
			}
		}()
	}
	wg.Wait()
	if v := bad.Load(); v != nil {
		t.Fatalf("flood: %v", v)
	}
}

// status sends req from addr and returns the status and Retry-After.
func (f *flood) status(t *testing.T, addr string, req *http.Request) (int, int) {
	resp, err := f.client(addr).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	retry, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
	return resp.StatusCode, retry
}

var hiddenInput = regexp.MustCompile(`<input type="hidden" name="([a-z]+)" value="([^"]*)">`)

// normalFlow is a user's client on its own address: registration, the
// authorization with consent and login, the code exchange.
func (f *flood) normalFlow() error {
	c := f.client(normalAddr)
	b, _ := json.Marshal(map[string]any{"client_name": "normal", "redirect_uris": []string{"http://127.0.0.1:9/cb"}, "token_endpoint_auth_method": "none"})
	resp, err := c.Post(f.issuer+"/register", "application/json", strings.NewReader(string(b)))
	if err != nil {
		return err
	}
	var reg map[string]any
	err = json.NewDecoder(resp.Body).Decode(&reg)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 201 {
		return fmt.Errorf("register: %d %v", resp.StatusCode, err)
	}
	id := reg["client_id"].(string)
	page, resp, err := get(c, f.issuer+"/authorize?"+f.authQuery(id, "normal").Encode())
	if err != nil || resp.StatusCode != 200 {
		return fmt.Errorf("authorize: %v %v", resp.StatusCode, err)
	}
	form := url.Values{"decision": {"approve"}}
	for _, m := range hiddenInput.FindAllStringSubmatch(page, -1) {
		form.Set(m[1], m[2])
	}
	resp, err = c.PostForm(f.issuer+"/consent", form)
	if err != nil || resp.StatusCode != http.StatusSeeOther {
		return fmt.Errorf("consent: %v %v", resp.StatusCode, err)
	}
	resp.Body.Close()
	login, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		return err
	}
	resp, err = c.PostForm(f.issuer+"/login", url.Values{"state": {login.Query().Get("state")}, "login": {"alice"}})
	if err != nil || resp.StatusCode != http.StatusSeeOther {
		return fmt.Errorf("login: %v %v", resp.StatusCode, err)
	}
	resp.Body.Close()
	_, resp, err = get(c, resp.Header.Get("Location"))
	if err != nil || resp.StatusCode != http.StatusFound {
		return fmt.Errorf("callback: %v %v", resp.StatusCode, err)
	}
	back, _ := url.Parse(resp.Header.Get("Location"))
	code := back.Query().Get("code")
	if code == "" {
		return fmt.Errorf("no code in %s", back)
	}
	resp, err = c.PostForm(f.issuer+"/token", url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {"http://127.0.0.1:9/cb"}, "code_verifier": {f.verifier}, "client_id": {id}})
	if err != nil {
		return err
	}
	var tok map[string]any
	err = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || tok["access_token"] == nil || tok["refresh_token"] == nil {
		return fmt.Errorf("token: %d %v %v", resp.StatusCode, tok, err)
	}
	return nil
}

func get(c *http.Client, u string) (string, *http.Response, error) {
	resp, err := c.Get(u)
	if err != nil {
		return "", &http.Response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), resp, err
}

// ---- measuring ----

type floodFigures struct {
	requests  int
	state     int
	heap      uint64 // live heap after GC
	fileBytes int64
	redisMem  int64
	redisKeys int64
}

func (g floodFigures) String() string {
	s := fmt.Sprintf("state %5d, live heap %6.1f MB", g.state, float64(g.heap)/1e6)
	if g.fileBytes > 0 {
		s += fmt.Sprintf(", file %6.2f MB", float64(g.fileBytes)/1e6)
	}
	if g.redisMem > 0 {
		s += fmt.Sprintf(", redis used_memory %6.2f MB, keys %d", float64(g.redisMem)/1e6, g.redisKeys)
	}
	return s
}

func (f *flood) measure(ep floodEndpoint) floodFigures {
	f.closeIdle()
	g := floodFigures{state: ep.state(f), heap: liveHeap()}
	if fs, ok := f.st.(*filestore.Store); ok {
		st, err := fs.Stats()
		if err != nil {
			f.t.Fatal(err)
		}
		g.fileBytes = st.FileBytes
	}
	if f.rdb != nil {
		info, err := f.rdb.Info(context.Background(), "memory").Result()
		if err != nil {
			f.t.Fatal(err)
		}
		for _, line := range strings.Split(info, "\n") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "used_memory:"); ok {
				g.redisMem, _ = strconv.ParseInt(v, 10, 64)
			}
		}
		g.redisKeys = int64(f.redisCount(""))
	}
	return g
}

// count is how many records of a kind the store holds.
func (f *flood) count(kind string) int {
	switch s := f.st.(type) {
	case *oauth.MemoryStore:
		st := s.Stats()
		return map[string]int{"pending": st.Pending, "clients": st.Clients, "devices": st.Devices}[kind]
	case *filestore.Store:
		st, err := s.Stats()
		if err != nil {
			f.t.Fatal(err)
		}
		return st.Records[kind]
	}
	return f.redisCount(map[string]string{"pending": "pending:", "clients": "client:", "devices": "{dev}:d:"}[kind])
}

// redisCount counts the keys of the store that start with prefix.
func (f *flood) redisCount(prefix string) int {
	n := 0
	iter := f.rdb.Scan(context.Background(), 0, f.prefix+prefix+"*", 1000).Iterator()
	for iter.Next(context.Background()) {
		n++
	}
	if err := iter.Err(); err != nil {
		f.t.Fatal(err)
	}
	return n
}

func liveHeap() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// samplePeak samples the heap in use every 20 ms until the returned
// function is called, which returns the peak.
func (f *flood) samplePeak() func() uint64 {
	var peak atomic.Uint64
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			if m.HeapAlloc > peak.Load() {
				peak.Store(m.HeapAlloc)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 {
		close(done)
		<-stopped
		return peak.Load()
	}
}

// ---- the document server ----

// floodDocs answers 404 to every client_id URL, and counts the fetches.
type floodDocs struct {
	*httptest.Server
	fetcher *http.Client
	fetches atomic.Int64
	next    atomic.Int64
}

func newFloodDocs(t *testing.T) *floodDocs {
	d := &floodDocs{}
	d.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d.fetches.Add(1)
		http.NotFound(w, r)
	}))
	t.Cleanup(d.Close)
	pool := x509.NewCertPool()
	pool.AddCert(d.Certificate())
	c, err := safehttp.NewClient(&safehttp.Options{UnsafeAllowLoopback: true, TLSConfig: &tls.Config{RootCAs: pool}})
	if err != nil {
		t.Fatal(err)
	}
	d.fetcher = c
	return d
}

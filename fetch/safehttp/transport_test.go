package safehttp

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// publicIP is what test names resolve to when they should look public. No
// packet is ever sent to it: testNet routes every dial to loopback.
const publicIP = "93.184.215.14"

// fakeResolver answers from a table; unknown names do not exist.
type fakeResolver struct {
	mu    sync.Mutex
	names map[string][]string
	// seq, when set for a name, answers successive lookups in turn (for
	// DNS rebinding); the last answer repeats.
	seq     map[string][][]string
	lookups map[string]int
}

func (r *fakeResolver) LookupNetIP(_ context.Context, network, host string) ([]netip.Addr, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.lookups == nil {
		r.lookups = map[string]int{}
	}
	n := r.lookups[host]
	r.lookups[host]++
	answers, ok := r.names[host]
	if s := r.seq[host]; len(s) > 0 {
		answers, ok = s[min(n, len(s)-1)], true
	}
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	var out []netip.Addr
	for _, a := range answers {
		out = append(out, netip.MustParseAddr(a))
	}
	return out, nil
}

// testNet replaces a Transport's dialer: every connection, whatever address
// the guard let through, goes to a loopback listener chosen by route, and
// is recorded. So a guard failure shows as a connection on the trap
// listener, and no test ever sends a packet off loopback.
type testNet struct {
	mu    sync.Mutex
	dials []string
	route func(addr string) string
}

func (n *testNet) install(t *Transport) {
	t.dialAddr = func(ctx context.Context, network, addr string) (net.Conn, error) {
		n.mu.Lock()
		n.dials = append(n.dials, addr)
		n.mu.Unlock()
		var d net.Dialer
		return d.DialContext(ctx, "tcp", n.route(addr))
	}
}

func (n *testNet) dialed() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.dials...)
}

// trap is a loopback TCP listener that must never be connected to.
type trap struct {
	ln       net.Listener
	accepted atomic.Int32
}

func newTrap(t *testing.T) *trap {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tr := &trap{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			tr.accepted.Add(1)
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return tr
}

func (tr *trap) port() int { return tr.ln.Addr().(*net.TCPAddr).Port }

func serverPort(t *testing.T, s *httptest.Server) int {
	t.Helper()
	u, _ := url.Parse(s.URL)
	p, _ := strconv.Atoi(u.Port())
	return p
}

func TestGuardRefusals(t *testing.T) {
	tr := newTrap(t)
	P := strconv.Itoa(tr.port())
	var redirectorHits atomic.Int32
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		redirectorHits.Add(1)
		http.Redirect(w, r, r.URL.Query().Get("to"), http.StatusFound)
	}))
	defer redirector.Close()
	RP := strconv.Itoa(serverPort(t, redirector))

	res := &fakeResolver{names: map[string][]string{
		"public.example":           {publicIP},
		"rebind.attacker.example":  {"127.0.0.1"},
		"mixed.example":            {publicIP, "10.0.0.1"},
		"v6loop.example":           {"::1"},
		"mapped.example":           {"::ffff:169.254.169.254"},
		"metadata.google.internal": {"169.254.169.254"},
		"ula.example":              {"fd12:3456::1"},
		"cgnat.example":            {"100.64.1.1"},
	}}
	tp, err := NewTransport(&Options{Resolver: res, BlockedDomains: []string{"blocked.example"}})
	if err != nil {
		t.Fatal(err)
	}
	network := &testNet{route: func(addr string) string {
		if addr == net.JoinHostPort(publicIP, RP) {
			return redirector.Listener.Addr().String()
		}
		return tr.ln.Addr().String()
	}}
	network.install(tp)
	client := tp.Client()
	redirect := func(to string) string {
		return "http://public.example:" + RP + "/r?to=" + url.QueryEscape(to)
	}

	cases := []struct {
		url, want string
	}{
		// Loopback, in every spelling.
		{"http://127.0.0.1:" + P + "/", "loopback"},
		{"http://127.0.0.2:" + P + "/", "loopback"},
		{"http://127.255.255.254:" + P + "/", "loopback"},
		{"http://2130706433:" + P + "/", "loopback"},
		{"http://0x7f000001:" + P + "/", "loopback"},
		{"http://0177.0.0.1:" + P + "/", "loopback"},
		{"http://0x7f.0.0.1:" + P + "/", "loopback"},
		{"http://017700000001:" + P + "/", "loopback"},
		{"http://127.1:" + P + "/", "loopback"},
		{"http://127.0.1:" + P + "/", "loopback"},
		{"http://0x7F.1:" + P + "/", "loopback"},
		{"http://127.000.000.001:" + P + "/", "loopback"},
		{"http://127.0.0.1.:" + P + "/", "loopback"},
		{"http://localhost:" + P + "/", "loopback"},
		{"http://LOCALHOST.:" + P + "/", "loopback"},
		{"http://api.localhost:" + P + "/", "loopback"},
		{"http://ⓛⓞⓒⓐⓛⓗⓞⓢⓣ:" + P + "/", "loopback"},
		{"http://１２７.０.０.１:" + P + "/", "loopback"},
		{"http://127。0。0。1:" + P + "/", "loopback"},
		{"http://user:pass@127.0.0.1:" + P + "/", "loopback"},
		{"http://public.example@127.0.0.1:" + P + "/", "loopback"},
		{"http://public.example:" + P + "@127.0.0.1:" + P + "/", "loopback"},
		{"http://[::1]:" + P + "/", "loopback"},
		{"http://[0:0:0:0:0:0:0:1]:" + P + "/", "loopback"},
		{"http://[::ffff:127.0.0.1]:" + P + "/", "IPv4-mapped form of 127.0.0.1 (loopback)"},
		{"http://[::ffff:7f00:1]:" + P + "/", "IPv4-mapped form of 127.0.0.1"},
		{"http://[::127.0.0.1]:" + P + "/", "IPv4-compatible"},
		{"http://[64:ff9b::127.0.0.1]:" + P + "/", "NAT64 form of 127.0.0.1"},
		{"http://[2002:7f00:1::]:" + P + "/", "6to4 form of 127.0.0.1"},
		{"http://[::ffff:0:7f00:1]:" + P + "/", "IPv4-translated"},
		// Unspecified.
		{"http://0.0.0.0:" + P + "/", "unspecified"},
		{"http://0:" + P + "/", "unspecified"},
		{"http://[::]:" + P + "/", "unspecified"},
		// Private networks, CGNAT, ULA.
		{"http://10.0.0.1:" + P + "/", "private network"},
		{"http://10.255.255.255:" + P + "/", "private network"},
		{"http://172.16.0.1:" + P + "/", "private network"},
		{"http://172.31.255.255:" + P + "/", "private network"},
		{"http://192.168.1.1:" + P + "/", "private network"},
		{"http://3232235777:" + P + "/", "private network"},
		{"http://[::ffff:192.168.1.1]:" + P + "/", "IPv4-mapped form of 192.168.1.1 (private network)"},
		{"http://[64:ff9b::a00:1]:" + P + "/", "NAT64 form of 10.0.0.1"},
		{"http://[2002:c0a8:101::1]:" + P + "/", "6to4 form of 192.168.1.1"},
		{"http://[64:ff9b:1::1]:" + P + "/", "local-use NAT64"},
		{"http://[fd00::1]:" + P + "/", "unique local"},
		{"http://[fc00::1]:" + P + "/", "unique local"},
		{"http://100.64.0.1:" + P + "/", "carrier-grade NAT"},
		{"http://100.127.255.254:" + P + "/", "carrier-grade NAT"},
		// Link-local and cloud metadata.
		{"http://169.254.169.254:" + P + "/latest/meta-data/", "cloud metadata"},
		{"http://169.254.169.254/latest/meta-data/", "cloud metadata"},
		{"http://0xa9fea9fe:" + P + "/", "cloud metadata"},
		{"http://169.254.170.2:" + P + "/v2/credentials", "cloud metadata"},
		{"http://169.254.1.1:" + P + "/", "link-local"},
		{"http://[fe80::1]:" + P + "/", "link-local"},
		{"http://[fe80::1%25eth0]:" + P + "/", "link-local"},
		{"http://[fd00:ec2::254]:" + P + "/", "cloud metadata"},
		{"http://100.100.100.200:" + P + "/", "cloud metadata"},
		{"http://168.63.129.16:" + P + "/", "Azure WireServer"},
		{"http://[::ffff:a9fe:a9fe]:" + P + "/", "cloud metadata"},
		// Benchmarking, documentation, multicast, reserved.
		{"http://198.18.0.1:" + P + "/", "benchmarking"},
		{"http://198.19.255.255:" + P + "/", "benchmarking"},
		{"http://192.0.2.1:" + P + "/", "documentation"},
		{"http://198.51.100.7:" + P + "/", "documentation"},
		{"http://203.0.113.9:" + P + "/", "documentation"},
		{"http://[2001:db8::1]:" + P + "/", "documentation"},
		{"http://[3fff::1]:" + P + "/", "documentation"},
		{"http://[2001:2::1]:" + P + "/", "benchmarking"},
		{"http://224.0.0.1:" + P + "/", "multicast"},
		{"http://239.255.255.250:" + P + "/", "multicast"},
		{"http://[ff02::1]:" + P + "/", "multicast"},
		{"http://240.0.0.1:" + P + "/", "reserved"},
		{"http://255.255.255.255:" + P + "/", "reserved"},
		{"http://192.0.0.170:" + P + "/", "IETF protocol"},
		{"http://192.88.99.1:" + P + "/", "6to4 relay"},
		{"http://[2001::1]:" + P + "/", "Teredo"},
		{"http://[100::1]:" + P + "/", "discard-only"},
		{"http://[fec0::1]:" + P + "/", "site-local"},
		{"http://[4000::1]:" + P + "/", "reserved IPv6"},
		// Malformed numeric hosts.
		{"http://1.2.3.4.5:" + P + "/", "malformed IP"},
		{"http://256.0.0.1:" + P + "/", "malformed IP"},
		// Names whose addresses are refused (DNS rebinding included).
		{"http://rebind.attacker.example:" + P + "/", "loopback"},
		{"http://mixed.example:" + P + "/", "private network"},
		{"http://v6loop.example:" + P + "/", "loopback"},
		{"http://mapped.example:" + P + "/", "cloud metadata"},
		{"http://metadata.google.internal:" + P + "/computeMetadata/v1/", "cloud metadata"},
		{"http://ula.example:" + P + "/", "unique local"},
		{"http://cgnat.example:" + P + "/", "carrier-grade NAT"},
		// A public-looking first hop redirecting inward.
		{redirect("http://127.0.0.1:" + P + "/"), "loopback"},
		{redirect("http://rebind.attacker.example:" + P + "/"), "loopback"},
		{redirect("http://[::ffff:127.0.0.1]:" + P + "/"), "IPv4-mapped"},
		{redirect("http://169.254.169.254/latest/meta-data/"), "cloud metadata"},
		{redirect("http://2130706433:" + P + "/"), "loopback"},
		{redirect("file:///etc/passwd"), `scheme "file" not allowed`},
		// Schemes, ports and domain lists.
		{"file:///etc/passwd", `scheme "file" not allowed`},
		{"gopher://public.example:" + P + "/", `scheme "gopher" not allowed`},
		{"ftp://public.example:" + P + "/", `scheme "ftp" not allowed`},
		{"http://public.example:22/", "port 22 not allowed"},
		{"http://public.example:25/", "port 25 not allowed"},
		{"https://public.example:1024/", "port 1024 not allowed"},
		{"http://blocked.example:" + P + "/", "domain is blocked"},
		{"http://www.Blocked.Example.:" + P + "/", "domain is blocked"},
	}
	if len(cases) < 60 {
		t.Fatalf("only %d refusal cases", len(cases))
	}
	for _, c := range cases {
		t.Run(c.url, func(t *testing.T) {
			resp, err := client.Get(c.url)
			if err == nil {
				resp.Body.Close()
				t.Fatalf("GET %s: status %s, want a refusal", c.url, resp.Status)
			}
			if !errors.Is(err, ErrRefused) {
				t.Fatalf("GET %s: error %v, want ErrRefused", c.url, err)
			}
			var re *RefusedError
			if !errors.As(err, &re) || !strings.Contains(re.Error(), c.want) {
				t.Fatalf("GET %s: error %v, want it to mention %q", c.url, err, c.want)
			}
		})
	}
	if n := tr.accepted.Load(); n != 0 {
		t.Errorf("the trap listener saw %d connections", n)
	}
	for _, d := range network.dialed() {
		if d != net.JoinHostPort(publicIP, RP) {
			t.Errorf("dialed %s; only the public redirector may be dialed", d)
		}
	}
	if got := redirectorHits.Load(); got != 6 {
		t.Errorf("redirector saw %d requests, want 6 (one per redirect case)", got)
	}
}

func TestCheckIPPublic(t *testing.T) {
	for _, s := range []string{
		"8.8.8.8", "1.1.1.1", publicIP, "11.0.0.1", "126.255.255.255", "128.0.0.1",
		"100.63.255.255", "100.128.0.0", "169.253.255.255", "169.255.0.1",
		"172.15.255.255", "172.32.0.0", "192.167.255.255", "192.169.0.0",
		"198.17.255.255", "198.20.0.0", "223.255.255.255", "192.0.3.1",
		"2606:4700:4700::1111", "2001:4860:4860::8888", "2a00:1450:4001:80b::200e",
		"::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1",
	} {
		if err := CheckIP(netip.MustParseAddr(s)); err != nil {
			t.Errorf("CheckIP(%s) = %v, want nil", s, err)
		}
	}
}

func TestCheckIPRefusesEachFamily(t *testing.T) {
	for _, r := range append(append(append([]rangeRule{}, metadataRules...), ipv4Rules...), ipv6Rules...) {
		ip := r.prefix.Addr()
		if r.embed != embedNone && r.embed != embedCompat {
			continue // their verdict is the embedded address's
		}
		if err := CheckIP(ip); !errors.Is(err, ErrRefused) {
			t.Errorf("CheckIP(%s) in %s = %v, want refused", ip, r.what, err)
		}
		last := lastAddr(r.prefix)
		if err := CheckIP(last); !errors.Is(err, ErrRefused) {
			t.Errorf("CheckIP(%s) (end of %s) = %v, want refused", last, r.what, err)
		}
	}
}

func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

func TestOperatorSwitches(t *testing.T) {
	private, err := NewTransport(&Options{AllowPrivateAddresses: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"10.1.2.3", "172.20.0.1", "192.168.0.10", "100.64.0.1", "fd00::1", "::ffff:10.0.0.1"} {
		if err := private.CheckIP(netip.MustParseAddr(s)); err != nil {
			t.Errorf("AllowPrivateAddresses: CheckIP(%s) = %v, want allowed", s, err)
		}
	}
	for _, s := range []string{"127.0.0.1", "::1", "169.254.169.254", "100.100.100.200", "fd00:ec2::254", "0.0.0.0", "224.0.0.1"} {
		if err := private.CheckIP(netip.MustParseAddr(s)); err == nil {
			t.Errorf("AllowPrivateAddresses: CheckIP(%s) allowed, want refused", s)
		}
	}
	loop, err := NewTransport(&Options{UnsafeAllowLoopback: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := loop.CheckIP(netip.MustParseAddr("127.0.0.1")); err != nil {
		t.Errorf("UnsafeAllowLoopback: 127.0.0.1 refused: %v", err)
	}
	if err := loop.CheckIP(netip.MustParseAddr("10.0.0.1")); err == nil {
		t.Error("UnsafeAllowLoopback alone allowed 10.0.0.1")
	}
}

func TestPublicNameIsFetched(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello from %s", r.Host)
	}))
	defer srv.Close()
	port := strconv.Itoa(serverPort(t, srv))
	tp, err := NewTransport(&Options{Resolver: &fakeResolver{names: map[string][]string{"public.example": {publicIP}}}})
	if err != nil {
		t.Fatal(err)
	}
	network := &testNet{route: func(string) string { return srv.Listener.Addr().String() }}
	network.install(tp)
	for _, u := range []string{"http://public.example:" + port + "/", "http://" + publicIP + ":" + port + "/", "http://PUBLIC.example.:" + port + "/"} {
		resp, err := tp.Client().Get(u)
		if err != nil {
			t.Fatalf("GET %s: %v", u, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.HasPrefix(string(body), "hello from ") {
			t.Errorf("GET %s: body %q", u, body)
		}
	}
	for _, d := range network.dialed() {
		if d != net.JoinHostPort(publicIP, port) {
			t.Errorf("dialed %s, want only the checked address %s", d, net.JoinHostPort(publicIP, port))
		}
	}
}

func TestDNSRebindingBetweenConnections(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer srv.Close()
	port := strconv.Itoa(serverPort(t, srv))
	res := &fakeResolver{seq: map[string][][]string{"flip.example": {{publicIP}, {"127.0.0.1"}}}}
	tp, err := NewTransport(&Options{Resolver: res})
	if err != nil {
		t.Fatal(err)
	}
	network := &testNet{route: func(string) string { return srv.Listener.Addr().String() }}
	network.install(tp)
	u := "http://flip.example:" + port + "/"
	resp, err := tp.Client().Get(u)
	if err != nil {
		t.Fatalf("first GET: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	tp.CloseIdleConnections()
	_, err = tp.Client().Get(u)
	if !errors.Is(err, ErrRefused) {
		t.Fatalf("second GET after the name rebound to loopback: %v, want refused", err)
	}
	if n := len(network.dialed()); n != 1 {
		t.Errorf("%d dials, want 1", n)
	}
}

func TestDomainLists(t *testing.T) {
	tp, err := NewTransport(&Options{
		AllowedDomains: []string{"example.com", "*.docs.example.org", "bücher.example"},
		BlockedDomains: []string{"private.example.com"},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		url string
		ok  bool
	}{
		{"https://example.com/", true},
		{"https://www.example.com/a", true},
		{"https://EXAMPLE.COM./", true},
		{"https://a.b.docs.example.org/", true},
		{"https://docs.example.org/", true},
		{"https://xn--bcher-kva.example/", true},
		{"https://bücher.example/", true},
		{"https://notexample.com/", false},
		{"https://example.com.evil.net/", false},
		{"https://private.example.com/", false},
		{"https://x.private.example.com/", false},
		{"https://example.org/", false},
		{"https://" + publicIP + "/", false},
	} {
		u, err := url.Parse(c.url)
		if err != nil {
			t.Fatal(err)
		}
		err = tp.CheckURL(u)
		if (err == nil) != c.ok {
			t.Errorf("CheckURL(%s) = %v, want ok=%v", c.url, err, c.ok)
		}
	}
}

func TestAllowedPortsAndSchemes(t *testing.T) {
	tp, err := NewTransport(&Options{AllowedPorts: []int{443, 8443}, AllowedSchemes: []string{"HTTPS"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		url string
		ok  bool
	}{
		{"https://example.com/", true},
		{"https://example.com:8443/", true},
		{"https://example.com:8080/", false},
		{"http://example.com/", false},
		{"http://example.com:443/", false},
	} {
		u, _ := url.Parse(c.url)
		if err := tp.CheckURL(u); (err == nil) != c.ok {
			t.Errorf("CheckURL(%s) = %v, want ok=%v", c.url, err, c.ok)
		}
	}
	for _, bad := range []*Options{
		{AllowedSchemes: []string{"file"}},
		{AllowedPorts: []int{0}},
		{AllowedPorts: []int{70000}},
		{MaxBodyBytes: -1},
		{Timeout: -time.Second},
		{Proxy: &url.URL{Scheme: "socks5", Host: "127.0.0.1:1080"}},
		{AllowedDomains: []string{"bad..name\x00"}},
	} {
		if _, err := NewTransport(bad); err == nil {
			t.Errorf("NewTransport(%+v) accepted a bad option", bad)
		}
	}
}

func TestControlChecksConnectedAddress(t *testing.T) {
	tp, err := NewTransport(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		addr string
		ok   bool
	}{
		{"127.0.0.1:8080", false},
		{"[::1]:443", false},
		{"[::ffff:127.0.0.1]:443", false},
		{"10.0.0.1:443", false},
		{publicIP + ":22", false},
		{publicIP + ":443", true},
		{"[2606:4700:4700::1111]:443", true},
	} {
		if err := tp.control("tcp", c.addr, nil); (err == nil) != c.ok {
			t.Errorf("control(%s) = %v, want ok=%v", c.addr, err, c.ok)
		}
	}
	// The real dialer runs control before connecting: a loopback connection
	// fails even though no name resolution or URL check happened.
	tr := newTrap(t)
	if c, err := tp.dialAddr(context.Background(), "tcp", tr.ln.Addr().String()); err == nil {
		c.Close()
		t.Fatal("the checked dialer connected to loopback")
	}
	if tr.accepted.Load() != 0 {
		t.Error("the trap saw a connection")
	}
}

func TestRedirectCap(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := hits.Add(1)
		http.Redirect(w, r, fmt.Sprintf("/hop%d", n), http.StatusFound)
	}))
	defer srv.Close()
	client, err := NewClient(&Options{UnsafeAllowLoopback: true, MaxRedirects: 3})
	if err != nil {
		t.Fatal(err)
	}
	_, err = client.Get(srv.URL)
	if !errors.Is(err, ErrTooManyRedirects) {
		t.Fatalf("err = %v, want ErrTooManyRedirects", err)
	}
	if got := hits.Load(); got != 4 {
		t.Errorf("server saw %d requests, want 4 (first + 3 redirects)", got)
	}
	none, _ := NewClient(&Options{UnsafeAllowLoopback: true, MaxRedirects: -1})
	resp, err := none.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Errorf("MaxRedirects -1: status %d, want 302", resp.StatusCode)
	}
}

func TestBodyCap(t *testing.T) {
	payload := bytes.Repeat([]byte("a"), 5000)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(payload[:atoi(r.URL.Query().Get("n"))])
	}))
	defer srv.Close()
	client, err := NewClient(&Options{UnsafeAllowLoopback: true, MaxBodyBytes: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		n       int
		tooBig  bool
		gotSize int
	}{{999, false, 999}, {1000, false, 1000}, {1001, true, 1000}, {5000, true, 1000}} {
		resp, err := client.Get(srv.URL + "?n=" + strconv.Itoa(c.n))
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if errors.Is(err, ErrBodyTooLarge) != c.tooBig || len(body) != c.gotSize {
			t.Errorf("n=%d: read %d bytes, err %v; want %d bytes, too large %v", c.n, len(body), err, c.gotSize, c.tooBig)
		}
	}
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

func TestDecompressionBombCapped(t *testing.T) {
	// 16 MiB of zeros gzip to about 70 KiB.
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestSpeed)
	zeros := make([]byte, 1<<20)
	for range 16 {
		zw.Write(zeros)
	}
	zw.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Set("Content-Type", "text/plain")
		w.Write(gz.Bytes())
	}))
	defer srv.Close()
	client, err := NewClient(&Options{UnsafeAllowLoopback: true, MaxBodyBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if !errors.Is(err, ErrBodyTooLarge) || n != 1<<20 {
		t.Fatalf("read %d bytes, err %v; want exactly 1 MiB then ErrBodyTooLarge", n, err)
	}
}

func TestTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("partial"))
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	client, err := NewClient(&Options{UnsafeAllowLoopback: true, Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	resp, err := client.Get(srv.URL)
	if err == nil {
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if err == nil {
		t.Fatal("a body that never ends was read without error")
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("gave up after %v", el)
	}
}

// connectProxy is a minimal CONNECT proxy on loopback that records the
// targets it was asked for and tunnels to them.
func connectProxy(t *testing.T) (addr string, targets func() []string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var mu sync.Mutex
	var seen []string
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				req, err := http.ReadRequest(br)
				if err != nil {
					return
				}
				mu.Lock()
				seen = append(seen, req.Method+" "+req.Host+" auth="+req.Header.Get("Proxy-Authorization"))
				mu.Unlock()
				if req.Method != http.MethodConnect {
					io.WriteString(c, "HTTP/1.1 405 Method Not Allowed\r\n\r\n")
					return
				}
				up, err := net.Dial("tcp", req.Host)
				if err != nil {
					io.WriteString(c, "HTTP/1.1 502 Bad Gateway\r\n\r\n")
					return
				}
				defer up.Close()
				io.WriteString(c, "HTTP/1.1 200 Connection Established\r\n\r\n")
				go io.Copy(up, br)
				io.Copy(c, up)
			}()
		}
	}()
	return ln.Addr().String(), func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), seen...)
	}
}

func TestProxyNeverBypassesGuard(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "via proxy: "+r.Host)
	}))
	defer srv.Close()
	port := strconv.Itoa(serverPort(t, srv))
	proxyAddr, targets := connectProxy(t)
	proxyURL := &url.URL{Scheme: "http", Host: proxyAddr, User: url.UserPassword("op", "secret")}
	res := &fakeResolver{names: map[string][]string{"inside.example": {"127.0.0.1"}}}

	strict, err := NewClient(&Options{Proxy: proxyURL, Resolver: res})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"http://inside.example:" + port + "/", "http://127.0.0.1:" + port + "/", "http://10.0.0.1:" + port + "/"} {
		if _, err := strict.Get(u); !errors.Is(err, ErrRefused) {
			t.Errorf("GET %s through the proxy: %v, want refused", u, err)
		}
	}
	if got := targets(); len(got) != 0 {
		t.Fatalf("the proxy was asked for %v; refused destinations must never reach it", got)
	}

	// With loopback allowed (test only), the proxy is asked for the checked
	// IP address, never the name, so it cannot resolve it differently.
	loose, err := NewClient(&Options{Proxy: proxyURL, Resolver: res, UnsafeAllowLoopback: true})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := loose.Get("http://inside.example:" + port + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "via proxy: inside.example:"+port {
		t.Errorf("body %q", body)
	}
	got := targets()
	want := "CONNECT 127.0.0.1:" + port + " auth=Basic b3A6c2VjcmV0"
	if len(got) != 1 || got[0] != want {
		t.Errorf("proxy saw %q, want [%q]", got, want)
	}
}

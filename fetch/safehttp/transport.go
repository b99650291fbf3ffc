package safehttp

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Defaults of Options fields.
const (
	DefaultMaxBodyBytes = 10 << 20
	DefaultTimeout      = 30 * time.Second
	DefaultMaxRedirects = 5
)

// Resolver looks up the IP addresses of a host name. *net.Resolver
// implements it; tests inject their own so no test touches real DNS.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Options configure a guarded Transport and Client. A nil
// *Options means all defaults; each field documents its zero value.
//
// The guard decides on every connection, at dial time, on the IP address
// actually connected to, for the first request and every redirect hop:
// loopback, private, link-local, carrier-grade NAT, benchmarking,
// documentation, multicast, reserved and unspecified addresses, the cloud
// metadata addresses, and the IPv4-mapped, NAT64 and 6to4 forms of all of
// them are refused, however the URL spelled the host (decimal, octal, hex
// and short IPv4 forms, trailing dots, userinfo, IDN). A name is resolved
// once per connection and refused when any of its addresses is refused, so
// DNS rebinding gains nothing.
type Options struct {
	// AllowedSchemes restricts URL schemes to a subset of http and https.
	// Zero: http and https. Other schemes are refused in any case.
	AllowedSchemes []string
	// AllowedPorts lists the destination ports allowed. Zero: 80, 443 and
	// every port above 1024 (on addresses the guard allows; low ports such
	// as 22, 25 or 6379... are where internal services listen).
	AllowedPorts []int
	// AllowedDomains, when set, restricts destinations to these domains and
	// their subdomains ("example.com" allows example.com and
	// www.example.com). IP address hosts must be listed literally. Zero:
	// every domain.
	AllowedDomains []string
	// BlockedDomains refuses these domains and their subdomains. Zero: none.
	BlockedDomains []string

	// AllowPrivateAddresses lets connections reach private networks
	// (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7). It is the operator
	// switch for a fetch service meant for an internal network. Loopback,
	// link-local and the cloud metadata addresses stay refused. Zero: off.
	AllowPrivateAddresses bool
	// UnsafeAllowLoopback lets connections reach loopback addresses
	// (127/8, ::1). It exists for tests that serve documents from
	// httptest; never turn it on in production, where it exposes every
	// service listening on the host. Zero: off.
	UnsafeAllowLoopback bool

	// MaxRedirects caps the redirects a Client follows; each hop is checked
	// like the first request. Zero: 5. Negative: redirects are not followed
	// (the 3xx response is returned).
	MaxRedirects int
	// MaxBodyBytes caps every response body after decompression: reading
	// past it fails with ErrBodyTooLarge once the bytes up to the cap were
	// delivered. This caps decompression bombs too. Zero: 10 MiB.
	MaxBodyBytes int64
	// Timeout is the Client's total time limit for a request, redirects
	// and reading the body included. Zero: 30 s.
	Timeout time.Duration

	// Proxy, when set, sends every request through this HTTP proxy
	// (http://[user:pass@]host:port) as a CONNECT tunnel to the address the
	// guard checked, so the proxy never resolves or chooses the destination
	// itself: the proxy must allow CONNECT to the ports you allow (80
	// included). The proxy's own address is not checked. Zero: direct
	// connections; environment proxy variables are never read.
	Proxy *url.URL
	// TLSConfig is the TLS client configuration. Zero: Go's defaults.
	TLSConfig *tls.Config
	// Resolver resolves host names. Zero: net.DefaultResolver.
	Resolver Resolver
}

// Transport is an http.RoundTripper that enforces the guard of
// Options on every request and connection. Build it with
// NewTransport; it is safe for concurrent use.
type Transport struct {
	base     *http.Transport
	policy   addrPolicy
	schemes  []string
	ports    []int
	allowed  domainList
	blocked  domainList
	maxBody  int64
	timeout  time.Duration
	maxRedir int
	proxy    *url.URL
	resolver Resolver
	// dialAddr connects to a checked ip:port; tests replace it so that no
	// connection ever leaves loopback.
	dialAddr func(ctx context.Context, network, addr string) (net.Conn, error)
	// dialProxy connects to the proxy.
	dialProxy func(ctx context.Context, network, addr string) (net.Conn, error)
}

var _ http.RoundTripper = (*Transport)(nil)

// NewTransport validates opts and returns a guarded Transport.
func NewTransport(opts *Options) (*Transport, error) {
	if opts == nil {
		opts = &Options{}
	}
	t := &Transport{
		policy:   addrPolicy{allowPrivate: opts.AllowPrivateAddresses, allowLoopback: opts.UnsafeAllowLoopback},
		maxBody:  opts.MaxBodyBytes,
		timeout:  opts.Timeout,
		maxRedir: opts.MaxRedirects,
		resolver: opts.Resolver,
	}
	if t.maxBody == 0 {
		t.maxBody = DefaultMaxBodyBytes
	}
	if t.maxBody < 0 {
		return nil, errors.New("safehttp: MaxBodyBytes must not be negative")
	}
	if t.timeout == 0 {
		t.timeout = DefaultTimeout
	}
	if t.timeout < 0 {
		return nil, errors.New("safehttp: Timeout must not be negative")
	}
	if t.maxRedir == 0 {
		t.maxRedir = DefaultMaxRedirects
	}
	if t.resolver == nil {
		t.resolver = net.DefaultResolver
	}
	for _, s := range opts.AllowedSchemes {
		s = strings.ToLower(strings.TrimSpace(s))
		if s != "http" && s != "https" {
			return nil, fmt.Errorf("safehttp: scheme %q cannot be allowed: only http and https are supported", s)
		}
		if !slices.Contains(t.schemes, s) {
			t.schemes = append(t.schemes, s)
		}
	}
	if len(opts.AllowedSchemes) == 0 {
		t.schemes = []string{"http", "https"}
	}
	for _, p := range opts.AllowedPorts {
		if p < 1 || p > 65535 {
			return nil, fmt.Errorf("safehttp: allowed port %d out of range", p)
		}
	}
	t.ports = slices.Clone(opts.AllowedPorts)
	var err error
	if t.allowed, err = newDomainList(opts.AllowedDomains); err != nil {
		return nil, fmt.Errorf("safehttp: AllowedDomains: %w", err)
	}
	if t.blocked, err = newDomainList(opts.BlockedDomains); err != nil {
		return nil, fmt.Errorf("safehttp: BlockedDomains: %w", err)
	}
	if opts.Proxy != nil {
		if opts.Proxy.Scheme != "http" || opts.Proxy.Host == "" {
			return nil, fmt.Errorf("safehttp: Proxy must be http://host:port, got %q", opts.Proxy.Redacted())
		}
		t.proxy = opts.Proxy
	}
	checked := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second, Control: t.control}
	t.dialAddr = checked.DialContext
	t.dialProxy = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext

	var tlsConfig *tls.Config
	if opts.TLSConfig != nil {
		tlsConfig = opts.TLSConfig.Clone()
	}
	t.base = &http.Transport{
		Proxy:                  nil, // a proxy is a CONNECT tunnel made by dial, after the check
		DialContext:            t.dial,
		TLSClientConfig:        tlsConfig,
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           100,
		MaxIdleConnsPerHost:    4,
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    10 * time.Second,
		ExpectContinueTimeout:  time.Second,
		ResponseHeaderTimeout:  t.timeout,
		MaxResponseHeaderBytes: 256 << 10,
	}
	return t, nil
}

// NewClient returns an http.Client on a guarded Transport, with the
// redirect cap and total timeout of opts. It is what to use to fetch a URL
// that came from outside, such as a Client ID Metadata Document.
func NewClient(opts *Options) (*http.Client, error) {
	t, err := NewTransport(opts)
	if err != nil {
		return nil, err
	}
	return t.Client(), nil
}

// Client returns an http.Client that uses t, follows at most MaxRedirects
// redirects (each checked by t again) and gives up after Timeout.
func (t *Transport) Client() *http.Client {
	return &http.Client{
		Transport:     t,
		Timeout:       t.timeout,
		CheckRedirect: t.checkRedirect,
	}
}

// MaxBodyBytes is the response body cap.
func (t *Transport) MaxBodyBytes() int64 { return t.maxBody }

func (t *Transport) checkRedirect(req *http.Request, via []*http.Request) error {
	if t.maxRedir < 0 {
		return http.ErrUseLastResponse
	}
	if len(via) > t.maxRedir {
		return fmt.Errorf("%w: more than %d", ErrTooManyRedirects, t.maxRedir)
	}
	return t.CheckURL(req.URL)
}

// CloseIdleConnections closes the Transport's idle connections.
func (t *Transport) CloseIdleConnections() { t.base.CloseIdleConnections() }

// RoundTrip checks req.URL, sends the request over a guarded connection and
// caps the response body.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := t.CheckURL(req.URL); err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	resp.Body = &cappedBody{rc: resp.Body, left: t.maxBody, limit: t.maxBody}
	return resp, nil
}

// CheckURL applies the checks that need no DNS: scheme, port, domain lists,
// and the address policy for hosts that are IP addresses, in any spelling.
// It returns nil or a *RefusedError. Passing it does not mean a name is
// safe: its addresses are checked when connecting.
func (t *Transport) CheckURL(u *url.URL) error {
	if u == nil {
		return &RefusedError{Reason: "no URL"}
	}
	scheme := strings.ToLower(u.Scheme)
	if !slices.Contains(t.schemes, scheme) {
		return &RefusedError{Host: u.Hostname(), Reason: fmt.Sprintf("scheme %q not allowed (allowed: %s)", u.Scheme, strings.Join(t.schemes, ", "))}
	}
	if u.Opaque != "" {
		return &RefusedError{Reason: "URL has no host"}
	}
	host, err := normalizeHost(u.Hostname())
	if err != nil {
		return err
	}
	port := 80
	if scheme == "https" {
		port = 443
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return &RefusedError{Host: host, Reason: fmt.Sprintf("invalid port %q", p)}
		}
		port = n
	}
	if !t.portAllowed(port) {
		return &RefusedError{Host: host, Reason: fmt.Sprintf("port %d not allowed", port)}
	}
	ip, isIP, canonical := hostIP(host)
	if isIP && !ip.IsValid() {
		return &RefusedError{Host: host, Reason: "malformed IP address"}
	}
	if isIP {
		if err := t.policy.check(host, ip); err != nil {
			return err
		}
		if !canonical {
			return &RefusedError{Host: host, Addr: ip, Reason: "IP address in a non-standard spelling; write it as " + ip.String()}
		}
		host = ip.WithZone("").String()
	} else if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		// RFC 6761: always loopback, whatever a resolver says.
		if !t.policy.allowLoopback {
			return &RefusedError{Host: host, Reason: "loopback"}
		}
	}
	if t.blocked.match(host) {
		return &RefusedError{Host: host, Reason: "domain is blocked"}
	}
	if len(t.allowed) > 0 && !t.allowed.match(host) {
		return &RefusedError{Host: host, Reason: "domain is not in the allowed list"}
	}
	return nil
}

// CheckIP applies the address policy of t's options to ip.
func (t *Transport) CheckIP(ip netip.Addr) error { return t.policy.check(ip.String(), ip) }

func (t *Transport) portAllowed(port int) bool {
	if len(t.ports) > 0 {
		return slices.Contains(t.ports, port)
	}
	return port == 80 || port == 443 || port > 1024
}

// dial is the http.Transport's DialContext: it resolves addr, refuses it
// when any address is refused, and connects only to checked addresses,
// directly or through a CONNECT tunnel.
func (t *Transport) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	ips, port, err := t.resolve(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	var firstErr error
	for _, ip := range ips {
		target := net.JoinHostPort(ip.String(), strconv.Itoa(port))
		var conn net.Conn
		if t.proxy != nil {
			conn, err = t.connectVia(ctx, target)
		} else {
			conn, err = t.dialAddr(ctx, network, target)
		}
		if err == nil {
			return conn, nil
		}
		if firstErr == nil {
			firstErr = err
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, firstErr
}

// resolve turns host:port into the checked IP addresses to try.
func (t *Transport) resolve(ctx context.Context, network, addr string) ([]netip.Addr, int, error) {
	rawHost, rawPort, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, 0, &RefusedError{Host: addr, Reason: "invalid address"}
	}
	port, err := strconv.Atoi(rawPort)
	if err != nil || port < 1 || port > 65535 {
		return nil, 0, &RefusedError{Host: rawHost, Reason: fmt.Sprintf("invalid port %q", rawPort)}
	}
	if !t.portAllowed(port) {
		return nil, 0, &RefusedError{Host: rawHost, Reason: fmt.Sprintf("port %d not allowed", port)}
	}
	host, err := normalizeHost(rawHost)
	if err != nil {
		return nil, 0, err
	}
	if ip, isIP, canonical := hostIP(host); isIP {
		if !ip.IsValid() || !canonical {
			return nil, 0, &RefusedError{Host: host, Reason: "malformed or non-standard IP address"}
		}
		if err := t.policy.check(host, ip); err != nil {
			return nil, 0, err
		}
		return []netip.Addr{ip.WithZone("")}, port, nil
	}
	if (host == "localhost" || strings.HasSuffix(host, ".localhost")) && !t.policy.allowLoopback {
		return nil, 0, &RefusedError{Host: host, Reason: "loopback"}
	}
	family := "ip"
	switch network {
	case "tcp4":
		family = "ip4"
	case "tcp6":
		family = "ip6"
	}
	ips, err := t.resolver.LookupNetIP(ctx, family, host)
	if err != nil {
		return nil, 0, fmt.Errorf("safehttp: resolve %s: %w", host, err)
	}
	if len(ips) == 0 {
		return nil, 0, fmt.Errorf("safehttp: resolve %s: no addresses", host)
	}
	for i, ip := range ips {
		// One refused address refuses the name: a name that mixes public
		// and internal answers is an attack, not a website.
		if err := t.policy.check(host, ip); err != nil {
			return nil, 0, err
		}
		ips[i] = ip.Unmap().WithZone("")
	}
	return ips, port, nil
}

// control is the last line: the net.Dialer calls it with the very address
// the socket is about to connect to.
func (t *Transport) control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return &RefusedError{Host: address, Reason: "unparsable socket address"}
	}
	if !t.portAllowed(int(ap.Port())) {
		return &RefusedError{Host: address, Reason: fmt.Sprintf("port %d not allowed", ap.Port())}
	}
	return t.policy.check(ap.Addr().String(), ap.Addr())
}

// connectVia opens a CONNECT tunnel through the proxy to target, an
// already checked ip:port, so the proxy has nothing left to resolve.
func (t *Transport) connectVia(ctx context.Context, target string) (net.Conn, error) {
	conn, err := t.dialProxy(ctx, "tcp", canonicalProxyAddr(t.proxy))
	if err != nil {
		return nil, fmt.Errorf("safehttp: proxy: %w", err)
	}
	if d, ok := ctx.Deadline(); ok {
		conn.SetDeadline(d)
	}
	req := "CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n"
	if u := t.proxy.User; u != nil {
		pass, _ := u.Password()
		req += "Proxy-Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(u.Username()+":"+pass)) + "\r\n"
	}
	req += "\r\n"
	if _, err := io.WriteString(conn, req); err != nil {
		conn.Close()
		return nil, fmt.Errorf("safehttp: proxy: %w", err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("safehttp: proxy: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		conn.Close()
		return nil, fmt.Errorf("safehttp: proxy refused CONNECT %s: %s", target, resp.Status)
	}
	conn.SetDeadline(time.Time{})
	if br.Buffered() > 0 {
		return &bufferedConn{Conn: conn, r: br}, nil
	}
	return conn, nil
}

func canonicalProxyAddr(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	return net.JoinHostPort(u.Hostname(), "80")
}

type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// cappedBody delivers at most limit bytes and then fails with a
// *BodyTooLargeError if the body has more.
type cappedBody struct {
	rc    io.ReadCloser
	left  int64
	limit int64
}

func (b *cappedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		var one [1]byte
		n, err := b.rc.Read(one[:])
		if n > 0 {
			return 0, &BodyTooLargeError{Limit: b.limit}
		}
		if err == nil {
			return 0, nil
		}
		return 0, err
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *cappedBody) Close() error { return b.rc.Close() }

package oauth

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Client addresses: what the server's quotas count by (see Limits).
//
// A request's address is its TCP peer's (http.Request.RemoteAddr), unless
// the peer is a trusted proxy: then it is the right-most address of the
// forwarded header that is not itself a trusted proxy (each proxy appends
// the address it saw, so that is the first one no trusted party vouches
// for; whatever a client wrote further left is ignored). The header is
// X-Forwarded-For, or RFC 7239 Forwarded (its for= parameters) when
// Options.ForwardedHeader says so; the other one is never read, so a
// client cannot bring its own through a proxy that passes it on untouched.
// A forwarded entry that is not an address ("unknown", an obfuscated
// identifier, garbage) ends the walk: the request counts under the last
// proxy's address. Headers from any other peer are ignored.
//
// Quotas count groups of addresses: an IPv4 address by itself (/32), an
// IPv6 address by its /64, the smallest network a site is given (a host
// picks its own addresses within it). An IPv4-mapped IPv6 address
// (::ffff:192.0.2.1) is the IPv4 address.

// Forwarded header names for Options.ForwardedHeader.
const (
	HeaderXForwardedFor = "X-Forwarded-For"
	HeaderForwarded     = "Forwarded"
)

// clientAddrs finds a request's client address.
type clientAddrs struct {
	trusted []netip.Prefix // nil: no peer is trusted
	header  string         // HeaderXForwardedFor or HeaderForwarded
}

// privateProxies are the peers TrustProxyHeaders trusts: loopback and
// private networks (RFC 1918, RFC 4193), where a reverse proxy next to the
// server lives.
func privateProxies() []netip.Prefix {
	var out []netip.Prefix
	for _, p := range []string{"127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"} {
		out = append(out, netip.MustParsePrefix(p))
	}
	return out
}

func newClientAddrs(opts *Options) (*clientAddrs, error) {
	c := &clientAddrs{header: HeaderXForwardedFor}
	switch h := opts.ForwardedHeader; {
	case h == "" || strings.EqualFold(h, HeaderXForwardedFor):
	case strings.EqualFold(h, HeaderForwarded):
		c.header = HeaderForwarded
	default:
		return nil, fmt.Errorf("oauth: ForwardedHeader %q: want %s or %s", h, HeaderXForwardedFor, HeaderForwarded)
	}
	for _, p := range opts.TrustedProxies {
		if !p.IsValid() {
			return nil, errors.New("oauth: TrustedProxies holds an invalid prefix")
		}
		c.trusted = append(c.trusted, netip.PrefixFrom(p.Addr().Unmap(), unmappedBits(p)).Masked())
	}
	if len(c.trusted) == 0 && opts.TrustProxyHeaders {
		c.trusted = privateProxies()
	}
	return c, nil
}

// unmappedBits is the prefix length of p once its address is unmapped
// (::ffff:10.0.0.0/104 is 10.0.0.0/8).
func unmappedBits(p netip.Prefix) int {
	if p.Addr().Is4In6() {
		return max(0, p.Bits()-96)
	}
	return p.Bits()
}

// ParseTrustedProxies reads a comma- or space-separated list of addresses
// and CIDR prefixes ("10.0.0.0/8, 192.0.2.7, 2001:db8::/48") for
// Options.TrustedProxies. An address alone is a prefix of its full length.
func ParseTrustedProxies(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil || a.Zone() != "" {
			return nil, fmt.Errorf("oauth: trusted proxy %q is not an IP address or CIDR prefix", f)
		}
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

func (c *clientAddrs) isTrusted(a netip.Addr) bool {
	for _, p := range c.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// addr returns the client address of r; not valid when the peer address
// cannot be read (a Unix socket, a test's made-up RemoteAddr).
func (c *clientAddrs) addr(r *http.Request) netip.Addr {
	peer := parseHostAddr(r.RemoteAddr)
	if !peer.IsValid() || len(c.trusted) == 0 || !c.isTrusted(peer) {
		return peer
	}
	var hops []string
	if c.header == HeaderForwarded {
		hops = forwardedFor(r.Header.Values(HeaderForwarded))
	} else {
		for _, v := range r.Header.Values(HeaderXForwardedFor) {
			hops = append(hops, strings.Split(v, ",")...)
		}
	}
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		a := parseHostAddr(strings.TrimSpace(hops[i]))
		if !a.IsValid() {
			break
		}
		client = a
		if !c.isTrusted(a) {
			break
		}
	}
	return client
}

// parseHostAddr reads "192.0.2.1", "192.0.2.1:443", "2001:db8::1",
// "[2001:db8::1]:443" or "[2001:db8::1]", unmapped and without zone; an
// invalid Addr for anything else.
func parseHostAddr(s string) netip.Addr {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().WithZone("")
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone("")
	}
	if len(s) > 2 && s[0] == '[' && s[len(s)-1] == ']' {
		if a, err := netip.ParseAddr(s[1 : len(s)-1]); err == nil && a.Is6() {
			return a.Unmap().WithZone("")
		}
	}
	if host, _, err := net.SplitHostPort(s); err == nil {
		if a, err := netip.ParseAddr(host); err == nil {
			return a.Unmap().WithZone("")
		}
	}
	return netip.Addr{}
}

// addrGroup is the quota key of an address: "192.0.2.1/32",
// "2001:db8:1:2::/64"; "unknown" for an invalid one (all such requests
// share one quota).
func addrGroup(a netip.Addr) string {
	if !a.IsValid() {
		return "unknown"
	}
	a = a.Unmap()
	if a.Is4() {
		return netip.PrefixFrom(a, 32).String()
	}
	p, _ := a.Prefix(64)
	return p.String()
}

// forwardedFor returns the for= values of RFC 7239 Forwarded header
// fields, in order, unquoted; "" for an element without one or that
// cannot be parsed (which ends the walk in addr).
func forwardedFor(fields []string) []string {
	var out []string
	for _, f := range fields {
		for _, elem := range splitQuoted(f, ',') {
			v := ""
			for _, pair := range splitQuoted(elem, ';') {
				name, value, ok := strings.Cut(strings.TrimSpace(pair), "=")
				if !ok || !strings.EqualFold(strings.TrimSpace(name), "for") {
					continue
				}
				v = unquote(strings.TrimSpace(value))
			}
			out = append(out, v)
		}
	}
	return out
}

// splitQuoted splits s at sep outside quoted strings.
func splitQuoted(s string, sep byte) []string {
	var out []string
	start, quoted := 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case !quoted && c == sep:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// unquote returns the value of an RFC 9110 token or quoted-string; "" for
// a malformed quoted-string.
func unquote(v string) string {
	if !strings.HasPrefix(v, `"`) {
		return v
	}
	if len(v) < 2 || !strings.HasSuffix(v, `"`) {
		return ""
	}
	var b strings.Builder
	for i := 1; i < len(v)-1; i++ {
		if v[i] == '\\' {
			i++
			if i == len(v)-1 {
				return ""
			}
		}
		b.WriteByte(v[i])
	}
	return b.String()
}

// clientAddrKey is the context key of a request's clientAddr.
type clientAddrKey struct{}

// clientAddr is what the server found about a request's client address.
type clientAddr struct {
	addr  netip.Addr
	group string // addrGroup(addr)
}

// withClientAddr notes r's client address in its context, for the quotas
// that code further down (the client lookup) applies.
func (s *Server) withClientAddr(r *http.Request) *http.Request {
	a := s.addrs.addr(r)
	return r.WithContext(context.WithValue(r.Context(), clientAddrKey{}, clientAddr{addr: a, group: addrGroup(a)}))
}

// clientAddrOf returns the client address noted in ctx.
func clientAddrOf(ctx context.Context) clientAddr {
	if a, ok := ctx.Value(clientAddrKey{}).(clientAddr); ok {
		return a
	}
	return clientAddr{group: addrGroup(netip.Addr{})}
}

// String is the address for logs.
func (a clientAddr) String() string {
	if !a.addr.IsValid() {
		return "unknown"
	}
	return a.addr.String()
}

package oauth

import (
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

// FuzzClientAddress: whatever a trusted proxy passes on in X-Forwarded-For
// or Forwarded, the client address is the peer's or one the header names,
// never a panic; and an untrusted peer's header is never read.
//
//	go test -fuzz FuzzClientAddress ./oauth
func FuzzClientAddress(f *testing.F) {
	for _, s := range []string{"203.0.113.5", "198.51.100.1, 203.0.113.5", "[2001:db8::1]:443, 10.0.0.9", "unknown",
		`for=203.0.113.5`, `for="[2001:db8::1]:4711";proto=https, for=10.0.0.9`, `for="\"`, `for=_hidden;by=x`, `,,;=`} {
		f.Add(s, false)
		f.Add(s, true)
	}
	trusting, _ := newClientAddrs(&Options{TrustProxyHeaders: true})
	forwarded, _ := newClientAddrs(&Options{TrustProxyHeaders: true, ForwardedHeader: HeaderForwarded})
	strict, _ := newClientAddrs(&Options{})
	f.Fuzz(func(t *testing.T, value string, rfc7239 bool) {
		ca, name := trusting, HeaderXForwardedFor
		if rfc7239 {
			ca, name = forwarded, HeaderForwarded
		}
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = "10.0.0.2:1234"
		r.Header.Set(name, value)
		peer := netip.MustParseAddr("10.0.0.2")
		got := ca.addr(r)
		if !got.IsValid() || got.Zone() != "" || got.Is4In6() {
			t.Fatalf("client address %v from %q", got, value)
		}
		if got != peer && !mentions(value, got) {
			t.Fatalf("client address %v does not come from %q", got, value)
		}
		if addrGroup(got) == "" {
			t.Fatal("empty group")
		}
		r.RemoteAddr = "192.0.2.1:1"
		if a := strict.addr(r); a != netip.MustParseAddr("192.0.2.1") {
			t.Fatalf("an untrusted peer's %s gave %v", name, a)
		}
	})
}

// mentions reports whether some comma-, semicolon- or quote-separated part
// of v parses as a.
func mentions(v string, a netip.Addr) bool {
	for _, part := range strings.FieldsFunc(v, func(r rune) bool {
		return r == ',' || r == ';' || r == '"' || r == ' ' || r == '=' || r == '\t' || r == '\\'
	}) {
		if parseHostAddr(strings.TrimSpace(part)) == a {
			return true
		}
	}
	return false
}

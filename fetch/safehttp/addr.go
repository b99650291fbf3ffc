package safehttp

import (
	"fmt"
	"net/netip"
)

// addrKind says which switch, if any, lets an address through.
type addrKind uint8

const (
	kindPublic    addrKind = iota // always allowed
	kindPrivate                   // allowed by Options.AllowPrivateAddresses
	kindLoopback                  // allowed by Options.UnsafeAllowLoopback
	kindForbidden                 // never allowed
)

// embed says how an IPv6 range carries an IPv4 address.
type embed uint8

const (
	embedNone   embed = iota
	embedLow32        // the last 32 bits (IPv4-mapped, NAT64)
	embed6to4         // bits 16..47 (2002::/16)
	embedCompat       // the last 32 bits, but the form itself is refused
)

type rangeRule struct {
	prefix netip.Prefix
	kind   addrKind
	embed  embed
	what   string
}

func rule(cidr string, kind addrKind, what string) rangeRule {
	return rangeRule{prefix: netip.MustParsePrefix(cidr), kind: kind, what: what}
}

func embedRule(cidr string, e embed, what string) rangeRule {
	return rangeRule{prefix: netip.MustParsePrefix(cidr), embed: e, what: what}
}

// The tables are read-only after package initialisation. Order matters: the
// first matching prefix decides, so single cloud metadata addresses come
// before the ranges that contain them.
var (
	metadataRules = []rangeRule{
		rule("169.254.169.254/32", kindForbidden, "cloud metadata service"),
		rule("169.254.170.2/32", kindForbidden, "cloud metadata service (AWS ECS)"),
		rule("169.254.170.23/32", kindForbidden, "cloud metadata service (AWS EKS)"),
		rule("100.100.100.200/32", kindForbidden, "cloud metadata service (Alibaba Cloud)"),
		rule("168.63.129.16/32", kindForbidden, "cloud host service (Azure WireServer)"),
		rule("fd00:ec2::254/128", kindForbidden, "cloud metadata service (AWS, IPv6)"),
		rule("fd00:ec2::23/128", kindForbidden, "cloud metadata service (AWS EKS, IPv6)"),
	}
	ipv4Rules = []rangeRule{
		rule("0.0.0.0/8", kindForbidden, "unspecified address (this network)"),
		rule("10.0.0.0/8", kindPrivate, "private network"),
		rule("100.64.0.0/10", kindPrivate, "shared address space (carrier-grade NAT)"),
		rule("127.0.0.0/8", kindLoopback, "loopback"),
		rule("169.254.0.0/16", kindForbidden, "link-local"),
		rule("172.16.0.0/12", kindPrivate, "private network"),
		rule("192.0.0.0/24", kindForbidden, "IETF protocol assignments"),
		rule("192.0.2.0/24", kindForbidden, "documentation range"),
		rule("192.88.99.0/24", kindForbidden, "6to4 relay anycast"),
		rule("192.168.0.0/16", kindPrivate, "private network"),
		rule("198.18.0.0/15", kindForbidden, "benchmarking range"),
		rule("198.51.100.0/24", kindForbidden, "documentation range"),
		rule("203.0.113.0/24", kindForbidden, "documentation range"),
		rule("224.0.0.0/4", kindForbidden, "multicast"),
		rule("240.0.0.0/4", kindForbidden, "reserved (including broadcast)"),
	}
	ipv6Rules = []rangeRule{
		rule("::/128", kindForbidden, "unspecified address"),
		rule("::1/128", kindLoopback, "loopback"),
		embedRule("::ffff:0:0/96", embedLow32, "IPv4-mapped"),
		rule("::ffff:0:0:0/96", kindForbidden, "IPv4-translated (SIIT)"),
		embedRule("::/96", embedCompat, "IPv4-compatible (deprecated)"),
		embedRule("64:ff9b::/96", embedLow32, "NAT64"),
		rule("64:ff9b:1::/48", kindPrivate, "local-use NAT64"),
		rule("100::/64", kindForbidden, "discard-only range"),
		rule("2001::/32", kindForbidden, "Teredo tunnel"),
		rule("2001:2::/48", kindForbidden, "benchmarking range"),
		rule("2001:10::/28", kindForbidden, "ORCHID (deprecated)"),
		rule("2001:20::/28", kindForbidden, "ORCHIDv2"),
		rule("2001:db8::/32", kindForbidden, "documentation range"),
		embedRule("2002::/16", embed6to4, "6to4"),
		rule("3fff::/20", kindForbidden, "documentation range"),
		rule("5f00::/16", kindForbidden, "SRv6 segment identifiers"),
		rule("fc00::/7", kindPrivate, "unique local address (private network)"),
		rule("fe80::/10", kindForbidden, "link-local"),
		rule("fec0::/10", kindForbidden, "site-local (deprecated)"),
		rule("ff00::/8", kindForbidden, "multicast"),
	}
	globalUnicast6 = netip.MustParsePrefix("2000::/3")
)

// classify says what kind of destination ip is and, when it is not public,
// why.
func classify(ip netip.Addr) (addrKind, string) {
	ip = ip.WithZone("")
	for _, r := range metadataRules {
		if r.prefix.Contains(ip) {
			return r.kind, r.what
		}
	}
	if ip.Is4() {
		for _, r := range ipv4Rules {
			if r.prefix.Contains(ip) {
				return r.kind, r.what
			}
		}
		return kindPublic, ""
	}
	for _, r := range ipv6Rules {
		if !r.prefix.Contains(ip) {
			continue
		}
		b := ip.As16()
		var v4 netip.Addr
		switch r.embed {
		case embedNone:
			return r.kind, r.what
		case embed6to4:
			v4 = netip.AddrFrom4([4]byte(b[2:6]))
		default:
			v4 = netip.AddrFrom4([4]byte(b[12:16]))
		}
		kind, why := classify(v4)
		if r.embed == embedCompat {
			if why == "" {
				why = "public"
			}
			return kindForbidden, fmt.Sprintf("%s form of %s (%s)", r.what, v4, why)
		}
		if kind == kindPublic {
			return kindPublic, ""
		}
		return kind, fmt.Sprintf("%s form of %s (%s)", r.what, v4, why)
	}
	if !globalUnicast6.Contains(ip) {
		return kindForbidden, "reserved IPv6 range"
	}
	return kindPublic, ""
}

// addrPolicy decides on IP addresses.
type addrPolicy struct {
	allowPrivate  bool
	allowLoopback bool
}

// check returns nil when ip may be connected to, or a *RefusedError.
func (p addrPolicy) check(host string, ip netip.Addr) error {
	if !ip.IsValid() {
		return &RefusedError{Host: host, Reason: "invalid IP address"}
	}
	kind, why := classify(ip)
	switch {
	case kind == kindPublic,
		kind == kindPrivate && p.allowPrivate,
		kind == kindLoopback && p.allowLoopback:
		return nil
	}
	return &RefusedError{Host: host, Addr: ip.WithZone(""), Reason: why}
}

// CheckIP reports whether the default policy lets a connection to ip
// through: nil for a public address, a *RefusedError (matching ErrRefused)
// naming the range otherwise. It is the decision every guarded connection
// makes, without the operator's switches (private addresses and loopback are
// refused); use Transport.CheckIP for a configured policy.
func CheckIP(ip netip.Addr) error {
	return addrPolicy{}.check(ip.String(), ip)
}

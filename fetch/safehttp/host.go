package safehttp

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"golang.org/x/net/idna"
)

// normalizeHost turns a URL host (without port or brackets) into the ASCII
// name that will be resolved: IDN mapped and punycoded the way net/http does
// it when dialing, lowercased, one trailing dot removed. It reports an error
// for a name that cannot be a DNS name.
func normalizeHost(host string) (string, error) {
	if host == "" {
		return "", &RefusedError{Reason: "URL has no host"}
	}
	ascii := host
	if !isASCII(host) {
		var err error
		// idna.Lookup is the profile net/http uses for the Host it dials;
		// mapping first means fullwidth digits and dots become ASCII here
		// exactly as they would on the wire.
		ascii, err = idna.Lookup.ToASCII(host)
		if err != nil {
			return "", &RefusedError{Host: host, Reason: "invalid internationalized host name"}
		}
	}
	ascii = strings.ToLower(ascii)
	if strings.HasSuffix(ascii, ".") && !strings.HasSuffix(ascii, "..") {
		ascii = ascii[:len(ascii)-1]
	}
	if ascii == "" {
		return "", &RefusedError{Host: host, Reason: "URL has no host"}
	}
	return ascii, nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// hostIP interprets a normalized host as an IP address the way the
// resolvers of the world do. It returns the address, whether the host is an
// IP address at all, and whether it was spelled in the one canonical form
// (dotted quad without leading zeros, or IPv6). Spellings that C resolvers
// accept as IPv4 (inet_aton: 2130706433, 0x7f.1, 0177.0.0.1, 127.1) and any
// host whose last label is numeric count as IP addresses; a malformed one
// returns an invalid address with isIP true.
func hostIP(host string) (ip netip.Addr, isIP, canonical bool) {
	if ip, err := netip.ParseAddr(host); err == nil {
		return ip, true, true
	}
	if strings.ContainsRune(host, ':') {
		// Not a valid IPv6 literal (url.Parse already took out the brackets).
		return netip.Addr{}, true, false
	}
	last := host[strings.LastIndexByte(host, '.')+1:]
	if !numericLabel(last) {
		return netip.Addr{}, false, false
	}
	ip, ok := parseLegacyIPv4(host)
	if !ok {
		return netip.Addr{}, true, false
	}
	return ip, true, false
}

// numericLabel reports whether a DNS label reads as a number to an IPv4
// parser (WHATWG URL "ends in a number"): decimal digits, or 0x followed by
// hex digits.
func numericLabel(s string) bool {
	if s == "" {
		return false
	}
	if len(s) >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		for _, c := range s[2:] {
			if !isHex(c) {
				return false
			}
		}
		return true
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func isHex(c rune) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// parseLegacyIPv4 parses the IPv4 forms inet_aton accepts: one to four
// parts separated by dots, each decimal, octal (leading 0) or hex (0x); the
// last part fills the remaining bytes.
func parseLegacyIPv4(s string) (netip.Addr, bool) {
	parts := strings.Split(s, ".")
	if len(parts) > 4 {
		return netip.Addr{}, false
	}
	var vals [4]uint64
	for i, p := range parts {
		base := 10
		switch {
		case len(p) >= 2 && (p[:2] == "0x" || p[:2] == "0X"):
			base, p = 16, p[2:]
			if p == "" { // "0x" alone is 0 to inet_aton
				p = "0"
			}
		case len(p) >= 2 && p[0] == '0':
			base, p = 8, p[1:]
		}
		if p == "" {
			return netip.Addr{}, false
		}
		v, err := strconv.ParseUint(p, base, 32)
		if err != nil {
			return netip.Addr{}, false
		}
		vals[i] = v
	}
	n := len(parts)
	for i := 0; i < n-1; i++ {
		if vals[i] > 0xff {
			return netip.Addr{}, false
		}
	}
	if vals[n-1] >= 1<<(8*uint(5-n)) {
		return netip.Addr{}, false
	}
	var b [4]byte
	for i := 0; i < n-1; i++ {
		b[i] = byte(vals[i])
	}
	last := vals[n-1]
	for i := 3; i >= n-1; i-- {
		b[i] = byte(last)
		last >>= 8
	}
	return netip.AddrFrom4(b), true
}

// domainList matches a host against a list of domains: an entry matches
// itself and every name below it.
type domainList []string

func newDomainList(entries []string) (domainList, error) {
	var out domainList
	for _, e := range entries {
		e = strings.TrimSpace(e)
		e = strings.TrimPrefix(e, "*.")
		e = strings.TrimPrefix(e, ".")
		if e == "" {
			continue
		}
		n, err := normalizeHost(e)
		if err != nil {
			return nil, err
		}
		if _, isIP, _ := hostIP(n); !isIP && !validDNSName(n) {
			return nil, fmt.Errorf("safehttp: %q is not a domain name", e)
		}
		out = append(out, n)
	}
	return out, nil
}

// validDNSName reports whether s is a plausible ASCII host name: labels of
// letters, digits, '-' and '_', 1 to 63 bytes each, 253 bytes in all.
func validDNSName(s string) bool {
	if len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if len(label) == 0 || len(label) > 63 {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

func (l domainList) match(host string) bool {
	for _, d := range l {
		if host == d || strings.HasSuffix(host, d) && host[len(host)-len(d)-1] == '.' {
			return true
		}
	}
	return false
}

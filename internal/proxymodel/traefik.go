package proxymodel

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// Traefik v3.6.12's request path handling, from its source
// (github.com/traefik/traefik/v3@v3.6.12):
//
//   - pkg/server/server_entrypoint_tcp.go, the entry point's handler chain,
//     outermost first: denyFragment (400 when the raw path holds "#"),
//     normalizePath (RawPath: unreserved %XX decoded, other %XX upper-cased,
//     RFC 3986 §6.2.2), sanitizePath when entryPoints.<ep>.http.sanitizePath
//     is on, the default (URL.JoinPath(): dot segments and duplicate slashes
//     removed from the escaped path); each updates RequestURI.
//   - pkg/server/router/deny.go: denyEncodedPathCharacters, 400 when the
//     escaped path holds an encoded character the entry point's
//     http.encodedCharacters does not allow. Since v3.6.7 every allow*
//     option defaults to true (nothing refused); deploy/traefik/traefik.yml
//     sets them all to false.
//   - pkg/muxer/http/mux.go withRoutingPath: the path rules see the escaped
//     path with every %XX decoded except reserved characters and "%25"
//     (pkg/muxer/http/matcher.go: PathPrefix is strings.HasPrefix on it).
//   - pkg/middlewares/requestdecorator: Host rules see the Host without port,
//     in lower case; a trailing dot on either side is ignored.
//   - pkg/middlewares/auth/forward.go writeHeader: the forwardAuth call
//     carries every request header but hop-by-hop ones, and, unless
//     trustForwardHeader, X-Forwarded-Method (the method), -Proto, -Host
//     (req.Host) and -Uri (req.URL.RequestURI(), after the entry point's
//     changes).

// TraefikEntryPoint is the path handling configuration of an entry point.
type TraefikEntryPoint struct {
	// SanitizePath is http.sanitizePath (Traefik's default: true).
	SanitizePath bool
	// Deny lists the encoded characters the entry point's
	// http.encodedCharacters refuses, upper case ("%2F").
	Deny []string
}

// TraefikDefaults is an entry point as Traefik 3.6.7+ sets it up by
// default: sanitized paths, every encoded character allowed.
var TraefikDefaults = TraefikEntryPoint{SanitizePath: true}

// TraefikDenyAll is the encodedCharacters list of deploy/traefik/traefik.yml:
// every character Traefik can refuse.
var TraefikDenyAll = []string{"%2F", "%5C", "%00", "%3B", "%25", "%3F", "%23"}

// Traefik is Traefik 3.6's reading of req on entry point ep with
// deploy/traefik's forwardAuth (trustForwardHeader false).
func Traefik(req Request, ep TraefikEntryPoint) (Reading, bool) {
	r, ok := ParseGo(req)
	if !ok {
		return Reading{}, false
	}
	if r, ok = ep.Prepare(r); !ok {
		return Reading{}, false
	}
	rp, err := TraefikRoutingPath(r)
	if err != nil {
		return Reading{}, false
	}
	if rp == "" {
		// The empty path of an absolute-form target ("http://h?x")
		// matches no path rule, only rules without one, and reaches the
		// service as "/".
		rp = "/"
	}
	return Reading{Host: hostName(r.Host), Path: rp, URI: r.URL.RequestURI(), ForwardedHost: r.Host}, true
}

// Prepare applies the entry point's handlers to a request as Go's server
// parsed it: the request the routers see, or false where Traefik answers
// 400. The encoded characters refused by the routers are checked here too.
func (ep TraefikEntryPoint) Prepare(r *http.Request) (*http.Request, bool) {
	if strings.Contains(r.URL.RawPath, "#") {
		return nil, false
	}
	u := *r.URL
	if u.RawPath != "" {
		norm, ok := normalizeTraefikPath(u.RawPath)
		if !ok {
			return nil, false
		}
		u.RawPath = norm
	}
	if ep.SanitizePath {
		u = *u.JoinPath()
	}
	denied := false
	if _, ok := rewriteEscapes(u.EscapedPath(), func(enc string) string {
		denied = denied || slices.ContainsFunc(ep.Deny, func(d string) bool { return strings.EqualFold(enc, d) })
		return enc
	}); !ok || denied {
		return nil, false
	}
	r2 := r.Clone(r.Context())
	r2.URL = &u
	r2.RequestURI = u.RequestURI()
	return r2, true
}

// normalizeTraefikPath is normalizePath on a RawPath.
func normalizeTraefikPath(raw string) (string, bool) {
	return rewriteEscapes(raw, func(enc string) string {
		enc = strings.ToUpper(enc)
		if c, err := url.PathUnescape(enc); err == nil && isUnreserved(c[0]) {
			return c
		}
		return enc
	})
}

// rewriteEscapes replaces each %XX of s by f("%XX"); false for a "%"
// without two characters after it.
func rewriteEscapes(s string, f func(enc string) string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", false
		}
		b.WriteString(f(s[i : i+3]))
		i += 2
	}
	return b.String(), true
}

func isUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~", c) >= 0
}

// TraefikRoutingPath is the path Traefik's Path, PathPrefix and
// PathRegexp rules compare.
func TraefikRoutingPath(r *http.Request) (string, error) {
	var err error
	p, ok := rewriteEscapes(r.URL.EscapedPath(), func(enc string) string {
		if strings.Contains(traefikReserved, enc) {
			return enc
		}
		c, uerr := url.PathUnescape(enc)
		if uerr != nil {
			err = uerr
		}
		return c
	})
	if !ok {
		return "", errors.New("proxymodel: a % at the end of the path")
	}
	return p, err
}

// traefikReserved are the encodings withRoutingPath keeps (RFC 3986
// reserved characters and the percent sign), upper case as Go's
// EscapedPath and normalizePath write them.
const traefikReserved = "%3A %2F %3F %23 %5B %5D %40 %21 %24 %26 %27 %28 %29 %2A %2B %2C %3B %3D %25"

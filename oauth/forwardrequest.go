package oauth

import (
	"errors"
	"net/http"
	"net/netip"
	"strings"
)

// How /verify reads the request a reverse proxy asks about.
//
// A proxy routes a request on its own reading of the request line and the
// Host header: nginx decodes %XX, merges slashes, resolves dot segments and
// stops at a raw '#' before it matches a location; Caddy's path matcher
// decodes, cleans, lowercases and drops trailing dots; Traefik decodes only
// unreserved characters and removes dot segments. /verify must decide on
// exactly the path and host the proxy routed on, or a request routed to one
// service is checked against another resource (or against a discovery path
// that needs no token). Repairing the request the way one proxy does is
// wrong for the others, so /verify accepts only a request that every proxy
// and service reads the same way, and refuses the rest:
//
//   - the URI is origin-form: a path starting with one "/", then an
//     optional query; never an absolute URI, "*" or a fragment ("#");
//   - the path has only unreserved characters, sub-delimiters (except
//     ";"), ":", "@" and "/"; no percent-encoding at all (so no encoded
//     slash, dot, backslash or percent, no double encoding), no backslash,
//     no space, control character or non-ASCII byte;
//   - no empty segment ("//"), no "." or ".." segment, no trailing dot;
//   - the query has only visible ASCII characters and no "#";
//   - each forwarded header (URI, method, host, scheme) came once, holds
//     one value (no list), and the headers naming the same thing agree;
//   - the host is a plain DNS name or IP address with an optional port.
//
// Such a path is its own normalized form for nginx, Caddy, Traefik and Go's
// ServeMux, so the path /verify decides on is the path the proxy routed.
// Two differences remain, and resourceFor handles them: Caddy's path matcher
// ignores letter case, so a path that names another resource but for its
// letter case is refused too; and Caddy and Traefik take the port from the
// Host header, not from the connection (deploy/README.md).

// original is the request the proxy asks about, as the proxy routed it.
type original struct {
	method, scheme, host, path, rawQuery string
	// nginx marks an nginx auth_request subrequest (it carries
	// X-Original-URI): nginx understands only 2xx, 401 and 403 from
	// /verify, and turns anything else into a 500.
	nginx bool
}

// errAmbiguous: the request can be read in more than one way, so /verify
// refuses it rather than guess which reading the proxy routed on.
var errAmbiguous = errors.New("oauth: ambiguous request")

// ambiguousError is an errAmbiguous with its reason. The reason is one of
// a fixed set of texts (no byte of the request), safe to show the client
// and to put in a header.
type ambiguousError struct{ reason string }

func (e *ambiguousError) Error() string        { return "oauth: ambiguous request: " + e.reason }
func (e *ambiguousError) Is(target error) bool { return target == errAmbiguous }

func ambiguous(reason string) error { return &ambiguousError{reason} }

// The headers of /verify's refusal of an ambiguous request, for nginx,
// whose configuration turns the 403 it must receive into a 400 for the
// client (deploy/nginx/mcp-oauth-verify.conf).
const (
	headerVerifyError            = "X-Mcp-Oauth-Error"
	headerVerifyErrorDescription = "X-Mcp-Oauth-Error-Description"
)

// original reads the request the proxy asks about from the proxy's headers.
func (fa *ForwardAuth) original(r *http.Request) (original, error) {
	o := original{nginx: len(r.Header["X-Original-Uri"]) > 0}
	uri, _, err := forwardedValue(r.Header, fa.uriH)
	if err != nil {
		return o, err
	}
	if uri == "" {
		return o, errors.New("oauth: no original URI: the proxy must send one of the headers " + strings.Join(fa.uriH, ", "))
	}
	if o.path, o.rawQuery, err = splitOriginURI(uri); err != nil {
		return o, err
	}

	o.method = r.Method
	method, _, err := forwardedValue(r.Header, fa.methodH)
	if err != nil {
		return o, err
	}
	if method != "" {
		if !validMethod(method) {
			return o, ambiguous("the forwarded method is not an HTTP method token")
		}
		o.method = method
	}

	if o.host, err = forwardedHost(r.Header, fa.hostH); err != nil {
		return o, err
	}
	if o.host == "" {
		return o, errors.New("oauth: no original host: the proxy must send one of the headers " + strings.Join(fa.hostH, ", "))
	}
	if o.scheme, err = forwardedScheme(r.Header, fa.protoH); err != nil {
		return o, err
	}
	if o.scheme == "" {
		o.scheme = "https"
	}
	return o, nil
}

// forwardedValue returns the value of the first of the named headers that
// is present and not empty. Each must come at most once, and those present
// must agree: two proxies (or a proxy and a client it failed to stop)
// telling different stories is refused.
func forwardedValue(h http.Header, names []string) (value, from string, err error) {
	for _, name := range names {
		vs := h[name]
		switch {
		case len(vs) == 0 || len(vs) == 1 && vs[0] == "":
			continue
		case len(vs) > 1:
			return "", "", ambiguous("the proxy sent " + name + " more than once")
		case from == "":
			value, from = vs[0], name
		case vs[0] != value:
			return "", "", ambiguous("the proxy's " + from + " and " + name + " disagree")
		}
	}
	return value, from, nil
}

// forwardedHost reads the original host. A list ("a, b", as proxies in a
// chain append) is refused: which one did the proxy route on?
func forwardedHost(h http.Header, names []string) (string, error) {
	host, _, err := forwardedValue(h, names)
	if err != nil || host == "" {
		return "", err
	}
	if !validHostPort(host) {
		return "", ambiguous("the forwarded host is not a plain host name or IP address with an optional port")
	}
	return host, nil
}

// forwardedScheme reads the original scheme, "http" or "https" ("" when
// no header names one); a list is refused too.
func forwardedScheme(h http.Header, names []string) (string, error) {
	v, _, err := forwardedValue(h, names)
	if err != nil || v == "" {
		return "", err
	}
	scheme := strings.ToLower(v)
	if scheme != "http" && scheme != "https" {
		return "", ambiguous("the forwarded scheme is not http or https")
	}
	return scheme, nil
}

// splitOriginURI splits an origin-form request URI into its path (the root
// "/" as "") and raw query, refusing any form that proxies, /verify and
// services could read differently. Linear in len(uri).
func splitOriginURI(uri string) (path, rawQuery string, err error) {
	if uri[0] != '/' {
		return "", "", ambiguous("the request URI is not origin-form (a path starting with /)")
	}
	path, rawQuery, _ = strings.Cut(uri, "?")
	if err := checkOriginPath(path); err != nil {
		return "", "", err
	}
	for i := 0; i < len(rawQuery); i++ {
		switch c := rawQuery[i]; {
		case c == '#':
			return "", "", ambiguous("the request URI has a fragment (#)")
		case c <= ' ' || c >= 0x7f:
			return "", "", ambiguous("the request URI has a space, a control character or a non-ASCII byte")
		}
	}
	if path == "/" {
		path = ""
	}
	return path, rawQuery, nil
}

// checkOriginPath accepts a path that is its own normalized form for every
// reader (see the comment at the top of this file). p starts with "/".
func checkOriginPath(p string) error {
	seg := 1 // start of the current segment
	for i := 1; i <= len(p); i++ {
		if i == len(p) || p[i] == '/' {
			switch s := p[seg:i]; {
			case s == "" && i < len(p):
				return ambiguous("the request path has an empty segment (//)")
			case s == "." || s == "..":
				return ambiguous("the request path has a dot segment (. or ..)")
			}
			seg = i + 1
			continue
		}
		switch c := p[i]; {
		case pathByte[c]:
		case c == '%':
			return ambiguous("the request path has a percent-encoded character, which proxies and services decode differently")
		case c == '#':
			return ambiguous("the request URI has a fragment (#)")
		case c == '\\':
			return ambiguous("the request path has a backslash")
		case c == ';':
			return ambiguous("the request path has a semicolon, which some services read as a path parameter")
		case c <= ' ' || c >= 0x7f:
			return ambiguous("the request URI has a space, a control character or a non-ASCII byte")
		default:
			return ambiguous("the request path has a character that must be percent-encoded")
		}
	}
	if len(p) > 1 && p[len(p)-1] == '.' {
		return ambiguous("the request path ends with a dot, which some proxies ignore")
	}
	return nil
}

// pathByte marks the bytes a path segment may hold as they are: RFC 3986
// unreserved characters, sub-delimiters but ";", ":" and "@".
var pathByte = func() (t [256]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for _, c := range "-._~!$&'()*+,=:@" {
		t[c] = true
	}
	return t
}()

// validMethod reports whether m is an HTTP method token (RFC 9110 §5.6.2).
func validMethod(m string) bool {
	for i := 0; i < len(m); i++ {
		if c := m[i]; !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return m != ""
}

// validHostPort reports whether hp is a DNS name (letters, digits, "-" and
// "_" in non-empty dot-separated labels, no trailing dot), an IPv4 address
// or a bracketed IPv6 address without zone, with an optional port.
func validHostPort(hp string) bool {
	host, port, hasPort := hp, "", false
	if strings.HasPrefix(hp, "[") {
		end := strings.IndexByte(hp, ']')
		if end < 0 {
			return false
		}
		addr, err := netip.ParseAddr(hp[1:end])
		if err != nil || !addr.Is6() || addr.Zone() != "" {
			return false
		}
		rest := hp[end+1:]
		if rest != "" {
			if rest[0] != ':' {
				return false
			}
			port, hasPort = rest[1:], true
		}
	} else {
		host, port, hasPort = strings.Cut(hp, ":")
		if host == "" || len(host) > 253 {
			return false
		}
		label := 0
		for i := 0; i < len(host); i++ {
			switch c := host[i]; {
			case c == '.':
				if label == 0 {
					return false
				}
				label = 0
			case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_':
				label++
			default:
				return false
			}
		}
		if label == 0 {
			return false // a trailing dot
		}
	}
	return !hasPort || validPort(port)
}

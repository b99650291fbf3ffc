package proxymodel

import (
	"bufio"
	"net"
	"net/http"
	"net/url"
	"path"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// Request is what a client sends that routing depends on: the target of
// the request line (origin-form "/p?q", absolute-form "http://h/p", ...)
// and the Host header.
type Request struct {
	Target, Host string
}

// Reading is one proxy's reading of a Request.
type Reading struct {
	// Host is the host name the proxy chose the site or router by: lower
	// case, without port or trailing dot.
	Host string
	// Path is the path the proxy's location or route matchers compare, in
	// the form they compare it (for Caddy: decoded, cleaned, lower case).
	Path string
	// URI is the request URI the deploy file's forward-auth call passes to
	// /verify: X-Original-URI for nginx, X-Forwarded-Uri otherwise.
	URI string
	// ForwardedHost is the X-Forwarded-Host of that call.
	ForwardedHost string
}

// ParseGo reads a request as Go's net/http server does, as Caddy and
// Traefik are Go servers: http.ReadRequest (the request line, and the host
// of an absolute-form target replacing the Host header, RFC 9112 §3.2.2),
// and the server's checks of the Host header (net/http server.go: required
// for HTTP/1.1, httpguts.ValidHostHeader).
func ParseGo(req Request) (*http.Request, bool) {
	if strings.ContainsAny(req.Target+req.Host, "\r\n") || !httpguts.ValidHostHeader(req.Host) || req.Host == "" {
		return nil, false
	}
	r, err := http.ReadRequest(bufio.NewReader(strings.NewReader("GET " + req.Target + " HTTP/1.1\r\nHost: " + req.Host + "\r\n\r\n")))
	if err != nil {
		return nil, false
	}
	return r, true
}

// Caddy is Caddy 2.6.2's reading with deploy/caddy/Caddyfile: the site by
// its host matcher (MatchHost: the Host without port, compared ignoring
// case), the handle blocks by MatchPath (modules/caddyhttp/matchers.go:
// r.URL.Path, which Go decoded, lower-cased, trailing dots and spaces
// trimmed, then CleanPath with slashes merged), and forward_auth's
// X-Forwarded-Uri {http.request.uri} (r.URL.RequestURI()) and
// X-Forwarded-Host (r.Host, set by reverse_proxy for an untrusted client).
func Caddy(req Request) (Reading, bool) {
	r, ok := ParseGo(req)
	if !ok {
		return Reading{}, false
	}
	return Reading{Host: hostName(r.Host), Path: CaddyMatchPath(r), URI: r.URL.RequestURI(), ForwardedHost: r.Host}, true
}

// CaddyMatchPath is the path Caddy 2.6.2's path matcher compares with a
// pattern without "%" or "//". The empty path of an absolute-form target
// ("http://h?x") matches no path pattern, only a handle without matcher,
// and reaches the upstream as "/": it is "/" here.
func CaddyMatchPath(r *http.Request) string {
	if r.URL.Path == "" {
		return "/"
	}
	p := strings.TrimRight(strings.ToLower(r.URL.Path), ". ")
	cleaned := path.Clean(p)
	if cleaned != "/" && strings.HasSuffix(p, "/") {
		cleaned += "/"
	}
	return cleaned
}

// Nginx is nginx 1.22.1's reading with deploy/nginx: the server block by
// $host (the host of an absolute-form target, else the Host header; lower
// case, without port and trailing dot), the location by $uri, and the
// snippet's X-Original-URI $request_uri and X-Forwarded-Host
// $host:$server_port. The $uri model was checked against nginx 1.22.1 on
// this project's machines: the path ends at the first raw "?" or "#"
// ("/mcp#/../x" is matched as /mcp), every %XX is decoded once ("%2F" is a
// slash, "%2e%2e" a dot segment, "%252F" becomes "%2F", "%3F" and "%23"
// stay literal "?" and "#"), "%00" and a ".." above the root are refused,
// slashes are merged (merge_slashes on) and dot segments resolved.
func Nginx(req Request, serverPort string) (Reading, bool) {
	target, host := req.Target, req.Host
	if rest, ok := cutHTTPScheme(target); ok {
		i := strings.IndexAny(rest, "/?")
		if i < 0 {
			host, target = rest, "/"
		} else {
			host, target = rest[:i], rest[i:]
			if target[0] == '?' {
				target = "/" + target
			}
		}
	}
	if !strings.HasPrefix(target, "/") || strings.ContainsFunc(target, func(c rune) bool { return c <= ' ' || c == 0x7f }) {
		return Reading{}, false
	}
	h, ok := nginxHost(host)
	if !ok {
		return Reading{}, false
	}
	uri, ok := nginxURI(target)
	if !ok {
		return Reading{}, false
	}
	return Reading{Host: h, Path: uri, URI: target, ForwardedHost: h + ":" + serverPort}, true
}

func cutHTTPScheme(target string) (string, bool) {
	for _, scheme := range []string{"http://", "https://"} {
		if len(target) >= len(scheme) && strings.EqualFold(target[:len(scheme)], scheme) {
			return target[len(scheme):], true
		}
	}
	return "", false
}

// nginxHost is ngx_http_validate_host: no "/", NUL or control byte, no
// empty label, the port and one trailing dot dropped, lower case.
func nginxHost(h string) (string, bool) {
	if h == "" || strings.ContainsFunc(h, func(c rune) bool { return c <= ' ' || c == 0x7f || c == '/' || c == '\\' }) ||
		strings.Contains(h, "..") || h[0] == '.' {
		return "", false
	}
	name := h
	if strings.HasPrefix(h, "[") {
		end := strings.IndexByte(h, ']')
		if end < 0 {
			return "", false
		}
		name = h[:end+1]
	} else if i := strings.IndexByte(h, ':'); i >= 0 {
		name = h[:i]
	}
	name = strings.TrimSuffix(name, ".")
	if name == "" {
		return "", false
	}
	return strings.ToLower(name), true
}

// nginxURI is $uri for a raw origin-form target.
func nginxURI(target string) (string, bool) {
	raw := target
	if i := strings.IndexAny(raw, "?#"); i >= 0 {
		raw = raw[:i]
	}
	bad := false
	decoded, ok := rewriteEscapes(raw, func(enc string) string {
		c, err := url.PathUnescape(enc)
		bad = bad || err != nil || c == "\x00"
		return c
	})
	if !ok || bad {
		return "", false
	}
	var segs []string
	for _, s := range strings.Split(decoded[1:], "/") {
		switch s {
		case "", ".":
		case "..":
			if len(segs) == 0 {
				return "", false
			}
			segs = segs[:len(segs)-1]
		default:
			segs = append(segs, s)
		}
	}
	out := "/" + strings.Join(segs, "/")
	last := decoded[strings.LastIndexByte(decoded, '/')+1:]
	if len(segs) > 0 && (last == "" || last == "." || last == "..") {
		out += "/"
	}
	return out, true
}

// hostName is the host of a Host value without port, brackets or trailing
// dot, in lower case.
func hostName(hostport string) string {
	h := hostport
	if name, _, err := net.SplitHostPort(hostport); err == nil {
		h = name
	}
	return strings.TrimSuffix(strings.ToLower(strings.Trim(h, "[]")), ".")
}

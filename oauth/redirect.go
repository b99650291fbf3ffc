package oauth

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// Redirect URI rules (OAuth 2.1 §2.3 and §7.5, RFC 8252, RFC 9700 §4.1).
//
// A registered redirect URI is one of
//   - an https URL with a host;
//   - an http URL whose host is exactly localhost, 127.0.0.1 or [::1]
//     (loopback, RFC 8252 §7.3), on any port;
//   - a private-use scheme in reverse-domain style ("com.example.app:/cb",
//     RFC 8252 §7.1), or one of the schemes the operator allows explicitly
//     (Options.RedirectSchemes).
//
// Never a fragment, user info, or a scheme that runs or reads something in
// the browser (javascript:, data:, file:, ...). At /authorize the URI must
// equal a registered one character for character; only the port of a
// loopback URI may differ (RFC 8252 §7.3: native apps pick a free port at
// run time).

// maxRedirectURILen bounds each redirect URI.
const maxRedirectURILen = 2000

// forbiddenSchemes can never be redirect targets, whatever the operator
// allows.
var forbiddenSchemes = map[string]bool{
	"javascript": true, "data": true, "file": true, "vbscript": true, "about": true,
	"blob": true, "filesystem": true, "view-source": true, "ftp": true, "ws": true, "wss": true,
	"mailto": true, "tel": true,
}

// validateRedirectURI checks a redirect URI offered for registration.
// extraSchemes are private-use schemes allowed although they are not
// reverse-domain style (lower case).
func validateRedirectURI(raw string, extraSchemes []string) error {
	if raw == "" {
		return errors.New("empty redirect URI")
	}
	if len(raw) > maxRedirectURILen {
		return fmt.Errorf("redirect URI longer than %d characters", maxRedirectURILen)
	}
	if strings.ContainsAny(raw, "#") {
		return errors.New("redirect URI must not contain a fragment")
	}
	for _, c := range raw {
		if c <= ' ' || c == 0x7f || c == '\\' {
			return errors.New("redirect URI contains a space, a control character or a backslash")
		}
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("redirect URI is not a URI: %v", err)
	}
	if u.Scheme == "" {
		return errors.New("redirect URI must be absolute")
	}
	scheme := strings.ToLower(u.Scheme)
	if u.User != nil {
		return errors.New("redirect URI must not contain user info")
	}
	switch {
	case forbiddenSchemes[scheme]:
		return fmt.Errorf("redirect URI scheme %q is not allowed", scheme)
	case scheme == "https":
		if u.Host == "" || u.Hostname() == "" {
			return errors.New("https redirect URI needs a host")
		}
		if u.Opaque != "" {
			return errors.New("https redirect URI must be hierarchical")
		}
	case scheme == "http":
		if !isLoopbackHost(u.Host) {
			return errors.New("http redirect URIs are only allowed for the loopback hosts localhost, 127.0.0.1 and [::1]; use https")
		}
		if u.Opaque != "" {
			return errors.New("http redirect URI must be hierarchical")
		}
	default:
		if !strings.Contains(scheme, ".") && !containsString(extraSchemes, scheme) {
			return fmt.Errorf("private-use redirect URI scheme %q must be reverse-domain style, e.g. com.example.app (RFC 8252 §7.1)", scheme)
		}
	}
	return nil
}

// isLoopbackHost reports whether a URL host (with optional port) is exactly
// localhost, 127.0.0.1 or [::1]. Anything else, "localhost.evil.com" or
// "127.0.0.1.nip.io" included, is not.
func isLoopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	} else if strings.HasPrefix(hostport, "[") && strings.HasSuffix(hostport, "]") {
		host = hostport[1 : len(hostport)-1]
	}
	switch strings.ToLower(host) {
	case "localhost", "127.0.0.1", "::1":
		return true
	}
	return false
}

// matchRedirectURI reports whether requested equals registered, allowing
// only the port of a loopback http URI to differ.
func matchRedirectURI(registered, requested string) bool {
	if registered == requested {
		return true
	}
	r, err1 := url.Parse(registered)
	q, err2 := url.Parse(requested)
	if err1 != nil || err2 != nil {
		return false
	}
	if r.Scheme != "http" || q.Scheme != "http" || !isLoopbackHost(r.Host) || !isLoopbackHost(q.Host) {
		return false
	}
	if r.Hostname() != q.Hostname() || q.User != nil || q.Fragment != "" || strings.Contains(requested, "#") {
		return false
	}
	if p := q.Port(); p != "" && !validPort(p) {
		return false
	}
	return pathOrSlash(r) == pathOrSlash(q) && r.RawQuery == q.RawQuery && r.ForceQuery == q.ForceQuery
}

// pathOrSlash is a URL's path, "/" when empty: http://127.0.0.1:3000 and
// http://127.0.0.1:3000/ are the same address (VS Code registers the
// first form).
func pathOrSlash(u *url.URL) string {
	if p := u.EscapedPath(); p != "" {
		return p
	}
	return "/"
}

func validPort(p string) bool {
	if len(p) > 5 {
		return false
	}
	n := 0
	for i := 0; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return false
		}
		n = n*10 + int(p[i]-'0')
	}
	return n > 0 && n < 65536
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// redirectHost is what the consent page shows of a redirect URI: the host
// of a URL, or the scheme of a private-use URI.
func redirectHost(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
		return u.Host
	}
	return u.Scheme + ":"
}

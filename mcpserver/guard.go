package mcpserver

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// CORS header lists. Browser MCP clients (MCP Inspector, claude.ai) need to
// send and read these across origins.
var (
	corsAllowHeaders = []string{
		"Authorization", "Content-Type", "Accept", "Mcp-Session-Id", "MCP-Protocol-Version",
		"Last-Event-ID", "Mcp-Method", "Mcp-Name",
	}
	corsExposeHeaders = []string{"Mcp-Session-Id", "WWW-Authenticate", "MCP-Protocol-Version"}
	corsAllowMethods  = []string{"GET", "POST", "DELETE", "OPTIONS"}
)

// GuardOptions configure a Guard. A nil *GuardOptions means all defaults.
type GuardOptions struct {
	// AllowedOrigins lists browser origins (scheme://host[:port]) allowed to
	// call; "*" allows every origin. Loopback origins and an Origin equal to
	// the request's own host are always allowed. Zero: only those.
	AllowedOrigins []string
	// AllowedHosts lists extra Host values (host or host:port) accepted on
	// requests that arrive on a loopback address. Zero: loopback names only.
	AllowedHosts []string
	// AllowHeaders adds request headers to those CORS preflights allow
	// (Authorization, Content-Type, Accept, Mcp-Session-Id,
	// MCP-Protocol-Version, Last-Event-ID, Mcp-Method, Mcp-Name, and any
	// Mcp-Param-* header). Zero: none added.
	AllowHeaders []string
}

// Guard is the browser-facing protection every MCP endpoint needs: it refuses
// a request whose Origin is present and not allowed (403, on every method),
// refuses a request that arrived on a loopback address with a Host that is
// not a loopback name or allowed (403, against DNS rebinding), answers CORS
// preflights, and decorates allowed cross-origin responses. It is safe for
// concurrent use.
type Guard struct {
	anyOrigin    bool
	origins      map[string]bool // canonical scheme://host:port
	hosts        map[string]bool // lowercase host or host:port
	allowHeaders string
	exposeHeader string
	allowMethods string
}

// NewGuard validates opts and returns a Guard.
func NewGuard(opts *GuardOptions) (*Guard, error) {
	if opts == nil {
		opts = &GuardOptions{}
	}
	g := &Guard{
		origins:      map[string]bool{},
		hosts:        map[string]bool{},
		allowHeaders: strings.Join(append(slices.Clone(corsAllowHeaders), opts.AllowHeaders...), ", "),
		exposeHeader: strings.Join(corsExposeHeaders, ", "),
		allowMethods: strings.Join(corsAllowMethods, ", "),
	}
	for _, o := range opts.AllowedOrigins {
		if o == "*" {
			g.anyOrigin = true
			continue
		}
		c, err := canonicalOrigin(o)
		if err != nil {
			return nil, err
		}
		g.origins[c] = true
	}
	for _, h := range opts.AllowedHosts {
		h = strings.ToLower(strings.TrimSpace(h))
		if h == "" {
			return nil, fmt.Errorf("mcpserver: empty allowed host")
		}
		g.hosts[h] = true
	}
	return g, nil
}

// Wrap returns next behind the guard.
func (g *Guard) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !g.hostAllowed(r) {
			writeForbidden(w, "Host header not allowed")
			return
		}
		origin := r.Header.Get("Origin")
		if origin != "" {
			if !g.OriginAllowed(r) {
				writeForbidden(w, "Origin not allowed")
				return
			}
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Add("Vary", "Origin")
			h.Set("Access-Control-Expose-Headers", g.exposeHeader)
			if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
				h.Set("Access-Control-Allow-Methods", g.allowMethods)
				h.Set("Access-Control-Allow-Headers", g.preflightHeaders(r))
				h.Set("Access-Control-Max-Age", "86400")
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		if r.Method == http.MethodOptions {
			w.Header().Set("Allow", g.allowMethods)
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// preflightHeaders is the Access-Control-Allow-Headers value for a preflight:
// the fixed list plus any Mcp-Param-* headers the client asks for, which
// 2026-07-28 tools may declare.
func (g *Guard) preflightHeaders(r *http.Request) string {
	allow := g.allowHeaders
	for _, line := range r.Header.Values("Access-Control-Request-Headers") {
		for _, name := range strings.Split(line, ",") {
			name = strings.TrimSpace(name)
			if len(name) > len("mcp-param-") && strings.EqualFold(name[:len("mcp-param-")], "mcp-param-") && validHeaderName(name) {
				allow += ", " + name
			}
		}
	}
	return allow
}

// OriginAllowed reports whether r carries no Origin or an allowed one.
func (g *Guard) OriginAllowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" || g.anyOrigin {
		return true
	}
	c, err := canonicalOrigin(origin)
	if err != nil {
		return false
	}
	if g.origins[c] {
		return true
	}
	u, _ := url.Parse(c)
	if isLoopbackName(u.Hostname()) {
		return true
	}
	// Same origin: the browser's page came from this very host.
	for _, host := range []string{r.Host, r.Header.Get("X-Forwarded-Host")} {
		if host != "" && strings.EqualFold(u.Host, withDefaultPort(host, u.Scheme)) {
			return true
		}
	}
	return false
}

func (g *Guard) hostAllowed(r *http.Request) bool {
	local, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if !ok || !isLoopbackAddr(local) {
		return true
	}
	host := strings.ToLower(r.Host)
	if g.hosts[host] {
		return true
	}
	name := host
	if h, _, err := net.SplitHostPort(host); err == nil {
		name = h
	}
	return isLoopbackName(strings.Trim(name, "[]")) || g.hosts[name]
}

func writeForbidden(w http.ResponseWriter, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusForbidden)
	fmt.Fprintf(w, `{"error":"forbidden","error_description":%q}`+"\n", msg)
}

// canonicalOrigin returns scheme://host:port for an origin, lowercased,
// with the default port made explicit.
func canonicalOrigin(origin string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(origin))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("mcpserver: invalid origin %q: want scheme://host[:port]", origin)
	}
	scheme := strings.ToLower(u.Scheme)
	return scheme + "://" + withDefaultPort(strings.ToLower(u.Host), scheme), nil
}

func withDefaultPort(host, scheme string) string {
	if _, _, err := net.SplitHostPort(host); err == nil {
		return strings.ToLower(host)
	}
	port := 80
	if scheme == "https" {
		port = 443
	}
	return net.JoinHostPort(strings.Trim(strings.ToLower(host), "[]"), strconv.Itoa(port))
}

func isLoopbackName(host string) bool {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func isLoopbackAddr(a net.Addr) bool {
	if t, ok := a.(*net.TCPAddr); ok {
		return t.IP.IsLoopback()
	}
	host := a.String()
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func validHeaderName(s string) bool {
	for _, c := range s {
		if !(c == '-' || c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return s != ""
}

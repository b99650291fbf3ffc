package mcpserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
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

// ErrAnyHostInList reports "*" in AllowedHosts: accepting every Host is a
// decision of its own, AllowAnyHost.
var ErrAnyHostInList = errors.New(`mcpserver: "*" is not an allowed host; set AllowAnyHost to accept every Host`)

// GuardOptions configure a Guard. A nil *GuardOptions means all defaults.
type GuardOptions struct {
	// AllowedOrigins lists browser origins (scheme://host[:port]) allowed to
	// call; "*" allows every origin. Origins on a loopback host are always
	// allowed, and so is an Origin equal to the request's own host when that
	// host is a loopback name or one of AllowedHosts. Zero: only those.
	AllowedOrigins []string
	// AllowedHosts lists the Host header values (host, which then matches
	// any port, or host:port) the endpoint answers besides loopback names
	// (localhost, *.localhost, 127.0.0.0/8, ::1). Any other Host gets 403,
	// whatever address the request arrived on: a DNS-rebinding page always
	// sends its own name as Host. Zero: loopback names only, so an endpoint
	// reached by another name (behind a reverse proxy, in a container, on a
	// LAN) must list that name, or set AllowAnyHost.
	AllowedHosts []string
	// AllowAnyHost turns the Host check off, for an endpoint that a reverse
	// proxy routing by host name already protects, or one served under any
	// name on purpose. The Origin check stays; an Origin equal to the
	// request's own host is then accepted only when that host is a loopback
	// name or in AllowedHosts, since a rebinding page's Origin always
	// equals its Host. Zero: the Host is checked.
	AllowAnyHost bool
	// AllowHeaders adds request headers to those CORS preflights allow
	// (Authorization, Content-Type, Accept, Mcp-Session-Id,
	// MCP-Protocol-Version, Last-Event-ID, Mcp-Method, Mcp-Name, and any
	// Mcp-Param-* header). Zero: none added.
	AllowHeaders []string
	// Logger receives a warning the first time a Host is refused, naming
	// the host and how to allow it; later refusals are logged at debug
	// level. Zero: slog.Default().
	Logger *slog.Logger
}

// Guard is the browser-facing protection every MCP endpoint needs: it refuses
// a request whose Host is not a loopback name or allowed (403, against DNS
// rebinding, on every listener unless AllowAnyHost), refuses a request whose
// Origin is present and not allowed (403, on every method), answers CORS
// preflights, and decorates allowed cross-origin responses. It is safe for
// concurrent use.
type Guard struct {
	anyOrigin    bool
	anyHost      bool
	origins      map[string]bool // canonical scheme://host:port
	hosts        map[string]bool // lowercase host or host:port, no brackets around a bare IPv6 host
	allowHeaders string
	exposeHeader string
	allowMethods string
	log          *slog.Logger
	warned       atomic.Bool // a refused Host was logged at warning level
}

// NewGuard validates opts and returns a Guard.
func NewGuard(opts *GuardOptions) (*Guard, error) {
	if opts == nil {
		opts = &GuardOptions{}
	}
	g := &Guard{
		anyHost:      opts.AllowAnyHost,
		origins:      map[string]bool{},
		hosts:        map[string]bool{},
		allowHeaders: strings.Join(append(slices.Clone(corsAllowHeaders), opts.AllowHeaders...), ", "),
		exposeHeader: strings.Join(corsExposeHeaders, ", "),
		allowMethods: strings.Join(corsAllowMethods, ", "),
		log:          opts.Logger,
	}
	if g.log == nil {
		g.log = slog.Default()
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
		h = strings.TrimSpace(h)
		if h == "*" {
			return nil, ErrAnyHostInList
		}
		n, ok := normalHost(h)
		if !ok {
			return nil, fmt.Errorf("mcpserver: invalid allowed host %q: want host or host:port", h)
		}
		g.hosts[n] = true
	}
	return g, nil
}

// Wrap returns next behind the guard.
func (g *Guard) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !g.anyHost && !g.knownHost(r.Host) {
			g.refusedHost(r.Host)
			writeForbidden(w, fmt.Sprintf("Host %q is not served here (DNS rebinding protection)", r.Host))
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

// refusedHost logs a refused Host: the first one as a warning an operator
// sees, the rest at debug level (a rebinding attempt must not flood logs).
func (g *Guard) refusedHost(host string) {
	level := slog.LevelDebug
	if g.warned.CompareAndSwap(false, true) {
		level = slog.LevelWarn
	}
	g.log.Log(context.Background(), level, "mcpserver: request refused: its Host is not an allowed host (DNS rebinding protection); "+
		"list the names clients use in AllowedHosts, or set AllowAnyHost behind a proxy that checks Host", "host", host)
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
	// Same origin: the browser's page came from this very host. Only a
	// host the guard knows counts: a rebinding page's Origin equals the
	// Host its browser sends, and any page may set X-Forwarded-Host.
	for _, host := range []string{r.Host, r.Header.Get("X-Forwarded-Host")} {
		if host != "" && g.knownHost(host) && strings.EqualFold(u.Host, withDefaultPort(host, u.Scheme)) {
			return true
		}
	}
	return false
}

// knownHost reports whether a Host header value is a loopback name or one
// of the allowed hosts (an entry without a port matches every port).
func (g *Guard) knownHost(host string) bool {
	n, ok := normalHost(host)
	if !ok {
		return false
	}
	if g.hosts[n] {
		return true
	}
	name := n
	if h, _, err := net.SplitHostPort(n); err == nil {
		name = h
	}
	return isLoopbackName(name) || g.hosts[name]
}

// normalHost lowercases a Host value (host or host:port), drops a final dot
// of the name and the brackets of a bare IPv6 literal. It refuses an empty
// host and one with characters no host name or IP literal has.
func normalHost(host string) (string, bool) {
	host = strings.ToLower(host)
	name, port, err := net.SplitHostPort(host)
	if err != nil {
		name, port = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"), ""
	}
	name = strings.TrimSuffix(name, ".")
	if name == "" || strings.ContainsAny(name, "/?#@ \t\r\n[]") {
		return "", false
	}
	if port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
			return "", false
		}
		return net.JoinHostPort(name, port), true
	}
	return name, true
}

func writeForbidden(w http.ResponseWriter, msg string) {
	body, _ := json.Marshal(map[string]string{"error": "forbidden", "error_description": msg})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusForbidden)
	_, _ = w.Write(append(body, '\n'))
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
	host = strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
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

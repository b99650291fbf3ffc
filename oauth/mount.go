package oauth

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// MountOptions configure ProtectedResource.Mount. A nil *MountOptions
// means all defaults.
type MountOptions struct {
	// Guard wraps the protected endpoint (not its metadata, which any
	// origin may read); an mcpserver.Guard's Wrap method is the one to give:
	// the Host and Origin checks run first, and refusals, the 401 challenge
	// included, carry the CORS headers browser clients (MCP Inspector,
	// claude.ai) need to read them. A func, so that this package links no
	// MCP server. Zero: no guard; a browser client then cannot read a
	// refusal.
	Guard func(http.Handler) http.Handler
	// MatchHost registers the patterns with the resource's host name, so
	// that the mux routes by Host as well as path: one host per service
	// (https://echo.example.com/mcp, https://fetch.example.com/mcp). Zero:
	// by path only, whatever the Host.
	MatchHost bool
	// AuthorizationServer, when set, is served at
	// /.well-known/oauth-authorization-server and
	// /.well-known/openid-configuration of the resource's host (with
	// MatchHost): clients of the 2025-03-26 era look for the authorization
	// server's metadata on the MCP host. Mount it once per host. Zero: not
	// served.
	AuthorizationServer http.Handler
}

// Mount serves h on mux at the resource's path behind the bearer check
// (Middleware), and the resource's RFC 9728 metadata at its well-known
// path (MetadataPath) without authentication. h receives only requests
// with a good token, with the caller in their context
// (mcpserver.IdentityFromContext, ClaimsFromContext), and CORS
// preflights. The patterns have no method: h answers GET, POST, DELETE as
// it sees fit. It returns an error, and registers nothing, when mux
// already serves one of the patterns or the resource's path cannot be a
// pattern.
//
//	pr, err := oauth.NewProtectedResource(verifier, oauth.Resource{URL: "https://mcp.example.com/weather/mcp"})
//	err = pr.Mount(mux, weather.Handler(), &oauth.MountOptions{Guard: guard.Wrap})
//	// serves /weather/mcp and /.well-known/oauth-protected-resource/weather/mcp
func (p *ProtectedResource) Mount(mux *http.ServeMux, h http.Handler, opts *MountOptions) (err error) {
	if mux == nil || h == nil {
		return fmt.Errorf("oauth: Mount needs a mux and a handler")
	}
	var o MountOptions
	if opts != nil {
		o = *opts
	}
	u, err := url.Parse(p.URL())
	if err != nil {
		return fmt.Errorf("oauth: mount %s: %v", p.URL(), err)
	}
	host := ""
	if o.MatchHost {
		host = u.Hostname()
	}
	path := u.EscapedPath()
	if strings.ContainsAny(path, "{}%") {
		return fmt.Errorf("oauth: mount %s: the path must not contain {, } or escaped characters", p.URL())
	}
	endpoint := host + path
	if path == "" {
		endpoint = host + "/{$}"
	}
	var protected http.Handler = p.Middleware(h)
	if o.Guard != nil {
		protected = o.Guard(protected)
	}
	type route struct {
		pattern string
		h       http.Handler
	}
	routes := []route{{endpoint, protected}, {host + p.MetadataPath(), p.MetadataHandler()}}
	if o.AuthorizationServer != nil {
		routes = append(routes,
			route{host + "/.well-known/oauth-authorization-server", o.AuthorizationServer},
			route{host + "/.well-known/openid-configuration", o.AuthorizationServer})
	}
	// ServeMux panics on a conflicting pattern. The patterns are literal,
	// so only an identical one conflicts: check for those first, so that
	// an error registers nothing.
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("oauth: mount %s: %v", p.URL(), v)
		}
	}()
	for _, rt := range routes {
		if conflict(mux, rt.pattern) {
			return fmt.Errorf("oauth: mount %s: the mux already serves %s", p.URL(), rt.pattern)
		}
	}
	for _, rt := range routes {
		mux.Handle(rt.pattern, rt.h)
	}
	return nil
}

// conflict reports whether mux already has pattern, by the pattern it
// would route a request for exactly that path (and host) to.
func conflict(mux *http.ServeMux, pattern string) bool {
	host, path, _ := strings.Cut(pattern, "/")
	path = "/" + strings.TrimSuffix(path, "{$}")
	req := &http.Request{Method: http.MethodGet, Host: host, URL: &url.URL{Path: path}}
	_, matched := mux.Handler(req)
	return matched == pattern
}

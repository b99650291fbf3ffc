package main

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/mcp-oauth-gateway/gateway/echo"
	"github.com/mcp-oauth-gateway/gateway/fetch"
	"github.com/mcp-oauth-gateway/gateway/internal/authcmd"
	"github.com/mcp-oauth-gateway/gateway/internal/echocmd"
	"github.com/mcp-oauth-gateway/gateway/mcpserver"
	"github.com/mcp-oauth-gateway/gateway/oauth"
	"github.com/mcp-oauth-gateway/gateway/oauth/identityproxy"
	"github.com/mcp-oauth-gateway/gateway/stdiobridge"
)

// service is one mounted MCP service.
type service struct {
	name string
	kind string // "builtin echo-stateful", "stdio", "upstream"
	url  string // the resource: what clients connect to
	host string // host routing: the host it is served on; "" for path routing
	pr   *oauth.ProtectedResource
	h    http.Handler
	// Sessions and Health report its state for metrics and /ready.
	sessions func() int
	stdio    *stdiobridge.Proxy
	close    func()
}

// layout is where the services live: their URLs and hosts.
type layout struct {
	host   bool     // host routing
	base   *url.URL // path routing: the services' origin
	domain string   // host routing
	scheme string
	port   string // host routing: the port of the issuer's URL, "" for the default
}

func newLayout(fc *fileConfig, issuer, baseDomain string) (*layout, error) {
	iu, err := url.Parse(issuer)
	if err != nil {
		return nil, err
	}
	l := &layout{host: fc.Routing.Mode == "host", scheme: iu.Scheme, port: iu.Port()}
	if !l.host {
		l.base = &url.URL{Scheme: iu.Scheme, Host: iu.Host}
		if fc.Routing.PublicURL != "" {
			if l.base, err = url.Parse(strings.TrimRight(fc.Routing.PublicURL, "/")); err != nil {
				return nil, err
			}
		}
		return l, nil
	}
	l.domain = strings.ToLower(strings.TrimSuffix(fc.Routing.Domain, "."))
	if l.domain == "" {
		l.domain = strings.ToLower(baseDomain)
	}
	if l.domain == "" {
		if _, rest, ok := strings.Cut(iu.Hostname(), "."); ok && strings.Contains(rest, ".") || rest == "localhost" {
			l.domain = rest
		}
	}
	if l.domain == "" {
		return nil, fmt.Errorf("host routing needs a domain: set routing.domain in --config, or BASE_DOMAIN")
	}
	return l, nil
}

// resourceURL is the URL of the service s.
func (l *layout) resourceURL(s *serviceConfig) (url, host string) {
	if !l.host {
		path := s.Path
		if path == "" {
			path = "/" + s.Name + "/mcp"
		}
		return strings.TrimRight(l.base.String(), "/") + path, ""
	}
	host = s.Host
	if host == "" {
		host = s.Name + "." + l.domain
	}
	hp := host
	if l.port != "" {
		hp += ":" + l.port
	}
	return l.scheme + "://" + hp + "/mcp", host
}

// builder makes the services of the configuration.
type builder struct {
	log      *slog.Logger
	server   *oauth.Server // hands services the users' own tokens
	verifier *oauth.Verifier
	guard    mcpserver.Options // the guard fields every service shares
	scope    []string          // the server's default scope
	layout   *layout
}

// build makes one service.
func (b *builder) build(s *serviceConfig) (*service, error) {
	u, host := b.layout.resourceURL(s)
	res := authcmd.ConfiguredResource(oauth.Resource{URL: u, Name: s.Title, RequiredScopes: s.RequiredScopes, Scopes: s.Scopes,
		DocumentationURL: s.DocumentationURL}, s.AllowedUsers, b.scope)
	pr, err := oauth.NewProtectedResource(b.verifier, res)
	if err != nil {
		return nil, fmt.Errorf("service %s: %w", s.Name, err)
	}
	svc := &service{name: s.Name, url: pr.URL(), host: host, pr: pr, close: func() {}}
	log := b.log.With("service", s.Name)
	switch {
	case s.Builtin != "":
		svc.kind = "builtin " + s.Builtin
		err = b.builtin(svc, s, log)
	case s.Stdio != nil:
		svc.kind = "stdio"
		err = b.stdio(svc, s, log)
	case s.Upstream != nil:
		svc.kind = "upstream"
		err = b.upstream(svc, s, log)
	}
	if err != nil {
		return nil, fmt.Errorf("service %s: %w", s.Name, err)
	}
	if uc := s.UpstreamCredential; uc != nil {
		// Behind the bearer check (Mount), before the service: the user's
		// own token into the request's context, or the 401 that makes the
		// client sign in again.
		svc.h = b.server.Upstream(pr, svc.h, &oauth.UpstreamOptions{Provider: uc.Provider})
		svc.kind += " as the user"
	}
	return svc, nil
}

// builtin makes an echo or fetch server.
func (b *builder) builtin(svc *service, s *serviceConfig, log *slog.Logger) error {
	var opts mcpserver.Options
	switch s.Builtin {
	case builtinEchoStateful:
		opts = echocmd.ServerOptions(true)
	case builtinEchoStateless:
		opts = echocmd.ServerOptions(false)
	case builtinFetch:
		opts = mcpserver.Options{Title: "Fetch",
			Instructions: "Use the fetch tool to read web pages, JSON APIs, text files and images on the public internet."}
	}
	b.applyGuard(&opts)
	opts.Logger = log
	srv, err := mcpserver.New(s.Name, echocmd.Version(), &opts)
	if err != nil {
		return err
	}
	svc.sessions, svc.h = srv.ActiveSessions, srv
	svc.close = func() { srv.Close() }
	switch s.Builtin {
	case builtinEchoStateful:
		err = echo.RegisterStateful(srv, nil)
	case builtinEchoStateless:
		err = echo.RegisterStateless(srv, nil)
	case builtinFetch:
		fo := &fetch.Options{Logger: log}
		if f := s.Fetch; f != nil {
			fo.Client.AllowedDomains, fo.Client.BlockedDomains = f.AllowedDomains, f.BlockedDomains
			fo.Client.AllowPrivateAddresses, fo.IgnoreRobots, fo.UserAgent = f.AllowPrivateAddresses, f.IgnoreRobots, f.UserAgent
		}
		var tools *fetch.Tools
		if tools, err = fetch.New(fo); err == nil {
			tools.Register(srv)
			svc.close = func() { srv.Close(); tools.Close() }
		}
	}
	if err != nil {
		svc.close()
	}
	return err
}

// stdio makes a stdio server's proxy.
func (b *builder) stdio(svc *service, s *serviceConfig, log *slog.Logger) error {
	c := s.Stdio
	cmd := stdiobridge.Command{Path: c.Command, Args: c.Args, Dir: c.Dir}
	for _, k := range sortedKeys(c.Env) {
		cmd.Env = append(cmd.Env, k+"="+c.Env[k].resolved)
	}
	modern, _ := stdiobridge.ParseModernMode(c.Modern) // checked with the file
	opts := stdiobridge.ProxyOptions{
		Name: s.Name, Shared: c.Shared, MaxChildren: c.MaxChildren, IdleTimeout: c.IdleTimeout, Modern: modern,
		AllowedOrigins: b.guard.AllowedOrigins, AllowedHosts: b.guard.AllowedHosts, AllowAnyHost: b.guard.AllowAnyHost,
		Logger: log,
	}
	if uc := s.UpstreamCredential; uc != nil {
		// Each user's (and authorization's) own processes, with their
		// token in uc.Env.
		users, err := stdiobridge.NewUsers(cmd, func(w http.ResponseWriter, r *http.Request) (string, []string, bool) {
			claims, _ := oauth.ClaimsFromContext(r.Context())
			tok, ok := oauth.UpstreamTokenFromContext(r.Context())
			if claims == nil || !ok {
				http.Error(w, "internal error", http.StatusInternalServerError) // Upstream runs first
				return "", nil, false
			}
			return claims.Subject + "\x00" + claims.FamilyID, []string{uc.Env + "=" + tok.AccessToken}, true
		}, &stdiobridge.UsersOptions{Proxy: opts})
		if err != nil {
			return err
		}
		svc.h, svc.sessions = users, users.Sessions
		svc.close = func() { users.Close() }
		return nil
	}
	px, err := stdiobridge.NewProxy(cmd, &opts)
	if err != nil {
		return err
	}
	svc.h, svc.stdio, svc.sessions = px, px, px.Sessions
	svc.close = func() { px.Close() }
	return nil
}

// upstream makes the reverse proxy to an upstream server.
func (b *builder) upstream(svc *service, s *serviceConfig, log *slog.Logger) error {
	u := s.Upstream
	h := http.Header{}
	for _, k := range sortedKeys(u.Headers) {
		h.Set(k, u.Headers[k].resolved)
	}
	var headerFor func(*http.Request) http.Header
	if uc := s.UpstreamCredential; uc != nil {
		name := http.CanonicalHeaderKey(uc.Header)
		bearer := strings.EqualFold(name, "Authorization")
		headerFor = func(r *http.Request) http.Header {
			tok, ok := oauth.UpstreamTokenFromContext(r.Context())
			if !ok {
				return nil
			}
			if bearer {
				return http.Header{name: {"Bearer " + tok.AccessToken}}
			}
			return http.Header{name: {tok.AccessToken}}
		}
	}
	p, err := identityproxy.New(u.URL, &identityproxy.Options{Header: h, HeaderFor: headerFor, MaxBodyBytes: u.MaxBodyBytes, Logger: log})
	if err != nil {
		return err
	}
	svc.h = p
	return nil
}

// applyGuard copies the shared guard settings into an mcpserver's options.
func (b *builder) applyGuard(o *mcpserver.Options) {
	o.AllowedOrigins, o.AllowedHosts, o.AllowAnyHost = b.guard.AllowedOrigins, b.guard.AllowedHosts, b.guard.AllowAnyHost
}

// servicePolicies are the resource policies the authorization server asks
// at login and refresh: the services', then /verify's.
type servicePolicies struct {
	byURL map[string]*oauth.ProtectedResource
	next  oauth.ResourcePolicies
}

func (p *servicePolicies) ResourcePolicy(resource string) *oauth.Policy {
	if canon, err := oauth.CanonicalResource(resource); err == nil {
		if pr := p.byURL[canon]; pr != nil {
			return pr.ResourcePolicy(resource)
		}
	}
	return p.next.ResourcePolicy(resource)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

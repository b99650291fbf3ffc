package main

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"

	"github.com/mcp-oauth-gateway/gateway/internal/authcmd"
	"github.com/mcp-oauth-gateway/gateway/oauth"
)

// The --config file: everything that is not a setting of the
// authorization server (those are flags and environment variables, the
// same as mcp-oauth-server's). The schema is documented in README.md and
// in gateway.example.yaml; unknown keys are refused with their line.

// fileConfig is the document.
type fileConfig struct {
	Routing routingConfig `yaml:"routing"`
	TLS     *tlsConfig    `yaml:"tls"`
	// Services are the MCP services; nil (absent): the built-in ones.
	Services *[]serviceConfig `yaml:"services"`
	// Providers are OpenID Connect providers users may sign in with,
	// besides GitHub (GITHUB_CLIENT_ID) and the provider of OIDC_ISSUER:
	// the consent page lists GitHub, OIDC_ISSUER's, then these in order.
	// Zero: none.
	Providers []providerConfig `yaml:"providers"`
	Metrics   metricsConfig    `yaml:"metrics"`
	Trace     traceConfig      `yaml:"trace"`
	// AccessLog logs one line per request. Absent: true.
	AccessLog *bool `yaml:"access_log"`
	// ShutdownTimeout bounds the graceful shutdown. Zero: 10 s.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
}

// routingConfig says where the services live.
type routingConfig struct {
	// Mode is "path" (default: /NAME/mcp on the issuer's host) or "host"
	// (https://NAME.DOMAIN/mcp, the authorization server at its issuer).
	Mode string `yaml:"mode"`
	// Domain is the host mode's domain. Zero: BASE_DOMAIN, else the
	// issuer's host without its first label (auth.example.com: example.com).
	Domain string `yaml:"domain"`
	// PublicURL is the path mode's base URL of the services, when clients
	// reach them elsewhere than at the issuer's origin. Zero: the issuer's
	// origin.
	PublicURL string `yaml:"public_url"`
}

// tlsConfig is TLS on the gateway's own listener.
type tlsConfig struct {
	CertFile string      `yaml:"cert_file"`
	KeyFile  string      `yaml:"key_file"`
	ACME     *acmeConfig `yaml:"acme"`
}

// acmeConfig is automatic certificates (ACME, Let's Encrypt).
type acmeConfig struct {
	// AcceptTOS must be true: the CA's subscriber agreement.
	AcceptTOS bool   `yaml:"accept_tos"`
	Email     string `yaml:"email"`
	// Hosts may get certificates. Zero: every host the gateway serves.
	Hosts []string `yaml:"hosts"`
	// CacheDir keeps account key and certificates. Zero: next to the
	// embedded store, in acme/.
	CacheDir string `yaml:"cache_dir"`
	// DirectoryURL is the CA. Zero: Let's Encrypt's production directory.
	DirectoryURL string `yaml:"directory_url"`
	// HTTPPort serves HTTP-01 challenges and redirects to https. Absent:
	// 80. 0: none (TLS-ALPN-01 challenges on the TLS port only).
	HTTPPort *int `yaml:"http_port"`
}

// metricsConfig is the Prometheus endpoint.
type metricsConfig struct {
	// Listen serves /metrics (and /health, /ready) on an address of its
	// own, e.g. "127.0.0.1:9464" or ":9464". Zero: /metrics on the main
	// listener, answered to loopback clients only.
	Listen string `yaml:"listen"`
}

// traceConfig is the connection trace (admin trace CLIENT).
type traceConfig struct {
	// Retention is how long steps are kept. Zero: 24 h.
	Retention time.Duration `yaml:"retention"`
	// Disabled turns the trace off.
	Disabled bool `yaml:"disabled"`
}

// serviceConfig is one MCP service: exactly one of Builtin, Stdio and
// Upstream.
type serviceConfig struct {
	// Name is the service's name: its path /NAME/mcp, its host
	// NAME.DOMAIN, its metrics label. Required.
	Name string `yaml:"name"`
	// Title is the resource_name of its metadata. Zero: none.
	Title string `yaml:"title"`
	// Path overrides /NAME/mcp (path routing).
	Path string `yaml:"path"`
	// Host overrides NAME.DOMAIN (host routing).
	Host string `yaml:"host"`
	// AllowedUsers uses the ALLOWED_GITHUB_USERS syntax; absent: every
	// user the server admits; "": nobody.
	AllowedUsers     *string  `yaml:"allowed_users"`
	RequiredScopes   []string `yaml:"required_scopes"`
	Scopes           []string `yaml:"scopes"`
	DocumentationURL string   `yaml:"documentation_url"`

	Builtin  string          `yaml:"builtin"`
	Fetch    *fetchConfig    `yaml:"fetch"`
	Stdio    *stdioConfig    `yaml:"stdio"`
	Upstream *upstreamConfig `yaml:"upstream"`

	// UpstreamCredential gives the service the signed-in user's own token at
	// their identity provider. Absent: the service gets no credential of
	// the user's (only the identity headers).
	UpstreamCredential *upstreamCredentialConfig `yaml:"upstream_credential"`
}

// upstreamCredentialConfig says how a service acts as the user: with the
// user's own upstream token, kept under UPSTREAM_KEYS and renewed when it
// expires; never the client's bearer token.
type upstreamCredentialConfig struct {
	// Provider is the identity provider whose token the service needs:
	// "github" or "oidc:NAME". Zero: the one the user signed in with.
	Provider string `yaml:"provider"`
	// Scopes are asked of that provider at login, for this service.
	Scopes []string `yaml:"scopes"`
	// Header (an upstream service) is the request header the token goes
	// in: Authorization gets "Bearer TOKEN", any other the token alone.
	Header string `yaml:"header"`
	// Env (a stdio service) is the environment variable of the user's own
	// server process (processes are never shared between users; a renewed
	// token starts a new one).
	Env string `yaml:"env"`
}

// providerConfig is one OpenID Connect provider (Google, Entra ID, Okta,
// Keycloak, ...): the settings of the OIDC_* variables, for one provider
// each (authcmd.OIDCProvider, oauth.OIDCOptions).
type providerConfig struct {
	// Name is the provider's short name: its users' subjects are
	// oidc:NAME:SUB (so renaming it changes every subject), and
	// upstream_credential's provider is oidc:NAME. Lowercase letters,
	// digits and inner hyphens, at most 32; unique, and not OIDC_NAME
	// (default sso) when OIDC_ISSUER is set. Required (OIDC_NAME).
	Name string `yaml:"name"`
	// Issuer is the issuer URL (https; http on loopback only). Required
	// (OIDC_ISSUER).
	Issuer string `yaml:"issuer"`
	// ClientID is the client registered at the provider, whose redirect
	// URI is the issuer's /callback. Required (OIDC_CLIENT_ID).
	ClientID string `yaml:"client_id"`
	// ClientSecret is its secret, a reference only ({env: VARIABLE} or
	// {file: PATH}). Absent: a public client, PKCE alone
	// (OIDC_CLIENT_SECRET).
	ClientSecret *value `yaml:"client_secret"`
	// DisplayName is its name on the consent page ("Sign in with ...").
	// Zero: the issuer's host (OIDC_DISPLAY_NAME).
	DisplayName string `yaml:"display_name"`
	// Scopes are asked for. Zero: openid email profile, and offline_access
	// and groups when the provider offers them (OIDC_SCOPES).
	Scopes []string `yaml:"scopes"`
	// GroupsClaim is the claim of the user's groups, a dotted path for
	// nested claims (realm_access.roles), "-" for none. Zero: groups
	// (OIDC_GROUPS_CLAIM).
	GroupsClaim string `yaml:"groups_claim"`
	// LoginClaim is the claim of the user's handle. Zero:
	// preferred_username (OIDC_LOGIN_CLAIM).
	LoginClaim string `yaml:"login_claim"`
	// NameClaim is the claim of the display name. Zero: name
	// (OIDC_NAME_CLAIM).
	NameClaim string `yaml:"name_claim"`
	// EmailVerifiedClaim is the claim saying the email is verified. Zero:
	// email_verified; Entra ID: xms_edov (OIDC_EMAIL_VERIFIED_CLAIM).
	EmailVerifiedClaim string `yaml:"email_verified_claim"`
	// UserInfo asks the UserInfo endpoint too, for providers that put the
	// email or groups there only (OIDC_USERINFO).
	UserInfo bool `yaml:"userinfo"`
	// AuthParams are added to the authorization request (Google:
	// access_type: offline, prompt: consent). Zero: none
	// (OIDC_AUTH_PARAMS).
	AuthParams map[string]string `yaml:"auth_params"`
	// RequireClaims refuse a login unless each claim has the value
	// (Google Workspace: hd: example.com; Entra ID: tid: TENANT). Zero:
	// none (OIDC_REQUIRE_CLAIMS).
	RequireClaims map[string]string `yaml:"require_claims"`

	source string // where it is, for errors: "--config FILE:LINE (provider NAME)"
}

// oidcProviders are the file's providers, for authcmd.Settings.Config.
func (c *fileConfig) oidcProviders() []*authcmd.OIDCProvider {
	out := make([]*authcmd.OIDCProvider, len(c.Providers))
	for i := range c.Providers {
		out[i] = c.Providers[i].oidcProvider()
	}
	return out
}

func (pc *providerConfig) oidcProvider() *authcmd.OIDCProvider {
	p := &authcmd.OIDCProvider{Name: pc.Name, Issuer: pc.Issuer, ClientID: pc.ClientID, Source: pc.source, Options: oauth.OIDCOptions{
		DisplayName: pc.DisplayName, Scopes: pc.Scopes, GroupsClaim: pc.GroupsClaim, LoginClaim: pc.LoginClaim,
		NameClaim: pc.NameClaim, EmailVerifiedClaim: pc.EmailVerifiedClaim, UserInfo: pc.UserInfo,
		AuthParams: pc.AuthParams, RequireClaims: pc.RequireClaims,
	}}
	if pc.ClientSecret != nil {
		p.ClientSecret = pc.ClientSecret.resolved
	}
	return p
}

// fetchConfig tunes the built-in fetch service.
type fetchConfig struct {
	AllowedDomains        []string `yaml:"allowed_domains"`
	BlockedDomains        []string `yaml:"blocked_domains"`
	AllowPrivateAddresses bool     `yaml:"allow_private_addresses"`
	IgnoreRobots          bool     `yaml:"ignore_robots"`
	UserAgent             string   `yaml:"user_agent"`
}

// stdioConfig is a stdio MCP server the gateway starts (stdiobridge).
type stdioConfig struct {
	Command string           `yaml:"command"`
	Args    []string         `yaml:"args"`
	Env     map[string]value `yaml:"env"`
	Dir     string           `yaml:"dir"`
	// Shared runs one process for every session.
	Shared bool `yaml:"shared"`
	// MaxChildren caps its processes. Zero: 100.
	MaxChildren int `yaml:"max_children"`
	// IdleTimeout ends idle sessions. Zero: 5 min.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// Modern is auto, translate or off (stdiobridge.ModernMode).
	Modern string `yaml:"modern"`
}

// upstreamConfig is a StreamableHTTP MCP server the gateway forwards to
// (identityproxy).
type upstreamConfig struct {
	URL string `yaml:"url"`
	// Headers are added to every request upstream: a service credential.
	Headers map[string]value `yaml:"headers"`
	// MaxBodyBytes caps request bodies. Zero: 4 MiB.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
}

// Built-in services.
const (
	builtinEchoStateful  = "echo-stateful"
	builtinEchoStateless = "echo-stateless"
	builtinFetch         = "fetch"
)

var builtins = []string{builtinEchoStateful, builtinEchoStateless, builtinFetch}

// defaultServices are the services of a gateway without a services list.
func defaultServices() []serviceConfig {
	out := make([]serviceConfig, len(builtins))
	for i, b := range builtins {
		out[i] = serviceConfig{Name: b, Builtin: b}
	}
	return out
}

// value is a configuration value given inline, or read from the
// gateway's environment ({env: NAME}) or a file ({file: PATH}, trailing
// newline dropped), which is how secrets must be given.
type value struct {
	inline, env, file string
	ref               bool // {env:} or {file:}
	line, col         int
	resolved          string
}

// UnmarshalYAML reads a scalar or an {env: NAME} / {file: PATH} mapping.
func (v *value) UnmarshalYAML(n ast.Node) error {
	tk := n.GetToken()
	v.line, v.col = tk.Position.Line, tk.Position.Column
	if m, ok := n.(*ast.MappingNode); ok && len(m.Values) == 1 {
		k, val := m.Values[0].Key.String(), m.Values[0].Value
		s, isStr := val.(*ast.StringNode)
		if !isStr {
			return fmt.Errorf("line %d: want {env: VARIABLE} or {file: PATH}", v.line)
		}
		switch k {
		case "env":
			v.env, v.ref = s.Value, true
			return nil
		case "file":
			v.file, v.ref = s.Value, true
			return nil
		}
	}
	if n.Type() == ast.MappingType || n.Type() == ast.SequenceType {
		return fmt.Errorf("line %d: want a value, {env: VARIABLE} or {file: PATH}", v.line)
	}
	v.inline = scalarText(n)
	return nil
}

// scalarText is a scalar node's value as written (a number or boolean as
// its text).
func scalarText(n ast.Node) string {
	if s, ok := n.(*ast.StringNode); ok {
		return s.Value
	}
	if n.Type() == ast.NullType {
		return ""
	}
	return n.GetToken().Value
}

// resolve reads the value from its source.
func (v *value) resolve(getenv func(string) string) error {
	switch {
	case v.env != "":
		v.resolved = getenv(v.env)
		if v.resolved == "" {
			return fmt.Errorf("line %d: the environment variable %s is not set", v.line, v.env)
		}
	case v.file != "":
		b, err := os.ReadFile(v.file)
		if err != nil {
			return fmt.Errorf("line %d: %v", v.line, err)
		}
		v.resolved = strings.TrimRight(string(b), "\r\n")
	case v.ref:
		return fmt.Errorf("line %d: an empty reference", v.line)
	default:
		v.resolved = v.inline
	}
	return nil
}

// secretWords mark a name (an environment variable, a header) whose value
// is a secret, which the file must not hold inline.
var secretWords = []string{"SECRET", "TOKEN", "PASSWORD", "PASSWD", "KEY", "CREDENTIAL", "AUTH", "COOKIE", "PRIVATE"}

func secretName(name string) bool {
	up := strings.ToUpper(name)
	for _, w := range secretWords {
		if strings.Contains(up, w) {
			return true
		}
	}
	return false
}

// configError is a problem in the file at a line (0: the file as a
// whole).
type configError struct {
	file      string
	line, col int
	msg       string
}

func (e *configError) Error() string {
	switch {
	case e.line > 0 && e.col > 0:
		return fmt.Sprintf("--config %s:%d:%d: %s", e.file, e.line, e.col, e.msg)
	case e.line > 0:
		return fmt.Sprintf("--config %s:%d: %s", e.file, e.line, e.msg)
	}
	return fmt.Sprintf("--config %s: %s", e.file, e.msg)
}

// lineError is an error with a line ("line N: ...") from the decoding of a
// value.
var lineError = regexp.MustCompile(`^line (\d+): (.*)$`)

// loadConfig reads the file at path ("" for none: every default), checks
// it and resolves its references through getenv. oidcName is the name of
// OIDC_ISSUER's provider ("": none), which the file's providers must not
// take.
func loadConfig(path string, getenv func(string) string, oidcName string) (*fileConfig, error) {
	cfg := &fileConfig{}
	if path == "" {
		return cfg, cfg.check(path, nil, getenv, oidcName)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--config: %w", err)
	}
	file, err := parse(data)
	if err != nil {
		return nil, yamlError(path, err)
	}
	if len(file.Docs) > 1 {
		return nil, &configError{file: path, msg: "one YAML document only"}
	}
	if len(file.Docs) == 1 && file.Docs[0].Body != nil {
		body := file.Docs[0].Body
		if body.Type() != ast.MappingType && body.Type() != ast.NullType {
			tk := body.GetToken()
			return nil, &configError{file: path, line: tk.Position.Line, col: tk.Position.Column, msg: "want a mapping of settings (routing:, services:, ...)"}
		}
		if err := decodeYAML(body, cfg); err != nil {
			return nil, yamlError(path, err)
		}
	}
	return cfg, cfg.check(path, file, getenv, oidcName)
}

// parse reads the YAML document. The library panics on some malformed
// input (a tag that does not fit its node, found by FuzzConfig): that is an
// error of the file, not a crash.
func parse(data []byte) (f *ast.File, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("not a YAML document this gateway can read (%v)", v)
		}
	}()
	return parser.ParseBytes(data, 0)
}

// decodeYAML decodes body into cfg, strictly (unknown and repeated keys are
// errors), turning a panic of the library into an error as parse does.
func decodeYAML(body ast.Node, cfg *fileConfig) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("not a configuration this gateway can read (%v)", v)
		}
	}()
	return yaml.NewDecoder(strings.NewReader(""), yaml.Strict()).DecodeFromNode(body, cfg)
}

// yamlError words a decoding error with the file, line and column.
func yamlError(path string, err error) error {
	var ye yaml.Error
	if errors.As(err, &ye) && ye.GetToken() != nil {
		p := ye.GetToken().Position
		return &configError{file: path, line: p.Line, col: p.Column, msg: ye.GetMessage()}
	}
	if m := lineError.FindStringSubmatch(err.Error()); m != nil {
		var line int
		fmt.Sscan(m[1], &line)
		return &configError{file: path, line: line, msg: m[2]}
	}
	return &configError{file: path, msg: err.Error()}
}

// problems collects what check finds, each at a YAML path.
type problems struct {
	path string
	file *ast.File
	errs []error
}

// add records msg about the node at yamlPath ("$.services[1].name"),
// found in the file for its line.
func (p *problems) add(yamlPath, format string, args ...any) {
	e := &configError{file: p.path, msg: fmt.Sprintf(format, args...)}
	e.line, e.col = p.pos(yamlPath)
	p.errs = append(p.errs, e)
}

// pos is where the node at yamlPath (else its closest parent) is in the
// file; 0 without a file.
func (p *problems) pos(yamlPath string) (line, col int) {
	if p.file == nil {
		return 0, 0
	}
	for yp := yamlPath; yp != "" && yp != "$"; yp = parentPath(yp) {
		yq, err := yaml.PathString(yp)
		if err != nil {
			continue
		}
		if n, err := yq.FilterFile(p.file); err == nil && n != nil {
			return nodePos(n)
		}
	}
	return 0, 0
}

// nodePos is where a node starts: a mapping at its first key.
func nodePos(n ast.Node) (line, col int) {
	switch m := n.(type) {
	case *ast.MappingNode:
		if len(m.Values) > 0 {
			return nodePos(m.Values[0].Key)
		}
	case *ast.MappingValueNode:
		return nodePos(m.Key)
	}
	tk := n.GetToken()
	return tk.Position.Line, tk.Position.Column
}

// parentPath drops the last element of a YAML path.
func parentPath(p string) string {
	if i := strings.LastIndexAny(p, ".["); i > 0 {
		return p[:i]
	}
	return ""
}

// err is the first problem (the others follow once it is fixed).
func (p *problems) err() error {
	if len(p.errs) == 0 {
		return nil
	}
	return p.errs[0]
}

var serviceName = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// reservedNames are paths of the authorization server and the gateway, not
// to be shadowed by a service's /NAME/mcp.
var reservedNames = []string{"authorize", "consent", "callback", "token", "register", "revoke", "introspect", "device",
	"login", "jwks", "verify", "health", "ready", "metrics"}

// check validates the document and resolves its values.
func (c *fileConfig) check(path string, file *ast.File, getenv func(string) string, oidcName string) error {
	p := &problems{path: path, file: file}
	c.checkProviders(p, getenv, oidcName)
	switch c.Routing.Mode {
	case "", "path", "host":
	default:
		p.add("$.routing.mode", "routing mode %q: want path or host", c.Routing.Mode)
	}
	if c.Routing.PublicURL != "" {
		if u, err := url.Parse(c.Routing.PublicURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			p.add("$.routing.public_url", "public_url %q: want an absolute http(s) URL without query", c.Routing.PublicURL)
		}
	}
	if c.TLS != nil {
		t := c.TLS
		switch {
		case t.ACME != nil && (t.CertFile != "" || t.KeyFile != ""):
			p.add("$.tls", "tls: give cert_file and key_file, or acme, not both")
		case t.ACME == nil && (t.CertFile == "" || t.KeyFile == ""):
			p.add("$.tls", "tls: give cert_file and key_file, or acme")
		case t.ACME != nil && !t.ACME.AcceptTOS:
			p.add("$.tls.acme", "tls.acme: set accept_tos: true to accept the certificate authority's subscriber agreement")
		case t.ACME != nil && t.ACME.HTTPPort != nil && (*t.ACME.HTTPPort < 0 || *t.ACME.HTTPPort > 65535):
			p.add("$.tls.acme.http_port", "http_port %d: want a port, or 0 for none", *t.ACME.HTTPPort)
		}
	}
	if c.ShutdownTimeout < 0 || c.Trace.Retention < 0 {
		p.add("$", "durations must not be negative")
	}
	if c.Services == nil {
		d := defaultServices()
		c.Services = &d
	}
	seen := map[string]int{}
	for i := range *c.Services {
		s := &(*c.Services)[i]
		at := fmt.Sprintf("$.services[%d]", i)
		switch {
		case s.Name == "":
			p.add(at, "service %d has no name", i+1)
		case !serviceName.MatchString(s.Name):
			p.add(at+".name", "service name %q: use lowercase letters, digits and -, at most 63 (it becomes a path and a host name)", s.Name)
		case slices.Contains(reservedNames, s.Name):
			p.add(at+".name", "service name %q is a path of the authorization server; choose another", s.Name)
		}
		if j, dup := seen[s.Name]; dup && s.Name != "" {
			p.add(at+".name", "service name %q is used by service %d too", s.Name, j+1)
		}
		seen[s.Name] = i
		kinds := 0
		for _, set := range []bool{s.Builtin != "", s.Stdio != nil, s.Upstream != nil} {
			if set {
				kinds++
			}
		}
		if kinds != 1 {
			p.add(at, "service %q: give exactly one of builtin, stdio and upstream", s.Name)
			continue
		}
		if s.Path != "" && (!strings.HasPrefix(s.Path, "/") || strings.ContainsAny(s.Path, "{}%?# ") || strings.HasPrefix(s.Path, "/.well-known/") || s.Path == "/") {
			p.add(at+".path", "path %q: want an absolute path below / without {, }, %%, ? or #, outside /.well-known/", s.Path)
		}
		if s.DocumentationURL != "" {
			if u, err := url.Parse(s.DocumentationURL); err != nil || u.Scheme != "https" && u.Scheme != "http" || u.Host == "" {
				p.add(at+".documentation_url", "documentation_url %q: want an http(s) URL", s.DocumentationURL)
			}
		}
		if s.Fetch != nil && s.Builtin != builtinFetch {
			p.add(at+".fetch", "service %q: fetch settings are for the built-in fetch service", s.Name)
		}
		switch {
		case s.Builtin != "":
			if !slices.Contains(builtins, s.Builtin) {
				p.add(at+".builtin", "builtin %q: want %s", s.Builtin, strings.Join(builtins, ", "))
			}
		case s.Stdio != nil:
			if strings.TrimSpace(s.Stdio.Command) == "" {
				p.add(at+".stdio", "service %q: stdio.command is required", s.Name)
			}
			switch s.Stdio.Modern {
			case "", "auto", "translate", "off":
			default:
				p.add(at+".stdio.modern", "modern %q: want auto, translate or off", s.Stdio.Modern)
			}
			if s.Stdio.MaxChildren < 0 || s.Stdio.IdleTimeout < 0 {
				p.add(at+".stdio", "service %q: max_children and idle_timeout must not be negative", s.Name)
			}
			checkValues(p, at+".stdio.env", "environment variable", s.Stdio.Env, getenv)
		case s.Upstream != nil:
			if u, err := url.Parse(s.Upstream.URL); err != nil || u.Scheme != "https" && u.Scheme != "http" || u.Host == "" || u.User != nil {
				p.add(at+".upstream.url", "upstream url %q: want an absolute http(s) URL without user info", s.Upstream.URL)
			}
			for name := range s.Upstream.Headers {
				if strings.EqualFold(name, "Host") || dropsHeader(name) {
					p.add(at+".upstream.headers."+name, "header %s is the gateway's to set", name)
				}
			}
			checkValues(p, at+".upstream.headers", "header", s.Upstream.Headers, getenv)
		}
		if uc := s.UpstreamCredential; uc != nil {
			checkUpstreamCredential(p, at+".upstream_credential", s)
			c.checkCredentialProvider(p, at+".upstream_credential.provider", uc.Provider, oidcName)
		}
	}
	return p.err()
}

// providerName is an OpenID provider's name, as oauth.NewOIDC accepts it
// (OIDC_NAME).
var providerName = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$`)

// checkProviders checks the OpenID providers and reads their secrets.
func (c *fileConfig) checkProviders(p *problems, getenv func(string) string, oidcName string) {
	seen := map[string]int{}
	for i := range c.Providers {
		pc := &c.Providers[i]
		at := fmt.Sprintf("$.providers[%d]", i)
		line, _ := p.pos(at)
		pc.source = fmt.Sprintf("--config %s:%d (provider %s)", p.path, line, pc.Name)
		before := len(p.errs)
		switch j, dup := seen[pc.Name]; {
		case pc.Name == "":
			p.add(at, "provider %d has no name (its users' subjects are oidc:NAME:SUB)", i+1)
		case !providerName.MatchString(pc.Name):
			p.add(at+".name", "provider name %q: use lowercase letters, digits and inner -, at most 32 (subjects are oidc:NAME:SUB)", pc.Name)
		case dup:
			p.add(at+".name", "provider name %q is used by provider %d too", pc.Name, j+1)
		case pc.Name == oidcName:
			p.add(at+".name", "provider name %q is the name of OIDC_ISSUER's provider (OIDC_NAME, default sso): choose another", pc.Name)
		}
		if _, dup := seen[pc.Name]; !dup && pc.Name != "" {
			seen[pc.Name] = i
		}
		if pc.Issuer == "" {
			p.add(at, "provider %q: issuer is required (the provider's issuer URL, e.g. https://accounts.google.com)", pc.Name)
		}
		if pc.ClientID == "" {
			p.add(at, "provider %q: client_id is required (the client registered at the provider)", pc.Name)
		}
		for _, sc := range pc.Scopes {
			if !scopeToken(sc) {
				p.add(at+".scopes", "scope %q is not a scope token", sc)
			}
		}
		for _, m := range []struct {
			key  string
			vals map[string]string
		}{{"auth_params", pc.AuthParams}, {"require_claims", pc.RequireClaims}} {
			for _, k := range sortedKeys(m.vals) {
				if strings.TrimSpace(k) == "" {
					p.add(at+"."+m.key, "provider %q: %s has an empty name", pc.Name, m.key)
				}
			}
		}
		if v := pc.ClientSecret; v != nil {
			switch {
			case !v.ref && v.inline != "":
				p.errs = append(p.errs, &configError{file: p.path, line: v.line, col: v.col,
					msg: fmt.Sprintf("provider %q: client_secret is a secret, which the file must not contain: write {env: VARIABLE} or {file: PATH}", pc.Name)})
			case !v.ref:
				pc.ClientSecret = nil // client_secret: with no value is none
			default:
				err := v.resolve(getenv)
				if err == nil && v.resolved == "" {
					err = fmt.Errorf("line %d: the file %s is empty", v.line, v.file)
				}
				if err != nil {
					p.errs = append(p.errs, &configError{file: p.path, line: v.line, col: v.col,
						msg: strings.TrimPrefix(err.Error(), fmt.Sprintf("line %d: ", v.line)) + fmt.Sprintf(" (provider %q: client_secret)", pc.Name)})
				}
			}
		}
		if len(p.errs) > before {
			continue
		}
		// What is left for oauth.NewOIDC to refuse is the issuer's form.
		if _, err := pc.oidcProvider().New(nil); err != nil {
			p.add(at+".issuer", "provider %q: %s", pc.Name, strings.TrimPrefix(err.Error(), "oauth: "))
		}
	}
}

// scopeToken reports whether s is a scope token (RFC 6749 3.3: printable
// ASCII but space, " and \), as oauth.NewOIDC wants it.
func scopeToken(s string) bool {
	if s == "" || len(s) > 200 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x21 || c == '"' || c == '\\' || c > 0x7e {
			return false
		}
	}
	return true
}

// checkCredentialProvider refuses an upstream_credential of an OpenID
// provider that is configured neither in the file nor by OIDC_ISSUER.
func (c *fileConfig) checkCredentialProvider(p *problems, at, provider, oidcName string) {
	name, ok := strings.CutPrefix(provider, oauth.ProviderOIDC+":")
	if !ok || !providerName.MatchString(name) || name == oidcName {
		return
	}
	configured := []string{}
	if oidcName != "" {
		configured = append(configured, oauth.ProviderOIDC+":"+oidcName)
	}
	for _, pc := range c.Providers {
		if pc.Name == name {
			return
		}
		configured = append(configured, oauth.ProviderOIDC+":"+pc.Name)
	}
	what := "none"
	if len(configured) > 0 {
		what = strings.Join(configured, ", ")
	}
	p.add(at, "provider %q: no OpenID provider of that name is configured (OpenID providers: %s; add it to providers:, or set OIDC_ISSUER and OIDC_NAME)", provider, what)
}

// checkUpstreamCredential checks how a service gets the user's token: in a
// header of an upstream service's requests, or the environment of a stdio
// server's per-user processes.
func checkUpstreamCredential(p *problems, at string, s *serviceConfig) {
	uc := s.UpstreamCredential
	if uc.Provider != "" && !providerID.MatchString(uc.Provider) {
		p.add(at+".provider", "provider %q: want github or oidc:NAME", uc.Provider)
	}
	for _, sc := range uc.Scopes {
		if sc == "" || strings.ContainsAny(sc, " \t\"\\") {
			p.add(at+".scopes", "scope %q is not a scope token", sc)
		}
	}
	switch {
	case s.Builtin != "":
		p.add(at, "service %q: a built-in service cannot act as the user with their token", s.Name)
	case s.Stdio != nil:
		if uc.Header != "" || !envName.MatchString(uc.Env) {
			p.add(at, "service %q: a stdio service gets the user's token in an environment variable: give env: NAME (letters, digits and _), not header", s.Name)
		}
		if s.Stdio.Shared {
			p.add(at, "service %q: a shared process cannot hold each user's own token; drop stdio.shared", s.Name)
		}
		if _, set := s.Stdio.Env[uc.Env]; set && uc.Env != "" {
			p.add(at+".env", "service %q: %s is set in stdio.env too", s.Name, uc.Env)
		}
	case s.Upstream != nil:
		if uc.Env != "" || !headerName.MatchString(uc.Header) {
			p.add(at, "service %q: an upstream service gets the user's token in a request header: give header: NAME (Authorization, X-Github-Token), not env", s.Name)
		} else if !strings.EqualFold(uc.Header, "Authorization") && (strings.EqualFold(uc.Header, "Host") || dropsHeader(uc.Header)) {
			p.add(at+".header", "header %s is the gateway's to set", uc.Header)
		}
		if _, set := s.Upstream.Headers[uc.Header]; set && uc.Header != "" {
			p.add(at+".header", "service %q: the header %s is in upstream.headers too", s.Name, uc.Header)
		}
	}
}

var (
	providerID = regexp.MustCompile(`^(github|oidc:[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?)$`)
	envName    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,127}$`)
	headerName = regexp.MustCompile(`^[A-Za-z0-9-]{1,64}$`)
)

// checkValues refuses an inline secret (by its name) and resolves every
// value.
func checkValues(p *problems, at, what string, vals map[string]value, getenv func(string) string) {
	names := make([]string, 0, len(vals))
	for k := range vals {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		v := vals[k]
		if !v.ref && secretName(k) && v.inline != "" {
			p.errs = append(p.errs, &configError{file: p.path, line: v.line, col: v.col,
				msg: fmt.Sprintf("the %s %s holds a secret, which the file must not contain: write {env: VARIABLE} or {file: PATH}", what, k)})
			continue
		}
		if err := v.resolve(getenv); err != nil {
			p.errs = append(p.errs, &configError{file: p.path, line: v.line, col: v.col, msg: strings.TrimPrefix(err.Error(), fmt.Sprintf("line %d: ", v.line)) + " (" + what + " " + k + ")"})
			continue
		}
		vals[k] = v
	}
}

// dropsHeader reports whether identityproxy sets or drops the header
// itself, so a configured one would never reach the upstream as given.
func dropsHeader(name string) bool {
	n := strings.ToLower(strings.ReplaceAll(name, "_", "-"))
	return strings.HasPrefix(n, "x-user-") || strings.HasPrefix(n, "x-auth-") || strings.HasPrefix(n, "x-forwarded-") ||
		n == "forwarded" || n == "cookie" || n == "origin"
}

package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/mcp-oauth-gateway/gateway/oauth"
)

// config is everything the flags and the environment say.
type config struct {
	host, port   string
	issuer       string
	store        string // "memory", "redis://...", "rediss://..." or a file path
	redisPass    string
	devLogin     bool
	devUser      string
	devInsecure  bool
	githubID     string
	githubSecret string
	githubURL    string
	githubAPI    string
	logLevel     slog.Level
	keyFile      string
	opts         oauth.Options
	// The resource-server side: /verify and the protected-resource
	// metadata.
	resourceFile string
	resources    *resourceConfig
	passToken    bool
}

// getenv reads an environment variable through a lookup function (tests
// pass their own).
type getenv func(string) string

// parseConfig reads flags (args) and environment variables. Flags win.
func parseConfig(args []string, env getenv, stderr io.Writer) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("mcp-oauth-server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: mcp-oauth-server [flags]\n\nThe OAuth 2.1 authorization server of the MCP OAuth Gateway.\nSee examples/mcp-oauth-server/README.md for the environment variables.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	fs.StringVar(&c.host, "host", "0.0.0.0", "address to listen on")
	fs.StringVar(&c.port, "port", "8000", "port to listen on")
	fs.StringVar(&c.issuer, "issuer", "", "issuer URL (default https://auth.$BASE_DOMAIN, or http://127.0.0.1:PORT without BASE_DOMAIN)")
	fs.StringVar(&c.store, "store", "", "state: a file path (embedded store), redis://... or memory (default $REDIS_URL, else "+defaultStorePath(env)+")")
	fs.BoolVar(&c.devLogin, "dev-login", false, "use the development login (a name form) instead of GitHub; loopback issuer only")
	fs.StringVar(&c.devUser, "dev-user", "", "approve every request as this user, without login or consent pages (loopback issuer only)")
	fs.BoolVar(&c.devInsecure, "dev-login-public", false, "allow --dev-login on a non-loopback issuer (anyone can log in as anyone)")
	fs.StringVar(&c.keyFile, "jwt-key-file", "", "PEM private key that signs tokens (default $JWT_PRIVATE_KEY_B64, else keys generated and kept in the store)")
	scopes := fs.String("scopes", "", "space- or comma-separated scopes the server grants (default $OAUTH_SCOPES, else mcp)")
	resources := fs.String("resources", "", "comma-separated resource URIs tokens may be issued for; an entry ending in / covers everything under it (default $OAUTH_RESOURCES, else any)")
	schemes := fs.String("redirect-schemes", "", "comma-separated private-use redirect URI schemes allowed beyond reverse-domain ones, e.g. cursor (default $OAUTH_REDIRECT_SCHEMES)")
	trustProxy := fs.Bool("trust-proxy", false, "take client addresses for quotas from X-Forwarded-For of peers on loopback and private networks (a proxy next to the server)")
	trustedProxies := fs.String("trusted-proxies", "", "comma-separated addresses or CIDR prefixes of the proxies whose forwarded header is believed, instead of --trust-proxy's private networks (default $OAUTH_TRUSTED_PROXIES)")
	forwardedHeader := fs.String("forwarded-header", "", "the header trusted proxies name the client in: X-Forwarded-For or Forwarded (default $OAUTH_FORWARDED_HEADER, else X-Forwarded-For)")
	limits := []struct {
		flag, env, usage string
		def              int
		dst              *int
	}{
		{"pending-per-address", "OAUTH_PENDING_PER_ADDRESS", "sign-ins one client address may start per 10 minutes", oauth.DefaultPendingPerAddress, &c.opts.Limits.PendingPerAddress},
		{"max-pending", "OAUTH_MAX_PENDING", "sign-ins in progress at once, all clients together", oauth.DefaultMaxPending, &c.opts.Limits.MaxPending},
		{"devices-per-address", "OAUTH_DEVICES_PER_ADDRESS", "device authorizations one client address may start per 10 minutes", oauth.DefaultDevicesPerAddress, &c.opts.Limits.DevicesPerAddress},
		{"max-devices", "OAUTH_MAX_DEVICES", "device authorizations kept at once, all clients together", oauth.DefaultMaxDevices, &c.opts.Limits.MaxDevices},
		{"registrations-per-address", "OAUTH_REGISTRATIONS_PER_ADDRESS", "dynamic registrations one client address may make per hour", oauth.DefaultRegistrationLimit, &c.opts.RegistrationLimit},
		{"max-registrations", "OAUTH_MAX_REGISTRATIONS", "dynamic registrations per hour, all clients together", oauth.DefaultMaxRegistrations, &c.opts.Limits.MaxRegistrations},
		{"metadata-fetches-per-address", "OAUTH_METADATA_FETCHES_PER_ADDRESS", "client metadata documents one client address may make the server fetch per minute", oauth.DefaultMetadataFetchesPerAddress, &c.opts.Limits.MetadataFetchesPerAddress},
		{"max-metadata-fetches", "OAUTH_MAX_METADATA_FETCHES", "client metadata document fetches per minute, all clients together", oauth.DefaultMaxMetadataFetches, &c.opts.Limits.MaxMetadataFetches},
	}
	limitVals := make([]*string, len(limits))
	for i, l := range limits {
		limitVals[i] = fs.String(l.flag, "", fmt.Sprintf("%s (default $%s, else %d; 0 or off: no limit)", l.usage, l.env, l.def))
	}
	rotation := fs.String("key-rotation", "", "replace the generated signing key after this long, e.g. 720h (default never)")
	fs.StringVar(&c.resourceFile, "resource-config", "", "JSON file naming the protected MCP resources and who may use each (default $OAUTH_RESOURCE_CONFIG; none: every request's URL is its resource); re-read on SIGHUP")
	fs.BoolVar(&c.passToken, "pass-token", false, "add X-Auth-Token (the caller's bearer token) to the identity headers of /verify, as the original gateway did")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if _, err := strconv.ParseUint(c.port, 10, 16); err != nil {
		return nil, fmt.Errorf("--port %q is not a port number", c.port)
	}

	if c.issuer == "" {
		if d := strings.TrimSpace(env("BASE_DOMAIN")); d != "" {
			c.issuer = "https://auth." + d
		} else {
			c.issuer = "http://" + net.JoinHostPort("127.0.0.1", c.port)
		}
	}
	if c.store == "" {
		c.store = env("REDIS_URL")
	}
	if c.store == "" {
		c.store = defaultStorePath(env)
	}
	c.redisPass = env("REDIS_PASSWORD")
	c.githubID, c.githubSecret = env("GITHUB_CLIENT_ID"), env("GITHUB_CLIENT_SECRET")
	c.githubURL, c.githubAPI = env("GITHUB_BASE_URL"), env("GITHUB_API_URL")
	if c.devUser != "" {
		c.devLogin = true
	}
	if !c.devLogin && (c.githubID == "" || c.githubSecret == "") {
		return nil, errors.New("GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET are required (or --dev-login / --dev-user NAME to try it without GitHub)")
	}

	var err error
	if c.logLevel, err = parseLogLevel(env("LOG_LEVEL")); err != nil {
		return nil, err
	}
	o := &c.opts
	o.Policy = oauth.ParsePolicy(env("ALLOWED_GITHUB_USERS"))
	if c.devUser != "" && o.Policy.Empty() {
		o.Policy.Logins = []string{c.devUser}
	}
	if o.AccessTokenLifetime, err = parseLifetime("ACCESS_TOKEN_LIFETIME", env("ACCESS_TOKEN_LIFETIME")); err != nil {
		return nil, err
	}
	if o.RefreshTokenLifetime, err = parseLifetime("REFRESH_TOKEN_LIFETIME", env("REFRESH_TOKEN_LIFETIME")); err != nil {
		return nil, err
	}
	switch v := strings.TrimSpace(env("CLIENT_LIFETIME")); v {
	case "":
		o.ClientLifetime = 90 * 24 * time.Hour // the original's default
	case "0":
		o.ClientLifetime = 0 // registrations never expire, as in the original
	default:
		if o.ClientLifetime, err = parseLifetime("CLIENT_LIFETIME", v); err != nil {
			return nil, err
		}
	}
	if *rotation != "" {
		if o.KeyRotation, err = time.ParseDuration(*rotation); err != nil || o.KeyRotation <= 0 {
			return nil, fmt.Errorf("--key-rotation %q is not a positive duration", *rotation)
		}
	}
	switch alg := strings.ToUpper(strings.TrimSpace(env("JWT_ALGORITHM"))); alg {
	case "", "RS256":
		o.SigningAlgorithm = oauth.RS256
	case "ES256":
		o.SigningAlgorithm = oauth.ES256
	case "EDDSA":
		o.SigningAlgorithm = oauth.EdDSA
	case "HS256":
		return nil, errors.New("JWT_ALGORITHM=HS256 is not supported: resource servers verify tokens with the public JWKS; use RS256 (default), ES256 or EdDSA")
	default:
		return nil, fmt.Errorf("JWT_ALGORITHM %q is not supported (RS256, ES256, EdDSA)", alg)
	}
	var pemKey []byte
	switch {
	case c.keyFile != "":
		if pemKey, err = os.ReadFile(c.keyFile); err != nil {
			return nil, fmt.Errorf("--jwt-key-file: %w", err)
		}
	case env("JWT_PRIVATE_KEY_B64") != "":
		pemKey = []byte(env("JWT_PRIVATE_KEY_B64"))
	}
	if pemKey != nil {
		if o.SigningKey, err = oauth.ParsePrivateKey(pemKey); err != nil {
			return nil, fmt.Errorf("signing key: %w", err)
		}
		if o.KeyRotation != 0 {
			return nil, errors.New("--key-rotation cannot rotate a configured signing key")
		}
	}
	o.Scopes = splitList(firstSet(*scopes, env("OAUTH_SCOPES")))
	o.Resources = splitList(firstSet(*resources, env("OAUTH_RESOURCES")))
	o.RedirectSchemes = splitList(firstSet(*schemes, env("OAUTH_REDIRECT_SCHEMES")))
	o.TrustProxyHeaders = *trustProxy
	if o.TrustedProxies, err = oauth.ParseTrustedProxies(firstSet(*trustedProxies, env("OAUTH_TRUSTED_PROXIES"))); err != nil {
		return nil, fmt.Errorf("--trusted-proxies: %w", err)
	}
	switch h := strings.TrimSpace(firstSet(*forwardedHeader, env("OAUTH_FORWARDED_HEADER"))); {
	case h == "":
	case strings.EqualFold(h, oauth.HeaderXForwardedFor), strings.EqualFold(h, oauth.HeaderForwarded):
		o.ForwardedHeader = h
	default:
		return nil, fmt.Errorf("--forwarded-header %q: want X-Forwarded-For or Forwarded", h)
	}
	for i, l := range limits {
		if *l.dst, err = parseLimit(l.flag, firstSet(*limitVals[i], env(l.env))); err != nil {
			return nil, err
		}
	}
	c.resourceFile = firstSet(c.resourceFile, env("OAUTH_RESOURCE_CONFIG"))
	granted := o.Scopes
	if len(granted) == 0 {
		granted = []string{oauth.DefaultScope}
	}
	if c.resources, err = loadResources(c.resourceFile, granted); err != nil {
		return nil, err
	}
	return c, nil
}

// defaultStorePath is where the embedded store lives by default:
// $XDG_STATE_HOME/mcp-oauth-server/oauth.db, ~/.local/state/... without
// XDG_STATE_HOME, ./mcp-oauth.db without a home.
func defaultStorePath(env getenv) string {
	if d := env("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "mcp-oauth-server", "oauth.db")
	}
	if h := env("HOME"); h != "" {
		return filepath.Join(h, ".local", "state", "mcp-oauth-server", "oauth.db")
	}
	return "mcp-oauth.db"
}

// parseLifetime reads seconds (the original's format) or a Go duration.
func parseLifetime(name, v string) (time.Duration, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, nil
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0, fmt.Errorf("%s=%s: must be positive", name, v)
		}
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s=%q: want seconds or a duration like 1h", name, v)
	}
	return d, nil
}

// parseLimit reads a quota: a positive count, or off (also 0 or a negative
// number) for none; empty keeps the default.
func parseLimit(name, v string) (int, error) {
	v = strings.TrimSpace(v)
	switch strings.ToLower(v) {
	case "":
		return 0, nil
	case "off", "none", "0":
		return -1, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("--%s %q: want a number, or off", name, v)
	}
	if n < 0 {
		return -1, nil
	}
	return n, nil
}

func parseLogLevel(v string) (slog.Level, error) {
	switch strings.ToUpper(strings.TrimSpace(v)) {
	case "", "INFO":
		return slog.LevelInfo, nil
	case "DEBUG", "TRACE":
		return slog.LevelDebug, nil
	case "WARNING", "WARN":
		return slog.LevelWarn, nil
	case "ERROR", "CRITICAL":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("LOG_LEVEL %q is not one of DEBUG, INFO, WARNING, ERROR", v)
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
		out = append(out, f)
	}
	return out
}

func firstSet(vs ...string) string {
	for _, v := range vs {
		if strings.TrimSpace(v) != "" {
			return v
		}
	}
	return ""
}

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
	scopes := fs.String("scopes", "", "space- or comma-separated scopes the server grants; resources without scopes of their own ask for mcp, or else the first (default $OAUTH_SCOPES, else mcp)")
	resources := fs.String("resources", "", "comma-separated resource URIs tokens may be issued for; an entry ending in / covers everything under it (default $OAUTH_RESOURCES, else any)")
	schemes := fs.String("redirect-schemes", "", "comma-separated private-use redirect URI schemes allowed beyond reverse-domain ones, e.g. cursor (default $OAUTH_REDIRECT_SCHEMES)")
	trustProxy := fs.Bool("trust-proxy", false, "take client addresses for rate limits from X-Forwarded-For (behind Traefik or nginx)")
	rotation := fs.String("key-rotation", "", "replace the generated signing key after this long, e.g. 720h (default never)")
	fs.StringVar(&c.resourceFile, "resource-config", "", "JSON file naming the protected MCP resources and who may use each (default $OAUTH_RESOURCE_CONFIG; none: every request's URL is its resource); re-read on SIGHUP")
	familyLifetime := fs.String("refresh-family-lifetime", "", "how long the refresh tokens of one login live at most, however often they rotate: seconds or a duration like 2160h (default $REFRESH_FAMILY_LIFETIME, else 90 days)")
	checkInterval := fs.String("identity-check-interval", "", "how old a user's GitHub login and organization memberships may be at a refresh before GitHub is asked again (default $IDENTITY_CHECK_INTERVAL, else 1h)")
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
	if o.RefreshFamilyLifetime, err = parseLifetime("REFRESH_FAMILY_LIFETIME", firstSet(*familyLifetime, env("REFRESH_FAMILY_LIFETIME"))); err != nil {
		return nil, err
	}
	if o.IdentityCheckInterval, err = parseLifetime("IDENTITY_CHECK_INTERVAL", firstSet(*checkInterval, env("IDENTITY_CHECK_INTERVAL"))); err != nil {
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
	c.resourceFile = firstSet(c.resourceFile, env("OAUTH_RESOURCE_CONFIG"))
	if c.resources, err = loadResources(c.resourceFile, defaultScope(o.Scopes)); err != nil {
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

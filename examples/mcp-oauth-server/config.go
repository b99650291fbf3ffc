package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/mcp-oauth-gateway/gateway/internal/cli"
	"github.com/mcp-oauth-gateway/gateway/oauth"
)

const name = "mcp-oauth-server"

// config is everything the flags and the environment say.
type config struct {
	listen *cli.Listen
	// issuer is --issuer, or https://auth.$BASE_DOMAIN; empty: derived
	// from the address the server listens on (see run).
	issuer       string
	store        string // "memory", "redis://...", "rediss://...", "unix://..." or a file path
	redisPass    string
	devLogin     bool
	devUser      string
	devNetwork   bool // the development login may be reached from the network
	githubID     string
	githubSecret string
	githubURL    string
	githubAPI    string
	oidc         *OIDCProvider // nil: none
	logLevel     slog.Level
	logFile      *cli.LogFile
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

// parseConfig reads flags (args) and environment variables; --help goes
// to help. Flags win.
func parseConfig(args []string, env getenv, help io.Writer) (*config, error) {
	c := &config{}
	fs := cli.New(name, "The OAuth 2.1 authorization server of the MCP OAuth Gateway: dynamic client registration, "+
		"PKCE, GitHub login, JWT access tokens, rotating refresh tokens, and the /verify endpoint of the reverse proxy "+
		"in front of MCP services. See examples/mcp-oauth-server/README.md.")
	c.listen = fs.Listen(8000, "HOST", "PORT")
	issuer := fs.URL("issuer", "", []string{"https", "http"}, "issuer URL (default https://auth.$BASE_DOMAIN, or http://127.0.0.1:PORT on the port listened on)")
	baseDomain := fs.String("", "", "issuer https://auth.$BASE_DOMAIN when --issuer is not given", "BASE_DOMAIN")
	store := fs.String("store", "", "state: a file `PATH` (embedded store), redis://... or memory (default: --redis-url, else "+defaultStorePath(env)+")")
	redisURL := fs.URL("redis-url", "", []string{"redis", "rediss", "unix"}, "keep the state in Redis (Sentinel with ?master_name=, Cluster with ?addr=)", "REDIS_URL")
	redisPass := fs.Secret("", "Redis password; overrides the URL's", "REDIS_PASSWORD")
	devLogin := fs.Bool("dev-login", false, "use the development login (a name form) instead of GitHub; loopback only unless --dev-login-on-network")
	devUser := fs.String("dev-user", "", "approve every request as this `USER`, without login or consent pages; implies --dev-login")
	devNetwork := fs.Bool("dev-login-on-network", false, "let --dev-login and --dev-user run on a non-loopback --host or issuer, where anyone who reaches the server can log in as anyone", "MCP_DEV_LOGIN_ON_NETWORK")
	keyFile := fs.String("jwt-key-file", "", "PEM private key that signs tokens (default JWT_PRIVATE_KEY_B64, else keys generated and kept in the store)")
	keyB64 := fs.Secret("", "base64 of a PEM private key matching JWT_ALGORITHM (or the PEM itself)", "JWT_PRIVATE_KEY_B64")
	alg := fs.String("", "RS256", "token signing algorithm: RS256, ES256 or EdDSA", "JWT_ALGORITHM")
	scopes := fs.String("scopes", "", "space- or comma-separated scopes the server grants; resources without scopes of their own ask for mcp, or else the first (default mcp)", "OAUTH_SCOPES")
	resources := fs.List("resources", nil, "resource URIs tokens may be issued for; an entry ending in / covers everything under it (default any)", "OAUTH_RESOURCES")
	schemes := fs.List("redirect-schemes", nil, "private-use redirect URI schemes allowed beyond reverse-domain ones, e.g. cursor", "OAUTH_REDIRECT_SCHEMES")
	trustProxy := fs.Bool("trust-proxy", false, "take client addresses for quotas from X-Forwarded-For of peers on loopback and private networks (a proxy next to the server)")
	trustedProxies := fs.List("trusted-proxies", nil, "addresses or CIDR prefixes of the proxies whose forwarded header is believed, instead of --trust-proxy's private networks", "OAUTH_TRUSTED_PROXIES")
	forwardedHeader := fs.Enum("forwarded-header", oauth.HeaderXForwardedFor, []string{oauth.HeaderXForwardedFor, oauth.HeaderForwarded},
		"the header trusted proxies name the client in (only that one is read)", "OAUTH_FORWARDED_HEADER")
	limits := []struct {
		flag, env, usage string
		def              int
		dst              *int
	}{
		{"pending-per-address", "OAUTH_PENDING_PER_ADDRESS", "`N` sign-ins one client address may start per 10 minutes", oauth.DefaultPendingPerAddress, &c.opts.Limits.PendingPerAddress},
		{"max-pending", "OAUTH_MAX_PENDING", "`N` sign-ins in progress at once, all clients together", oauth.DefaultMaxPending, &c.opts.Limits.MaxPending},
		{"devices-per-address", "OAUTH_DEVICES_PER_ADDRESS", "`N` device authorizations one client address may start per 10 minutes", oauth.DefaultDevicesPerAddress, &c.opts.Limits.DevicesPerAddress},
		{"max-devices", "OAUTH_MAX_DEVICES", "`N` device authorizations kept at once, all clients together", oauth.DefaultMaxDevices, &c.opts.Limits.MaxDevices},
		{"registrations-per-address", "OAUTH_REGISTRATIONS_PER_ADDRESS", "`N` dynamic registrations one client address may make per hour", oauth.DefaultRegistrationLimit, &c.opts.RegistrationLimit},
		{"max-registrations", "OAUTH_MAX_REGISTRATIONS", "`N` dynamic registrations per hour, all clients together", oauth.DefaultMaxRegistrations, &c.opts.Limits.MaxRegistrations},
		{"metadata-fetches-per-address", "OAUTH_METADATA_FETCHES_PER_ADDRESS", "`N` client metadata documents one client address may make the server fetch per minute", oauth.DefaultMetadataFetchesPerAddress, &c.opts.Limits.MetadataFetchesPerAddress},
		{"max-metadata-fetches", "OAUTH_MAX_METADATA_FETCHES", "`N` client metadata document fetches per minute, all clients together", oauth.DefaultMaxMetadataFetches, &c.opts.Limits.MaxMetadataFetches},
	}
	limitVals := make([]*string, len(limits))
	for i, l := range limits {
		limitVals[i] = fs.String(l.flag, "", fmt.Sprintf("%s (default %d; 0 or off: no limit)", l.usage, l.def), l.env)
	}
	rotation := fs.Duration("key-rotation", 0, "replace the generated signing key after this long, e.g. 720h (default never)")
	resourceFile := fs.String("resource-config", "", "JSON `FILE` naming the protected MCP resources and who may use each (none: every request's URL is its resource); re-read on SIGHUP", "OAUTH_RESOURCE_CONFIG")
	familyLifetime := fs.Duration("refresh-family-lifetime", 0, "how long the refresh tokens of one login live at most, however often they rotate, e.g. 2160h (default 90 days)", "REFRESH_FAMILY_LIFETIME")
	checkInterval := fs.Duration("identity-check-interval", 0, "how old the identity provider's word on a user (GitHub organizations, OpenID groups and email) may be at a refresh before it is asked again (default 1h)", "IDENTITY_CHECK_INTERVAL")
	passToken := fs.Bool("pass-token", false, "add X-Auth-Token (the caller's bearer token) to the identity headers of /verify, as the original gateway did")
	githubID := fs.String("", "", "the GitHub OAuth App's client id (required unless --dev-login)", "GITHUB_CLIENT_ID")
	githubSecret := fs.Secret("", "the GitHub OAuth App's client secret (required unless --dev-login)", "GITHUB_CLIENT_SECRET")
	githubURL := fs.URL("", "", []string{"https", "http"}, "GitHub Enterprise Server: its web URL (default https://github.com)", "GITHUB_BASE_URL")
	githubAPI := fs.URL("", "", []string{"https", "http"}, "GitHub Enterprise Server: its API URL (default $GITHUB_BASE_URL/api/v3, else https://api.github.com)", "GITHUB_API_URL")
	oidc := registerOIDC(fs)
	users := fs.String("", "", "who may log in: GitHub logins, id:SUBJECT (a GitHub account id, or oidc:NAME:SUB), org:NAME (GitHub), email:ADDRESS, domain:DOMAIN (verified emails), group:NAME (OpenID groups), * for everyone (empty: nobody)", "ALLOWED_USERS", "ALLOWED_GITHUB_USERS")
	accessLifetime := fs.Duration("", 0, "access token lifetime (default 3600)", "ACCESS_TOKEN_LIFETIME")
	refreshLifetime := fs.Duration("", 0, "refresh token lifetime; every rotation starts it again (default 2592000)", "REFRESH_TOKEN_LIFETIME")
	clientLifetime := fs.DurationOrZero("", 90*24*time.Hour, "how long a dynamic registration lives; 0: forever", "CLIENT_LIFETIME")
	level := fs.LogLevel("log-level", slog.LevelInfo, "DEBUG, INFO, WARNING or ERROR", "LOG_LEVEL")
	c.logFile = fs.LogFile()
	if err := fs.Parse(args, env, help); err != nil {
		return nil, err
	}

	c.issuer = *issuer
	if c.issuer == "" && *baseDomain != "" {
		c.issuer = "https://auth." + *baseDomain
	}
	c.store = *store
	if c.store == "" {
		c.store = *redisURL
	}
	if c.store == "" {
		c.store = defaultStorePath(env)
	}
	c.redisPass = *redisPass
	c.devLogin, c.devUser, c.devNetwork = *devLogin, *devUser, *devNetwork
	c.githubID, c.githubSecret = *githubID, *githubSecret
	c.githubURL, c.githubAPI = *githubURL, *githubAPI
	if c.devUser != "" {
		c.devLogin = true
	}
	var err error
	if c.oidc, err = oidc.provider(); err != nil {
		return nil, err
	}
	switch {
	case c.devLogin && c.oidc != nil:
		return nil, cli.Usagef("--dev-login and OIDC_ISSUER exclude each other: the development login is for trying the server without a real provider")
	case (c.githubID == "") != (c.githubSecret == ""):
		return nil, cli.Usagef("GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET go together: set both, or neither")
	case !c.devLogin && c.githubID == "" && c.oidc == nil:
		return nil, cli.Usagef("no identity provider: set GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET, or OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET " +
			"(or --dev-login / --dev-user NAME to try it without one)")
	}
	if c.devLogin && !c.devNetwork {
		if err := devLoginLocal(fs, c); err != nil {
			return nil, err
		}
	}

	c.logLevel = *level
	o := &c.opts
	o.Policy = oauth.ParsePolicy(*users)
	if c.devUser != "" && o.Policy.Empty() {
		o.Policy.Logins = []string{c.devUser}
	}
	o.AccessTokenLifetime = *accessLifetime
	o.RefreshTokenLifetime = *refreshLifetime
	o.RefreshFamilyLifetime = *familyLifetime
	o.IdentityCheckInterval = *checkInterval
	o.ClientLifetime = *clientLifetime // 0: registrations never expire, as in the original
	o.KeyRotation = *rotation
	switch strings.ToUpper(*alg) {
	case "RS256":
		o.SigningAlgorithm = oauth.RS256
	case "ES256":
		o.SigningAlgorithm = oauth.ES256
	case "EDDSA":
		o.SigningAlgorithm = oauth.EdDSA
	case "HS256":
		return nil, fs.Bad("JWT_ALGORITHM", fmt.Errorf("not supported: resource servers verify tokens with the public JWKS; use RS256 (default), ES256 or EdDSA"))
	default:
		return nil, fs.Bad("JWT_ALGORITHM", fmt.Errorf("not supported: want RS256, ES256 or EdDSA"))
	}
	var pemKey []byte
	c.keyFile = *keyFile
	switch {
	case c.keyFile != "":
		var err error
		if pemKey, err = os.ReadFile(c.keyFile); err != nil {
			return nil, fs.Bad("jwt-key-file", err)
		}
	case *keyB64 != "":
		pemKey = []byte(*keyB64)
	}
	if pemKey != nil {
		var err error
		if o.SigningKey, err = oauth.ParsePrivateKey(pemKey); err != nil {
			return nil, cli.Usagef("signing key: %w", err)
		}
		if o.KeyRotation != 0 {
			return nil, cli.Usagef("--key-rotation cannot rotate a configured signing key")
		}
	}
	o.Scopes = splitList(*scopes)
	o.Resources = *resources
	o.RedirectSchemes = *schemes
	o.TrustProxyHeaders = *trustProxy
	if o.TrustedProxies, err = oauth.ParseTrustedProxies(strings.Join(*trustedProxies, ",")); err != nil {
		return nil, fs.Bad("trusted-proxies", err)
	}
	o.ForwardedHeader = *forwardedHeader
	for i, l := range limits {
		if *l.dst, err = parseLimit(*limitVals[i]); err != nil {
			return nil, fs.Bad(l.flag, err)
		}
	}
	c.resourceFile = *resourceFile
	c.passToken = *passToken
	if c.resources, err = loadResources(c.resourceFile, defaultScope(o.Scopes)); err != nil {
		return nil, cli.Usage(err)
	}
	return c, nil
}

// devLoginLocal refuses the development login where others can reach it
// (a non-loopback listener or issuer) without --dev-login-on-network:
// whoever reaches its form can log in as anyone.
func devLoginLocal(fs *cli.Command, c *config) error {
	consent := fs.Names("dev-login-on-network")
	if c.issuer != "" {
		if u, err := url.Parse(c.issuer); err == nil && !cli.LoopbackName(u.Hostname()) {
			return cli.Usagef("the development login lets anyone log in as anyone, and the issuer %s is not a loopback one: "+
				"use GitHub, or pass %s to run it there anyway", c.issuer, consent)
		}
	}
	loopback, err := c.listen.Loopback(context.Background())
	if err != nil {
		return err
	}
	if !loopback {
		return cli.Usagef("the development login lets anyone log in as anyone, and the listen address %s (%s) is not loopback: "+
			"listen on 127.0.0.1, or pass %s to expose it anyway", c.listen.Host(), fs.Names("host"), consent)
	}
	return nil
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

// parseLimit reads a quota: a positive count, or off (also 0 or a negative
// number) for none; empty keeps the default.
func parseLimit(v string) (int, error) {
	v = strings.TrimSpace(v)
	switch strings.ToLower(v) {
	case "":
		return 0, nil
	case "off", "none", "0":
		return -1, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, errors.New("want a number, or off")
	}
	return max(n, -1), nil
}

// splitList splits scopes, which OAuth writes space-separated, on spaces
// and commas.
func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' })
}

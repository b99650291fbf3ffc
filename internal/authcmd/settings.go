package authcmd

import (
	"context"
	"errors"
	"fmt"
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

// Binary is what differs between the binaries that embed the
// authorization server.
type Binary struct {
	// Name is the binary's name: the directory of its default store file
	// and the prefix of its messages.
	Name string
	// Port is the default of --port.
	Port int
	// DevLoginWithoutGitHub uses the development login when no GitHub app
	// is configured (GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET unset)
	// instead of refusing to start, so the binary runs with no settings at
	// all. The loopback rule of --dev-login still holds.
	DevLoginWithoutGitHub bool
}

// Config is everything the flags and the environment say about the
// authorization server, checked and with defaults applied.
type Config struct {
	// Listen is --host and --port.
	Listen *cli.Listen
	// Issuer is --issuer, or https://auth.$BASE_DOMAIN; empty: derived from
	// the address the server listens on (ListenIssuer).
	Issuer string
	// BaseDomain is BASE_DOMAIN.
	BaseDomain string
	// Store is "memory", a redis://, rediss:// or unix:// URL, or the path
	// of the embedded store's file.
	Store         string
	RedisPassword string
	// DevLogin: the development login instead of GitHub; DevUser approves
	// every request as that user; DevNetwork lets both run beyond loopback.
	DevLogin   bool
	DevUser    string
	DevNetwork bool
	// DevLoginChosen is false when the development login was picked
	// because no GitHub app is configured (Binary.DevLoginWithoutGitHub).
	DevLoginChosen bool
	GitHub         GitHub
	// OIDC are the OpenID Connect providers: OIDC_ISSUER's (and the rest of
	// its settings) first, then those the binary added (Settings.Config);
	// empty: none. Their names differ. With more than one provider (GitHub
	// first when configured, then these in order), users choose on the
	// consent page.
	OIDC []*OIDCProvider
	// UserCredentials are what services that act as the user need of the
	// identity providers (set by the binary before Open): their tokens,
	// kept under Options.UpstreamKeys (UPSTREAM_KEYS), and the scopes to
	// ask for at login.
	UserCredentials []UserCredential
	LogLevel        slog.Level
	LogFile         *cli.LogFile
	// Options are the oauth.Server's (Logger is set by Open).
	Options oauth.Options
	// ResourceFile is --resource-config; Resources what it says.
	ResourceFile string
	Resources    *ResourceConfig
	// PassToken is --pass-token.
	PassToken bool
	// TraceRetention is how long connection traces are kept (zero: 24 h);
	// TraceOff turns them off.
	TraceRetention time.Duration
	TraceOff       bool
}

// GitHub is the GitHub OAuth App the server signs users in with.
type GitHub struct {
	ClientID, ClientSecret string
	// BaseURL and APIURL are GitHub Enterprise Server's; empty: github.com.
	BaseURL, APIURL string
}

// Settings are the settings Register added, read by Config once the
// command line is parsed.
type Settings struct {
	c              *cli.Command
	bin            Binary
	env            func(string) string
	listen         *cli.Listen
	issuer         *string
	baseDomain     *string
	store          *string
	redisURL       *string
	redisPass      *string
	devLogin       *bool
	devUser        *string
	devNetwork     *bool
	keyFile        *string
	keyB64         *string
	alg            *string
	scopes         *string
	resources      *[]string
	schemes        *[]string
	trustProxy     *bool
	trustedProxies *[]string
	fwdHeader      *string
	limits         []limitSetting
	rotation       *time.Duration
	resourceFile   *string
	familyLifetime *time.Duration
	checkInterval  *time.Duration
	passToken      *bool
	githubID       *string
	githubSecret   *string
	githubURL      *string
	githubAPI      *string
	oidc           *oidcSettings
	upstreamKeys   *string
	users          *string
	accessLife     *time.Duration
	refreshLife    *time.Duration
	clientLife     *time.Duration
	level          *slog.Level
	logFile        *cli.LogFile
}

// Register adds the authorization server's settings, the listen address
// and the log settings to c; env is the environment Parse will read (the
// default store path depends on it).
func Register(c *cli.Command, b Binary, env func(string) string) *Settings {
	s := &Settings{c: c, bin: b, env: env}
	s.listen = c.Listen(b.Port, "HOST", "PORT")
	s.issuer = c.URL("issuer", "", []string{"https", "http"}, "issuer URL (default https://auth.$BASE_DOMAIN, or http://127.0.0.1:PORT on the port listened on)")
	s.baseDomain = c.String("", "", "issuer https://auth.$BASE_DOMAIN when --issuer is not given", "BASE_DOMAIN")
	s.store = c.String("store", "", "state: a file `PATH` (embedded store), redis://... or memory (default: --redis-url, else "+DefaultStorePath(b.Name, env)+")")
	s.redisURL = c.URL("redis-url", "", []string{"redis", "rediss", "unix"}, "keep the state in Redis (Sentinel with ?master_name=, Cluster with ?addr=)", "REDIS_URL")
	s.redisPass = c.Secret("", "Redis password; overrides the URL's", "REDIS_PASSWORD")
	devUsage := "use the development login (a name form) instead of GitHub; loopback only unless --dev-login-on-network"
	if b.DevLoginWithoutGitHub {
		devUsage += " (the default when GITHUB_CLIENT_ID is not set)"
	}
	s.devLogin = c.Bool("dev-login", false, devUsage)
	s.devUser = c.String("dev-user", "", "approve every request as this `USER`, without login or consent pages; implies --dev-login")
	s.devNetwork = c.Bool("dev-login-on-network", false, "let --dev-login and --dev-user run on a non-loopback --host or issuer, where anyone who reaches the server can log in as anyone", "MCP_DEV_LOGIN_ON_NETWORK")
	s.keyFile = c.String("jwt-key-file", "", "PEM private key that signs tokens (default JWT_PRIVATE_KEY_B64, else keys generated and kept in the store)")
	s.keyB64 = c.Secret("", "base64 of a PEM private key matching JWT_ALGORITHM (or the PEM itself)", "JWT_PRIVATE_KEY_B64")
	s.alg = c.String("", "RS256", "token signing algorithm: RS256, ES256 or EdDSA", "JWT_ALGORITHM")
	s.scopes = c.String("scopes", "", "space- or comma-separated scopes the server grants; resources without scopes of their own ask for mcp, or else the first (default mcp)", "OAUTH_SCOPES")
	s.resources = c.List("resources", nil, "resource URIs tokens may be issued for; an entry ending in / covers everything under it (default any)", "OAUTH_RESOURCES")
	s.schemes = c.List("redirect-schemes", nil, "private-use redirect URI schemes allowed beyond reverse-domain ones, e.g. cursor", "OAUTH_REDIRECT_SCHEMES")
	s.trustProxy = c.Bool("trust-proxy", false, "take client addresses for quotas from X-Forwarded-For of peers on loopback and private networks (a proxy next to the server)")
	s.trustedProxies = c.List("trusted-proxies", nil, "addresses or CIDR prefixes of the proxies whose forwarded header is believed, instead of --trust-proxy's private networks", "OAUTH_TRUSTED_PROXIES")
	s.fwdHeader = c.Enum("forwarded-header", oauth.HeaderXForwardedFor, []string{oauth.HeaderXForwardedFor, oauth.HeaderForwarded},
		"the header trusted proxies name the client in (only that one is read)", "OAUTH_FORWARDED_HEADER")
	s.limits = registerLimits(c)
	s.rotation = c.Duration("key-rotation", 0, "replace the generated signing key after this long, e.g. 720h (default never)")
	s.resourceFile = c.String("resource-config", "", "JSON `FILE` naming the protected MCP resources and who may use each (none: every request's URL is its resource); re-read on SIGHUP", "OAUTH_RESOURCE_CONFIG")
	s.familyLifetime = c.Duration("refresh-family-lifetime", 0, "how long the refresh tokens of one login live at most, however often they rotate, e.g. 2160h (default 90 days)", "REFRESH_FAMILY_LIFETIME")
	s.checkInterval = c.Duration("identity-check-interval", 0, "how old the identity provider's word on a user (GitHub organizations, OpenID groups and email) may be at a refresh before it is asked again (default 1h)", "IDENTITY_CHECK_INTERVAL")
	s.passToken = c.Bool("pass-token", false, "add X-Auth-Token (the caller's bearer token) to the identity headers of /verify, as the original gateway did")
	githubNeeded := "required unless --dev-login"
	if b.DevLoginWithoutGitHub {
		githubNeeded = "without it, the development login"
	}
	s.githubID = c.String("", "", "the GitHub OAuth App's client id ("+githubNeeded+")", "GITHUB_CLIENT_ID")
	s.githubSecret = c.Secret("", "the GitHub OAuth App's client secret ("+githubNeeded+")", "GITHUB_CLIENT_SECRET")
	s.githubURL = c.URL("", "", []string{"https", "http"}, "GitHub Enterprise Server: its web URL (default https://github.com)", "GITHUB_BASE_URL")
	s.githubAPI = c.URL("", "", []string{"https", "http"}, "GitHub Enterprise Server: its API URL (default $GITHUB_BASE_URL/api/v3, else https://api.github.com)", "GITHUB_API_URL")
	s.oidc = registerOIDC(c)
	s.upstreamKeys = c.Secret("", "server keys for the users' own upstream tokens that services act with, KEYID:BASE64 comma-separated (in a file, one per line), the sealing key first (openssl rand -base64 32)", "UPSTREAM_KEYS")
	c.FileFlag("upstream-keys-file", "UPSTREAM_KEYS")
	s.users = c.String("", "", "who may log in: GitHub logins, id:SUBJECT (a GitHub account id, or oidc:NAME:SUB), org:NAME (GitHub), email:ADDRESS, domain:DOMAIN (verified emails), group:NAME (OpenID groups), * for everyone (empty: nobody; with the development login: everyone)", "ALLOWED_USERS", "ALLOWED_GITHUB_USERS")
	s.accessLife = c.Duration("", 0, "access token lifetime (default 3600)", "ACCESS_TOKEN_LIFETIME")
	s.refreshLife = c.Duration("", 0, "refresh token lifetime; every rotation starts it again (default 2592000)", "REFRESH_TOKEN_LIFETIME")
	s.clientLife = c.DurationOrZero("", 90*24*time.Hour, "how long a dynamic registration lives; 0: forever", "CLIENT_LIFETIME")
	s.level = c.LogLevel("log-level", slog.LevelInfo, "DEBUG, INFO, WARNING or ERROR", "LOG_LEVEL")
	s.logFile = c.LogFile()
	return s
}

// Config checks the parsed settings against each other and returns the
// configuration. more are OpenID providers the binary configures
// elsewhere (the gateway's --config file), checked already: they follow
// OIDC_ISSUER's in Config.OIDC, and count as providers where the
// development login is chosen. Errors are usage errors (exit status 2)
// naming the setting (a name taken twice names both providers' Source).
func (s *Settings) Config(more ...*OIDCProvider) (*Config, error) {
	c := &Config{Listen: s.listen, LogFile: s.logFile}
	c.Issuer, c.BaseDomain = *s.issuer, *s.baseDomain
	if c.Issuer == "" && *s.baseDomain != "" {
		c.Issuer = "https://auth." + *s.baseDomain
	}
	c.Store = *s.store
	if c.Store == "" {
		c.Store = *s.redisURL
	}
	if c.Store == "" {
		c.Store = DefaultStorePath(s.bin.Name, s.env)
	}
	c.RedisPassword = *s.redisPass
	c.DevLogin, c.DevUser, c.DevNetwork = *s.devLogin, *s.devUser, *s.devNetwork
	c.DevLoginChosen = c.DevLogin || c.DevUser != ""
	c.GitHub = GitHub{ClientID: *s.githubID, ClientSecret: *s.githubSecret, BaseURL: *s.githubURL, APIURL: *s.githubAPI}
	if c.DevUser != "" {
		c.DevLogin = true
	}
	fromEnv, err := s.oidc.provider()
	if err != nil {
		return nil, err
	}
	if fromEnv != nil {
		c.OIDC = append(c.OIDC, fromEnv)
	}
	for _, p := range more {
		for _, q := range c.OIDC {
			if q.Name == p.Name {
				return nil, cli.Usagef("%s: the OpenID provider name %q is taken by %s: choose another (it namespaces the subjects, oidc:NAME:SUB)", p.source(), p.Name, q.source())
			}
		}
		c.OIDC = append(c.OIDC, p)
	}
	switch {
	case c.DevLogin && len(c.OIDC) > 0:
		return nil, cli.Usagef("--dev-login and %s exclude each other: the development login is for trying the server without a real provider", c.OIDC[0].source())
	case (c.GitHub.ClientID == "") != (c.GitHub.ClientSecret == ""):
		return nil, cli.Usagef("GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET go together: set both, or neither")
	case !c.DevLogin && c.GitHub.ClientID == "" && len(c.OIDC) == 0:
		if !s.bin.DevLoginWithoutGitHub {
			return nil, cli.Usagef("no identity provider: set GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET, or OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET " +
				"(or --dev-login / --dev-user NAME to try it without one)")
		}
		c.DevLogin = true
	}
	if c.DevLogin && !c.DevNetwork {
		if err := s.devLoginLocal(c); err != nil {
			return nil, err
		}
	}

	c.LogLevel = *s.level
	o := &c.Options
	o.Policy = oauth.ParsePolicy(*s.users)
	switch {
	case c.DevUser != "" && o.Policy.Empty():
		o.Policy.Logins = []string{c.DevUser}
	case c.DevLogin && o.Policy.Empty():
		// The development login believes any name typed into its form, so
		// an allow list keeps nobody out; without one, admit every name
		// rather than none (which refused every login).
		o.Policy = oauth.ParsePolicy("*")
	}
	o.AccessTokenLifetime = *s.accessLife
	o.RefreshTokenLifetime = *s.refreshLife
	o.RefreshFamilyLifetime = *s.familyLifetime
	o.IdentityCheckInterval = *s.checkInterval
	o.ClientLifetime = *s.clientLife // 0: registrations never expire, as in the original
	o.KeyRotation = *s.rotation
	switch strings.ToUpper(*s.alg) {
	case "RS256":
		o.SigningAlgorithm = oauth.RS256
	case "ES256":
		o.SigningAlgorithm = oauth.ES256
	case "EDDSA":
		o.SigningAlgorithm = oauth.EdDSA
	case "HS256":
		return nil, s.c.Bad("JWT_ALGORITHM", fmt.Errorf("not supported: resource servers verify tokens with the public JWKS; use RS256 (default), ES256 or EdDSA"))
	default:
		return nil, s.c.Bad("JWT_ALGORITHM", fmt.Errorf("not supported: want RS256, ES256 or EdDSA"))
	}
	var pemKey []byte
	switch {
	case *s.keyFile != "":
		var err error
		if pemKey, err = os.ReadFile(*s.keyFile); err != nil {
			return nil, s.c.Bad("jwt-key-file", err)
		}
	case *s.keyB64 != "":
		pemKey = []byte(*s.keyB64)
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
	o.Scopes = splitList(*s.scopes)
	o.Resources = *s.resources
	o.RedirectSchemes = *s.schemes
	o.TrustProxyHeaders = *s.trustProxy
	if o.TrustedProxies, err = oauth.ParseTrustedProxies(strings.Join(*s.trustedProxies, ",")); err != nil {
		return nil, s.c.Bad("trusted-proxies", err)
	}
	o.ForwardedHeader = *s.fwdHeader
	for _, l := range s.limits {
		if *l.dst(o), err = parseLimit(*l.value); err != nil {
			return nil, s.c.Bad(l.flag, err)
		}
	}
	// UPSTREAM_KEYS_FILE and --upstream-keys-file hold one key per line,
	// which ParseUpstreamKeys reads as it reads commas.
	if keys := *s.upstreamKeys; keys != "" {
		if o.UpstreamKeys, err = oauth.ParseUpstreamKeys(keys); err != nil {
			return nil, s.c.Bad("UPSTREAM_KEYS", err)
		}
	}
	c.ResourceFile = *s.resourceFile
	c.PassToken = *s.passToken
	if c.Resources, err = LoadResources(c.ResourceFile, DefaultScope(o.Scopes)); err != nil {
		return nil, cli.Usage(err)
	}
	return c, nil
}

// Command is the cli.Command the settings belong to.
func (s *Settings) Command() *cli.Command { return s.c }

// devLoginLocal refuses the development login where others can reach it
// (a non-loopback listener or issuer) without --dev-login-on-network:
// whoever reaches its form can log in as anyone.
func (s *Settings) devLoginLocal(c *Config) error {
	consent := s.c.Names("dev-login-on-network")
	if c.Issuer != "" {
		if u, err := url.Parse(c.Issuer); err == nil && !cli.LoopbackName(u.Hostname()) {
			return cli.Usagef("the development login lets anyone log in as anyone, and the issuer %s is not a loopback one: "+
				"use GitHub, or pass %s to run it there anyway", c.Issuer, consent)
		}
	}
	loopback, err := c.Listen.Loopback(context.Background())
	if err != nil {
		return err
	}
	if !loopback {
		return cli.Usagef("the development login lets anyone log in as anyone, and the listen address %s (%s) is not loopback: "+
			"listen on 127.0.0.1, or pass %s to expose it anyway", c.Listen.Host(), s.c.Names("host"), consent)
	}
	return nil
}

// DefaultStorePath is where the embedded store of the binary name lives by
// default: $XDG_STATE_HOME/NAME/oauth.db, ~/.local/state/NAME/oauth.db
// without XDG_STATE_HOME, ./mcp-oauth.db without a home.
func DefaultStorePath(name string, env func(string) string) string {
	if d := env("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, name, "oauth.db")
	}
	if h := env("HOME"); h != "" {
		return filepath.Join(h, ".local", "state", name, "oauth.db")
	}
	return "mcp-oauth.db"
}

// limitSetting is one quota or cap setting.
type limitSetting struct {
	flag  string
	value *string
	dst   func(*oauth.Options) *int
}

// registerLimits adds the quota and cap settings: each a count, or off.
func registerLimits(c *cli.Command) []limitSetting {
	rows := []struct {
		flag, env, usage string
		def              int
		dst              func(*oauth.Options) *int
	}{
		{"pending-per-address", "OAUTH_PENDING_PER_ADDRESS", "`N` sign-ins one client address may start per 10 minutes", oauth.DefaultPendingPerAddress,
			func(o *oauth.Options) *int { return &o.Limits.PendingPerAddress }},
		{"max-pending", "OAUTH_MAX_PENDING", "`N` sign-ins in progress at once, all clients together", oauth.DefaultMaxPending,
			func(o *oauth.Options) *int { return &o.Limits.MaxPending }},
		{"devices-per-address", "OAUTH_DEVICES_PER_ADDRESS", "`N` device authorizations one client address may start per 10 minutes", oauth.DefaultDevicesPerAddress,
			func(o *oauth.Options) *int { return &o.Limits.DevicesPerAddress }},
		{"max-devices", "OAUTH_MAX_DEVICES", "`N` device authorizations kept at once, all clients together", oauth.DefaultMaxDevices,
			func(o *oauth.Options) *int { return &o.Limits.MaxDevices }},
		{"registrations-per-address", "OAUTH_REGISTRATIONS_PER_ADDRESS", "`N` dynamic registrations one client address may make per hour", oauth.DefaultRegistrationLimit,
			func(o *oauth.Options) *int { return &o.RegistrationLimit }},
		{"max-registrations", "OAUTH_MAX_REGISTRATIONS", "`N` dynamic registrations per hour, all clients together", oauth.DefaultMaxRegistrations,
			func(o *oauth.Options) *int { return &o.Limits.MaxRegistrations }},
		{"metadata-fetches-per-address", "OAUTH_METADATA_FETCHES_PER_ADDRESS", "`N` client metadata documents one client address may make the server fetch per minute", oauth.DefaultMetadataFetchesPerAddress,
			func(o *oauth.Options) *int { return &o.Limits.MetadataFetchesPerAddress }},
		{"max-metadata-fetches", "OAUTH_MAX_METADATA_FETCHES", "`N` client metadata document fetches per minute, all clients together", oauth.DefaultMaxMetadataFetches,
			func(o *oauth.Options) *int { return &o.Limits.MaxMetadataFetches }},
	}
	out := make([]limitSetting, len(rows))
	for i, l := range rows {
		out[i] = limitSetting{flag: l.flag, dst: l.dst,
			value: c.String(l.flag, "", fmt.Sprintf("%s (default %d; 0 or off: no limit)", l.usage, l.def), l.env)}
	}
	return out
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

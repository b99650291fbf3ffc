package oauth

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
)

// Defaults of Options fields.
const (
	DefaultAccessTokenLifetime  = time.Hour
	DefaultRefreshTokenLifetime = 30 * 24 * time.Hour
	DefaultCodeLifetime         = time.Minute
	MaxCodeLifetime             = 10 * time.Minute
	DefaultRefreshGrace         = 30 * time.Second
	DefaultLoginLifetime        = 10 * time.Minute
	DefaultDeviceCodeLifetime   = 10 * time.Minute
	DefaultDevicePollInterval   = 5 * time.Second
	DefaultRegistrationLimit    = 30
	DefaultRegistrationWindow   = time.Hour
	DefaultMaxBodyBytes         = 64 << 10
	DefaultScope                = "mcp"
)

// Defaults of the Options fields that bound a token family.
const (
	DefaultRefreshFamilyLifetime = 90 * 24 * time.Hour
	DefaultIdentityCheckInterval = time.Hour
)

// Options configure a Server. A nil *Options means all defaults; each field
// documents its zero value.
type Options struct {
	// Policy decides which users may obtain tokens. Zero: nobody (the
	// server logs a warning at start).
	Policy Policy
	// Scopes are the scopes the server grants and advertises. A request
	// for any other scope is refused with invalid_scope; a request without
	// scope gets the client's registered scope, or all of them. Zero:
	// []string{"mcp"}.
	Scopes []string
	// Resources limit the resource indicators (RFC 8707) clients may ask
	// tokens for: a resource must equal an entry, or start with an entry
	// that ends in "/". Zero: any absolute http(s) URI without fragment.
	Resources []string

	// AccessTokenLifetime is the lifetime of access tokens. Zero: 1 hour.
	AccessTokenLifetime time.Duration
	// RefreshTokenLifetime is how long a refresh token stays usable; every
	// rotation starts it again, up to RefreshFamilyLifetime. Zero: 30 days.
	RefreshTokenLifetime time.Duration
	// RefreshFamilyLifetime is the absolute lifetime of an authorization:
	// the refresh tokens that descend from one login end this long after
	// it, however often they are rotated; then the user logs in again.
	// Zero: 90 days.
	RefreshFamilyLifetime time.Duration
	// IdentityCheckInterval is how old the identity provider's word on a
	// user (login, email, groups, organization memberships) may be at a
	// refresh: an older one is asked again (an IdentityRefresher such as an
	// OIDC provider, or GitHub with FetchOrgs) before the policies decide.
	// Zero: 1 hour. Negative: at every refresh.
	IdentityCheckInterval time.Duration
	// RefreshGrace is how long after a rotation a retry with the old
	// refresh token gets the same new pair (a lost response, two egress
	// nodes). Zero: 30 seconds. Negative: no grace; any second use revokes
	// the family.
	RefreshGrace time.Duration
	// CodeLifetime is the lifetime of authorization codes, at most 10
	// minutes. Zero: 60 seconds.
	CodeLifetime time.Duration
	// LoginLifetime is how long a user has for consent and login. Zero: 10
	// minutes.
	LoginLifetime time.Duration
	// ClientLifetime ends a dynamic registration after this long. Zero:
	// registrations never expire.
	ClientLifetime time.Duration

	// SigningAlgorithm signs access tokens: "RS256", "ES256" or "EdDSA".
	// Zero: "RS256".
	SigningAlgorithm string
	// SigningKey is an operator-provided private key (see
	// ParsePrivateKey); it must suit SigningAlgorithm and is never rotated.
	// Zero: keys are generated on first start and kept in the store.
	SigningKey crypto.Signer
	// KeyRotation replaces the generated signing key after this long; the
	// old key stays in the JWKS until its last token expired. Zero: never.
	KeyRotation time.Duration

	// RegistrationLimit is how many dynamic registrations one client
	// address (an IPv6 /64, see TrustedProxies) may make per
	// RegistrationWindow, across replicas. Zero: 30. Negative: no limit.
	RegistrationLimit int
	// RegistrationWindow is the window of RegistrationLimit. Zero: 1 hour.
	RegistrationWindow time.Duration
	// InitialAccessToken, when set, closes dynamic registration to anyone
	// who does not send it as a bearer token (RFC 7591 §3). Zero: open
	// registration.
	InitialAccessToken string
	// RedirectSchemes are private-use redirect URI schemes allowed although
	// they are not reverse-domain style, e.g. "cursor". Zero: none.
	RedirectSchemes []string

	// DeviceCodeLifetime is the lifetime of a device authorization (RFC
	// 8628). Zero: 10 minutes.
	DeviceCodeLifetime time.Duration
	// DevicePollInterval is the minimum polling interval of devices. Zero:
	// 5 seconds.
	DevicePollInterval time.Duration

	// TrustProxyHeaders trusts the forwarded header of peers on loopback
	// and private networks (RFC 1918, RFC 4193): the client address that
	// quotas count is then the one such a proxy reports (set it behind
	// Traefik, nginx or Caddy on the same host or network, when clients
	// cannot reach the server but through the proxy). TrustedProxies, when
	// set, names the proxies instead. Zero: the TCP peer address.
	TrustProxyHeaders bool
	// TrustedProxies are the peers whose forwarded header is believed: the
	// client address is the right-most entry that is not a trusted proxy
	// (see ParseTrustedProxies). Zero: none, unless TrustProxyHeaders.
	TrustedProxies []netip.Prefix
	// ForwardedHeader is the header trusted proxies report the client in:
	// "X-Forwarded-For" or "Forwarded" (RFC 7239). Only that one is read.
	// Zero: "X-Forwarded-For".
	ForwardedHeader string
	// Limits bound what requests without credentials may make the server
	// store: per-address quotas and global caps on pending and device
	// authorizations, registrations and metadata document fetches. Zero:
	// the defaults listed in Limits.
	Limits Limits
	// MaxBodyBytes caps request bodies; a larger one gets 413. Zero: 64 KiB.
	MaxBodyBytes int64
	// AllowInsecureIssuer accepts an http issuer on a non-loopback host
	// (TLS terminated elsewhere and the issuer still http is a
	// misconfiguration; this is for closed test networks). Zero: https
	// unless the host is loopback.
	AllowInsecureIssuer bool
	// ServiceName is shown on the consent and login pages. Zero: "MCP
	// OAuth Gateway".
	ServiceName string
	// UpstreamKeys, when set, make the server keep each authorization's
	// upstream credential (the user's tokens at the identity provider) in
	// the store sealed under these keys, which the store does not hold,
	// rather than under the client's refresh token: then services in this
	// process can act as the user with Server.UpstreamToken, which renews
	// the token when it expires. Zero: the credential is kept only for the
	// checks at refresh, sealed under the refresh token.
	UpstreamKeys *UpstreamKeys
	// IdentityProviders are identity providers users may log in with
	// besides NewServer's idp (which is then listed first; it may be nil
	// when this list has them all): the consent page offers one button
	// per provider. Their IDs must differ. Zero: idp alone.
	IdentityProviders []IdentityProvider

	// DisableClientMetadataDocuments turns off Client ID Metadata
	// Documents: a client_id that is an https URL is then unknown like any
	// unregistered one. Zero: such client_ids are fetched and used (and the
	// metadata says client_id_metadata_document_supported).
	DisableClientMetadataDocuments bool
	// ClientMetadataHTTPClient fetches Client ID Metadata Documents. It
	// must refuse private, loopback and link-local addresses (build it with
	// safehttp.NewClient); redirects are never followed, whatever it says.
	// Zero: safehttp.NewClient for https only.
	ClientMetadataHTTPClient *http.Client
	// ClientMetadataMaxBytes caps a Client ID Metadata Document; a larger
	// one is refused. Zero: 5 KiB, as the draft recommends.
	ClientMetadataMaxBytes int64
	// ClientMetadataTimeout bounds the fetch of a Client ID Metadata
	// Document. Zero: 5 seconds.
	ClientMetadataTimeout time.Duration

	// Logger receives the server's logs. Zero: slog.Default().
	Logger *slog.Logger
	// Now is the server's clock. Zero: time.Now.
	Now func() time.Time
	// Observe receives an Event for each step a client takes at the
	// server (metadata, registration, authorization, consent, login,
	// token), for metrics and connection traces. Zero: none.
	Observe Observer
}

// Server is the OAuth 2.1 authorization server, an http.Handler. Every URL
// it serves derives from its issuer URL; an issuer with a path
// ("https://example.com/auth") serves its endpoints under that path and its
// RFC 8414 metadata at both /.well-known/oauth-authorization-server/auth
// and /auth/.well-known/oauth-authorization-server.
type Server struct {
	issuer     string   // no trailing slash
	issuerURL  *url.URL // parsed issuer
	prefix     string   // the issuer's path, "" or "/auth"
	secure     bool     // https issuer: Secure cookies, HSTS
	store      Store
	providers  []IdentityProvider          // in the consent page's order
	byID       map[string]IdentityProvider // by IdentityProvider.ID
	auto       *Identity                   // auto-approval user, or nil
	refreshers bool                        // some provider is an IdentityRefresher
	vault      *vault                      // nil: no Options.UpstreamKeys
	keys       *keyring
	log        *slog.Logger
	now        func() time.Time
	handler    http.Handler
	metadata   []byte
	metaOIDC   []byte
	scopes     []string
	resources  []string
	policy     Policy
	serviceNm  string
	maxBody    int64
	accessTTL  time.Duration
	refreshTTL time.Duration
	familyTTL  time.Duration
	checkEvery time.Duration // < 0: every refresh
	grace      time.Duration
	codeTTL    time.Duration
	loginTTL   time.Duration
	clientTTL  time.Duration
	deviceTTL  time.Duration
	devicePoll time.Duration
	regLimit   int
	regWindow  time.Duration
	initialTok string
	schemes    []string
	addrs      *clientAddrs
	quotas     quotaRules
	documents  *clientDocuments // nil: Client ID Metadata Documents are off
	// resPolicies are the resource policies checked at login and refresh.
	resPolicies atomic.Pointer[policyHolder]
	observe     Observer // nil: none
}

// NewServer returns the authorization server for issuer (an absolute
// https URL, or http on a loopback host), keeping its state in store and
// authenticating users with idp (and Options.IdentityProviders). It loads
// (or creates) the signing keys, so the store must be reachable.
func NewServer(ctx context.Context, issuer string, store Store, idp IdentityProvider, opts *Options) (*Server, error) {
	if opts == nil {
		opts = &Options{}
	}
	if store == nil {
		return nil, errors.New("oauth: NewServer needs a store")
	}
	s := &Server{store: store, log: opts.Logger, now: opts.Now, observe: opts.Observe}
	if err := s.setProviders(idp, opts.IdentityProviders); err != nil {
		return nil, err
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	if opts.UpstreamKeys != nil {
		s.vault = &vault{keys: opts.UpstreamKeys, store: store, now: s.now, log: s.log}
	}
	u, err := parseIssuer(issuer, opts.AllowInsecureIssuer)
	if err != nil {
		return nil, err
	}
	s.issuerURL = u
	s.issuer = u.String()
	s.prefix = u.Path
	s.secure = u.Scheme == "https"

	s.scopes = opts.Scopes
	if len(s.scopes) == 0 {
		s.scopes = []string{DefaultScope}
	}
	for _, sc := range s.scopes {
		if !validScopeToken(sc) {
			return nil, fmt.Errorf("oauth: scope %q is not a valid scope token", sc)
		}
	}
	for _, r := range opts.Resources {
		if err := validateResource(r); err != nil {
			return nil, fmt.Errorf("oauth: resource %q: %v", r, err)
		}
	}
	s.resources = opts.Resources
	s.policy = opts.Policy
	s.serviceNm = cmpOr(opts.ServiceName, "MCP OAuth Gateway")
	s.maxBody = cmpOr(opts.MaxBodyBytes, DefaultMaxBodyBytes)
	s.accessTTL = cmpOr(opts.AccessTokenLifetime, DefaultAccessTokenLifetime)
	s.refreshTTL = cmpOr(opts.RefreshTokenLifetime, DefaultRefreshTokenLifetime)
	s.familyTTL = cmpOr(opts.RefreshFamilyLifetime, DefaultRefreshFamilyLifetime)
	s.checkEvery = cmpOr(opts.IdentityCheckInterval, DefaultIdentityCheckInterval)
	s.grace = cmpOr(opts.RefreshGrace, DefaultRefreshGrace)
	if s.grace < 0 {
		s.grace = 0
	}
	s.codeTTL = cmpOr(opts.CodeLifetime, DefaultCodeLifetime)
	if s.codeTTL > MaxCodeLifetime {
		return nil, fmt.Errorf("oauth: CodeLifetime %v is longer than %v", s.codeTTL, MaxCodeLifetime)
	}
	s.loginTTL = cmpOr(opts.LoginLifetime, DefaultLoginLifetime)
	s.clientTTL = opts.ClientLifetime
	s.deviceTTL = cmpOr(opts.DeviceCodeLifetime, DefaultDeviceCodeLifetime)
	s.devicePoll = cmpOr(opts.DevicePollInterval, DefaultDevicePollInterval)
	s.regLimit = cmpOr(opts.RegistrationLimit, DefaultRegistrationLimit)
	s.regWindow = cmpOr(opts.RegistrationWindow, DefaultRegistrationWindow)
	s.initialTok = opts.InitialAccessToken
	for _, sc := range opts.RedirectSchemes {
		s.schemes = append(s.schemes, strings.ToLower(strings.TrimSuffix(sc, ":")))
	}
	if s.addrs, err = newClientAddrs(opts); err != nil {
		return nil, err
	}
	for _, d := range []time.Duration{s.accessTTL, s.refreshTTL, s.familyTTL, s.codeTTL, s.loginTTL, s.deviceTTL, s.devicePoll, s.regWindow} {
		if d < 0 {
			return nil, errors.New("oauth: lifetimes and intervals must not be negative")
		}
	}
	if s.clientTTL < 0 {
		return nil, errors.New("oauth: ClientLifetime must not be negative")
	}
	s.quotas = newQuotaRules(opts.Limits, s)

	for _, idp := range s.providers {
		if a, ok := idp.(autoApprover); ok {
			if user, on := a.autoUser(); on {
				if !isLoopbackHost(u.Host) {
					return nil, fmt.Errorf("oauth: automatic approval (dev user %q) is only allowed on a loopback issuer, not %s", user.Login, s.issuer)
				}
				if len(s.providers) > 1 {
					return nil, fmt.Errorf("oauth: automatic approval (dev user %q) approves every request as one user; it cannot be offered beside other identity providers", user.Login)
				}
				if err := qualify(idp, user); err != nil {
					return nil, err
				}
				s.auto = user
			}
		}
		if d, ok := idp.(*DevLogin); ok && !isLoopbackHost(u.Host) && !d.opts.AllowPublicIssuer {
			return nil, fmt.Errorf("oauth: the development login lets anyone log in as anyone; it refuses the non-loopback issuer %s unless DevLoginOptions.AllowPublicIssuer is set", s.issuer)
		}
	}

	alg := cmpOr(opts.SigningAlgorithm, RS256)
	// A replaced key must verify the tokens it signed (access lifetime),
	// also those signed by replicas that learn of the new key late.
	retireAfter := s.accessTTL + keyReloadInterval + time.Minute
	if opts.SigningKey != nil {
		s.keys, err = newFixedKeyring(opts.SigningKey, alg, s.now)
	} else {
		s.keys, err = newStoredKeyring(ctx, store, alg, opts.KeyRotation, retireAfter, s.now)
	}
	if err != nil {
		return nil, err
	}

	if !opts.DisableClientMetadataDocuments {
		if s.documents, err = newClientDocuments(s, opts); err != nil {
			return nil, err
		}
	}

	if s.policy.Empty() && s.auto == nil {
		s.log.Warn("oauth: the allow policy is empty: nobody can log in; set the allowed users (ALLOWED_GITHUB_USERS), organizations, or * for everyone")
	}
	if err := s.buildMetadata(); err != nil {
		return nil, err
	}
	s.handler = s.routes()
	return s, nil
}

// parseIssuer checks an issuer identifier (RFC 8414 §2): an absolute URL
// without query or fragment, https unless loopback. A trailing slash is
// dropped.
func parseIssuer(issuer string, allowInsecure bool) (*url.URL, error) {
	u, err := url.Parse(issuer)
	if err != nil {
		return nil, fmt.Errorf("oauth: issuer %q: %v", issuer, err)
	}
	if u.Scheme != "https" && u.Scheme != "http" || u.Host == "" || u.Opaque != "" {
		return nil, fmt.Errorf("oauth: issuer %q must be an absolute http(s) URL", issuer)
	}
	if u.RawQuery != "" || u.Fragment != "" || strings.Contains(issuer, "#") || strings.Contains(issuer, "?") {
		return nil, fmt.Errorf("oauth: issuer %q must not have a query or fragment", issuer)
	}
	if u.User != nil {
		return nil, fmt.Errorf("oauth: issuer %q must not contain user info", issuer)
	}
	if u.Scheme == "http" && !isLoopbackHost(u.Host) && !strings.HasSuffix(strings.ToLower(u.Hostname()), ".localhost") && !allowInsecure {
		return nil, fmt.Errorf("oauth: issuer %q must be https (http only on loopback hosts)", issuer)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// Issuer is the issuer identifier, as the metadata and tokens carry it.
func (s *Server) Issuer() string { return s.issuer }

// url is the absolute URL of one of the server's paths.
func (s *Server) url(path string) string { return s.issuer + path }

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// routes builds the handler: a pattern mux behind the security headers.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	p := s.prefix
	// api registers a JSON endpoint that browser-based clients may call
	// from any origin, with its preflight.
	api := func(pattern string, h http.HandlerFunc) {
		_, path, _ := strings.Cut(pattern, " ")
		mux.Handle(pattern, cors(h))
		mux.Handle("OPTIONS "+path, cors(nil))
	}
	api("GET /.well-known/oauth-authorization-server"+p, s.serveMetadata)
	api("GET /.well-known/openid-configuration"+p, s.serveOIDCMetadata)
	if p != "" {
		api("GET "+p+"/.well-known/oauth-authorization-server", s.serveMetadata)
		api("GET "+p+"/.well-known/openid-configuration", s.serveOIDCMetadata)
	}
	api("GET "+p+"/jwks", s.serveJWKS)
	api("GET "+p+"/.well-known/jwks.json", s.serveJWKS)
	api("POST "+p+"/register", s.serveRegister)
	mux.Handle("GET "+p+"/register/{client_id}", cors(http.HandlerFunc(s.serveClientRead)))
	mux.Handle("PUT "+p+"/register/{client_id}", cors(http.HandlerFunc(s.serveClientUpdate)))
	mux.Handle("DELETE "+p+"/register/{client_id}", cors(http.HandlerFunc(s.serveClientDelete)))
	mux.Handle("OPTIONS "+p+"/register/{client_id}", cors(nil))
	api("POST "+p+"/token", s.serveToken)
	api("POST "+p+"/revoke", s.serveRevoke)
	api("POST "+p+"/introspect", s.serveIntrospect)
	api("POST "+p+"/device_authorization", s.serveDeviceAuthorization)

	mux.HandleFunc("GET "+p+"/authorize", s.serveAuthorize)
	mux.HandleFunc("POST "+p+"/consent", s.serveConsent)
	mux.HandleFunc("GET "+p+"/callback", s.serveCallback)
	mux.HandleFunc("GET "+p+"/device", s.serveDevicePage)
	mux.HandleFunc("POST "+p+"/device", s.serveDeviceSubmit)
	for _, idp := range s.providers {
		if lp, ok := idp.(loginPageProvider); ok {
			login := func(w http.ResponseWriter, r *http.Request) { lp.serveLogin(s, w, r) }
			mux.HandleFunc("GET "+p+"/login", login)
			mux.HandleFunc("POST "+p+"/login", login)
			break // one login page: NewServer refuses a second DevLogin by its ID
		}
	}
	return s.securityHeaders(mux)
}

// securityHeaders sets the headers every response carries and caps the
// request body.
func (s *Server) securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		if s.secure {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, s.maxBody)
		}
		next.ServeHTTP(w, s.withClientAddr(r))
	})
}

// cors lets browser-based clients (MCP Inspector, web apps) call the API
// endpoints from any origin. They use no cookies, so "*" is safe. A nil
// handler answers preflight requests.
func cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", "*")
		h.Set("Access-Control-Expose-Headers", "WWW-Authenticate, Retry-After")
		if next == nil || r.Method == http.MethodOptions {
			h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE, OPTIONS")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, MCP-Protocol-Version")
			h.Set("Access-Control-Max-Age", "86400")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// PublicKey returns the public signing key with the given kid, for a
// verifier in the same process. It re-reads the store (rate limited) when
// the kid is unknown, so keys another replica added are found.
func (s *Server) PublicKey(ctx context.Context, kid string) (VerificationKey, bool) {
	return s.keys.lookup(ctx, kid)
}

// RotateKeys adds a new signing key now; the old one stays in the JWKS
// until its tokens expired. It fails for an operator-provided key.
func (s *Server) RotateKeys(ctx context.Context) error { return s.keys.rotate(ctx) }

// Store returns the server's store.
func (s *Server) Store() Store { return s.store }

// client returns a registered client, or, for a client_id that is an https
// URL, the client its metadata document describes. An unknown client is
// ErrNotFound; a document that cannot be used is an *Error
// (invalid_client) saying why.
func (s *Server) client(ctx context.Context, id string) (*Client, error) {
	if s.documents != nil && isClientIDURL(id) {
		return s.documents.client(ctx, id)
	}
	return s.store.GetClient(ctx, id)
}

// ---- small helpers --------------------------------------------------------

// cmpOr returns v, or def when v is the zero value.
func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// randomString returns n random bytes, base64url-encoded, with a prefix
// that makes leaked secrets easy to recognise.
func randomString(prefix string, n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

// Prefixes of the secrets the server hands out.
const (
	prefixClientSecret = "mcs_"
	prefixRegToken     = "mrt_"
	prefixCode         = "mac_"
	prefixRefresh      = "mrf_"
	prefixDevice       = "mdc_"
)

// hashSecret is how secrets are stored: SHA-256, base64url.
func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// fingerprint is what logs show of a secret: 8 characters of its hash.
func fingerprint(secret string) string {
	if secret == "" {
		return ""
	}
	return hashSecret(secret)[:8]
}

// parseForm reads an application/x-www-form-urlencoded body (and nothing
// from the query) and refuses repeated parameters (RFC 6749 §3.2) other
// than those listed as repeatable.
func parseForm(r *http.Request, repeatable ...string) (url.Values, error) {
	ct := r.Header.Get("Content-Type")
	if mt, _, _ := strings.Cut(ct, ";"); !strings.EqualFold(strings.TrimSpace(mt), "application/x-www-form-urlencoded") {
		return nil, newError(ErrorInvalidRequest, "the body must be application/x-www-form-urlencoded")
	}
	if err := r.ParseForm(); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, &Error{Code: ErrorInvalidRequest, Description: "request body too large", Status: http.StatusRequestEntityTooLarge, Err: err}
		}
		return nil, &Error{Code: ErrorInvalidRequest, Description: "malformed form body", Err: err}
	}
	if err := noRepeats(r.PostForm, repeatable...); err != nil {
		return nil, err
	}
	return r.PostForm, nil
}

// noRepeats refuses a parameter given more than once.
func noRepeats(v url.Values, repeatable ...string) error {
	for k, vs := range v {
		if len(vs) > 1 && !containsString(repeatable, k) {
			return newError(ErrorInvalidRequest, "parameter %q is repeated", k)
		}
	}
	return nil
}

// isTooLarge reports whether err comes from the body size cap.
func isTooLarge(err error) bool {
	var mbe *http.MaxBytesError
	return errors.As(err, &mbe)
}

// short is the first 8 characters of an identifier, for logs.
func short(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

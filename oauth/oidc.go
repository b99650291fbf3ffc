package oauth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// OIDCOptions configure an OpenID Connect identity provider. A nil
// *OIDCOptions means all defaults.
type OIDCOptions struct {
	// DisplayName is the provider's name on the consent page ("Sign in
	// with Acme SSO"). Zero: the issuer's host.
	DisplayName string
	// Scopes are the scopes asked for; "openid" is added when missing.
	// Zero: openid, email and profile, and also offline_access and groups
	// when the provider's discovery document lists them (offline_access
	// brings the refresh token the server needs to check the user again
	// at refreshes; Dex sends groups only for the groups scope).
	Scopes []string
	// ExtraScopes are asked for besides Scopes (or the defaults): what
	// services that act as the user with the provider's token need
	// (Server.UpstreamToken). Zero: none.
	ExtraScopes []string
	// GroupsClaim names the claim that lists the user's groups (an array
	// of strings, or one string). A name with dots that is not a claim of
	// its own is a path into nested objects ("realm_access.roles"). "-":
	// none. Zero: "groups".
	GroupsClaim string
	// LoginClaim names the claim of the user's handle. Zero:
	// "preferred_username".
	LoginClaim string
	// NameClaim names the claim of the display name. Zero: "name".
	NameClaim string
	// EmailVerifiedClaim names the boolean claim that says the provider
	// verified the email (Microsoft Entra ID sends no email_verified; its
	// optional claim xms_edov says the tenant owns the address's domain).
	// Zero: "email_verified".
	EmailVerifiedClaim string
	// RequireClaims refuses a login unless each named claim (a string) has
	// the given value: Google's hd (the Workspace domain of the account;
	// the hd authorization parameter is only a hint), Entra's tid (the
	// tenant). They are checked again with the claims of every check at a
	// refresh. Zero: none.
	RequireClaims map[string]string
	// UserInfo asks the UserInfo endpoint too, at login and when the user
	// is checked again, and takes its claims over the ID token's (for
	// providers that put the email or groups there only). Zero: the ID
	// token alone (the UserInfo endpoint is still asked at a check again
	// when the provider sent no new ID token).
	UserInfo bool
	// AuthParams are added to the authorization request, e.g. Google's
	// access_type=offline and prompt=consent (for a refresh token) or
	// hd=example.com (a hint only: policies decide). Zero: none.
	AuthParams map[string]string
	// HTTPClient makes the calls to the provider. Zero: a client with a
	// 15 s timeout.
	HTTPClient *http.Client
	// Logger receives the provider's warnings (groups the provider left
	// out of the token). Zero: slog.Default().
	Logger *slog.Logger
	// Now is the clock of the ID token checks. Zero: time.Now.
	Now func() time.Time
}

// OIDC is an OpenID Connect identity provider: Google, Microsoft Entra
// ID, Okta, Keycloak, Authentik, Dex, GitLab, or any other that publishes
// a discovery document. It logs users in with the authorization code flow
// with PKCE and a nonce, verifies the ID token (signature, issuer,
// audience, expiry, nonce, azp when there are several audiences, at_hash)
// and maps its claims to the Identity: the subject (namespaced by the
// server as "oidc:NAME:SUB"), the email (verified only when the provider
// says email_verified), the name, the preferred username and the groups.
//
// The provider's endpoints are discovered at the first login and kept;
// until the provider answers, logins fail with a page saying it cannot be
// reached (ErrUpstreamUnavailable). The credential kept for the user is
// the provider's token, so that the server can check the user again at
// refreshes (RefreshIdentity): it renews the token and reads the new ID
// token's (or UserInfo's) claims.
type OIDC struct {
	name, issuer, clientID, secret string
	opts                           OIDCOptions
	client                         *http.Client
	log                            *slog.Logger

	mu   sync.Mutex
	disc *oidcDiscovery // nil until discovered
}

// oidcDiscovery is what the discovery document told.
type oidcDiscovery struct {
	provider *oidc.Provider
	verifier *oidc.IDTokenVerifier
	config   oauth2.Config // without RedirectURL
	userInfo bool          // the provider has a UserInfo endpoint
}

var (
	_ IdentityProvider  = (*OIDC)(nil)
	_ IdentityRefresher = (*OIDC)(nil)
)

// ErrUpstreamUnavailable is returned by an identity provider that cannot
// be reached (down, or answering with a server error): the login cannot
// complete now and may later. The server shows a page saying so.
var ErrUpstreamUnavailable = errors.New("oauth: the identity provider cannot be reached")

// NewOIDC returns the OpenID Connect provider name (a short name of
// lowercase letters, digits and hyphens, unique among the server's
// providers: its subjects are "oidc:NAME:SUB") for issuer (its issuer
// identifier, e.g. "https://accounts.google.com"), as the client clientID
// with clientSecret (empty: a public client, PKCE alone). It does not
// contact the provider; call Discover to check the settings at start.
func NewOIDC(name, issuer, clientID, clientSecret string, opts *OIDCOptions) (*OIDC, error) {
	if opts == nil {
		opts = &OIDCOptions{}
	}
	if !validProviderName(name) {
		return nil, fmt.Errorf("oauth: OpenID provider name %q: want lowercase letters, digits and inner hyphens, at most 32", name)
	}
	u, err := url.Parse(issuer)
	if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || (u.Scheme != "https" && !(u.Scheme == "http" && isLoopbackHost(u.Host))) {
		return nil, fmt.Errorf("oauth: OpenID issuer %q must be an https URL without query or fragment (http only on loopback)", issuer)
	}
	if clientID == "" {
		return nil, fmt.Errorf("oauth: OpenID provider %s needs a client id", name)
	}
	o := &OIDC{name: name, issuer: issuer, clientID: clientID, secret: clientSecret, opts: *opts, client: opts.HTTPClient, log: opts.Logger}
	if o.client == nil {
		o.client = &http.Client{Timeout: 15 * time.Second}
	}
	if o.log == nil {
		o.log = slog.Default()
	}
	if o.opts.DisplayName == "" {
		o.opts.DisplayName = u.Host
	}
	o.opts.GroupsClaim = cmpOr(o.opts.GroupsClaim, "groups")
	o.opts.LoginClaim = cmpOr(o.opts.LoginClaim, "preferred_username")
	o.opts.NameClaim = cmpOr(o.opts.NameClaim, "name")
	o.opts.EmailVerifiedClaim = cmpOr(o.opts.EmailVerifiedClaim, "email_verified")
	for _, sc := range append(slices.Clone(o.opts.Scopes), o.opts.ExtraScopes...) {
		if !validScopeToken(sc) {
			return nil, fmt.Errorf("oauth: OpenID provider %s: scope %q is not a valid scope token", name, sc)
		}
	}
	return o, nil
}

// validProviderName accepts the names of OpenID providers.
func validProviderName(s string) bool {
	if s == "" || len(s) > 32 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// ID implements IdentityProvider: "oidc:NAME".
func (o *OIDC) ID() string { return ProviderOIDC + ":" + o.name }

// Name implements IdentityProvider.
func (o *OIDC) Name() string { return o.opts.DisplayName }

// Issuer is the provider's issuer identifier.
func (o *OIDC) Issuer() string { return o.issuer }

// Discover fetches the provider's discovery document, if it has not yet,
// and reports what went wrong: an unreachable provider (matching
// ErrUpstreamUnavailable) or a document that does not fit the settings
// (another issuer, no authorization or token endpoint).
func (o *OIDC) Discover(ctx context.Context) error {
	_, err := o.discovery(ctx)
	return err
}

// discovery returns the discovered endpoints, discovering them first.
func (o *OIDC) discovery(ctx context.Context) (*oidcDiscovery, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.disc != nil {
		return o.disc, nil
	}
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, o.client), o.issuer)
	if err != nil {
		var mismatch *oidc.IssuerMismatchError
		if errors.As(err, &mismatch) {
			return nil, fmt.Errorf("oauth: OpenID provider %s: the discovery document names the issuer %q, not %q; set the issuer it names", o.name, mismatch.Discovered, mismatch.Provided)
		}
		return nil, fmt.Errorf("%w: OpenID provider %s: discovery at %s: %v", ErrUpstreamUnavailable, o.name, o.issuer, err)
	}
	var meta struct {
		Scopes      []string `json:"scopes_supported"`
		AuthMethods []string `json:"token_endpoint_auth_methods_supported"`
		UserInfo    string   `json:"userinfo_endpoint"`
	}
	_ = p.Claims(&meta) // the document decoded once already
	ep := p.Endpoint()
	if ep.AuthURL == "" || ep.TokenURL == "" {
		return nil, fmt.Errorf("oauth: OpenID provider %s: the discovery document names no authorization or token endpoint", o.name)
	}
	switch {
	case o.secret == "":
		ep.AuthStyle = oauth2.AuthStyleInParams // a public client sends its id only
	case len(meta.AuthMethods) == 0 || slices.Contains(meta.AuthMethods, "client_secret_basic"):
		ep.AuthStyle = oauth2.AuthStyleInHeader // the default of OpenID Connect Discovery
	default:
		ep.AuthStyle = oauth2.AuthStyleInParams
	}
	scopes := slices.Clone(o.opts.Scopes)
	if len(scopes) == 0 {
		scopes = []string{oidc.ScopeOpenID, "email", "profile"}
		for _, extra := range []string{oidc.ScopeOfflineAccess, "groups"} {
			if slices.Contains(meta.Scopes, extra) && (extra != "groups" || o.opts.GroupsClaim == "groups") {
				scopes = append(scopes, extra)
			}
		}
	} else if !slices.Contains(scopes, oidc.ScopeOpenID) {
		scopes = append([]string{oidc.ScopeOpenID}, scopes...)
	}
	for _, sc := range o.opts.ExtraScopes {
		if !slices.Contains(scopes, sc) {
			scopes = append(scopes, sc)
		}
	}
	o.disc = &oidcDiscovery{
		provider: p,
		verifier: p.Verifier(&oidc.Config{ClientID: o.clientID, Now: o.opts.Now}),
		config:   oauth2.Config{ClientID: o.clientID, ClientSecret: o.secret, Endpoint: ep, Scopes: scopes},
		userInfo: meta.UserInfo != "",
	}
	return o.disc, nil
}

// oidcNonce is the nonce of a login: derived from its PKCE verifier (a
// secret of the pending authorization), so it need not be stored, cannot
// be guessed and differs per login; the verifier cannot be learned from
// it.
func oidcNonce(verifier string) string {
	sum := sha256.Sum256([]byte("mcp-oauth-gateway oidc nonce v1\x00" + verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// AuthURL implements IdentityProvider: the provider's authorization
// endpoint with PKCE (S256), the nonce and AuthParams.
func (o *OIDC) AuthURL(ctx context.Context, callbackURL, state, verifier string) (string, error) {
	d, err := o.discovery(ctx)
	if err != nil {
		return "", err
	}
	c := d.config
	c.RedirectURL = callbackURL
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier), oidc.Nonce(oidcNonce(verifier))}
	for k, v := range o.opts.AuthParams {
		opts = append(opts, oauth2.SetAuthURLParam(k, v))
	}
	return c.AuthCodeURL(state, opts...), nil
}

// Identify implements IdentityProvider: it redeems the code (with the
// PKCE verifier), verifies the ID token and its nonce, asks UserInfo when
// configured, and returns the identity and the provider's token as the
// credential.
func (o *OIDC) Identify(ctx context.Context, r *http.Request, callbackURL, verifier string) (*Identity, []byte, error) {
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		return nil, nil, fmt.Errorf("%w: %s: %s", ErrUpstreamDenied, truncate(e, 60), truncate(q.Get("error_description"), 200))
	}
	code := q.Get("code")
	if code == "" {
		return nil, nil, fmt.Errorf("%w: callback without code", ErrUpstreamDenied)
	}
	d, err := o.discovery(ctx)
	if err != nil {
		return nil, nil, err
	}
	c := d.config
	c.RedirectURL = callbackURL
	ctx = oidc.ClientContext(ctx, o.client)
	tok, err := c.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		return nil, nil, o.tokenError("code exchange", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil, nil, fmt.Errorf("oauth: OpenID provider %s answered the code exchange without an ID token (is the openid scope allowed?)", o.name)
	}
	idt, claims, err := o.verifyIDToken(ctx, d, raw, tok.AccessToken)
	if err != nil {
		return nil, nil, err
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(oidcNonce(verifier))) != 1 {
		return nil, nil, fmt.Errorf("oauth: OpenID provider %s: the ID token's nonce is not this login's (a replayed token?)", o.name)
	}
	if o.opts.UserInfo && d.userInfo {
		if claims, err = o.withUserInfo(ctx, d, tok, idt.Subject, claims); err != nil {
			return nil, nil, err
		}
	}
	if err := o.required(claims); err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrUpstreamDenied, err)
	}
	id := o.identity(idt.Subject, claims, nil)
	credential, err := encodeOIDCToken(tok)
	if err != nil {
		return nil, nil, err
	}
	return id, credential, nil
}

// verifyIDToken checks an ID token: go-oidc checks the signature (with
// the provider's keys and algorithms), the issuer, that the audience
// names this client, and the expiry; this adds azp and at_hash.
func (o *OIDC) verifyIDToken(ctx context.Context, d *oidcDiscovery, raw, accessToken string) (*oidc.IDToken, claimSet, error) {
	idt, err := d.verifier.Verify(ctx, raw)
	if err != nil {
		return nil, nil, fmt.Errorf("oauth: OpenID provider %s: ID token refused: %w", o.name, err)
	}
	if idt.Subject == "" {
		return nil, nil, fmt.Errorf("oauth: OpenID provider %s: the ID token has no subject", o.name)
	}
	var claims claimSet
	if err := idt.Claims(&claims); err != nil {
		return nil, nil, fmt.Errorf("oauth: OpenID provider %s: ID token claims: %w", o.name, err)
	}
	// OpenID Connect Core §3.1.3.7: with several audiences the token must
	// say which party it was issued to, and that must be this client.
	azp, hasAZP := claims.str("azp")
	if len(idt.Audience) > 1 && !hasAZP {
		return nil, nil, fmt.Errorf("oauth: OpenID provider %s: the ID token has several audiences and no azp", o.name)
	}
	if hasAZP && azp != o.clientID {
		return nil, nil, fmt.Errorf("oauth: OpenID provider %s: the ID token was issued to %q (azp), not this client", o.name, truncate(azp, 100))
	}
	if idt.AccessTokenHash != "" && accessToken != "" {
		if err := idt.VerifyAccessToken(accessToken); err != nil {
			return nil, nil, fmt.Errorf("oauth: OpenID provider %s: the ID token's at_hash does not match the access token", o.name)
		}
	}
	return idt, claims, nil
}

// required checks RequireClaims.
func (o *OIDC) required(claims claimSet) error {
	for name, want := range o.opts.RequireClaims {
		if got, _ := claims.str(name); got != want {
			return fmt.Errorf("OpenID provider %s: the claim %s is %q, not %q", o.name, name, truncate(got, 100), want)
		}
	}
	return nil
}

// withUserInfo adds the UserInfo endpoint's claims to claims (they take
// precedence); its subject must be the ID token's (OpenID Connect Core
// §5.3.4).
func (o *OIDC) withUserInfo(ctx context.Context, d *oidcDiscovery, tok *oauth2.Token, subject string, claims claimSet) (claimSet, error) {
	ui, err := d.provider.UserInfo(oidc.ClientContext(ctx, o.client), oauth2.StaticTokenSource(tok))
	if err != nil {
		// go-oidc reports an answer other than 200 as "STATUS: body".
		msg := err.Error()
		var ue *url.Error
		switch {
		case strings.HasPrefix(msg, "401 ") || strings.HasPrefix(msg, "403 "):
			return nil, fmt.Errorf("%w: OpenID provider %s: UserInfo: %.200s", ErrUpstreamRevoked, o.name, msg)
		case errors.As(err, &ue) || strings.HasPrefix(msg, "5"):
			return nil, fmt.Errorf("%w: OpenID provider %s: UserInfo: %.200s", ErrUpstreamUnavailable, o.name, msg)
		}
		return nil, fmt.Errorf("oauth: OpenID provider %s: UserInfo: %.200s", o.name, msg)
	}
	if ui.Subject != subject {
		return nil, fmt.Errorf("oauth: OpenID provider %s: UserInfo names another subject than the ID token", o.name)
	}
	var extra claimSet
	if err := ui.Claims(&extra); err != nil {
		return nil, fmt.Errorf("oauth: OpenID provider %s: UserInfo claims: %w", o.name, err)
	}
	merged := make(claimSet, len(claims)+len(extra))
	for k, v := range claims {
		merged[k] = v
	}
	for k, v := range extra {
		merged[k] = v
	}
	// An address UserInfo gives without saying it is verified is verified
	// only if it is the one the ID token vouched for.
	if email, ok := extra.str("email"); ok {
		if _, said := extra[o.opts.EmailVerifiedClaim]; !said {
			if old, _ := claims.str("email"); !strings.EqualFold(old, email) {
				delete(merged, o.opts.EmailVerifiedClaim)
			}
		}
	}
	return merged, nil
}

// identity maps claims to an Identity; recorded fills in the email, name
// and login when claims lack them (a check again, whose ID token may carry
// fewer claims than the login's).
func (o *OIDC) identity(subject string, claims claimSet, recorded *Identity) *Identity {
	id := &Identity{Subject: subject}
	id.Email, _ = claims.str("email")
	id.EmailVerified = id.Email != "" && claims.boolean(o.opts.EmailVerifiedClaim)
	id.Name, _ = claims.str(o.opts.NameClaim)
	id.Login, _ = claims.str(o.opts.LoginClaim)
	if o.opts.GroupsClaim != "-" {
		var present bool
		id.Groups, present = claims.strings(o.opts.GroupsClaim)
		if !present && claims.distributed(o.opts.GroupsClaim) {
			// Microsoft Entra ID's groups overage: more groups than fit in
			// a token, and a Graph link instead. They count as none.
			o.log.Warn("oauth: the OpenID provider left the user's groups out of the ID token (too many groups); they count as none: "+
				"let the app registration emit only the groups assigned to the application", "provider", o.name, "sub", subject)
		}
	}
	if recorded != nil {
		if _, ok := claims["email"]; !ok {
			id.Email, id.EmailVerified = recorded.Email, recorded.EmailVerified
		}
		id.Name = cmpOr(id.Name, recorded.Name)
		id.Login = cmpOr(id.Login, recorded.Login)
	}
	return id
}

// RefreshIdentity implements IdentityRefresher: with a refresh token it
// renews the provider's token (the provider refuses it when the session
// ended or the user was disabled: ErrUpstreamRevoked) and reads the new ID
// token, or else UserInfo; without one it asks UserInfo with the access
// token while it lasts. The groups are the answer's: a group the answer
// does not name is no longer the user's.
func (o *OIDC) RefreshIdentity(ctx context.Context, recorded Identity, credential []byte) (*Identity, []byte, error) {
	var tok oauth2.Token
	if err := json.Unmarshal(credential, &tok); err != nil || tok.AccessToken == "" && tok.RefreshToken == "" {
		return nil, nil, fmt.Errorf("%w: unreadable OpenID credential", ErrUpstreamRevoked)
	}
	d, err := o.discovery(ctx)
	if err != nil {
		return nil, nil, err
	}
	ctx = oidc.ClientContext(ctx, o.client)
	subject := localSubject(o.ID(), recorded.Subject)
	var next []byte
	current := &tok
	var claims claimSet
	switch {
	case tok.RefreshToken != "":
		// Renew even a token that has not expired: the renewal is the
		// provider's word that the session still stands.
		stale := tok
		stale.Expiry = time.Unix(1, 0)
		if current, err = d.config.TokenSource(ctx, &stale).Token(); err != nil {
			return nil, nil, o.tokenError("token renewal", err)
		}
		if current.RefreshToken == "" {
			current.RefreshToken = tok.RefreshToken // the provider kept the old one valid
		}
		if next, err = encodeOIDCToken(current); err != nil {
			return nil, nil, err
		}
		if raw, _ := current.Extra("id_token").(string); raw != "" {
			idt, c, err := o.verifyIDToken(ctx, d, raw, current.AccessToken)
			if err != nil {
				return nil, nil, err
			}
			if idt.Subject != subject {
				return nil, nil, fmt.Errorf("%w: OpenID provider %s renewed the token for another subject", ErrUpstreamRevoked, o.name)
			}
			claims = c
		}
	case tok.Expiry.IsZero() || tok.Expiry.After(time.Now()):
		// No refresh token: UserInfo below, while the access token lasts.
	default:
		return nil, nil, fmt.Errorf("%w: OpenID provider %s gave no refresh token and the access token expired (ask for offline access)", ErrUpstreamRevoked, o.name)
	}
	if d.userInfo && (claims == nil || o.opts.UserInfo) {
		if claims, err = o.withUserInfo(ctx, d, current, subject, claims); err != nil {
			return nil, nil, err
		}
	}
	if claims != nil {
		if err := o.required(claims); err != nil {
			return nil, nil, fmt.Errorf("%w: %v", ErrUpstreamRevoked, err)
		}
	}
	if claims == nil {
		// The provider renewed the session but said nothing new.
		id := recorded.Clone()
		id.Subject = subject
		return &id, next, nil
	}
	return o.identity(subject, claims, &recorded), next, nil
}

// RenewUpstream implements UpstreamTokenSource: the provider's token
// renewed with its refresh token.
func (o *OIDC) RenewUpstream(ctx context.Context, credential []byte) ([]byte, error) {
	var tok oauth2.Token
	if err := json.Unmarshal(credential, &tok); err != nil || tok.AccessToken == "" && tok.RefreshToken == "" {
		return nil, fmt.Errorf("%w: unreadable OpenID credential", ErrUpstreamRevoked)
	}
	d, err := o.discovery(ctx)
	if err != nil {
		return nil, err
	}
	next, err := renewToken(oidc.ClientContext(ctx, o.client), &d.config, &tok, "OpenID provider "+o.name)
	if err != nil {
		return nil, err
	}
	return encodeOIDCToken(next)
}

// tokenError classifies a failed call of the token endpoint: an OAuth
// error answer means the provider refused (a revoked session, a wrong
// client secret); a failed connection or a server error means it cannot
// be reached now.
func (o *OIDC) tokenError(op string, err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		if re.Response != nil && re.Response.StatusCode >= 500 {
			return fmt.Errorf("%w: OpenID provider %s: %s: status %d", ErrUpstreamUnavailable, o.name, op, re.Response.StatusCode)
		}
		if re.ErrorCode != "" {
			return fmt.Errorf("%w: OpenID provider %s: %s: %s: %s", ErrUpstreamRevoked, o.name, op, re.ErrorCode, truncate(re.ErrorDescription, 200))
		}
		return fmt.Errorf("oauth: OpenID provider %s: %s: %v", o.name, op, err)
	}
	var ne net.Error
	var ue *url.Error
	if errors.As(err, &ne) || errors.As(err, &ue) {
		return fmt.Errorf("%w: OpenID provider %s: %s: %v", ErrUpstreamUnavailable, o.name, op, err)
	}
	return fmt.Errorf("oauth: OpenID provider %s: %s: %w", o.name, op, err)
}

// encodeOIDCToken is the credential form of the provider's token (the ID
// token is not kept: it was read).
func encodeOIDCToken(tok *oauth2.Token) ([]byte, error) {
	b, err := json.Marshal(&oauth2.Token{AccessToken: tok.AccessToken, TokenType: tok.TokenType, RefreshToken: tok.RefreshToken, Expiry: tok.Expiry})
	if err != nil {
		return nil, fmt.Errorf("oauth: encode OpenID token: %w", err)
	}
	return b, nil
}

// claimSet is the claims of an ID token or a UserInfo answer, raw.
type claimSet map[string]json.RawMessage

// lookup returns the claim name, or, when there is no claim of that name
// and it has dots, the value at that path into nested objects.
func (c claimSet) lookup(name string) (json.RawMessage, bool) {
	if v, ok := c[name]; ok {
		return v, true
	}
	first, rest, ok := strings.Cut(name, ".")
	if !ok {
		return nil, false
	}
	var inner claimSet
	if v, ok := c[first]; !ok || json.Unmarshal(v, &inner) != nil {
		return nil, false
	}
	return inner.lookup(rest)
}

// str returns a string claim; a claim of another type is absent.
func (c claimSet) str(name string) (string, bool) {
	v, ok := c.lookup(name)
	var s string
	if !ok || json.Unmarshal(v, &s) != nil {
		return "", false
	}
	return s, true
}

// boolean reads a boolean claim, also in the string form some providers
// send ("true").
func (c claimSet) boolean(name string) bool {
	v, ok := c.lookup(name)
	if !ok {
		return false
	}
	var b bool
	if json.Unmarshal(v, &b) == nil {
		return b
	}
	var s string
	return json.Unmarshal(v, &s) == nil && strings.EqualFold(s, "true")
}

// strings reads a claim that lists strings (an array, or one string);
// present says whether the claim is there at all. Entries that are not
// strings are left out.
func (c claimSet) strings(name string) (list []string, present bool) {
	v, ok := c.lookup(name)
	if !ok {
		return nil, false
	}
	var one string
	if json.Unmarshal(v, &one) == nil {
		if one == "" {
			return nil, true
		}
		return []string{one}, true
	}
	var raw []json.RawMessage
	if json.Unmarshal(v, &raw) != nil {
		return nil, true
	}
	for _, e := range raw {
		var s string
		if json.Unmarshal(e, &s) == nil && s != "" {
			list = append(list, s)
		}
	}
	return list, true
}

// distributed reports whether the claim name is a distributed claim (its
// value elsewhere, named in _claim_names).
func (c claimSet) distributed(name string) bool {
	var names map[string]string
	v, ok := c["_claim_names"]
	if !ok || json.Unmarshal(v, &names) != nil {
		return false
	}
	_, ok = names[name]
	return ok
}

package authcmd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mcp-oauth-gateway/gateway/internal/cli"
	"github.com/mcp-oauth-gateway/gateway/oauth"
)

// The settings of an OpenID Connect provider (OIDC_ISSUER and the rest):
// one provider from flags and the environment. A binary may add more
// (the gateway's --config providers: list, Settings.Config); users choose
// between them and GitHub on the consent page.

// OIDCProvider is one OpenID Connect provider as configured.
type OIDCProvider struct {
	// Name namespaces its subjects ("oidc:NAME:SUB"); the names of a
	// configuration's providers differ.
	Name, Issuer, ClientID, ClientSecret string
	Options                              oauth.OIDCOptions
	// Source says where it is configured, for errors ("--config
	// gateway.yaml:12 (provider corp)"). Zero: OIDC_ISSUER, the provider of
	// the flags and environment.
	Source string
}

// source is Source, or OIDC_ISSUER.
func (p *OIDCProvider) source() string {
	if p.Source == "" {
		return "OIDC_ISSUER"
	}
	return p.Source
}

// OIDCName is the name (OIDC_NAME) of the provider of OIDC_ISSUER, or ""
// when OIDC_ISSUER is not set: a name the providers a binary adds to
// Config must not take. Valid once the command line is parsed.
func (s *Settings) OIDCName() string {
	if *s.oidc.issuer == "" {
		return ""
	}
	return *s.oidc.name
}

// oidcSettings are the registered settings, read once parsed.
type oidcSettings struct {
	c                                                           *cli.Command
	issuer, clientID, secret, name, display                     *string
	scopes, groups, login, nameClaim, verified, params, require *string
	userInfo                                                    *bool
}

// registerOIDC adds the OpenID Connect settings to c.
func registerOIDC(c *cli.Command) *oidcSettings {
	return &oidcSettings{
		c:         c,
		issuer:    c.URL("oidc-issuer", "", []string{"https", "http"}, "sign users in with this OpenID Connect provider (its issuer URL, e.g. https://accounts.google.com); with GitHub configured too, users choose", "OIDC_ISSUER"),
		clientID:  c.String("", "", "the client id registered at the OpenID provider", "OIDC_CLIENT_ID"),
		secret:    c.Secret("", "the client secret registered at the OpenID provider (none: a public client, PKCE alone)", "OIDC_CLIENT_SECRET"),
		name:      c.String("", "sso", "the provider's short name in subjects (oidc:NAME:SUB); changing it changes every subject", "OIDC_NAME"),
		display:   c.String("", "", "the provider's name on the consent page (default the issuer's host)", "OIDC_DISPLAY_NAME"),
		scopes:    c.String("", "", "scopes to ask for, space- or comma-separated (default openid email profile, and offline_access and groups when the provider offers them)", "OIDC_SCOPES"),
		groups:    c.String("", "", "the claim listing the user's groups, a dotted path for nested claims (realm_access.roles), - for none (default groups)", "OIDC_GROUPS_CLAIM"),
		login:     c.String("", "", "the claim of the user's handle (default preferred_username)", "OIDC_LOGIN_CLAIM"),
		nameClaim: c.String("", "", "the claim of the user's display name (default name)", "OIDC_NAME_CLAIM"),
		verified:  c.String("", "", "the claim saying the email is verified (default email_verified; Microsoft Entra ID: xms_edov)", "OIDC_EMAIL_VERIFIED_CLAIM"),
		userInfo:  c.Bool("", false, "ask the UserInfo endpoint too, for providers that put the email or groups there only (GitLab's groups)", "OIDC_USERINFO"),
		params:    c.String("", "", "extra authorization request parameters, KEY=VALUE comma-separated (Google: access_type=offline,prompt=consent)", "OIDC_AUTH_PARAMS"),
		require:   c.String("", "", "claims the ID token must have, KEY=VALUE comma-separated (Google Workspace: hd=example.com; Entra: tid=TENANT)", "OIDC_REQUIRE_CLAIMS"),
	}
}

// provider returns the configured provider, or nil when OIDC_ISSUER is
// not set. Errors name the setting.
func (s *oidcSettings) provider() (*OIDCProvider, error) {
	if *s.issuer == "" {
		for _, name := range []string{"OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET"} {
			if s.c.Given(name) {
				return nil, cli.Usagef("%s is set but OIDC_ISSUER is not: set the provider's issuer URL too", s.c.Source(name))
			}
		}
		return nil, nil
	}
	p := &OIDCProvider{Name: *s.name, Issuer: *s.issuer, ClientID: *s.clientID, ClientSecret: *s.secret}
	if p.ClientID == "" {
		return nil, cli.Usagef("OIDC_ISSUER is set: OIDC_CLIENT_ID is required too")
	}
	o := &p.Options
	o.DisplayName = *s.display
	o.Scopes = splitList(*s.scopes)
	o.GroupsClaim, o.LoginClaim, o.NameClaim, o.EmailVerifiedClaim = *s.groups, *s.login, *s.nameClaim, *s.verified
	o.UserInfo = *s.userInfo
	var err error
	if o.AuthParams, err = keyValues(*s.params); err != nil {
		return nil, s.c.Bad("OIDC_AUTH_PARAMS", err)
	}
	if o.RequireClaims, err = keyValues(*s.require); err != nil {
		return nil, s.c.Bad("OIDC_REQUIRE_CLAIMS", err)
	}
	// NewOIDC checks the rest (name, issuer form, scopes); its error names
	// what is wrong.
	if _, err := p.New(nil); err != nil {
		return nil, cli.Usage(err)
	}
	return p, nil
}

// New returns the provider, with base's Logger, HTTPClient and
// ExtraScopes when set.
func (p *OIDCProvider) New(base *oauth.OIDCOptions) (*oauth.OIDC, error) {
	o := p.Options
	if base != nil {
		o.Logger, o.HTTPClient, o.ExtraScopes = base.Logger, base.HTTPClient, base.ExtraScopes
	}
	return oauth.NewOIDC(p.Name, p.Issuer, p.ClientID, p.ClientSecret, &o)
}

// keyValues reads "k=v,k2=v2" (empty: none).
func keyValues(s string) (map[string]string, error) {
	var m map[string]string
	for _, kv := range strings.Split(s, ",") {
		kv = strings.TrimSpace(kv)
		if kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if k = strings.TrimSpace(k); !ok || k == "" {
			return nil, fmt.Errorf("%q is not KEY=VALUE", kv)
		}
		if m == nil {
			m = map[string]string{}
		}
		m[k] = strings.TrimSpace(v)
	}
	return m, nil
}

// identityProviders builds the configured providers: the development
// login alone, or GitHub and the OpenID providers, in the order of the
// configuration (the consent page's order). OpenID providers are
// discovered at once, together; one that cannot be reached now is a
// warning (logins with it wait until it answers), one whose discovery
// document does not fit its settings an error naming where it is
// configured.
func identityProviders(ctx context.Context, cfg *Config, log *slog.Logger) ([]oauth.IdentityProvider, error) {
	if cfg.DevLogin {
		if len(cfg.UserCredentials) > 0 {
			return nil, cli.Usagef("a service acts as the user with their own token, and the development login gives none: configure GitHub or an OpenID provider")
		}
		d, err := oauth.NewDevLogin(&oauth.DevLoginOptions{User: cfg.DevUser, AllowPublicIssuer: cfg.DevNetwork})
		if err != nil {
			return nil, cli.Usage(err)
		}
		return []oauth.IdentityProvider{d}, nil
	}
	var list []oauth.IdentityProvider
	if cfg.GitHub.ClientID != "" {
		scopes, keep := credentialNeeds(cfg, oauth.ProviderGitHub)
		gh, err := oauth.NewGitHub(cfg.GitHub.ClientID, cfg.GitHub.ClientSecret, &oauth.GitHubOptions{
			BaseURL: cfg.GitHub.BaseURL, APIURL: cfg.GitHub.APIURL,
			FetchOrgs: len(cfg.Options.Policy.Orgs) > 0 || cfg.Resources.Orgs,
			Scopes:    scopes, KeepToken: keep,
		})
		if err != nil {
			return nil, cli.Usage(err)
		}
		list = append(list, gh)
	}
	oidcs := make([]*oauth.OIDC, len(cfg.OIDC))
	for i, p := range cfg.OIDC {
		extra, _ := credentialNeeds(cfg, oauth.ProviderOIDC+":"+p.Name)
		o, err := p.New(&oauth.OIDCOptions{Logger: log, ExtraScopes: extra})
		if err != nil {
			return nil, cli.Usagef("%s: %w", p.source(), err)
		}
		oidcs[i] = o
	}
	errs := make([]error, len(oidcs))
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	var wg sync.WaitGroup
	for i, o := range oidcs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = o.Discover(dctx)
		}()
	}
	wg.Wait()
	cancel()
	for i, o := range oidcs {
		switch err := errs[i]; {
		case errors.Is(err, oauth.ErrUpstreamUnavailable):
			log.Warn("the OpenID provider cannot be reached now; logins with it wait until it answers", "provider", o.ID(), "issuer", o.Issuer(), "error", err)
		case err != nil:
			return nil, cli.Usagef("%s: %w", cfg.OIDC[i].source(), err)
		}
		list = append(list, o)
	}
	return list, checkUserCredentials(cfg, list)
}

// ProviderNames are the providers' IDs, for the start-up line.
func ProviderNames(list []oauth.IdentityProvider) string {
	names := make([]string, len(list))
	for i, p := range list {
		names[i] = p.ID()
	}
	return strings.Join(names, " ")
}

// UserCredential is what a service that acts as the user needs: the token
// of Provider ("github", "oidc:NAME"; "": whichever the user signed in
// with), with Scopes asked for at login.
type UserCredential struct {
	Provider string
	Scopes   []string
}

// credentialNeeds returns what the services need of the provider id: the
// scopes to ask for, and whether any service needs its token.
func credentialNeeds(cfg *Config, id string) (scopes []string, needed bool) {
	for _, uc := range cfg.UserCredentials {
		if uc.Provider != "" && uc.Provider != id {
			continue
		}
		needed = true
		for _, sc := range uc.Scopes {
			if !slices.Contains(scopes, sc) {
				scopes = append(scopes, sc)
			}
		}
	}
	return scopes, needed
}

// checkUserCredentials refuses services that need the token of a provider
// that is not configured, or any token without UPSTREAM_KEYS.
func checkUserCredentials(cfg *Config, providers []oauth.IdentityProvider) error {
	if len(cfg.UserCredentials) == 0 {
		return nil
	}
	if cfg.Options.UpstreamKeys == nil {
		return cli.Usagef("a service acts as the user with their own token: set UPSTREAM_KEYS (or UPSTREAM_KEYS_FILE), the server keys those tokens are kept under")
	}
	for _, uc := range cfg.UserCredentials {
		if uc.Provider == "" {
			continue
		}
		if !slices.ContainsFunc(providers, func(p oauth.IdentityProvider) bool { return p.ID() == uc.Provider }) {
			return cli.Usagef("a service needs the token of the identity provider %q, which is not configured (configured: %s)", uc.Provider, ProviderNames(providers))
		}
	}
	return nil
}

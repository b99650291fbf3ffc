package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// GitHubOptions configure the GitHub identity provider. A nil
// *GitHubOptions means all defaults.
type GitHubOptions struct {
	// BaseURL is GitHub's web address, where /login/oauth/authorize and
	// /login/oauth/access_token live. Zero: "https://github.com". For
	// GitHub Enterprise Server: "https://HOST".
	BaseURL string
	// APIURL is the REST API base. Zero: "https://api.github.com", or
	// BaseURL + "/api/v3" when BaseURL is set.
	APIURL string
	// HTTPClient makes the calls to GitHub. Zero: a client with a 15 s
	// timeout.
	HTTPClient *http.Client
	// FetchOrgs asks for the read:org scope and reports the user's active
	// organization memberships in Identity.Orgs (needed by Policy.Orgs).
	// The user's GitHub token is then kept, sealed (the credential of
	// Identify), so that the memberships are checked again at refreshes.
	// Zero: no organizations are fetched and no GitHub token is kept.
	FetchOrgs bool
	// Scopes are asked for besides read:user and user:email (and read:org
	// with FetchOrgs): what services that act as the user with their
	// GitHub token need (Server.UpstreamToken), e.g. "repo". Zero: none.
	Scopes []string
	// KeepToken keeps the user's GitHub token (sealed) even without
	// FetchOrgs, for services that act as the user (Server.UpstreamToken
	// with Options.UpstreamKeys). Zero: kept only with FetchOrgs.
	KeepToken bool
}

// GitHub is the GitHub identity provider (an OAuth App or GitHub App with
// user authorization): login through GitHub's web flow with PKCE, then
// the user's id, login, name, primary verified email and, on request, their
// organizations.
type GitHub struct {
	config    oauth2.Config
	api       string
	client    *http.Client
	fetchOrgs bool
	keepToken bool
}

var _ IdentityProvider = (*GitHub)(nil)

// NewGitHub returns the GitHub provider for an OAuth app's client id and
// secret.
func NewGitHub(clientID, clientSecret string, opts *GitHubOptions) (*GitHub, error) {
	if opts == nil {
		opts = &GitHubOptions{}
	}
	if clientID == "" || clientSecret == "" {
		return nil, errors.New("oauth: GitHub needs a client id and a client secret (GITHUB_CLIENT_ID, GITHUB_CLIENT_SECRET)")
	}
	base := strings.TrimRight(opts.BaseURL, "/")
	api := strings.TrimRight(opts.APIURL, "/")
	switch {
	case base == "":
		base = "https://github.com"
		if api == "" {
			api = "https://api.github.com"
		}
	case api == "":
		api = base + "/api/v3"
	}
	for _, u := range []string{base, api} {
		p, err := url.Parse(u)
		if err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
			return nil, fmt.Errorf("oauth: GitHub URL %q is not an http(s) URL", u)
		}
	}
	client := opts.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 15 * time.Second}
	}
	scopes := []string{"read:user", "user:email"}
	if opts.FetchOrgs {
		scopes = append(scopes, "read:org")
	}
	for _, sc := range opts.Scopes {
		if !validScopeToken(sc) {
			return nil, fmt.Errorf("oauth: GitHub scope %q is not a valid scope token", sc)
		}
		if !slices.Contains(scopes, sc) {
			scopes = append(scopes, sc)
		}
	}
	return &GitHub{
		config: oauth2.Config{
			ClientID:     clientID,
			ClientSecret: clientSecret,
			Endpoint: oauth2.Endpoint{
				AuthURL:   base + "/login/oauth/authorize",
				TokenURL:  base + "/login/oauth/access_token",
				AuthStyle: oauth2.AuthStyleInParams,
			},
			Scopes: scopes,
		},
		api:       api,
		client:    client,
		fetchOrgs: opts.FetchOrgs,
		keepToken: opts.KeepToken,
	}, nil
}

// ID implements IdentityProvider: "github". Its subjects are GitHub's
// numeric account ids, not namespaced (see IdentityProvider).
func (g *GitHub) ID() string { return ProviderGitHub }

// Name implements IdentityProvider.
func (g *GitHub) Name() string { return "GitHub" }

// AuthURL implements IdentityProvider.
func (g *GitHub) AuthURL(_ context.Context, callbackURL, state, verifier string) (string, error) {
	c := g.config
	c.RedirectURL = callbackURL
	return c.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("allow_signup", "false")), nil
}

// Identify implements IdentityProvider. With FetchOrgs the credential is
// the user's GitHub token, so that the server can check the memberships
// again at refreshes (RefreshIdentity).
func (g *GitHub) Identify(ctx context.Context, r *http.Request, callbackURL, verifier string) (*Identity, []byte, error) {
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		return nil, nil, fmt.Errorf("%w: %s: %s", ErrUpstreamDenied, e, q.Get("error_description"))
	}
	code := q.Get("code")
	if code == "" {
		return nil, nil, fmt.Errorf("%w: callback without code", ErrUpstreamDenied)
	}
	c := g.config
	c.RedirectURL = callbackURL
	ctx = context.WithValue(ctx, oauth2.HTTPClient, g.client)
	tok, err := c.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		return nil, nil, fmt.Errorf("oauth: GitHub code exchange: %w", err)
	}
	src := c.TokenSource(ctx, tok)
	hc := oauth2.NewClient(ctx, src)
	hc.Timeout = g.client.Timeout
	id, err := g.lookup(ctx, hc)
	if err != nil {
		return nil, nil, err
	}
	if !g.fetchOrgs && !g.keepToken {
		return id, nil, nil
	}
	// The token as it is now: an expiring one may have been renewed (and
	// its single-use refresh token with it).
	if tok, err = src.Token(); err != nil {
		return nil, nil, fmt.Errorf("oauth: GitHub token: %w", err)
	}
	credential, err := encodeGitHubToken(tok)
	if err != nil {
		return nil, nil, err
	}
	return id, credential, nil
}

// RefreshIdentity implements IdentityRefresher: it asks GitHub, with the
// user's token, for the account's current login, name and organization
// memberships. A token GitHub refuses (401: the user revoked the app, or it
// expired and cannot be renewed) is ErrUpstreamRevoked (the server also
// refuses an answer about another account). Tokens that expire (GitHub Apps) are renewed with
// their refresh token; the answer then carries the new credential.
func (g *GitHub) RefreshIdentity(ctx context.Context, _ Identity, credential []byte) (*Identity, []byte, error) {
	var tok oauth2.Token
	if err := json.Unmarshal(credential, &tok); err != nil || tok.AccessToken == "" {
		return nil, nil, fmt.Errorf("%w: unreadable GitHub credential", ErrUpstreamRevoked)
	}
	ctx = context.WithValue(ctx, oauth2.HTTPClient, g.client)
	current, err := g.config.TokenSource(ctx, &tok).Token()
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.ErrorCode != "" || tok.RefreshToken == "" {
			// GitHub refused the renewal, or there is nothing to renew with.
			return nil, nil, fmt.Errorf("%w: %v", ErrUpstreamRevoked, err)
		}
		return nil, nil, fmt.Errorf("oauth: GitHub token renewal: %w", err)
	}
	hc := oauth2.NewClient(ctx, oauth2.StaticTokenSource(current))
	hc.Timeout = g.client.Timeout
	id, err := g.lookup(ctx, hc)
	if err != nil {
		return nil, nil, err
	}
	if current.AccessToken == tok.AccessToken {
		return id, nil, nil
	}
	next, err := encodeGitHubToken(current)
	if err != nil {
		return nil, nil, err
	}
	return id, next, nil
}

var _ IdentityRefresher = (*GitHub)(nil)

// RenewUpstream implements UpstreamTokenSource: the token of a GitHub App
// expires and is renewed with its refresh token; an OAuth App's never
// expires (and has none).
func (g *GitHub) RenewUpstream(ctx context.Context, credential []byte) ([]byte, error) {
	var tok oauth2.Token
	if err := json.Unmarshal(credential, &tok); err != nil || tok.AccessToken == "" {
		return nil, fmt.Errorf("%w: unreadable GitHub credential", ErrUpstreamRevoked)
	}
	next, err := renewToken(context.WithValue(ctx, oauth2.HTTPClient, g.client), &g.config, &tok, "GitHub")
	if err != nil {
		return nil, err
	}
	return encodeGitHubToken(next)
}

// encodeGitHubToken is the credential form of a GitHub token.
func encodeGitHubToken(tok *oauth2.Token) ([]byte, error) {
	b, err := json.Marshal(&oauth2.Token{AccessToken: tok.AccessToken, TokenType: tok.TokenType, RefreshToken: tok.RefreshToken, Expiry: tok.Expiry})
	if err != nil {
		return nil, fmt.Errorf("oauth: encode GitHub token: %w", err)
	}
	return b, nil
}

// lookup asks the API, as the user of hc, who they are: id, login, name,
// email (the public one, else the primary verified one; verified when
// /user/emails says so) and, with FetchOrgs, organizations.
func (g *GitHub) lookup(ctx context.Context, hc *http.Client) (*Identity, error) {
	var u struct {
		ID    int64   `json:"id"`
		Login string  `json:"login"`
		Name  *string `json:"name"`
		Email *string `json:"email"`
	}
	if err := g.get(ctx, hc, "/user", &u); err != nil {
		return nil, err
	}
	if u.ID == 0 || u.Login == "" {
		return nil, errors.New("oauth: GitHub /user answered without id or login")
	}
	id := &Identity{Subject: strconv.FormatInt(u.ID, 10), Provider: ProviderGitHub, Login: u.Login}
	if u.Name != nil {
		id.Name = *u.Name
	}
	if u.Email != nil {
		id.Email = *u.Email
	}
	// Private addresses are missing from /user, and /user does not say
	// whether an address is verified; /user/emails (user:email scope) has
	// both. A failure here is not fatal: the email is optional, and
	// unverified without it.
	var emails []struct {
		Email    string `json:"email"`
		Primary  bool   `json:"primary"`
		Verified bool   `json:"verified"`
	}
	if err := g.get(ctx, hc, "/user/emails", &emails); err == nil {
		for _, e := range emails {
			switch {
			case id.Email == "" && e.Primary && e.Verified:
				id.Email, id.EmailVerified = e.Email, true
			case id.Email != "" && strings.EqualFold(e.Email, id.Email):
				id.EmailVerified = e.Verified
			}
		}
	}
	if g.fetchOrgs {
		orgs, err := g.orgs(ctx, hc)
		if err != nil {
			return nil, err
		}
		id.Orgs = orgs
	}
	return id, nil
}

// orgs lists the user's active organization memberships (up to 10 pages of
// 100).
func (g *GitHub) orgs(ctx context.Context, hc *http.Client) ([]string, error) {
	var orgs []string
	for page := 1; page <= 10; page++ {
		var ms []struct {
			State        string `json:"state"`
			Organization struct {
				Login string `json:"login"`
			} `json:"organization"`
		}
		path := "/user/memberships/orgs?state=active&per_page=100&page=" + strconv.Itoa(page)
		if err := g.get(ctx, hc, path, &ms); err != nil {
			return nil, err
		}
		for _, m := range ms {
			if m.State == "active" && m.Organization.Login != "" {
				orgs = append(orgs, m.Organization.Login)
			}
		}
		if len(ms) < 100 {
			break
		}
	}
	return orgs, nil
}

// get fetches one API document into v.
func (g *GitHub) get(ctx context.Context, hc *http.Client, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, g.api+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("oauth: GitHub GET %s: %w", pathOnly(path), err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("oauth: GitHub GET %s: %w", pathOnly(path), err)
	}
	if resp.StatusCode == http.StatusUnauthorized {
		// Bad credentials: the token was revoked or expired.
		return fmt.Errorf("%w: GitHub GET %s: status 401: %.200s", ErrUpstreamRevoked, pathOnly(path), body)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("oauth: GitHub GET %s: status %d: %.200s", pathOnly(path), resp.StatusCode, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("oauth: GitHub GET %s: %w", pathOnly(path), err)
	}
	return nil
}

func pathOnly(p string) string {
	path, _, _ := strings.Cut(p, "?")
	return path
}

package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
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
	// organization memberships in User.Orgs (needed by Policy.Orgs). Zero:
	// no organizations are fetched.
	FetchOrgs bool
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
	}, nil
}

// Name implements IdentityProvider.
func (g *GitHub) Name() string { return "GitHub" }

// AuthURL implements IdentityProvider.
func (g *GitHub) AuthURL(callbackURL, state, verifier string) string {
	c := g.config
	c.RedirectURL = callbackURL
	return c.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("allow_signup", "false"))
}

// Identify implements IdentityProvider.
func (g *GitHub) Identify(ctx context.Context, r *http.Request, callbackURL, verifier string) (*Identity, error) {
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		return nil, fmt.Errorf("%w: %s: %s", ErrUpstreamDenied, e, q.Get("error_description"))
	}
	code := q.Get("code")
	if code == "" {
		return nil, fmt.Errorf("%w: callback without code", ErrUpstreamDenied)
	}
	c := g.config
	c.RedirectURL = callbackURL
	ctx = context.WithValue(ctx, oauth2.HTTPClient, g.client)
	tok, err := c.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		return nil, fmt.Errorf("oauth: GitHub code exchange: %w", err)
	}
	hc := c.Client(ctx, tok)
	hc.Timeout = g.client.Timeout

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
	id := &Identity{User: User{Subject: strconv.FormatInt(u.ID, 10), Login: u.Login}}
	user := &id.User
	if u.Name != nil {
		user.Name = *u.Name
	}
	if u.Email != nil {
		user.Email = *u.Email
	}
	if user.Email == "" {
		// Private addresses are missing from /user; /user/emails has them
		// (user:email scope). A failure here is not fatal: email is optional.
		var emails []struct {
			Email    string `json:"email"`
			Primary  bool   `json:"primary"`
			Verified bool   `json:"verified"`
		}
		if err := g.get(ctx, hc, "/user/emails", &emails); err == nil {
			for _, e := range emails {
				if e.Primary && e.Verified {
					user.Email = e.Email
				}
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

package mcpauth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
)

// Transport is an http.RoundTripper that authorizes requests to one MCP
// server. It sends the stored access token; on 401 it refreshes it or, when
// that is not possible, discovers the authorization server (RFC 9728, RFC
// 8414), registers the client and logs the user in, then retries; on 403
// insufficient_scope it asks for the scopes the server names (step-up).
// Tokens are refreshed shortly before they expire. Concurrent requests
// share one refresh or login, and so do processes that share a FileStore.
//
// A Transport is safe for concurrent use.
type Transport struct {
	server    *url.URL
	serverKey string
	opts      Options
	base      http.RoundTripper
	oauthHTTP *http.Client
	store     Store
	login     Login
	log       *slog.Logger
	now       func() time.Time

	mu       sync.Mutex
	loaded   bool
	tokens   *Tokens
	disc     *discovery
	inflight *call
}

// discovery is what the client learned about the server.
type discovery struct {
	prm      *ResourceMetadata // nil for a 2025-03-26 server
	prmURL   string
	md       *ServerMetadata
	resource string
	legacy   bool
}

// call is one refresh or login shared by concurrent requests.
type call struct {
	done chan struct{}
	tok  *Tokens
	err  error
}

// CanonicalURL returns the form of an MCP server URL that keys its tokens:
// lower-case scheme and host, no default port, no fragment.
func CanonicalURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("mcpauth: server URL: %w", err)
	}
	u.Scheme = strings.ToLower(u.Scheme)
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("mcpauth: server URL %q is not an http(s) URL", raw)
	}
	if u.User != nil {
		return nil, fmt.Errorf("mcpauth: server URL %q has user information", raw)
	}
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	if (u.Scheme == "https" && port == "443") || (u.Scheme == "http" && port == "80") {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	u.Host, u.Fragment, u.RawFragment = host, "", ""
	return u, nil
}

// NewTransport returns a Transport for the MCP server at serverURL.
func NewTransport(serverURL string, opts *Options) (*Transport, error) {
	u, err := CanonicalURL(serverURL)
	if err != nil {
		return nil, err
	}
	t := &Transport{server: u, serverKey: u.String()}
	if opts != nil {
		t.opts = *opts
	}
	o := &t.opts
	switch o.TokenEndpointAuthMethod {
	case "", AuthNone, AuthSecretBasic, AuthSecretPost:
	default:
		return nil, fmt.Errorf("mcpauth: unknown token endpoint auth method %q", o.TokenEndpointAuthMethod)
	}
	if o.ClientSecret != "" && o.ClientID == "" {
		return nil, errors.New("mcpauth: a client secret without a client id")
	}
	if o.ClientMetadataURL != "" {
		cu, err := url.Parse(o.ClientMetadataURL)
		if err != nil || cu.Scheme != "https" || cu.Host == "" || cu.Path == "" || cu.Path == "/" {
			return nil, fmt.Errorf("mcpauth: client metadata URL %q must be an https URL with a path", o.ClientMetadataURL)
		}
	}
	if o.ClientName == "" {
		o.ClientName = DefaultClientName
	}
	if o.MaxStepUps == 0 {
		o.MaxStepUps = DefaultMaxStepUps
	}
	if o.RefreshBefore == 0 {
		o.RefreshBefore = DefaultRefreshBefore
	}
	t.base = o.Base
	if t.base == nil {
		t.base = http.DefaultTransport
	}
	t.oauthHTTP = o.HTTPClient
	if t.oauthHTTP == nil {
		t.oauthHTTP = &http.Client{Transport: t.base, Timeout: DefaultHTTPTimeout}
	}
	t.store = o.Store
	if t.store == nil {
		t.store = NewMemoryStore()
	}
	t.login = o.Login
	if t.login == nil {
		t.login = &Browser{}
	}
	t.log = o.Logger
	if t.log == nil {
		t.log = slog.Default()
	}
	t.now = o.Now
	if t.now == nil {
		t.now = time.Now
	}
	return t, nil
}

// Server returns the canonical server URL.
func (t *Transport) Server() string { return t.serverKey }

// Client returns an *http.Client whose requests go through t.
func (t *Transport) Client() *http.Client { return &http.Client{Transport: t} }

func (t *Transport) oauthContext(ctx context.Context) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, t.oauthHTTP)
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		req = req.Clone(req.Context())
		req.Body = io.NopCloser(bytes.NewReader(b))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	}
	ctx := req.Context()
	tok := t.current(ctx)
	resp, err := t.send(req, tok, true)
	if err != nil {
		return nil, err
	}
	authTries, stepUps := 0, 0
	for {
		switch resp.StatusCode {
		case http.StatusUnauthorized:
			if authTries >= 2 {
				return resp, nil
			}
			authTries++
			ch, _ := BearerChallenge(resp.Header)
			drain(resp)
			if tok, err = t.reauthorize(ctx, tok, ch, nil, authTries > 1); err != nil {
				return nil, err
			}
		case http.StatusForbidden:
			ch, ok := BearerChallenge(resp.Header)
			if !ok || tok == nil || !(ch.Error == "insufficient_scope" || (ch.Error == "" && ch.Scope != "")) {
				return resp, nil
			}
			have := strings.Fields(tok.Scope)
			want := union(have, ch.Scopes())
			if stepUps >= t.opts.MaxStepUps || len(want) == len(have) {
				t.log.Warn("mcpauth: server refuses the token's scopes; not asking again", "scope", tok.Scope, "challenge_scope", ch.Scope, "step_ups", stepUps)
				return resp, nil
			}
			stepUps++
			drain(resp)
			t.log.Info("mcpauth: step-up authorization", "scope", want)
			if tok, err = t.reauthorize(ctx, tok, ch, want, false); err != nil {
				return nil, err
			}
		default:
			return resp, nil
		}
		if resp, err = t.send(req, tok, false); err != nil {
			return nil, err
		}
	}
}

func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}

// send sends req with tok's access token (none when tok is nil).
func (t *Transport) send(req *http.Request, tok *Tokens, first bool) (*http.Response, error) {
	r := req.Clone(req.Context())
	if !first && req.GetBody != nil {
		b, err := req.GetBody()
		if err != nil {
			return nil, err
		}
		r.Body = b
	}
	if tok != nil {
		r.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	} else {
		r.Header.Del("Authorization")
	}
	return t.base.RoundTrip(r)
}

func union(a, b []string) []string {
	out := slices.Clone(a)
	for _, s := range b {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// current returns the tokens to send, loading them from the store on
// first use and refreshing them when they expire soon. Errors are logged:
// the request goes out with what there is and a 401 takes it from there.
func (t *Transport) current(ctx context.Context) *Tokens {
	t.mu.Lock()
	if !t.loaded {
		if tok, err := t.store.Tokens(ctx, t.serverKey); err == nil {
			t.tokens = tok
		} else if !errors.Is(err, ErrNotFound) {
			t.log.Warn("mcpauth: reading stored tokens", "err", err)
		}
		t.loaded = true
	}
	tok := t.tokens
	t.mu.Unlock()
	if tok == nil || !t.expiresSoon(tok) {
		return tok
	}
	if tok.RefreshToken == "" && !t.expired(tok) {
		return tok
	}
	nt, err := t.reauthorize(ctx, tok, nil, nil, false)
	if err != nil {
		t.log.Warn("mcpauth: refreshing the token before it expires", "err", err)
		if t.expired(tok) {
			return nil
		}
		return tok
	}
	return nt
}

// expiresSoon reports whether tok is within RefreshBefore of its expiry,
// or past half its lifetime when that is shorter.
func (t *Transport) expiresSoon(tok *Tokens) bool {
	if tok.Expiry.IsZero() {
		return false
	}
	margin := t.opts.RefreshBefore
	if !tok.ObtainedAt.IsZero() {
		if life := tok.Expiry.Sub(tok.ObtainedAt); life > 0 && margin > life/2 {
			margin = life / 2
		}
	}
	return t.now().Add(margin).After(tok.Expiry)
}

func (t *Transport) expired(tok *Tokens) bool {
	return !tok.Expiry.IsZero() && !t.now().Before(tok.Expiry)
}

// reauthorize replaces sent, the tokens a request was refused with (nil:
// none), by new ones: others' newer tokens when there are, else refreshed
// ones, else a login's. scopes, when set, is a step-up: a login for them.
// Concurrent calls share one.
func (t *Transport) reauthorize(ctx context.Context, sent *Tokens, ch *Challenge, scopes []string, forceDiscovery bool) (*Tokens, error) {
	t.mu.Lock()
	if cur := t.tokens; scopes == nil && cur != nil && (sent == nil || cur.AccessToken != sent.AccessToken) && !t.expiresSoon(cur) {
		t.mu.Unlock()
		return cur, nil
	}
	if c := t.inflight; c != nil {
		t.mu.Unlock()
		select {
		case <-c.done:
			return c.tok, c.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	c := &call{done: make(chan struct{})}
	t.inflight = c
	t.mu.Unlock()

	c.tok, c.err = t.renew(ctx, sent, ch, scopes, forceDiscovery)
	t.mu.Lock()
	t.inflight = nil
	if c.err == nil {
		t.tokens = c.tok
	}
	t.mu.Unlock()
	close(c.done)
	return c.tok, c.err
}

// lockName is the store lock of the server's tokens.
func (t *Transport) lockName() string { return "tokens " + t.serverKey }

// renew does reauthorize's work under the store's lock.
func (t *Transport) renew(ctx context.Context, sent *Tokens, ch *Challenge, scopes []string, forceDiscovery bool) (*Tokens, error) {
	unlock, err := t.store.Lock(ctx, t.lockName())
	if err != nil {
		return nil, err
	}
	defer unlock()
	stored, err := t.store.Tokens(ctx, t.serverKey)
	if errors.Is(err, ErrNotFound) {
		stored = nil
	} else if err != nil {
		return nil, err
	}
	if scopes == nil && stored != nil {
		newer := sent == nil || stored.AccessToken != sent.AccessToken
		if newer && !t.expired(stored) && (sent == nil || !stored.ObtainedAt.Before(sent.ObtainedAt)) {
			t.log.Debug("mcpauth: using tokens renewed by another client", "token", fingerprint(stored.AccessToken))
			return stored, nil
		}
		if stored.RefreshToken != "" && !forceDiscovery {
			tok, err := t.refresh(ctx, stored)
			if err == nil {
				return tok, nil
			}
			var oe *OAuthError
			if !errors.As(err, &oe) {
				return nil, err
			}
			t.log.Info("mcpauth: refresh token refused; logging in again", "err", err)
			if err := t.store.DeleteTokens(ctx, t.serverKey); err != nil {
				return nil, err
			}
			stored = nil
		}
	}
	return t.authorize(ctx, ch, scopes, stored)
}

// refresh refreshes old with its refresh token and stores the result.
func (t *Transport) refresh(ctx context.Context, old *Tokens) (*Tokens, error) {
	d, err := t.discoveryFor(ctx, old)
	if err != nil {
		return nil, err
	}
	c, err := t.clientByID(ctx, d.md, old.ClientID)
	if err != nil {
		return nil, err
	}
	tok, err := t.refreshToken(ctx, d.md, c, old)
	if err != nil {
		return nil, err
	}
	nt, err := t.tokensFrom(tok, d, c, nil, old)
	if err != nil {
		return nil, err
	}
	nt.Resource, nt.ResourceMetadata = old.Resource, old.ResourceMetadata
	if err := t.store.SaveTokens(ctx, nt); err != nil {
		return nil, err
	}
	t.log.Info("mcpauth: token refreshed", "issuer", nt.Issuer, "token", fingerprint(nt.AccessToken), "expiry", nt.Expiry)
	return nt, nil
}

// discoveryFor returns the discovery for stored tokens: the process's own
// when it is for their issuer, else the issuer's metadata fetched anew.
func (t *Transport) discoveryFor(ctx context.Context, old *Tokens) (*discovery, error) {
	t.mu.Lock()
	d := t.disc
	t.mu.Unlock()
	if d != nil && d.md.Issuer == old.Issuer {
		return d, nil
	}
	md, err := discoverServer(ctx, t.oauthHTTP, old.Issuer, old.Legacy)
	if err != nil {
		return nil, err
	}
	return &discovery{md: md, resource: old.Resource, prmURL: old.ResourceMetadata, legacy: old.Legacy}, nil
}

// clientByID returns the client that got tokens: pre-registered, a
// metadata document, or the stored registration.
func (t *Transport) clientByID(ctx context.Context, md *ServerMetadata, id string) (*client, error) {
	switch {
	case id == t.opts.ClientID && id != "":
		return t.clientFor(ctx, md, "", false)
	case id == t.opts.ClientMetadataURL && id != "":
		return &client{kind: MetadataDocument, id: id, authMethod: AuthNone}, nil
	}
	reg, err := t.store.Registration(ctx, md.Issuer)
	if err != nil || reg.ClientID != id {
		return nil, &OAuthError{Op: "refresh", Code: "invalid_client", Description: "the registration of the tokens' client is gone"}
	}
	return regClient(reg), nil
}

// discover finds the authorization server of the server, from the
// challenge when there is one.
func (t *Transport) discover(ctx context.Context, ch *Challenge) (*discovery, error) {
	prm, prmURL, err := discoverResource(ctx, t.oauthHTTP, t.server, ch)
	if err != nil {
		return nil, err
	}
	d := &discovery{prm: prm, prmURL: prmURL}
	if prm == nil {
		// 2025-03-26: the server's origin is its authorization server.
		d.legacy = true
		d.md, err = discoverServer(ctx, t.oauthHTTP, t.server.Scheme+"://"+t.server.Host, true)
	} else {
		if len(prm.AuthorizationServers) == 0 {
			return nil, fmt.Errorf("%w: %s lists no authorization server", ErrNoAuthorizationServer, prmURL)
		}
		d.resource = prm.Resource
		if t.opts.Resource != "" {
			d.resource = t.opts.Resource
		}
		d.md, err = discoverServer(ctx, t.oauthHTTP, prm.AuthorizationServers[0], false)
	}
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	t.disc = d
	t.mu.Unlock()
	t.log.Debug("mcpauth: discovered", "resource_metadata", prmURL, "issuer", d.md.Issuer, "resource", d.resource, "legacy", d.legacy)
	return d, nil
}

// requestScopes chooses the scopes of a login (MCP scope selection): the
// challenge's, else the resource metadata's scopes_supported, else
// Options.Scopes; plus offline_access when the authorization server offers
// it (for a refresh token).
func (t *Transport) requestScopes(d *discovery, ch *Challenge) []string {
	var s []string
	switch {
	case ch != nil && ch.Scope != "":
		s = ch.Scopes()
	case d.prm != nil && len(d.prm.ScopesSupported) > 0:
		s = slices.Clone(d.prm.ScopesSupported)
	default:
		s = slices.Clone(t.opts.Scopes)
	}
	if len(s) > 0 && slices.Contains(d.md.ScopesSupported, "offline_access") && !slices.Contains(s, "offline_access") {
		s = append(s, "offline_access")
	}
	return s
}

// authorize discovers, then runs the login for scopes (nil: chosen by
// requestScopes) and stores the tokens.
func (t *Transport) authorize(ctx context.Context, ch *Challenge, scopes []string, old *Tokens) (*Tokens, error) {
	d, err := t.discover(ctx, ch)
	if err != nil {
		return nil, err
	}
	if scopes == nil {
		scopes = t.requestScopes(d, ch)
	}
	f := &Flow{t: t, d: d, scopes: scopes}
	tok, err := t.login.Authorize(ctx, f)
	if err != nil {
		return nil, err
	}
	c := f.usedClient()
	if c == nil {
		return nil, errors.New("mcpauth: the login returned tokens without using the flow")
	}
	nt, err := t.tokensFrom(tok, d, c, scopes, nil)
	if err != nil {
		return nil, err
	}
	if err := t.store.SaveTokens(ctx, nt); err != nil {
		return nil, err
	}
	t.log.Info("mcpauth: logged in", "issuer", nt.Issuer, "resource", nt.Resource, "scope", nt.Scope, "token", fingerprint(nt.AccessToken))
	return nt, nil
}

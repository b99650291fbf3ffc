package mcpauth

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"sync"

	"golang.org/x/oauth2"
)

// Flow is one authorization in progress, handed to a Login. It knows the
// authorization server, the resource and the scopes; it registers the
// client when needed, builds the authorization URL (PKCE S256, state,
// resource) and checks the authorization response (state, RFC 9207 iss)
// before it exchanges the code.
type Flow struct {
	t      *Transport
	d      *discovery
	scopes []string

	mu      sync.Mutex
	pending []*pendingAuth
	client  *client
}

type pendingAuth struct {
	state, verifier string
	cfg             *oauth2.Config
}

// Issuer is the authorization server's issuer identifier.
func (f *Flow) Issuer() string { return f.d.md.Issuer }

// Resource is the resource indicator the tokens are requested for ("" for
// a 2025-03-26 server).
func (f *Flow) Resource() string { return f.d.resource }

// Scopes are the scopes requested.
func (f *Flow) Scopes() []string { return slices.Clone(f.scopes) }

// Server is the MCP server URL.
func (f *Flow) Server() string { return f.t.serverKey }

// RedirectURI returns the first redirect URI of the client's stored
// registration ("" when there is none), so that a login can reuse its port.
func (f *Flow) RedirectURI(ctx context.Context) string {
	if f.t.opts.ClientID != "" {
		return ""
	}
	reg, err := f.t.store.Registration(ctx, f.d.md.Issuer)
	if err != nil || len(reg.RedirectURIs) == 0 {
		return ""
	}
	return reg.RedirectURIs[0]
}

func (f *Flow) resourceOpts() []oauth2.AuthCodeOption {
	if f.d.resource == "" {
		return nil
	}
	return []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("resource", f.d.resource)}
}

// AuthCodeURL returns the authorization URL for a login whose redirect URI
// is redirectURI, registering the client for it when needed.
func (f *Flow) AuthCodeURL(ctx context.Context, redirectURI string) (string, error) {
	c, err := f.t.clientFor(ctx, f.d.md, redirectURI, false)
	if err != nil {
		return "", err
	}
	p := &pendingAuth{state: oauth2.GenerateVerifier(), verifier: oauth2.GenerateVerifier(), cfg: c.config(f.d.md, redirectURI, f.scopes)}
	f.mu.Lock()
	f.client = c
	f.pending = append(f.pending, p)
	f.mu.Unlock()
	opts := append([]oauth2.AuthCodeOption{oauth2.S256ChallengeOption(p.verifier)}, f.resourceOpts()...)
	f.t.log.Info("mcpauth: authorization started", "issuer", f.d.md.Issuer, "client_id", c.id, "client", string(c.kind),
		"redirect_uri", redirectURI, "scope", f.scopes, "state", fingerprint(p.state))
	return p.cfg.AuthCodeURL(p.state, opts...), nil
}

// Exchange checks the parameters of an authorization response (the query
// of the redirect) and exchanges its code for tokens. An unknown state is
// ErrState (not the response of this login: keep waiting); an error
// response is an *OAuthError (access_denied matches ErrDenied); a wrong or
// missing iss is ErrIss.
func (f *Flow) Exchange(ctx context.Context, params url.Values) (*oauth2.Token, error) {
	state := params.Get("state")
	f.mu.Lock()
	var p *pendingAuth
	for i, q := range f.pending {
		if subtle.ConstantTimeCompare([]byte(q.state), []byte(state)) == 1 {
			p = q
			f.pending = slices.Delete(f.pending, i, i+1)
			break
		}
	}
	f.mu.Unlock()
	if p == nil || state == "" {
		return nil, ErrState
	}
	// RFC 9207: a present iss is compared exactly, without normalization;
	// a server that says it sends iss must send it.
	if iss, ok := params["iss"]; ok {
		if len(iss) != 1 || iss[0] != f.d.md.Issuer {
			return nil, fmt.Errorf("%w: got %q, expected %q", ErrIss, params.Get("iss"), f.d.md.Issuer)
		}
	} else if f.d.md.AuthorizationResponseIssParameterSupported {
		return nil, fmt.Errorf("%w: the server advertises iss but the response has none", ErrIss)
	}
	if e := params.Get("error"); e != "" {
		return nil, &OAuthError{Op: "authorize", Code: e, Description: params.Get("error_description")}
	}
	code := params.Get("code")
	if code == "" {
		return nil, errors.New("mcpauth: authorization response without code")
	}
	opts := append([]oauth2.AuthCodeOption{oauth2.VerifierOption(p.verifier)}, f.resourceOpts()...)
	tok, err := p.cfg.Exchange(f.t.oauthContext(ctx), code, opts...)
	if err != nil {
		return nil, retrieveError("token", err)
	}
	return tok, nil
}

// DeviceSupported reports whether the server offers the device
// authorization grant (RFC 8628).
func (f *Flow) DeviceSupported() bool { return f.d.md.supportsDevice() }

// DeviceAuth starts a device authorization.
func (f *Flow) DeviceAuth(ctx context.Context) (*oauth2.DeviceAuthResponse, error) {
	if !f.DeviceSupported() {
		return nil, ErrNoDevice
	}
	c, err := f.t.clientFor(ctx, f.d.md, "", true)
	if err != nil {
		return nil, err
	}
	cfg := c.config(f.d.md, "", f.scopes)
	f.mu.Lock()
	f.client = c
	f.pending = append(f.pending, &pendingAuth{cfg: cfg})
	f.mu.Unlock()
	da, err := cfg.DeviceAuth(f.t.oauthContext(ctx), f.resourceOpts()...)
	if err != nil {
		return nil, retrieveError("device authorization", err)
	}
	f.t.log.Info("mcpauth: device authorization started", "issuer", f.d.md.Issuer, "client_id", c.id, "device_code", fingerprint(da.DeviceCode))
	return da, nil
}

// DeviceToken polls the token endpoint until the user approved the device
// authorization da (or denied it, or it expired, or ctx ended).
func (f *Flow) DeviceToken(ctx context.Context, da *oauth2.DeviceAuthResponse) (*oauth2.Token, error) {
	f.mu.Lock()
	var cfg *oauth2.Config
	if n := len(f.pending); n > 0 {
		cfg = f.pending[n-1].cfg
	}
	f.mu.Unlock()
	if cfg == nil {
		return nil, errors.New("mcpauth: DeviceToken without DeviceAuth")
	}
	tok, err := cfg.DeviceAccessToken(f.t.oauthContext(ctx), da, f.resourceOpts()...)
	if err != nil {
		return nil, retrieveError("device token", err)
	}
	return tok, nil
}

// usedClient is the client of the last AuthCodeURL or DeviceAuth.
func (f *Flow) usedClient() *client {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.client
}

// retrieveError turns an x/oauth2 error into an *OAuthError.
func retrieveError(op string, err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		status := 0
		if re.Response != nil {
			status = re.Response.StatusCode
		}
		return &OAuthError{Op: op, Status: status, Code: re.ErrorCode, Description: re.ErrorDescription}
	}
	return fmt.Errorf("mcpauth: %s: %w", op, err)
}

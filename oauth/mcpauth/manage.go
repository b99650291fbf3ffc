package mcpauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"golang.org/x/oauth2"
)

// Tokens returns the stored tokens of the server, without any request;
// ErrNoToken when there are none.
func (t *Transport) Tokens(ctx context.Context) (*Tokens, error) {
	tok, err := t.store.Tokens(ctx, t.serverKey)
	if errors.Is(err, ErrNotFound) {
		return nil, ErrNoToken
	}
	return tok, err
}

// EnsureToken returns valid tokens for the server: the stored ones, else
// refreshed ones, else a login's (found by discovery at the well-known
// locations, or from the challenge of an unauthenticated request).
func (t *Transport) EnsureToken(ctx context.Context) (*Tokens, error) {
	if tok := t.current(ctx); tok != nil && !t.expired(tok) {
		return tok, nil
	}
	ch, err := t.probe(ctx)
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	sent := t.tokens
	t.mu.Unlock()
	return t.reauthorize(ctx, sent, ch, nil, false)
}

// Login runs a login now, whatever is stored.
func (t *Transport) Login(ctx context.Context) (*Tokens, error) {
	ch, err := t.probe(ctx)
	if err != nil {
		return nil, err
	}
	unlock, err := t.store.Lock(ctx, t.lockName())
	if err != nil {
		return nil, err
	}
	defer unlock()
	tok, err := t.authorize(ctx, ch, nil, nil)
	if err == nil {
		t.mu.Lock()
		t.tokens, t.loaded = tok, true
		t.mu.Unlock()
	}
	return tok, err
}

// Refresh refreshes the stored tokens now.
func (t *Transport) Refresh(ctx context.Context) (*Tokens, error) {
	unlock, err := t.store.Lock(ctx, t.lockName())
	if err != nil {
		return nil, err
	}
	defer unlock()
	old, err := t.Tokens(ctx)
	if err != nil {
		return nil, err
	}
	if old.RefreshToken == "" {
		return nil, fmt.Errorf("%w: the stored tokens have no refresh token", ErrNoToken)
	}
	tok, err := t.refresh(ctx, old)
	if err == nil {
		t.mu.Lock()
		t.tokens, t.loaded = tok, true
		t.mu.Unlock()
	}
	return tok, err
}

// probe sends an unauthenticated GET to the server and returns the Bearer
// challenge of its 401, or nil.
func (t *Transport) probe(ctx context.Context) (*Challenge, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.serverKey, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return nil, fmt.Errorf("mcpauth: %s: %w", t.serverKey, err)
	}
	drain(resp)
	if ch, ok := BearerChallenge(resp.Header); ok && resp.StatusCode == http.StatusUnauthorized {
		return ch, nil
	}
	return nil, nil
}

// Reset forgets the server's tokens and the client's dynamic registration
// at their authorization server (locally; DeleteRegistration also tells
// the server).
func (t *Transport) Reset(ctx context.Context) error {
	unlock, err := t.store.Lock(ctx, t.lockName())
	if err != nil {
		return err
	}
	defer unlock()
	if tok, err := t.Tokens(ctx); err == nil {
		if err := t.store.DeleteRegistration(ctx, tok.Issuer); err != nil {
			return err
		}
	}
	t.mu.Lock()
	t.tokens, t.loaded, t.disc = nil, true, nil
	t.mu.Unlock()
	return t.store.DeleteTokens(ctx, t.serverKey)
}

// registrationInUse returns the stored dynamic registration at the
// server's authorization server.
func (t *Transport) registrationInUse(ctx context.Context) (*Registration, error) {
	issuer := ""
	if tok, err := t.Tokens(ctx); err == nil {
		issuer = tok.Issuer
	} else {
		ch, err := t.probe(ctx)
		if err != nil {
			return nil, err
		}
		d, err := t.discover(ctx, ch)
		if err != nil {
			return nil, err
		}
		issuer = d.md.Issuer
	}
	reg, err := t.store.Registration(ctx, issuer)
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("%w: no stored registration at %s", ErrNotFound, issuer)
	}
	return reg, err
}

// Registration returns the client's registration as its authorization
// server has it now (RFC 7592 read), falling back to the stored copy when
// the registration cannot be managed.
func (t *Transport) Registration(ctx context.Context) (*Registration, json.RawMessage, error) {
	reg, err := t.registrationInUse(ctx)
	if err != nil {
		return nil, nil, err
	}
	if reg.RegistrationClientURI == "" || reg.RegistrationAccessToken == "" {
		return reg, reg.Metadata, ErrNoManagement
	}
	body, err := t.managementCall(ctx, http.MethodGet, reg.RegistrationClientURI, reg.RegistrationAccessToken, nil, "read registration")
	if err != nil {
		return reg, nil, err
	}
	return reg, body, nil
}

// UpdateRegistration changes members of the client's registration (RFC
// 7592 update: the full metadata with the changes is sent) and stores the
// result.
func (t *Transport) UpdateRegistration(ctx context.Context, changes map[string]any) (json.RawMessage, error) {
	reg, current, err := t.Registration(ctx)
	if err != nil {
		return nil, err
	}
	var meta map[string]any
	if err := json.Unmarshal(current, &meta); err != nil {
		return nil, fmt.Errorf("mcpauth: registration metadata: %w", err)
	}
	for _, k := range []string{"registration_access_token", "registration_client_uri", "client_secret_expires_at", "client_id_issued_at"} {
		delete(meta, k)
	}
	for k, v := range changes {
		if slices.Contains([]string{"client_id", "client_secret", "registration_access_token", "registration_client_uri"}, k) {
			return nil, fmt.Errorf("mcpauth: %s cannot be changed", k)
		}
		meta[k] = v
	}
	meta["client_id"] = reg.ClientID
	body, err := t.managementCall(ctx, http.MethodPut, reg.RegistrationClientURI, reg.RegistrationAccessToken, meta, "update registration")
	if err != nil {
		return nil, err
	}
	nreg, err := registration(reg.Issuer, body, nil, t.now())
	if err != nil {
		return nil, err
	}
	if nreg.RegistrationAccessToken == "" {
		nreg.RegistrationAccessToken = reg.RegistrationAccessToken
	}
	if nreg.RegistrationClientURI == "" {
		nreg.RegistrationClientURI = reg.RegistrationClientURI
	}
	if nreg.ClientSecret == "" {
		nreg.ClientSecret = reg.ClientSecret
	}
	if nreg.TokenEndpointAuthMethod == "" {
		nreg.TokenEndpointAuthMethod = reg.TokenEndpointAuthMethod
	}
	nreg.RegisteredAt = reg.RegisteredAt
	return body, t.store.SaveRegistration(ctx, nreg)
}

// DeleteRegistration deletes the client's registration at its
// authorization server (RFC 7592) and forgets it and the server's tokens.
func (t *Transport) DeleteRegistration(ctx context.Context) error {
	reg, err := t.registrationInUse(ctx)
	if err != nil {
		return err
	}
	if reg.RegistrationClientURI == "" || reg.RegistrationAccessToken == "" {
		return ErrNoManagement
	}
	if _, err := t.managementCall(ctx, http.MethodDelete, reg.RegistrationClientURI, reg.RegistrationAccessToken, nil, "delete registration"); err != nil {
		return err
	}
	if err := t.store.DeleteRegistration(ctx, reg.Issuer); err != nil {
		return err
	}
	return t.Reset(ctx)
}

// TokenSource returns an oauth2.TokenSource of the server's access tokens
// (EnsureToken with ctx), for code that wants only the token.
func (t *Transport) TokenSource(ctx context.Context) oauth2.TokenSource {
	return tokenSource{ctx: ctx, t: t}
}

type tokenSource struct {
	ctx context.Context
	t   *Transport
}

func (s tokenSource) Token() (*oauth2.Token, error) {
	tok, err := s.t.EnsureToken(s.ctx)
	if err != nil {
		return nil, err
	}
	return &oauth2.Token{AccessToken: tok.AccessToken, TokenType: "Bearer", RefreshToken: tok.RefreshToken, Expiry: tok.Expiry}, nil
}

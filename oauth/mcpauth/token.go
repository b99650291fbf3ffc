package mcpauth

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// fingerprint is what logs show of a secret: the first 8 characters of
// the base64 of its SHA-256.
func fingerprint(s string) string {
	if s == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(s))
	return base64.RawURLEncoding.EncodeToString(sum[:6])
}

// config is the x/oauth2 configuration of client c at md.
func (c *client) config(md *ServerMetadata, redirectURI string, scopes []string) *oauth2.Config {
	style, secret := oauth2.AuthStyleInParams, ""
	switch c.authMethod {
	case AuthSecretBasic:
		style, secret = oauth2.AuthStyleInHeader, c.secret
	case AuthSecretPost:
		secret = c.secret
	}
	return &oauth2.Config{
		ClientID: c.id, ClientSecret: secret, RedirectURL: redirectURI, Scopes: scopes,
		Endpoint: oauth2.Endpoint{
			AuthURL: md.AuthorizationEndpoint, TokenURL: md.TokenEndpoint,
			DeviceAuthURL: md.DeviceAuthorizationEndpoint, AuthStyle: style,
		},
	}
}

// tokenResponse is an RFC 6749 §5.1 response.
type tokenResponse struct {
	AccessToken  string          `json:"access_token"`
	TokenType    string          `json:"token_type"`
	RefreshToken string          `json:"refresh_token"`
	ExpiresIn    json.RawMessage `json:"expires_in"`
	Scope        string          `json:"scope"`
}

// refreshToken exchanges old's refresh token (RFC 6749 §6) with the
// resource indicator (RFC 8707), which x/oauth2's refresher cannot send.
func (t *Transport) refreshToken(ctx context.Context, md *ServerMetadata, c *client, old *Tokens) (*oauth2.Token, error) {
	form := url.Values{"grant_type": {grantRefresh}, "refresh_token": {old.RefreshToken}}
	if old.Resource != "" {
		form.Set("resource", old.Resource)
	}
	switch c.authMethod {
	case AuthSecretPost:
		form.Set("client_id", c.id)
		form.Set("client_secret", c.secret)
	case AuthSecretBasic:
	default:
		form.Set("client_id", c.id)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, md.TokenEndpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("mcpauth: refresh: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if c.authMethod == AuthSecretBasic {
		req.SetBasicAuth(url.QueryEscape(c.id), url.QueryEscape(c.secret))
	}
	resp, err := t.oauthHTTP.Do(req)
	if err != nil {
		return nil, fmt.Errorf("mcpauth: refresh: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxMetadata))
	if err != nil {
		return nil, fmt.Errorf("mcpauth: refresh: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, oauthError("refresh", resp.StatusCode, body)
	}
	var tr tokenResponse
	if err := json.Unmarshal(body, &tr); err != nil || tr.AccessToken == "" {
		return nil, fmt.Errorf("mcpauth: refresh: malformed token response")
	}
	tok := &oauth2.Token{AccessToken: tr.AccessToken, TokenType: tr.TokenType, RefreshToken: tr.RefreshToken}
	if n := expiresIn(tr.ExpiresIn); n > 0 {
		tok.Expiry = t.now().Add(time.Duration(n) * time.Second)
		tok.ExpiresIn = n
	}
	if tr.Scope != "" {
		tok = tok.WithExtra(map[string]any{"scope": tr.Scope})
	}
	return tok, nil
}

// expiresIn reads expires_in, a number or (from some servers) a string.
func expiresIn(raw json.RawMessage) int64 {
	s := strings.Trim(string(raw), `"`)
	n, err := strconv.ParseFloat(s, 64)
	if err != nil || n <= 0 {
		return 0
	}
	return int64(n)
}

// tokensFrom records tok as the tokens of the transport's server. A
// missing refresh token keeps the old one (RFC 6749 §6), a missing scope
// the one requested.
func (t *Transport) tokensFrom(tok *oauth2.Token, d *discovery, c *client, requested []string, old *Tokens) (*Tokens, error) {
	if !strings.EqualFold(tok.Type(), "bearer") {
		return nil, fmt.Errorf("%w: %q", ErrTokenType, tok.TokenType)
	}
	out := &Tokens{
		Server: t.serverKey, Issuer: d.md.Issuer, Resource: d.resource, ClientID: c.id,
		AccessToken: tok.AccessToken, TokenType: "Bearer", RefreshToken: tok.RefreshToken,
		Expiry: tok.Expiry.UTC(), ResourceMetadata: d.prmURL, ObtainedAt: t.now().UTC(), Legacy: d.legacy,
	}
	if s, ok := tok.Extra("scope").(string); ok && s != "" {
		out.Scope = s
	} else if old != nil && requested == nil {
		out.Scope = old.Scope
	} else {
		out.Scope = strings.Join(requested, " ")
	}
	if out.RefreshToken == "" && old != nil {
		out.RefreshToken = old.RefreshToken
	}
	return out, nil
}

package mcpauth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"time"
)

// Token endpoint authentication methods (RFC 7591 §2).
const (
	AuthNone         = "none"
	AuthSecretBasic  = "client_secret_basic"
	AuthSecretPost   = "client_secret_post"
	grantAuthCode    = "authorization_code"
	grantRefresh     = "refresh_token"
	grantDeviceCode  = "urn:ietf:params:oauth:grant-type:device_code"
	maxRegistrationB = 64 << 10
)

// ClientKind says where a client's identity comes from.
type ClientKind string

const (
	// PreRegistered: Options.ClientID.
	PreRegistered ClientKind = "pre-registered"
	// MetadataDocument: Options.ClientMetadataURL, a Client ID Metadata
	// Document the server fetches.
	MetadataDocument ClientKind = "metadata-document"
	// Dynamic: registered by the client itself (RFC 7591) and stored.
	Dynamic ClientKind = "dynamic"
)

// client is the OAuth client a flow uses at one authorization server.
type client struct {
	kind         ClientKind
	id, secret   string
	authMethod   string
	redirectURIs []string
	reg          *Registration // Dynamic only
}

// chooseAuthMethod picks how a client with (or without) a secret
// authenticates at a server supporting methods (absent: the RFC 8414
// default, client_secret_basic).
func chooseAuthMethod(supported []string, hasSecret bool) string {
	if !hasSecret {
		return AuthNone
	}
	switch {
	case len(supported) == 0, slices.Contains(supported, AuthSecretBasic):
		return AuthSecretBasic
	case slices.Contains(supported, AuthSecretPost):
		return AuthSecretPost
	default:
		return AuthSecretBasic
	}
}

// registrationMethod is the method a new registration asks for: a native
// public client ("none") unless the server does not allow it.
func registrationMethod(supported []string) string {
	switch {
	case len(supported) == 0, slices.Contains(supported, AuthNone):
		return AuthNone
	case slices.Contains(supported, AuthSecretBasic):
		return AuthSecretBasic
	case slices.Contains(supported, AuthSecretPost):
		return AuthSecretPost
	}
	return AuthNone
}

// grantTypes are the grants a registration asks for at md.
func grantTypes(md *ServerMetadata) []string {
	g := []string{grantAuthCode, grantRefresh}
	if md.supportsDevice() && (len(md.GrantTypesSupported) == 0 || slices.Contains(md.GrantTypesSupported, grantDeviceCode)) {
		g = append(g, grantDeviceCode)
	}
	return g
}

// registrationResponse is the part of an RFC 7591 response the client reads.
type registrationResponse struct {
	ClientID                string   `json:"client_id"`
	ClientSecret            string   `json:"client_secret"`
	ClientSecretExpiresAt   int64    `json:"client_secret_expires_at"`
	TokenEndpointAuthMethod string   `json:"token_endpoint_auth_method"`
	RedirectURIs            []string `json:"redirect_uris"`
	GrantTypes              []string `json:"grant_types"`
	RegistrationAccessToken string   `json:"registration_access_token"`
	RegistrationClientURI   string   `json:"registration_client_uri"`
}

// registration turns a registration response into a Registration.
func registration(issuer string, body []byte, supported []string, now time.Time) (*Registration, error) {
	var r registrationResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("mcpauth: register: malformed response: %w", err)
	}
	if r.ClientID == "" {
		return nil, errors.New("mcpauth: register: the response has no client_id")
	}
	method := r.TokenEndpointAuthMethod
	if method == "" {
		method = chooseAuthMethod(supported, r.ClientSecret != "")
	}
	return &Registration{
		Issuer: issuer, ClientID: r.ClientID, ClientSecret: r.ClientSecret, ClientSecretExpiresAt: r.ClientSecretExpiresAt,
		TokenEndpointAuthMethod: method, RedirectURIs: r.RedirectURIs, GrantTypes: r.GrantTypes,
		RegistrationAccessToken: r.RegistrationAccessToken, RegistrationClientURI: r.RegistrationClientURI,
		RegisteredAt: now.UTC().Truncate(time.Second), Metadata: json.RawMessage(bytes.Clone(body)),
	}, nil
}

// register registers a new client at md (RFC 7591) for redirectURI.
func (t *Transport) register(ctx context.Context, md *ServerMetadata, redirectURI string) (*Registration, error) {
	meta := map[string]any{
		"client_name":                t.opts.ClientName,
		"redirect_uris":              []string{redirectURI},
		"grant_types":                grantTypes(md),
		"response_types":             []string{"code"},
		"token_endpoint_auth_method": registrationMethod(md.TokenEndpointAuthMethodsSupported),
		"application_type":           "native",
	}
	if t.opts.ClientURI != "" {
		meta["client_uri"] = t.opts.ClientURI
	}
	if t.opts.SoftwareID != "" {
		meta["software_id"] = t.opts.SoftwareID
	}
	if t.opts.SoftwareVersion != "" {
		meta["software_version"] = t.opts.SoftwareVersion
	}
	body, err := t.managementCall(ctx, http.MethodPost, md.RegistrationEndpoint, "", meta, "register")
	if err != nil {
		return nil, err
	}
	reg, err := registration(md.Issuer, body, md.TokenEndpointAuthMethodsSupported, t.now())
	if err != nil {
		return nil, err
	}
	if err := t.store.SaveRegistration(ctx, reg); err != nil {
		return nil, err
	}
	t.log.Info("mcpauth: registered client", "issuer", md.Issuer, "client_id", reg.ClientID, "auth_method", reg.TokenEndpointAuthMethod)
	return reg, nil
}

// managementCall sends a registration request (RFC 7591 / 7592) with a JSON
// body (nil for none) and an optional bearer registration access token and
// returns the response body (nil for 204).
func (t *Transport) managementCall(ctx context.Context, method, u, token string, body any, op string) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, fmt.Errorf("mcpauth: %s: %w", op, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := t.oauthHTTP.Do(req)
	if err != nil {
		return nil, fmt.Errorf("mcpauth: %s: %w", op, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxRegistrationB))
	if err != nil {
		return nil, fmt.Errorf("mcpauth: %s: %w", op, err)
	}
	if resp.StatusCode >= 300 {
		return nil, oauthError(op, resp.StatusCode, b)
	}
	return b, nil
}

// oauthError reads an OAuth error response body.
func oauthError(op string, status int, body []byte) error {
	var e struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	_ = json.Unmarshal(body, &e)
	return &OAuthError{Op: op, Status: status, Code: e.Error, Description: e.Description}
}

// loopbackMatch reports whether redirect uri matches one of registered,
// counting a loopback URI that differs only in its port as a match (RFC
// 8252 §7.3: servers must accept any port for loopback redirects).
func loopbackMatch(registered []string, uri string) bool {
	if slices.Contains(registered, uri) {
		return true
	}
	u, err := url.Parse(uri)
	if err != nil || !isLoopbackHost(u.Hostname()) {
		return false
	}
	for _, r := range registered {
		ru, err := url.Parse(r)
		if err == nil && ru.Scheme == u.Scheme && ru.Hostname() == u.Hostname() && ru.EscapedPath() == u.EscapedPath() {
			return true
		}
	}
	return false
}

func isLoopbackHost(h string) bool { return h == "127.0.0.1" || h == "::1" || h == "localhost" }

// clientFor returns the client to use at md for a login whose redirect URI
// is redirectURI ("" when the login needs none), registering it when
// needed.
func (t *Transport) clientFor(ctx context.Context, md *ServerMetadata, redirectURI string, device bool) (*client, error) {
	if t.opts.ClientID != "" {
		method := t.opts.TokenEndpointAuthMethod
		if method == "" {
			method = chooseAuthMethod(md.TokenEndpointAuthMethodsSupported, t.opts.ClientSecret != "")
		}
		return &client{kind: PreRegistered, id: t.opts.ClientID, secret: t.opts.ClientSecret, authMethod: method}, nil
	}
	if t.opts.ClientMetadataURL != "" && md.ClientIDMetadataDocumentSupported {
		return &client{kind: MetadataDocument, id: t.opts.ClientMetadataURL, authMethod: AuthNone}, nil
	}
	if redirectURI == "" {
		redirectURI = "http://127.0.0.1/callback"
	}
	reg, err := t.store.Registration(ctx, md.Issuer)
	switch {
	case errors.Is(err, ErrNotFound):
		reg = nil
	case err != nil:
		return nil, err
	}
	if reg != nil {
		expired := reg.ClientSecretExpiresAt != 0 && t.now().Unix() >= reg.ClientSecretExpiresAt
		usable := !expired && loopbackMatch(reg.RedirectURIs, redirectURI) &&
			(!device || len(reg.GrantTypes) == 0 || slices.Contains(reg.GrantTypes, grantDeviceCode))
		if usable {
			return regClient(reg), nil
		}
		t.log.Info("mcpauth: stored registration does not fit, registering again", "issuer", md.Issuer, "client_id", reg.ClientID, "secret_expired", expired)
	}
	if md.RegistrationEndpoint == "" {
		return nil, ErrNoRegistration
	}
	reg, err = t.register(ctx, md, redirectURI)
	if err != nil {
		return nil, err
	}
	return regClient(reg), nil
}

func regClient(r *Registration) *client {
	return &client{kind: Dynamic, id: r.ClientID, secret: r.ClientSecret, authMethod: r.TokenEndpointAuthMethod, redirectURIs: r.RedirectURIs, reg: r}
}

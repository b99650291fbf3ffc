package mcpauth

import (
	"errors"
	"fmt"
)

// Sentinel errors. Errors returned by this package wrap them; test with
// errors.Is.
var (
	// ErrNoPKCE: the authorization server does not offer PKCE with S256;
	// the client refuses to use it.
	ErrNoPKCE = errors.New("mcpauth: authorization server does not support PKCE with S256")
	// ErrResourceMismatch: the protected resource metadata names another
	// resource than the server URL.
	ErrResourceMismatch = errors.New("mcpauth: protected resource metadata is for another resource")
	// ErrIssuerMismatch: the authorization server metadata names another
	// issuer than the one it was fetched for (RFC 8414 §3.3).
	ErrIssuerMismatch = errors.New("mcpauth: authorization server metadata issuer mismatch")
	// ErrNoAuthorizationServer: neither protected resource metadata nor a
	// 2025-03-26 style authorization server was found.
	ErrNoAuthorizationServer = errors.New("mcpauth: no authorization server found")
	// ErrNoRegistration: the client has no client id and the server offers
	// neither dynamic registration nor Client ID Metadata Documents.
	ErrNoRegistration = errors.New("mcpauth: no way to register the client (pass a client id)")
	// ErrState: the authorization response's state does not match.
	ErrState = errors.New("mcpauth: authorization response state mismatch")
	// ErrIss: the authorization response's iss parameter is wrong or
	// missing where the server said it sends one (RFC 9207).
	ErrIss = errors.New("mcpauth: authorization response issuer mismatch")
	// ErrDenied: the user or the server refused the authorization.
	ErrDenied = errors.New("mcpauth: authorization denied")
	// ErrNoDevice: the authorization server does not offer the device
	// authorization grant.
	ErrNoDevice = errors.New("mcpauth: authorization server offers no device authorization")
	// ErrLoginRequired: a user login is needed but Options.Login is
	// NoLogin.
	ErrLoginRequired = errors.New("mcpauth: login required")
	// ErrNoToken: no token is stored for the server.
	ErrNoToken = errors.New("mcpauth: no token")
	// ErrNotFound: a store has no such entry.
	ErrNotFound = errors.New("mcpauth: not found")
	// ErrNoManagement: the registration has no RFC 7592 management URI
	// and token.
	ErrNoManagement = errors.New("mcpauth: the client registration cannot be managed (no registration access token)")
	// ErrTokenType: the token endpoint issued a token of a type other than
	// Bearer.
	ErrTokenType = errors.New("mcpauth: token type is not Bearer")
	// ErrScopeRetries: the server kept refusing the token's scopes after
	// the step-up authorizations allowed.
	ErrScopeRetries = errors.New("mcpauth: insufficient scope after step-up")
)

// OAuthError is an error response of an authorization server: from the
// token, registration or device endpoint, or the authorization response.
type OAuthError struct {
	// Op is what the client was doing, e.g. "token", "register".
	Op string
	// Status is the HTTP status (0 for an authorization response).
	Status int
	// Code is the OAuth error code, e.g. "invalid_grant".
	Code string
	// Description is the server's error_description.
	Description string
}

func (e *OAuthError) Error() string {
	s := "mcpauth: " + e.Op + ": "
	if e.Code != "" {
		s += e.Code
	} else {
		s += fmt.Sprintf("HTTP %d", e.Status)
	}
	if e.Description != "" {
		s += ": " + e.Description
	}
	return s
}

// Is makes an access_denied authorization response match ErrDenied.
func (e *OAuthError) Is(target error) bool {
	return target == ErrDenied && e.Code == "access_denied"
}

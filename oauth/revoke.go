package oauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Token revocation (RFC 7009) and introspection (RFC 7662). Both need an
// authenticated client and act only on that client's own tokens.

// looksLikeJWT reports whether a token has the compact JWS form; refresh
// tokens never do.
func looksLikeJWT(t string) bool { return strings.Count(t, ".") == 2 }

// tokenRequest reads a /revoke or /introspect request: the authenticated
// client and the token it asks about. ok is false when it has answered with
// an error.
func (s *Server) tokenRequest(w http.ResponseWriter, r *http.Request) (client *Client, token string, ok bool) {
	form, err := parseForm(r)
	if err != nil {
		s.writeError(w, r, err)
		return nil, "", false
	}
	if client, err = s.authenticateClient(r, form); err != nil {
		s.writeError(w, r, err)
		return nil, "", false
	}
	if token = form.Get("token"); token == "" {
		s.writeError(w, r, newError(ErrorInvalidRequest, "token is missing"))
		return nil, "", false
	}
	return client, token, true
}

// serveRevoke handles POST /revoke. Unknown, expired and already revoked
// tokens are answered 200, as RFC 7009 §2.2 wants.
func (s *Server) serveRevoke(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	client, token, ok := s.tokenRequest(w, r)
	if !ok {
		return
	}
	var err error
	if looksLikeJWT(token) {
		err = s.revokeAccessToken(ctx, client, token)
	} else {
		err = s.revokeRefreshToken(ctx, client, token)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}

func (s *Server) revokeAccessToken(ctx context.Context, client *Client, token string) error {
	c, err := s.parseAccessToken(ctx, token)
	if err != nil {
		return nil // not ours or garbage: nothing to revoke
	}
	if c.ClientID != client.ID {
		return newError(ErrorUnauthorizedClient, "the token was issued to another client")
	}
	if s.checkExpiry(c) != nil {
		return nil // expired: nothing to revoke
	}
	if err := s.store.RevokeToken(ctx, client.ID, c.ID, c.Expiry.Time().Add(clockSkew)); err != nil {
		return fmt.Errorf("revoke access token: %w", err)
	}
	s.log.InfoContext(ctx, "oauth: access token revoked", "client_id", client.ID, "jti", c.ID)
	return nil
}

// revokeRefreshToken revokes the whole family of a refresh token: its
// refresh tokens and its access tokens.
func (s *Server) revokeRefreshToken(ctx context.Context, client *Client, token string) error {
	rt, err := s.store.GetRefresh(ctx, client.ID, hashSecret(token))
	if errors.Is(err, ErrNotFound) {
		return nil // unknown, expired, revoked, or another client's (bound)
	}
	if err != nil {
		return fmt.Errorf("get refresh token: %w", err)
	}
	if err := s.store.RevokeFamily(ctx, client.ID, rt.FamilyID, s.now().Add(s.accessTTL+clockSkew)); err != nil {
		return fmt.Errorf("revoke family: %w", err)
	}
	s.log.InfoContext(ctx, "oauth: refresh token family revoked", "client_id", client.ID, "family", short(rt.FamilyID), "token", fingerprint(token))
	return nil
}

// introspection is the RFC 7662 §2.2 response.
type introspection struct {
	Active    bool     `json:"active"`
	TokenType string   `json:"token_type,omitempty"`
	Scope     string   `json:"scope,omitempty"`
	ClientID  string   `json:"client_id,omitempty"`
	Username  string   `json:"username,omitempty"`
	Subject   string   `json:"sub,omitempty"`
	Audience  Audience `json:"aud,omitempty"`
	Issuer    string   `json:"iss,omitempty"`
	Expiry    int64    `json:"exp,omitempty"`
	IssuedAt  int64    `json:"iat,omitempty"`
	JTI       string   `json:"jti,omitempty"`
}

// serveIntrospect handles POST /introspect.
func (s *Server) serveIntrospect(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	client, token, ok := s.tokenRequest(w, r)
	if !ok {
		return
	}
	var resp introspection
	var err error
	if looksLikeJWT(token) {
		resp, err = s.introspectAccess(ctx, client, token)
	} else {
		resp, err = s.introspectRefresh(ctx, client, token)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) introspectAccess(ctx context.Context, client *Client, token string) (introspection, error) {
	c, err := s.VerifyAccessToken(ctx, token)
	if err != nil {
		if errors.Is(err, ErrTokenMalformed) || errors.Is(err, ErrTokenSignature) || errors.Is(err, ErrTokenExpired) ||
			errors.Is(err, ErrTokenIssuer) || errors.Is(err, ErrTokenRevoked) {
			return introspection{}, nil
		}
		return introspection{}, err
	}
	if c.ClientID != client.ID {
		return introspection{}, nil // another client's token: not for this caller to see
	}
	return introspection{
		Active: true, TokenType: "Bearer", Scope: c.Scope, ClientID: c.ClientID, Username: c.Login,
		Subject: c.Subject, Audience: c.Audience, Issuer: c.Issuer, Expiry: c.Expiry.Time().Unix(),
		IssuedAt: unixOrZero(c.IssuedAt), JTI: c.ID,
	}, nil
}

func (s *Server) introspectRefresh(ctx context.Context, client *Client, token string) (introspection, error) {
	rt, err := s.store.GetRefresh(ctx, client.ID, hashSecret(token))
	if errors.Is(err, ErrNotFound) {
		return introspection{}, nil
	}
	if err != nil {
		return introspection{}, err
	}
	if rt.Successor != "" {
		return introspection{}, nil // rotated: replaced by its successor
	}
	return introspection{
		Active: true, TokenType: "refresh_token", Scope: rt.Scope, ClientID: rt.ClientID, Username: rt.User.Login,
		Subject: rt.User.Subject, Audience: Audience(rt.Resources), Issuer: s.issuer,
		Expiry: rt.ExpiresAt.Unix(), IssuedAt: rt.IssuedAt.Unix(),
	}, nil
}

func unixOrZero(d *NumericDate) int64 {
	if d == nil {
		return 0
	}
	return d.Time().Unix()
}

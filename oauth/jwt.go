package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// AccessTokenClaims are the claims of the access tokens this server mints:
// RFC 9068 JWTs (header typ "at+jwt") with the user's identity (login,
// name, email, the provider, groups and organizations, which per-resource
// policies read), and the id of the token family (the authorization the
// token descends from), which revocation covers.
type AccessTokenClaims struct {
	Issuer   string       `json:"iss"`
	Subject  string       `json:"sub"`
	Audience Audience     `json:"aud"`
	Expiry   *NumericDate `json:"exp"`
	IssuedAt *NumericDate `json:"iat"`
	// NotBefore is optional; this server does not set it.
	NotBefore *NumericDate `json:"nbf,omitempty"`
	ID        string       `json:"jti"`
	ClientID  string       `json:"client_id"`
	Scope     string       `json:"scope,omitempty"`
	AuthTime  *NumericDate `json:"auth_time,omitempty"`
	// Login is the user's login (GitHub handle), as preferred_username.
	Login         string `json:"preferred_username,omitempty"`
	Name          string `json:"name,omitempty"`
	Email         string `json:"email,omitempty"`
	EmailVerified bool   `json:"email_verified,omitempty"`
	// Provider names the identity provider the user logged in with
	// (Identity.Provider); absent in tokens minted before it was recorded.
	Provider string `json:"idp,omitempty"`
	// FamilyID names the token family (claim "fid").
	FamilyID string `json:"fid,omitempty"`
	// Orgs are the user's organizations (GitHub) and Groups their groups
	// (an OpenID provider's), as last confirmed, when the identity provider
	// reported them.
	Orgs   []string `json:"orgs,omitempty"`
	Groups []string `json:"groups,omitempty"`
}

// identity is the user the claims name, for a Policy.
func (c *AccessTokenClaims) identity() *Identity {
	return &Identity{Subject: c.Subject, Provider: c.Provider, Login: c.Login, Name: c.Name, Email: c.Email,
		EmailVerified: c.EmailVerified, Groups: c.Groups, Orgs: c.Orgs}
}

// Ref is what revocation checks need of the token.
func (c *AccessTokenClaims) Ref() AccessTokenRef {
	ref := AccessTokenRef{ClientID: c.ClientID, FamilyID: c.FamilyID, JTI: c.ID}
	if c.IssuedAt != nil {
		ref.IssuedAt = c.IssuedAt.Time()
	}
	return ref
}

// accessToken is a minted token and its claims.
type accessToken struct {
	raw    string
	claims AccessTokenClaims
}

// mintAccessToken signs an access token for user, client and audience.
func (s *Server) mintAccessToken(ctx context.Context, clientID, familyID string, user Identity, scope string, audience []string, authTime time.Time) (*accessToken, error) {
	st, err := s.keys.current(ctx)
	if err != nil {
		return nil, err
	}
	now := s.now()
	aud := audience
	if len(aud) == 0 {
		aud = []string{s.issuer}
	}
	c := AccessTokenClaims{
		Issuer:        s.issuer,
		Subject:       user.Subject,
		Audience:      Audience(aud),
		Expiry:        NewNumericDate(now.Add(s.accessTTL)),
		IssuedAt:      NewNumericDate(now),
		ID:            randomString("", 16),
		ClientID:      clientID,
		Scope:         scope,
		AuthTime:      NewNumericDate(authTime),
		Login:         user.Login,
		Name:          user.Name,
		Email:         user.Email,
		EmailVerified: user.EmailVerified && user.Email != "",
		Provider:      user.Provider,
		FamilyID:      familyID,
		Orgs:          user.Orgs,
		Groups:        user.Groups,
	}
	// Marshal once and sign the bytes: jwt.Signed(...).Claims would
	// round-trip the claims through a map first.
	payload, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("oauth: encode access token: %w", err)
	}
	jws, err := st.signer.Sign(payload)
	if err != nil {
		return nil, fmt.Errorf("oauth: sign access token: %w", err)
	}
	raw, err := jws.CompactSerialize()
	if err != nil {
		return nil, fmt.Errorf("oauth: sign access token: %w", err)
	}
	return &accessToken{raw: raw, claims: c}, nil
}

// Errors of VerifyAccessToken.
var (
	ErrTokenMalformed = errors.New("oauth: malformed access token")
	ErrTokenSignature = errors.New("oauth: access token signature invalid or key unknown")
	ErrTokenExpired   = errors.New("oauth: access token expired")
	ErrTokenIssuer    = errors.New("oauth: access token from another issuer")
	ErrTokenRevoked   = errors.New("oauth: access token revoked")
)

// clockSkew is the leeway for exp and iat checks.
const clockSkew = 30 * time.Second

// VerifyAccessToken checks an access token minted by this server: its
// form, signature (by kid), type, issuer and expiry, and that no
// revocation covers it. It does not check the audience: callers decide
// which resources they serve.
func (s *Server) VerifyAccessToken(ctx context.Context, raw string) (*AccessTokenClaims, error) {
	c, err := s.parseAccessToken(ctx, raw)
	if err != nil {
		return nil, err
	}
	if err := s.checkExpiry(c); err != nil {
		return nil, err
	}
	revoked, err := s.store.IsRevoked(ctx, c.Ref())
	if err != nil {
		return nil, fmt.Errorf("oauth: revocation check: %w", err)
	}
	if revoked {
		return nil, ErrTokenRevoked
	}
	return c, nil
}

func (s *Server) checkExpiry(c *AccessTokenClaims) error {
	now := s.now()
	if c.Expiry == nil || !now.Before(c.Expiry.Time().Add(clockSkew)) {
		return ErrTokenExpired
	}
	if c.IssuedAt != nil && c.IssuedAt.Time().After(now.Add(clockSkew)) {
		return fmt.Errorf("%w: issued in the future", ErrTokenMalformed)
	}
	return nil
}

// parseAccessToken checks signature, type and issuer, not expiry.
func (s *Server) parseAccessToken(ctx context.Context, raw string) (*AccessTokenClaims, error) {
	if strings.Count(raw, ".") != 2 || len(raw) > 16<<10 {
		return nil, ErrTokenMalformed
	}
	tok, err := jwt.ParseSigned(raw, supportedAlgs)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrTokenMalformed, err)
	}
	if len(tok.Headers) != 1 {
		return nil, ErrTokenMalformed
	}
	h := tok.Headers[0]
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); !strings.EqualFold(typ, "at+jwt") && !strings.EqualFold(typ, "application/at+jwt") {
		return nil, fmt.Errorf("%w: typ is not at+jwt", ErrTokenMalformed)
	}
	key, ok := s.keys.lookup(ctx, h.KeyID)
	if !ok {
		return nil, ErrTokenSignature
	}
	if h.Algorithm != key.Algorithm {
		return nil, ErrTokenSignature
	}
	var c AccessTokenClaims
	if err := tok.Claims(key.Key, &c); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrTokenSignature, err)
	}
	if c.Issuer != s.issuer {
		return nil, ErrTokenIssuer
	}
	return &c, nil
}

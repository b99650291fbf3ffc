package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// The token endpoint: authorization_code, refresh_token and RFC 8628
// device_code grants.

// tokenResponse is the RFC 6749 §5.1 success response.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
	Scope        string `json:"scope,omitempty"`
	// subject is the user the tokens are for, for the observer.
	subject string
}

// serveToken handles POST /token.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	form, err := parseForm(r, "resource")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	grant := form.Get("grant_type")
	client, err := s.authenticateClient(r, form)
	if err != nil {
		s.emit(r, Event{Step: StepToken, GrantType: knownGrant(grant)}, err)
		s.writeError(w, r, err)
		return
	}
	var resp *tokenResponse
	switch grant {
	case "authorization_code":
		resp, err = s.codeGrant(r.Context(), client, form)
	case "refresh_token":
		resp, err = s.refreshGrant(r.Context(), client, form)
	case GrantTypeDeviceCode:
		resp, err = s.deviceGrant(r.Context(), client, form)
	case "":
		err = newError(ErrorInvalidRequest, "grant_type is missing")
	default:
		err = newError(ErrorUnsupportedGrantType, "grant_type %q is not supported", truncate(grant, 60))
	}
	e := Event{Step: StepToken, ClientID: client.ID, GrantType: knownGrant(grant)}
	if err != nil {
		s.emit(r, e, err)
		s.writeError(w, r, err)
		return
	}
	e.Subject = resp.subject
	s.emit(r, e, nil)
	writeJSON(w, http.StatusOK, resp)
}

// knownGrant is grant_type for an Event: one the server knows, else
// "other" (the value is the client's and could be anything).
func knownGrant(grant string) string {
	switch grant {
	case "authorization_code", "refresh_token", GrantTypeDeviceCode, "":
		return grant
	}
	return "other"
}

// checkGrantAllowed refuses a grant type the client did not register.
func checkGrantAllowed(c *Client, grant string) error {
	if !allowsGrant(c, grant) {
		return newError(ErrorUnauthorizedClient, "the client did not register the %s grant", grant)
	}
	return nil
}

// codeGrant redeems an authorization code.
func (s *Server) codeGrant(ctx context.Context, client *Client, form url.Values) (*tokenResponse, error) {
	if err := checkGrantAllowed(client, "authorization_code"); err != nil {
		return nil, err
	}
	code := form.Get("code")
	if code == "" {
		return nil, newError(ErrorInvalidRequest, "code is missing")
	}
	g, err := s.store.RedeemCode(ctx, hashSecret(code))
	switch {
	case errors.Is(err, ErrCodeUsed) && g != nil:
		// A replay: whoever redeemed it first may be an attacker; revoke
		// what the first redemption produced (RFC 9700 §4.5.3).
		if rerr := s.store.RevokeFamily(ctx, g.ClientID, g.FamilyID, s.now().Add(s.accessTTL+clockSkew)); rerr != nil {
			return nil, fmt.Errorf("revoke family of replayed code: %w", rerr)
		}
		s.log.WarnContext(ctx, "oauth: authorization code replayed; its tokens are revoked", "client_id", client.ID, "code", fingerprint(code))
		return nil, newError(ErrorInvalidGrant, "the authorization code was already used")
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrCodeUsed):
		return nil, newError(ErrorInvalidGrant, "the authorization code is invalid or expired")
	case err != nil:
		return nil, fmt.Errorf("redeem code: %w", err)
	}
	if g.ClientID != client.ID {
		return nil, newError(ErrorInvalidGrant, "the authorization code was issued to another client")
	}
	ru, hasRU := form.Get("redirect_uri"), form.Has("redirect_uri")
	switch {
	case g.RedirectURI != "" && ru != g.RedirectURI:
		return nil, newError(ErrorInvalidGrant, "redirect_uri does not match the authorization request")
	case g.RedirectURI == "" && hasRU && (len(client.Metadata.RedirectURIs) != 1 || client.Metadata.RedirectURIs[0] != ru):
		return nil, newError(ErrorInvalidGrant, "redirect_uri does not match the registered one")
	}
	verifier := form.Get("code_verifier")
	if verifier == "" {
		return nil, newError(ErrorInvalidGrant, "code_verifier is missing (PKCE is required)")
	}
	if !verifyPKCE(verifier, g.CodeChallenge) {
		return nil, newError(ErrorInvalidGrant, "code_verifier does not match the code challenge")
	}
	requested, err := s.checkResources(form["resource"])
	if err != nil {
		return nil, err
	}
	audience, err := narrowResources(requested, g.Resources)
	if err != nil {
		return nil, err
	}
	credential := s.openUpstream(ctx, code, g.Upstream)
	return s.issueTokens(ctx, client, g.FamilyID, g.User, g.Scope, g.Resources, audience, g.AuthTime, credential)
}

// issueTokens mints the access token and, when the client may refresh, the
// first refresh token of a new family, keeping the upstream credential
// (nil: none) sealed under it, or in the vault (Options.UpstreamKeys).
func (s *Server) issueTokens(ctx context.Context, client *Client, familyID string, user Identity, scope string, resources, audience []string, authTime time.Time, credential []byte) (*tokenResponse, error) {
	if s.vault != nil && credential != nil {
		// Until the family ends; without refresh tokens, while its access
		// token lives.
		exp := s.now().Add(s.accessTTL + clockSkew)
		if allowsGrant(client, "refresh_token") {
			exp = s.familyEnd(authTime, s.now())
		}
		err := s.vault.put(ctx, client.ID, familyID, credential, exp)
		if errors.Is(err, ErrConflict) {
			return nil, newError(ErrorInvalidGrant, "the authorization was revoked")
		}
		if err != nil {
			return nil, fmt.Errorf("keep upstream credential: %w", err)
		}
		credential = nil // not sealed under the refresh token too
	}
	at, err := s.mintAccessToken(ctx, client.ID, familyID, user, scope, audience, authTime)
	if err != nil {
		return nil, err
	}
	resp := &tokenResponse{AccessToken: at.raw, TokenType: "Bearer", ExpiresIn: int64(s.accessTTL / time.Second), Scope: scope, subject: user.Subject}
	if allowsGrant(client, "refresh_token") {
		now := s.now()
		rt := randomString(prefixRefresh, 32)
		rec := &RefreshToken{
			FamilyID: familyID, ClientID: client.ID, User: user, Scope: scope, Resources: resources,
			AuthTime: authTime, IssuedAt: now, ExpiresAt: minTime(now.Add(s.refreshTTL), s.familyEnd(authTime, now)),
		}
		if credential != nil {
			if rec.Upstream, err = sealWith(rt, labelUpstream, credential); err != nil {
				return nil, err
			}
		}
		if err := s.store.IssueRefresh(ctx, hashSecret(rt), rec); err != nil {
			if errors.Is(err, ErrConflict) {
				return nil, newError(ErrorInvalidGrant, "the authorization was revoked")
			}
			return nil, fmt.Errorf("issue refresh token: %w", err)
		}
		resp.RefreshToken = rt
	}
	s.log.InfoContext(ctx, "oauth: tokens issued", "client_id", client.ID, "sub", user.Subject, "family", short(familyID),
		"jti", at.claims.ID, "refresh", fingerprint(resp.RefreshToken))
	return resp, nil
}

// graceBlob is the token pair a rotation sent, kept (encrypted) for a
// retry within the grace window.
type graceBlob struct {
	AccessToken  string `json:"a"`
	RefreshToken string `json:"r"`
	Scope        string `json:"s,omitempty"`
	Expiry       int64  `json:"e"` // access token expiry, Unix seconds
}

// sealGrace encrypts the pair under a key derived from the old refresh
// token (see seal.go): only a caller who holds that token can read it.
func sealGrace(oldToken string, b *graceBlob) ([]byte, error) {
	plain, err := json.Marshal(b)
	if err != nil {
		return nil, err
	}
	return sealWith(oldToken, labelGrace, plain)
}

func openGrace(oldToken string, sealed []byte) (*graceBlob, error) {
	plain, err := openWith(oldToken, labelGrace, sealed)
	if err != nil {
		return nil, fmt.Errorf("oauth: open grace blob: %w", err)
	}
	var b graceBlob
	if err := json.Unmarshal(plain, &b); err != nil {
		return nil, fmt.Errorf("oauth: decode grace blob: %w", err)
	}
	return &b, nil
}

// openUpstream opens the upstream credential sealed under secret (a
// code or refresh token); nil when there is none or it does not open.
func (s *Server) openUpstream(ctx context.Context, secret string, sealed []byte) []byte {
	if len(sealed) == 0 {
		return nil
	}
	plain, err := openWith(secret, labelUpstream, sealed)
	if err != nil {
		s.log.WarnContext(ctx, "oauth: the sealed upstream credential does not open; it is dropped", "error", err)
		return nil
	}
	return plain
}

// familyCredential is the upstream credential of the family of cur, whose
// refresh token is old: from the vault when the server has one (a family
// from before, whose credential is sealed under its refresh token, moves
// there), else opened with the refresh token. Nil: none.
func (s *Server) familyCredential(ctx context.Context, old string, cur *RefreshToken) []byte {
	if s.vault == nil {
		return s.openUpstream(ctx, old, cur.Upstream)
	}
	credential, _, err := s.vault.get(ctx, cur.ClientID, cur.FamilyID)
	if err == nil {
		return credential
	}
	if !errors.Is(err, ErrUpstreamMissing) {
		s.log.WarnContext(ctx, "oauth: the upstream credential cannot be read now", "family", short(cur.FamilyID), "error", err)
		return nil
	}
	legacy := s.openUpstream(ctx, old, cur.Upstream)
	if legacy == nil {
		return nil
	}
	if err := s.vault.put(ctx, cur.ClientID, cur.FamilyID, legacy, s.familyEnd(cur.AuthTime, cur.IssuedAt)); err != nil {
		s.log.WarnContext(ctx, "oauth: the upstream credential could not move to the vault", "family", short(cur.FamilyID), "error", err)
		return nil
	}
	return legacy
}

// refreshGrant rotates a refresh token: a new pair on every use; a retry
// within the grace window gets the same pair again; any other reuse
// revokes the family.
func (s *Server) refreshGrant(ctx context.Context, client *Client, form url.Values) (*tokenResponse, error) {
	if err := checkGrantAllowed(client, "refresh_token"); err != nil {
		return nil, err
	}
	old := form.Get("refresh_token")
	if old == "" {
		return nil, newError(ErrorInvalidRequest, "refresh_token is missing")
	}
	oldHash := hashSecret(old)
	cur, err := s.store.GetRefresh(ctx, client.ID, oldHash)
	if errors.Is(err, ErrNotFound) {
		return nil, newError(ErrorInvalidGrant, "the refresh token is invalid, expired or revoked")
	}
	if err != nil {
		return nil, fmt.Errorf("get refresh token: %w", err)
	}
	scope, err := narrowScope(form.Get("scope"), cur.Scope)
	if err != nil {
		return nil, err
	}
	requested, err := s.checkResources(form["resource"])
	if err != nil {
		return nil, err
	}
	audience, err := narrowResources(requested, cur.Resources)
	if err != nil {
		return nil, err
	}
	if cur.Successor != "" {
		// Rotated before: a retry inside the grace window, or a reuse. The
		// store decides, atomically; nothing new has to be minted.
		return s.rotate(ctx, client, old, cur, nil, nil)
	}
	now := s.now()
	end := s.familyEnd(cur.AuthTime, cur.IssuedAt)
	if !now.Before(end) {
		s.log.InfoContext(ctx, "oauth: refresh refused: the authorization reached its absolute lifetime", "client_id", client.ID,
			"sub", cur.User.Subject, "family", short(cur.FamilyID))
		return nil, newError(ErrorInvalidGrant, "the authorization is older than %s; sign in again", days(s.familyTTL))
	}
	known := s.currentIdentity(ctx, cur, s.familyCredential(ctx, old, cur), now)
	if !s.admits(known.user, cur.Resources) {
		return nil, s.refuseRefresh(ctx, client, cur, known)
	}
	at, err := s.mintAccessToken(ctx, client.ID, cur.FamilyID, known.user, scope, audience, cur.AuthTime)
	if err != nil {
		return nil, err
	}
	next := randomString(prefixRefresh, 32)
	rec := &RefreshToken{
		FamilyID: cur.FamilyID, ClientID: client.ID, User: known.user, Scope: cur.Scope, Resources: cur.Resources,
		AuthTime: cur.AuthTime, IssuedAt: now,
		// Every rotation restarts the refresh lifetime, never past the
		// family's end.
		ExpiresAt: minTime(now.Add(s.refreshTTL), end),
	}
	if known.credential != nil && s.vault == nil {
		if rec.Upstream, err = sealWith(next, labelUpstream, known.credential); err != nil {
			return nil, err
		}
	}
	pair := &graceBlob{AccessToken: at.raw, RefreshToken: next, Scope: scope, Expiry: at.claims.Expiry.Time().Unix()}
	return s.rotate(ctx, client, old, cur, pair, rec)
}

// familyEnd is when a token family whose user logged in at authTime ends
// (fallback: the start of a family recorded without a login time).
func (s *Server) familyEnd(authTime, fallback time.Time) time.Time {
	if authTime.IsZero() {
		authTime = fallback
	}
	return authTime.Add(s.familyTTL)
}

// days formats a lifetime for a person: "90 days", else the duration.
func days(d time.Duration) string {
	const day = 24 * time.Hour
	if d >= day && d%day == 0 {
		return fmt.Sprintf("%d days", d/day)
	}
	return d.String()
}

// refuseRefresh answers a refresh of a user the policies no longer admit:
// invalid_grant, and the family revoked (its access tokens included),
// unless the refusal may pass: the provider could not be asked, and the
// memberships recorded before would still admit the user.
func (s *Server) refuseRefresh(ctx context.Context, client *Client, cur *RefreshToken, known knownIdentity) error {
	if known.temporary && s.admits(cur.User, cur.Resources) {
		s.log.WarnContext(ctx, "oauth: refresh refused: the organization memberships it depends on cannot be checked now", "client_id", client.ID,
			"sub", cur.User.Subject, "login", cur.User.Login, "family", short(cur.FamilyID))
		return newError(ErrorInvalidGrant, "the identity provider cannot confirm the organization membership this authorization depends on; try again later or sign in again")
	}
	if err := s.store.RevokeFamily(ctx, client.ID, cur.FamilyID, s.now().Add(s.accessTTL+clockSkew)); err != nil {
		return fmt.Errorf("revoke family of a refused refresh: %w", err)
	}
	s.log.WarnContext(ctx, "oauth: refresh refused: the policy no longer admits the user; the token family is revoked", "client_id", client.ID,
		"sub", known.user.Subject, "login", known.user.Login, "family", short(cur.FamilyID), "unconfirmed", known.unconfirmed != nil)
	return newError(ErrorInvalidGrant, "this user is no longer allowed to use this service; the authorization is revoked")
}

// rotate asks the store to rotate old into pair/rec (nil for a rotated
// token, which can only be a retry or a reuse).
func (s *Server) rotate(ctx context.Context, client *Client, old string, cur *RefreshToken, pair *graceBlob, rec *RefreshToken) (*tokenResponse, error) {
	now := s.now()
	rot := &Rotation{
		ClientID:    client.ID,
		OldHash:     hashSecret(old),
		RevokeUntil: now.Add(s.accessTTL + clockSkew),
	}
	if pair != nil {
		blob, err := sealGrace(old, pair)
		if err != nil {
			return nil, err
		}
		rot.NewHash, rot.New = hashSecret(pair.RefreshToken), rec
		if s.grace > 0 {
			rot.GraceBlob, rot.GraceUntil = blob, now.Add(s.grace)
		}
	} else {
		// The store only looks at the old token's state in this case, but
		// keep the request well-formed.
		rot.NewHash = hashSecret(randomString("", 16))
		rot.New = cur.Clone()
		rot.New.Successor, rot.New.GraceBlob, rot.New.RotatedAt, rot.New.GraceUntil = "", nil, time.Time{}, time.Time{}
		rot.New.IssuedAt, rot.New.ExpiresAt = now, minTime(now.Add(s.refreshTTL), s.familyEnd(cur.AuthTime, cur.IssuedAt))
	}
	res, err := s.store.RotateRefresh(ctx, rot)
	if errors.Is(err, ErrNotFound) {
		return nil, newError(ErrorInvalidGrant, "the refresh token is invalid, expired or revoked")
	}
	if err != nil {
		return nil, fmt.Errorf("rotate refresh token: %w", err)
	}
	switch res.Outcome {
	case Rotated:
		if pair == nil {
			// Cannot happen: a token with a successor is never rotated
			// again. Treat it as the reuse it would be.
			_ = s.store.RevokeFamily(ctx, client.ID, cur.FamilyID, rot.RevokeUntil)
			return nil, newError(ErrorInvalidGrant, "the refresh token was already used")
		}
		s.log.InfoContext(ctx, "oauth: refresh token rotated", "client_id", client.ID, "sub", cur.User.Subject,
			"family", short(cur.FamilyID), "old", fingerprint(old), "new", fingerprint(pair.RefreshToken))
		return pairResponse(pair, now, cur.User.Subject), nil
	case Retry:
		b, err := openGrace(old, res.GraceBlob)
		if err != nil {
			return nil, err
		}
		s.log.InfoContext(ctx, "oauth: refresh retried within the grace window", "client_id", client.ID, "family", short(cur.FamilyID), "old", fingerprint(old))
		return pairResponse(b, now, cur.User.Subject), nil
	case Reuse:
		s.log.WarnContext(ctx, "oauth: refresh token reused; the token family is revoked", "client_id", client.ID,
			"sub", cur.User.Subject, "family", short(cur.FamilyID), "token", fingerprint(old))
		return nil, newError(ErrorInvalidGrant, "the refresh token was already used; the authorization is revoked")
	}
	return nil, fmt.Errorf("oauth: unknown rotation outcome %v", res.Outcome)
}

func pairResponse(b *graceBlob, now time.Time, subject string) *tokenResponse {
	exp := b.Expiry - now.Unix()
	if exp < 0 {
		exp = 0
	}
	return &tokenResponse{AccessToken: b.AccessToken, TokenType: "Bearer", ExpiresIn: exp, RefreshToken: b.RefreshToken, Scope: b.Scope, subject: subject}
}

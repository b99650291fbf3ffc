package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"golang.org/x/oauth2"
)

// Upstream credentials for services: with Options.UpstreamKeys the server
// keeps each token family's credential at the identity provider (the
// user's upstream access and refresh tokens) in the store, sealed under
// the server's upstream keys (UpstreamStore), instead of under the
// family's refresh token, so that a service in the same process can act
// as the user with the user's own token (UpstreamToken). The credential is
// renewed when its access token expires, by one caller at a time across
// replicas (a lease in the record), and deleted with the family.

// UpstreamTokenSource is an IdentityProvider whose credential is an OAuth
// 2 token a service can use for the user (GitHub, OIDC): the credential is
// the JSON of an oauth2.Token.
type UpstreamTokenSource interface {
	IdentityProvider
	// RenewUpstream renews the credential's access token with its refresh
	// token and returns the new credential. ErrUpstreamRevoked: the
	// provider refused (the user revoked the grant, the session ended) or
	// there is nothing to renew with; ErrUpstreamUnavailable: it cannot be
	// reached now.
	RenewUpstream(ctx context.Context, credential []byte) (next []byte, err error)
}

var (
	_ UpstreamTokenSource = (*GitHub)(nil)
	_ UpstreamTokenSource = (*OIDC)(nil)
)

// ErrUpstreamMissing: the server keeps no upstream credential for the
// token's family: no UpstreamKeys, a login with a provider that gives
// none, a family from before, or one whose credential was dropped. The
// user signs in again.
var ErrUpstreamMissing = errors.New("oauth: no upstream credential is kept for this authorization")

// upstreamLease is how long a renewal may hold a family's credential.
const upstreamLease = 15 * time.Second

// upstreamEarly renews an access token this long before it expires.
const upstreamEarly = 30 * time.Second

// vault keeps the families' upstream credentials (Options.UpstreamKeys).
type vault struct {
	keys  *UpstreamKeys
	store UpstreamStore
	now   func() time.Time
	log   *slog.Logger
}

// vaultContext binds a sealed credential to its family.
func vaultContext(clientID, familyID string) string {
	return "family\x00" + clientID + "\x00" + familyID
}

// put keeps the credential of a new family until exp.
func (v *vault) put(ctx context.Context, clientID, familyID string, credential []byte, exp time.Time) error {
	now := v.now()
	return v.store.PutUpstream(ctx, clientID, familyID, &UpstreamCredential{
		Sealed: v.keys.seal(vaultContext(clientID, familyID), credential), UpdatedAt: now, ExpiresAt: exp,
	})
}

// get returns the family's credential and its record.
func (v *vault) get(ctx context.Context, clientID, familyID string) ([]byte, *UpstreamCredential, error) {
	rec, err := v.store.GetUpstream(ctx, clientID, familyID)
	if errors.Is(err, ErrNotFound) {
		return nil, nil, ErrUpstreamMissing
	}
	if err != nil {
		return nil, nil, fmt.Errorf("oauth: get upstream credential: %w", err)
	}
	plain, err := v.keys.open(vaultContext(clientID, familyID), rec.Sealed)
	if err != nil {
		v.log.WarnContext(ctx, "oauth: an upstream credential does not open; its user signs in again", "family", short(familyID), "key", sealedKeyID(rec.Sealed), "error", err)
		return nil, nil, fmt.Errorf("%w: %v", ErrUpstreamMissing, err)
	}
	return plain, rec, nil
}

// renew changes the family's credential with fn under the family's lease:
// fn gets the current credential (perhaps renewed by another caller while
// this one waited) and returns the next one, nil to keep it. renew
// returns the credential as it is afterwards.
func (v *vault) renew(ctx context.Context, clientID, familyID string, fn func(credential []byte) ([]byte, error)) ([]byte, error) {
	deadline := v.now().Add(2 * upstreamLease)
	for {
		credential, rec, err := v.get(ctx, clientID, familyID)
		if err != nil {
			return nil, err
		}
		now := v.now()
		if now.After(deadline) {
			return nil, fmt.Errorf("%w: another renewal of the upstream token did not finish", ErrUpstreamUnavailable)
		}
		if rec.LeaseUntil.After(now) {
			// Another caller renews it: wait for its result.
			if err := sleep(ctx, 50*time.Millisecond+rand.N(100*time.Millisecond)); err != nil {
				return nil, err
			}
			continue
		}
		leased := rec.Clone()
		leased.LeaseUntil = now.Add(upstreamLease)
		err = v.store.SwapUpstream(ctx, clientID, familyID, rec.Version, leased)
		if errors.Is(err, ErrConflict) {
			continue // another caller came first; read again
		}
		if errors.Is(err, ErrNotFound) {
			return nil, ErrUpstreamMissing
		}
		if err != nil {
			return nil, fmt.Errorf("oauth: lease upstream credential: %w", err)
		}
		next, ferr := fn(credential)
		done := leased.Clone()
		done.LeaseUntil = time.Time{}
		if next != nil {
			done.Sealed = v.keys.seal(vaultContext(clientID, familyID), next)
			done.UpdatedAt = v.now()
			credential = next
		}
		if err := v.store.SwapUpstream(context.WithoutCancel(ctx), clientID, familyID, rec.Version+1, done); err != nil {
			// The family was revoked meanwhile, or the lease ran out and
			// another caller took over: its answer stands.
			v.log.WarnContext(ctx, "oauth: the renewed upstream credential was not stored", "family", short(familyID), "error", err)
			if ferr == nil && errors.Is(err, ErrNotFound) {
				ferr = ErrUpstreamMissing
			}
		}
		return credential, ferr
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// UpstreamToken returns the user's access token at the identity provider
// they logged in with, for the token family of claims (a verified access
// token of this server), so that a service can act as the user: renewed
// first when it expired or is about to (once across replicas; its
// successor is kept, sealed). Errors: ErrUpstreamMissing (nothing is
// kept: no Options.UpstreamKeys, or a provider or family without one),
// ErrUpstreamRevoked (the provider refused to renew it: the user signs in
// again), ErrUpstreamUnavailable (the provider cannot be reached now).
func (s *Server) UpstreamToken(ctx context.Context, claims *AccessTokenClaims) (*oauth2.Token, error) {
	if s.vault == nil {
		return nil, fmt.Errorf("%w (the server has no upstream keys)", ErrUpstreamMissing)
	}
	if claims == nil || claims.ClientID == "" || claims.FamilyID == "" {
		return nil, ErrUpstreamMissing
	}
	src, ok := s.providerOf(*claims.identity()).(UpstreamTokenSource)
	if !ok {
		return nil, fmt.Errorf("%w (the user's identity provider gives no token to services)", ErrUpstreamMissing)
	}
	credential, _, err := s.vault.get(ctx, claims.ClientID, claims.FamilyID)
	if err != nil {
		return nil, err
	}
	tok, err := decodeUpstreamToken(credential)
	if err != nil {
		return nil, err
	}
	if s.fresh(tok) {
		return tok, nil
	}
	credential, err = s.vault.renew(ctx, claims.ClientID, claims.FamilyID, func(cur []byte) ([]byte, error) {
		if t, err := decodeUpstreamToken(cur); err == nil && s.fresh(t) {
			return nil, nil // renewed by another caller meanwhile
		}
		return src.RenewUpstream(ctx, cur)
	})
	if err != nil {
		s.log.WarnContext(ctx, "oauth: the upstream token could not be renewed", "provider", src.ID(), "sub", claims.Subject,
			"family", short(claims.FamilyID), "error", err)
		return nil, err
	}
	s.log.InfoContext(ctx, "oauth: upstream token renewed", "provider", src.ID(), "sub", claims.Subject, "family", short(claims.FamilyID))
	return decodeUpstreamToken(credential)
}

// fresh reports whether an upstream access token is good for a while yet
// (a token without expiry always is).
func (s *Server) fresh(t *oauth2.Token) bool {
	return t.AccessToken != "" && (t.Expiry.IsZero() || t.Expiry.After(s.now().Add(upstreamEarly)))
}

// decodeUpstreamToken reads the credential of an UpstreamTokenSource.
func decodeUpstreamToken(credential []byte) (*oauth2.Token, error) {
	var t oauth2.Token
	if err := json.Unmarshal(credential, &t); err != nil || t.AccessToken == "" && t.RefreshToken == "" {
		return nil, fmt.Errorf("%w: the kept credential is not a token", ErrUpstreamMissing)
	}
	return &t, nil
}

// renewToken renews an oauth2 token with c, however fresh it is: an OAuth
// error answer is ErrUpstreamRevoked, no answer ErrUpstreamUnavailable.
func renewToken(ctx context.Context, c *oauth2.Config, tok *oauth2.Token, provider string) (*oauth2.Token, error) {
	if tok.RefreshToken == "" {
		return nil, fmt.Errorf("%w: %s gave no refresh token to renew the access token with", ErrUpstreamRevoked, provider)
	}
	stale := *tok
	stale.Expiry = time.Unix(1, 0)
	next, err := c.TokenSource(ctx, &stale).Token()
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && (re.Response == nil || re.Response.StatusCode < 500) {
			return nil, fmt.Errorf("%w: %s refused the renewal: %v", ErrUpstreamRevoked, provider, err)
		}
		return nil, fmt.Errorf("%w: %s: renewal: %v", ErrUpstreamUnavailable, provider, err)
	}
	if next.RefreshToken == "" {
		next.RefreshToken = tok.RefreshToken // kept valid by the provider
	}
	return next, nil
}

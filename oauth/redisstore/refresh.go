package redisstore

import (
	"context"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mcp-oauth-gateway/gateway/oauth"
)

func (s *Store) IssueRefresh(ctx context.Context, hash string, t *oauth.RefreshToken) error {
	const op = "issue refresh"
	if hash == "" || t == nil || t.ClientID == "" || t.FamilyID == "" {
		return errEmpty(op)
	}
	if t.ExpiresAt.IsZero() {
		return errNoExpiry(op, hash)
	}
	d, err := encodeJSON(op, hash, t)
	if err != nil {
		return err
	}
	now := s.now()
	c := t.ClientID
	return s.runStatus(ctx, issueScript, op, hash,
		[]string{s.refreshPrefix(c) + hash, s.familyPrefix(c) + t.FamilyID, s.familiesKey(c),
			s.revocationKey(oauth.RevokedFamily, c, t.FamilyID)},
		ms(now), d, ms(t.ExpiresAt), ttl(t.ExpiresAt, now), t.FamilyID, hash)
}

func (s *Store) GetRefresh(ctx context.Context, clientID, hash string) (*oauth.RefreshToken, error) {
	const op = "get refresh"
	now := s.now()
	vals, err := s.rdb.HMGet(ctx, s.refreshPrefix(clientID)+hash, "d", "x", "s", "r", "g", "b").Result()
	if err != nil {
		return nil, wrap(op, hash, err)
	}
	if field(vals, 0) == "" || expired(fieldInt(vals, 1), now) {
		return nil, wrap(op, hash, oauth.ErrNotFound)
	}
	return refreshToken(op, hash, field(vals, 0), vals[2:])
}

// refreshToken decodes a token's JSON d and adds its rotation fields
// (successor, rotated-at ns, grace-until ms, grace blob).
func refreshToken(op, hash, d string, rot []any) (*oauth.RefreshToken, error) {
	var t oauth.RefreshToken
	if err := decodeJSON(op, hash, d, &t); err != nil {
		return nil, err
	}
	if succ := field(rot, 0); succ != "" {
		t.Successor = succ
		if ns := fieldInt(rot, 1); ns != 0 {
			t.RotatedAt = time.Unix(0, ns).UTC()
		}
		t.GraceUntil = fromMS(fieldInt(rot, 2))
		if b := field(rot, 3); b != "" {
			t.GraceBlob = []byte(b)
		}
	}
	return &t, nil
}

func (s *Store) RotateRefresh(ctx context.Context, r *oauth.Rotation) (*oauth.RotationResult, error) {
	const op = "rotate refresh"
	if r == nil || r.New == nil || r.ClientID == "" || r.OldHash == "" || r.NewHash == "" {
		return nil, errEmpty(op)
	}
	if r.New.ExpiresAt.IsZero() {
		return nil, errNoExpiry(op, r.NewHash)
	}
	if r.New.ClientID != r.ClientID {
		return nil, wrap(op, r.OldHash, oauth.ErrConflict)
	}
	d, err := encodeJSON(op, r.NewHash, r.New)
	if err != nil {
		return nil, err
	}
	now := s.now()
	c, fam := r.ClientID, r.New.FamilyID
	rev := oauth.Revocation{Kind: oauth.RevokedFamily, ClientID: c, ID: fam, At: now, ExpiresAt: r.RevokeUntil}
	revD, err := encodeJSON(op, r.OldHash, rev)
	if err != nil {
		return nil, err
	}
	vals, err := rotateScript.Run(ctx, s.rdb,
		[]string{s.refreshPrefix(c) + r.OldHash, s.refreshPrefix(c) + r.NewHash, s.familyPrefix(c) + fam,
			s.familiesKey(c), s.revocationKey(oauth.RevokedFamily, c, fam)},
		ms(now), d, ms(r.New.ExpiresAt), ttl(r.New.ExpiresAt, now), fam, r.NewHash,
		strconv.FormatInt(now.UnixNano(), 10), ms(r.GraceUntil), r.GraceBlob,
		revD, ms(r.RevokeUntil), ttl(r.RevokeUntil, now), s.channel(),
		s.refreshPrefix(c), s.familyPrefix(c), s.revocationKey(oauth.RevokedFamily, c, ""),
	).Slice()
	if err != nil {
		return nil, wrap(op, r.OldHash, err)
	}
	var outcome oauth.RotateOutcome
	switch field(vals, 0) {
	case "rotated":
		outcome = oauth.Rotated
	case "retry":
		outcome = oauth.Retry
	case "reuse":
		outcome = oauth.Reuse
	default:
		return nil, scriptStatus(op, r.OldHash, field(vals, 0))
	}
	old, err := refreshToken(op, r.OldHash, field(vals, 1), vals[3:])
	if err != nil {
		return nil, err
	}
	res := &oauth.RotationResult{Outcome: outcome, Old: old}
	if outcome == oauth.Retry {
		res.GraceBlob = old.GraceBlob
	}
	return res, nil
}

func (s *Store) RevokeFamily(ctx context.Context, clientID, familyID string, until time.Time) error {
	const op = "revoke family"
	if clientID == "" || familyID == "" {
		return errEmpty(op)
	}
	now := s.now()
	rev := oauth.Revocation{Kind: oauth.RevokedFamily, ClientID: clientID, ID: familyID, At: now, ExpiresAt: until}
	d, err := encodeJSON(op, familyID, rev)
	if err != nil {
		return err
	}
	return s.runStatus(ctx, revokeFamilyScript, op, familyID,
		[]string{s.familyPrefix(clientID) + familyID, s.familiesKey(clientID), s.revocationKey(oauth.RevokedFamily, clientID, familyID)},
		ms(now), familyID, d, ms(until), ttl(until, now), s.channel(), s.refreshPrefix(clientID))
}

func (s *Store) RevokeClient(ctx context.Context, clientID string, until time.Time) error {
	const op = "revoke client"
	if clientID == "" {
		return errEmpty(op)
	}
	now := s.now()
	rev := oauth.Revocation{Kind: oauth.RevokedClient, ClientID: clientID, At: now, ExpiresAt: until}
	d, err := encodeJSON(op, clientID, rev)
	if err != nil {
		return err
	}
	return s.runStatus(ctx, revokeClientScript, op, clientID,
		[]string{s.familiesKey(clientID), s.revocationKey(oauth.RevokedClient, clientID, "")},
		ms(now), d, ms(until), ttl(until, now), s.channel(), s.refreshPrefix(clientID), s.familyPrefix(clientID))
}

// ---- RevocationStore ----

func (s *Store) RevokeToken(ctx context.Context, clientID, jti string, exp time.Time) error {
	const op = "revoke token"
	if clientID == "" || jti == "" {
		return errEmpty(op)
	}
	now := s.now()
	rev := oauth.Revocation{Kind: oauth.RevokedToken, ClientID: clientID, ID: jti, At: now, ExpiresAt: exp}
	d, err := encodeJSON(op, jti, rev)
	if err != nil {
		return err
	}
	return s.runStatus(ctx, revokeTokenScript, op, jti,
		[]string{s.revocationKey(oauth.RevokedToken, clientID, jti)},
		ms(now), d, ms(exp), ttl(exp, now), s.channel())
}

// IsRevoked reads the token's, its family's and its client's revocations
// in one pipelined round trip (the keys share the client's hash slot).
func (s *Store) IsRevoked(ctx context.Context, t oauth.AccessTokenRef) (bool, error) {
	const op = "is revoked"
	now := s.now()
	keys := t.RevocationKeys()
	cmds := make([]*redis.SliceCmd, len(keys))
	_, err := s.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		for i, k := range keys {
			cmds[i] = pipe.HMGet(ctx, s.revocationKey(k.Kind, k.ClientID, k.ID), "d", "x")
		}
		return nil
	})
	if err != nil {
		return false, wrap(op, t.JTI, err)
	}
	return oauth.IsRevokedStep(t, now, func(k oauth.RevocationKey) (*oauth.Revocation, error) {
		i := slices.Index(keys, k)
		if i < 0 {
			return nil, nil
		}
		vals := cmds[i].Val()
		d := field(vals, 0)
		if d == "" {
			return nil, nil
		}
		var r oauth.Revocation
		if err := decodeJSON(op, t.JTI, d, &r); err != nil {
			return nil, err
		}
		// The record lives until x: a repeated revocation keeps the later
		// expiry there, while d is the revocation as last asked for.
		r.ExpiresAt = fromMS(fieldInt(vals, 1))
		return &r, nil
	})
}

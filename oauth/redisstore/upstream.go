package redisstore

import (
	"context"

	"github.com/mcp-oauth-gateway/gateway/oauth"
)

// Upstream credentials: a hash per family next to the family's index, in
// its client's hash slot ({tag}:fam:FAMILY:up), with its JSON in d, its
// expiry in x and its version in v. The scripts that drop a family delete
// it too (dropfamily), and the client's families index lists the families
// that have one, so that RevokeClient finds those without refresh tokens.

// upstreamKey is the key of a family's upstream credential.
func (s *Store) upstreamKey(client, family string) string {
	return s.familyPrefix(client) + family + ":up"
}

func (s *Store) PutUpstream(ctx context.Context, clientID, familyID string, c *oauth.UpstreamCredential) error {
	const op = "put upstream"
	if clientID == "" || familyID == "" || c == nil {
		return errEmpty(op)
	}
	if c.ExpiresAt.IsZero() {
		return errNoExpiry(op, familyID)
	}
	rec := c.Clone()
	rec.Version = 0 // kept in v
	d, err := encodeJSON(op, familyID, rec)
	if err != nil {
		return err
	}
	now := s.now()
	return s.runStatus(ctx, putUpstreamScript, op, familyID,
		[]string{s.upstreamKey(clientID, familyID), s.familiesKey(clientID), s.revocationKey(oauth.RevokedFamily, clientID, familyID)},
		ms(now), d, ms(c.ExpiresAt), ttl(c.ExpiresAt, now), familyID)
}

func (s *Store) GetUpstream(ctx context.Context, clientID, familyID string) (*oauth.UpstreamCredential, error) {
	const op = "get upstream"
	vals, err := s.rdb.HMGet(ctx, s.upstreamKey(clientID, familyID), "d", "x", "v").Result()
	if err != nil {
		return nil, wrap(op, familyID, err)
	}
	if field(vals, 0) == "" || expired(fieldInt(vals, 1), s.now()) {
		return nil, wrap(op, familyID, oauth.ErrNotFound)
	}
	var c oauth.UpstreamCredential
	if err := decodeJSON(op, familyID, field(vals, 0), &c); err != nil {
		return nil, err
	}
	c.Version = fieldInt(vals, 2)
	return &c, nil
}

func (s *Store) SwapUpstream(ctx context.Context, clientID, familyID string, version int64, c *oauth.UpstreamCredential) error {
	const op = "swap upstream"
	if clientID == "" || familyID == "" || c == nil {
		return errEmpty(op)
	}
	if c.ExpiresAt.IsZero() {
		return errNoExpiry(op, familyID)
	}
	rec := c.Clone()
	rec.Version = 0
	d, err := encodeJSON(op, familyID, rec)
	if err != nil {
		return err
	}
	now := s.now()
	return s.runStatus(ctx, swapUpstreamScript, op, familyID, []string{s.upstreamKey(clientID, familyID)},
		ms(now), version, d, ms(c.ExpiresAt), ttl(c.ExpiresAt, now))
}

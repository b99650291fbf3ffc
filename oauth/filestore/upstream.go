package filestore

import (
	"bytes"
	"context"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/mcp-oauth-gateway/gateway/oauth"
)

// Upstream credentials: one record per family in bUpstream, under
// pair(client, family); RevokeFamily and RevokeClient delete them.

func (s *Store) PutUpstream(ctx context.Context, clientID, familyID string, c *oauth.UpstreamCredential) error {
	if clientID == "" || familyID == "" || c == nil {
		return errEmpty("put upstream")
	}
	if c.ExpiresAt.IsZero() {
		return errNoExpiry("put upstream", familyID)
	}
	if err := ctxErr(ctx, "put upstream"); err != nil {
		return err
	}
	now := s.now()
	return s.update("put upstream", familyID, func(tx *bolt.Tx) error {
		revoked, err := liveRevocation(tx, oauth.RevokedFamily, clientID, familyID, now)
		if err != nil {
			return err
		}
		if revoked != nil {
			return fmt.Errorf("family %q revoked: %w", familyID, oauth.ErrConflict)
		}
		d := c.Clone()
		d.Version = 1
		return put(tx.Bucket(bUpstream), pair(clientID, familyID), d.ExpiresAt, d)
	})
}

func (s *Store) GetUpstream(ctx context.Context, clientID, familyID string) (*oauth.UpstreamCredential, error) {
	return getLive(ctx, s, "get upstream", familyID, bUpstream, pair(clientID, familyID), func(c *oauth.UpstreamCredential) time.Time { return c.ExpiresAt })
}

func (s *Store) SwapUpstream(ctx context.Context, clientID, familyID string, version int64, c *oauth.UpstreamCredential) error {
	if clientID == "" || familyID == "" || c == nil {
		return errEmpty("swap upstream")
	}
	if c.ExpiresAt.IsZero() {
		return errNoExpiry("swap upstream", familyID)
	}
	if err := ctxErr(ctx, "swap upstream"); err != nil {
		return err
	}
	now := s.now()
	return s.update("swap upstream", familyID, func(tx *bolt.Tx) error {
		b := tx.Bucket(bUpstream)
		var old oauth.UpstreamCredential
		ok, err := get(b, pair(clientID, familyID), &old)
		if err != nil {
			return err
		}
		if !ok || expired(old.ExpiresAt, now) {
			return oauth.ErrNotFound
		}
		if old.Version != version {
			return fmt.Errorf("version %d, not %d: %w", old.Version, version, oauth.ErrConflict)
		}
		d := c.Clone()
		d.Version = version + 1
		return put(b, pair(clientID, familyID), d.ExpiresAt, d)
	})
}

// dropUpstream deletes every upstream credential of a client.
func dropUpstream(tx *bolt.Tx, client string) error {
	b := tx.Bucket(bUpstream)
	var keys [][]byte
	if err := scan(b, prefix(client), func(k, _ []byte) error {
		keys = append(keys, bytes.Clone(k))
		return nil
	}); err != nil {
		return err
	}
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

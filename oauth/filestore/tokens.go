package filestore

import (
	"bytes"
	"context"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/mcp-oauth-gateway/gateway/oauth"
)

// familyKey is a family index entry; familyKey(client, family, "") is the
// prefix of a family's entries and prefix(client) that of a client's.
func familyKey(client, family, hash string) []byte {
	return pair(client, string(pair(family, hash)))
}

// revocationKey is where a revocation is kept.
func revocationKey(kind oauth.RevocationKind, client, id string) []byte {
	return append([]byte(string(kind)+":"), pair(client, id)...)
}

func (s *Store) IssueRefresh(ctx context.Context, hash string, t *oauth.RefreshToken) error {
	if hash == "" || t == nil || t.ClientID == "" || t.FamilyID == "" {
		return errEmpty("issue refresh")
	}
	if t.ExpiresAt.IsZero() {
		return errNoExpiry("issue refresh", hash)
	}
	if err := ctxErr(ctx, "issue refresh"); err != nil {
		return err
	}
	now := s.now()
	return s.update("issue refresh", hash, func(tx *bolt.Tx) error {
		var old oauth.RefreshToken
		ok, err := get(tx.Bucket(bRefresh), pair(t.ClientID, hash), &old)
		if err != nil {
			return err
		}
		if ok && !expired(old.ExpiresAt, now) {
			return oauth.ErrExists
		}
		revoked, err := liveRevocation(tx, oauth.RevokedFamily, t.ClientID, t.FamilyID, now)
		if err != nil {
			return err
		}
		if revoked != nil {
			return fmt.Errorf("family %q revoked: %w", t.FamilyID, oauth.ErrConflict)
		}
		return putRefresh(tx, hash, t)
	})
}

// putRefresh stores t and indexes it by family.
func putRefresh(tx *bolt.Tx, hash string, t *oauth.RefreshToken) error {
	if err := put(tx.Bucket(bRefresh), pair(t.ClientID, hash), t.ExpiresAt, t); err != nil {
		return err
	}
	return tx.Bucket(bFamilies).Put(familyKey(t.ClientID, t.FamilyID, hash), nil)
}

// dropRefresh removes a token and its index entry.
func dropRefresh(tx *bolt.Tx, client, hash, family string) error {
	if err := tx.Bucket(bRefresh).Delete(pair(client, hash)); err != nil {
		return err
	}
	return tx.Bucket(bFamilies).Delete(familyKey(client, family, hash))
}

func (s *Store) GetRefresh(ctx context.Context, clientID, hash string) (*oauth.RefreshToken, error) {
	return getLive(ctx, s, "get refresh", hash, bRefresh, pair(clientID, hash), func(t *oauth.RefreshToken) time.Time { return t.ExpiresAt })
}

func (s *Store) RotateRefresh(ctx context.Context, r *oauth.Rotation) (*oauth.RotationResult, error) {
	if r == nil || r.New == nil || r.ClientID == "" || r.OldHash == "" || r.NewHash == "" {
		return nil, errEmpty("rotate refresh")
	}
	if r.New.ExpiresAt.IsZero() {
		return nil, errNoExpiry("rotate refresh", r.NewHash)
	}
	if err := ctxErr(ctx, "rotate refresh"); err != nil {
		return nil, err
	}
	now := s.now()
	var (
		res *oauth.RotationResult
		rev *oauth.Revocation
	)
	err := s.update("rotate refresh", r.OldHash, func(tx *bolt.Tx) error {
		res, rev = nil, nil
		b := tx.Bucket(bRefresh)
		var old *oauth.RefreshToken // as loaded; the step marks it rotated
		var err error
		res, err = oauth.RotateStep(r, now, func(hash string) (*oauth.RefreshToken, error) {
			var t oauth.RefreshToken
			ok, err := get(b, pair(r.ClientID, hash), &t)
			if err != nil || !ok {
				return nil, err
			}
			if hash == r.OldHash {
				old = &t
			}
			return &t, nil
		})
		if err != nil {
			return err
		}
		switch res.Outcome {
		case oauth.Rotated:
			if err := put(b, pair(r.ClientID, r.OldHash), old.ExpiresAt, old); err != nil {
				return err
			}
			return putRefresh(tx, r.NewHash, r.New)
		case oauth.Reuse:
			rev, err = revokeFamily(tx, r.ClientID, old.FamilyID, now, r.RevokeUntil)
			return err
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if rev != nil {
		s.feed.Publish(*rev)
	}
	return res, nil
}

// revokeFamily deletes a family's tokens and upstream credential, and
// records its revocation.
func revokeFamily(tx *bolt.Tx, client, family string, now, until time.Time) (*oauth.Revocation, error) {
	if err := dropFamilies(tx, familyKey(client, family, "")); err != nil {
		return nil, err
	}
	if err := tx.Bucket(bUpstream).Delete(pair(client, family)); err != nil {
		return nil, err
	}
	rev := oauth.Revocation{Kind: oauth.RevokedFamily, ClientID: client, ID: family, At: now, ExpiresAt: until}
	return &rev, recordRevocation(tx, rev)
}

// dropFamilies deletes every refresh token indexed under the prefix p of
// bFamilies, and the index entries.
func dropFamilies(tx *bolt.Tx, p []byte) error {
	idx := tx.Bucket(bFamilies)
	var keys [][]byte
	err := scan(idx, p, func(k, _ []byte) error {
		keys = append(keys, bytes.Clone(k))
		return nil
	})
	if err != nil {
		return err
	}
	refresh := tx.Bucket(bRefresh)
	for _, k := range keys {
		client, rest := splitPair(k)
		_, hash := splitPair([]byte(rest))
		if err := refresh.Delete(pair(client, hash)); err != nil {
			return err
		}
		if err := idx.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// recordRevocation keeps rev, or extends the record it repeats.
func recordRevocation(tx *bolt.Tx, rev oauth.Revocation) error {
	b := tx.Bucket(bRevocations)
	k := revocationKey(rev.Kind, rev.ClientID, rev.ID)
	var old oauth.Revocation
	ok, err := get(b, k, &old)
	if err != nil {
		return err
	}
	var prev *oauth.Revocation
	if ok {
		prev = &old
	}
	rev = oauth.RecordRevocationStep(prev, rev)
	return put(b, k, rev.ExpiresAt, &rev)
}

// liveRevocation returns the unexpired revocation of this kind, or nil.
func liveRevocation(tx *bolt.Tx, kind oauth.RevocationKind, client, id string, now time.Time) (*oauth.Revocation, error) {
	var r oauth.Revocation
	ok, err := get(tx.Bucket(bRevocations), revocationKey(kind, client, id), &r)
	if err != nil || !ok || expired(r.ExpiresAt, now) {
		return nil, err
	}
	return &r, nil
}

func (s *Store) RevokeFamily(ctx context.Context, clientID, familyID string, until time.Time) error {
	if clientID == "" || familyID == "" {
		return errEmpty("revoke family")
	}
	if err := ctxErr(ctx, "revoke family"); err != nil {
		return err
	}
	now := s.now()
	var rev *oauth.Revocation
	err := s.update("revoke family", familyID, func(tx *bolt.Tx) (err error) {
		rev, err = revokeFamily(tx, clientID, familyID, now, until)
		return err
	})
	if err != nil {
		return err
	}
	s.feed.Publish(*rev)
	return nil
}

func (s *Store) RevokeClient(ctx context.Context, clientID string, until time.Time) error {
	if clientID == "" {
		return errEmpty("revoke client")
	}
	if err := ctxErr(ctx, "revoke client"); err != nil {
		return err
	}
	rev := oauth.Revocation{Kind: oauth.RevokedClient, ClientID: clientID, At: s.now(), ExpiresAt: until}
	err := s.update("revoke client", clientID, func(tx *bolt.Tx) error {
		if err := dropFamilies(tx, prefix(clientID)); err != nil {
			return err
		}
		if err := dropUpstream(tx, clientID); err != nil {
			return err
		}
		return recordRevocation(tx, rev)
	})
	if err != nil {
		return err
	}
	s.feed.Publish(rev)
	return nil
}

// ---- access-token revocation ----

func (s *Store) RevokeToken(ctx context.Context, clientID, jti string, exp time.Time) error {
	if clientID == "" || jti == "" {
		return errEmpty("revoke token")
	}
	if err := ctxErr(ctx, "revoke token"); err != nil {
		return err
	}
	rev := oauth.Revocation{Kind: oauth.RevokedToken, ClientID: clientID, ID: jti, At: s.now(), ExpiresAt: exp}
	err := s.update("revoke token", jti, func(tx *bolt.Tx) error {
		return recordRevocation(tx, rev)
	})
	if err != nil {
		return err
	}
	s.feed.Publish(rev)
	return nil
}

func (s *Store) IsRevoked(ctx context.Context, t oauth.AccessTokenRef) (bool, error) {
	if err := ctxErr(ctx, "is revoked"); err != nil {
		return false, err
	}
	now := s.now()
	revoked := false
	err := s.view("is revoked", t.JTI, func(tx *bolt.Tx) (err error) {
		revoked, err = oauth.IsRevokedStep(t, now, func(k oauth.RevocationKey) (*oauth.Revocation, error) {
			return liveRevocation(tx, k.Kind, k.ClientID, k.ID, now)
		})
		return err
	})
	return revoked, err
}

func (s *Store) SubscribeRevocations(ctx context.Context) (<-chan oauth.Revocation, error) {
	return s.feed.Subscribe(ctx)
}

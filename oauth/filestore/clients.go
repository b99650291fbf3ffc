package filestore

import (
	"context"
	"errors"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/mcp-oauth-gateway/gateway/oauth"
)

func (s *Store) CreateClient(ctx context.Context, c *oauth.Client) error {
	if c == nil || c.ID == "" {
		return errEmpty("create client")
	}
	if err := ctxErr(ctx, "create client"); err != nil {
		return err
	}
	now := s.now()
	return s.update("create client", c.ID, func(tx *bolt.Tx) error {
		b := tx.Bucket(bClients)
		var old oauth.Client
		ok, err := get(b, []byte(c.ID), &old)
		if err != nil {
			return err
		}
		if ok && !expired(old.ExpiresAt, now) {
			return oauth.ErrExists
		}
		return put(b, []byte(c.ID), c.ExpiresAt, c)
	})
}

func (s *Store) GetClient(ctx context.Context, id string) (*oauth.Client, error) {
	return getLive(ctx, s, "get client", id, bClients, []byte(id), func(c *oauth.Client) time.Time { return c.ExpiresAt })
}

func (s *Store) UpdateClient(ctx context.Context, c *oauth.Client) error {
	if c == nil || c.ID == "" {
		return errEmpty("update client")
	}
	if err := ctxErr(ctx, "update client"); err != nil {
		return err
	}
	now := s.now()
	return s.update("update client", c.ID, func(tx *bolt.Tx) error {
		b := tx.Bucket(bClients)
		var old oauth.Client
		ok, err := get(b, []byte(c.ID), &old)
		if err != nil {
			return err
		}
		if !ok || expired(old.ExpiresAt, now) {
			return oauth.ErrNotFound
		}
		return put(b, []byte(c.ID), c.ExpiresAt, c)
	})
}

func (s *Store) DeleteClient(ctx context.Context, id string) error {
	if err := ctxErr(ctx, "delete client"); err != nil {
		return err
	}
	now := s.now()
	return s.update("delete client", id, func(tx *bolt.Tx) error {
		b := tx.Bucket(bClients)
		var old oauth.Client
		ok, err := get(b, []byte(id), &old)
		if err != nil {
			return err
		}
		if !ok || expired(old.ExpiresAt, now) {
			return oauth.ErrNotFound
		}
		return b.Delete([]byte(id))
	})
}

// Quotas are counted in memory (oauth.LocalQuotas), not in the file: one
// process at a time holds the file, so there is no replica to share them
// with, and counting a request costs no disk write. A restart starts them
// afresh.

func (s *Store) AllowAll(ctx context.Context, qs []oauth.Quota) (oauth.QuotaResult, error) {
	return s.quotas.AllowAll(ctx, qs)
}

// ---- pending authorizations ----

func (s *Store) PutPending(ctx context.Context, key string, p *oauth.PendingAuthorization) error {
	if key == "" || p == nil {
		return errEmpty("put pending")
	}
	if p.ExpiresAt.IsZero() {
		return errNoExpiry("put pending", key)
	}
	if err := ctxErr(ctx, "put pending"); err != nil {
		return err
	}
	return s.update("put pending", key, func(tx *bolt.Tx) error {
		return put(tx.Bucket(bPending), []byte(key), p.ExpiresAt, p)
	})
}

func (s *Store) GetPending(ctx context.Context, key string) (*oauth.PendingAuthorization, error) {
	return s.pending(ctx, "get pending", key, false)
}

func (s *Store) TakePending(ctx context.Context, key string) (*oauth.PendingAuthorization, error) {
	return s.pending(ctx, "take pending", key, true)
}

func (s *Store) pending(ctx context.Context, op, key string, take bool) (*oauth.PendingAuthorization, error) {
	if err := ctxErr(ctx, op); err != nil {
		return nil, err
	}
	now := s.now()
	var p oauth.PendingAuthorization
	fn := func(tx *bolt.Tx) error {
		b := tx.Bucket(bPending)
		ok, err := get(b, []byte(key), &p)
		if err != nil {
			return err
		}
		if !ok {
			return oauth.ErrNotFound
		}
		if take {
			if err := b.Delete([]byte(key)); err != nil {
				return err
			}
		}
		if expired(p.ExpiresAt, now) {
			return oauth.ErrNotFound
		}
		return nil
	}
	var err error
	if take {
		err = s.update(op, key, fn)
	} else {
		err = s.view(op, key, fn)
	}
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// ---- authorization codes ----

// code is a stored authorization code.
type code struct {
	Grant *oauth.Grant `json:"grant"`
	Used  bool         `json:"used,omitempty"`
}

func (s *Store) PutCode(ctx context.Context, hash string, g *oauth.Grant) error {
	if hash == "" || g == nil {
		return errEmpty("put code")
	}
	if g.ExpiresAt.IsZero() {
		return errNoExpiry("put code", hash)
	}
	if err := ctxErr(ctx, "put code"); err != nil {
		return err
	}
	now := s.now()
	return s.update("put code", hash, func(tx *bolt.Tx) error {
		b := tx.Bucket(bCodes)
		var old code
		ok, err := get(b, []byte(hash), &old)
		if err != nil {
			return err
		}
		if ok && !expired(old.Grant.ExpiresAt.Add(oauth.UsedCodeRetention), now) {
			return oauth.ErrExists
		}
		return put(b, []byte(hash), g.ExpiresAt.Add(oauth.UsedCodeRetention), code{Grant: g})
	})
}

func (s *Store) RedeemCode(ctx context.Context, hash string) (*oauth.Grant, error) {
	if err := ctxErr(ctx, "redeem code"); err != nil {
		return nil, err
	}
	now := s.now()
	var c code
	err := s.update("redeem code", hash, func(tx *bolt.Tx) error {
		b := tx.Bucket(bCodes)
		if _, err := get(b, []byte(hash), &c); err != nil {
			return err
		}
		if err := oauth.RedeemCodeStep(c.Grant, c.Used, now); err != nil {
			return err
		}
		c.Used = true
		return put(b, []byte(hash), c.Grant.ExpiresAt.Add(oauth.UsedCodeRetention), c)
	})
	switch {
	case err == nil:
		return c.Grant, nil
	case c.Grant != nil && errors.Is(err, oauth.ErrCodeUsed):
		return c.Grant, err
	}
	return nil, err
}

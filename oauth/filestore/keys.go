package filestore

import (
	"context"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/mcp-oauth-gateway/gateway/oauth"
)

func (s *Store) ListKeys(ctx context.Context) ([]*oauth.SigningKey, error) {
	if err := ctxErr(ctx, "list keys"); err != nil {
		return nil, err
	}
	var keys []*oauth.SigningKey
	err := s.view("list keys", "", func(tx *bolt.Tx) (err error) {
		keys, err = listKeys(tx)
		return err
	})
	return keys, err
}

// listKeys returns every key, newest first.
func listKeys(tx *bolt.Tx) ([]*oauth.SigningKey, error) {
	keys := []*oauth.SigningKey{}
	err := tx.Bucket(bKeys).ForEach(func(_, v []byte) error {
		var k oauth.SigningKey
		if err := decode(v, &k); err != nil {
			return err
		}
		keys = append(keys, &k)
		return nil
	})
	oauth.SortKeys(keys)
	return keys, err
}

func (s *Store) AddKey(ctx context.Context, k *oauth.SigningKey, ifNewest string) error {
	if k == nil || k.ID == "" {
		return errEmpty("add key")
	}
	if err := ctxErr(ctx, "add key"); err != nil {
		return err
	}
	return s.update("add key", k.ID, func(tx *bolt.Tx) error {
		keys, err := listKeys(tx)
		if err != nil {
			return err
		}
		if err := oauth.AddKeyStep(keys, k, ifNewest); err != nil {
			return err
		}
		return put(tx.Bucket(bKeys), []byte(k.ID), time.Time{}, k)
	})
}

func (s *Store) DeleteKey(ctx context.Context, id string) error {
	if err := ctxErr(ctx, "delete key"); err != nil {
		return err
	}
	return s.update("delete key", id, func(tx *bolt.Tx) error {
		b := tx.Bucket(bKeys)
		if b.Get([]byte(id)) == nil {
			return oauth.ErrNotFound
		}
		return b.Delete([]byte(id))
	})
}

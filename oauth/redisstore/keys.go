package redisstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/mcp-oauth-gateway/gateway/oauth"
)

// Signing keys live in one hash, kid -> JSON. AddKey is a compare-and-set
// with WATCH/MULTI on it; keys change rarely, so contention is negligible.

func (s *Store) ListKeys(ctx context.Context) ([]*oauth.SigningKey, error) {
	all, err := s.rdb.HGetAll(ctx, s.signingKeys()).Result()
	if err != nil {
		return nil, wrap("list keys", "", err)
	}
	return decodeKeys(all)
}

func decodeKeys(all map[string]string) ([]*oauth.SigningKey, error) {
	keys := make([]*oauth.SigningKey, 0, len(all))
	for kid, d := range all {
		var k oauth.SigningKey
		if err := decodeJSON("list keys", kid, d, &k); err != nil {
			return nil, err
		}
		keys = append(keys, &k)
	}
	oauth.SortKeys(keys)
	return keys, nil
}

// maxKeyAttempts bounds AddKey's optimistic retries; a retry only happens
// when the hash changed between WATCH and EXEC, and then the newest key
// has usually changed too, which ends the call with ErrConflict.
const maxKeyAttempts = 5

func (s *Store) AddKey(ctx context.Context, k *oauth.SigningKey, ifNewest string) error {
	const op = "add key"
	if k == nil || k.ID == "" {
		return errEmpty(op)
	}
	d, err := encodeJSON(op, k.ID, k)
	if err != nil {
		return err
	}
	key := s.signingKeys()
	for range maxKeyAttempts {
		err = s.rdb.Watch(ctx, func(tx *redis.Tx) error {
			all, err := tx.HGetAll(ctx, key).Result()
			if err != nil {
				return err
			}
			keys, err := decodeKeys(all)
			if err != nil {
				return err
			}
			if err := oauth.AddKeyStep(keys, k, ifNewest); err != nil {
				return err
			}
			_, err = tx.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
				pipe.HSet(ctx, key, k.ID, d)
				return nil
			})
			return err
		}, key)
		if !errors.Is(err, redis.TxFailedErr) {
			break
		}
	}
	if errors.Is(err, redis.TxFailedErr) {
		err = fmt.Errorf("keys kept changing: %w", oauth.ErrConflict)
	}
	if err != nil {
		return wrap(op, k.ID, err)
	}
	return nil
}

func (s *Store) DeleteKey(ctx context.Context, id string) error {
	n, err := s.rdb.HDel(ctx, s.signingKeys(), id).Result()
	if err != nil {
		return wrap("delete key", id, err)
	}
	if n == 0 {
		return wrap("delete key", id, oauth.ErrNotFound)
	}
	return nil
}

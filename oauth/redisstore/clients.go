package redisstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mcp-oauth-gateway/gateway/oauth"
)

// runStatus runs a script that answers with a status string.
func (s *Store) runStatus(ctx context.Context, script *redis.Script, op, key string, keys []string, args ...any) error {
	status, err := script.Run(ctx, s.rdb, keys, args...).Text()
	if err != nil {
		return wrap(op, key, err)
	}
	return scriptStatus(op, key, status)
}

// getRecord reads a record hash and decodes its JSON into v after checking
// its expiry.
func (s *Store) getRecord(ctx context.Context, op, id, key string, v any) error {
	now := s.now()
	vals, err := s.rdb.HMGet(ctx, key, "d", "x").Result()
	if err != nil {
		return wrap(op, id, err)
	}
	d := field(vals, 0)
	if d == "" || expired(fieldInt(vals, 1), now) {
		return wrap(op, id, oauth.ErrNotFound)
	}
	return decodeJSON(op, id, d, v)
}

// ---- ClientStore ----

func (s *Store) CreateClient(ctx context.Context, c *oauth.Client) error {
	return s.writeClient(ctx, createScript, "create client", c)
}

func (s *Store) UpdateClient(ctx context.Context, c *oauth.Client) error {
	return s.writeClient(ctx, replaceScript, "update client", c)
}

func (s *Store) writeClient(ctx context.Context, script *redis.Script, op string, c *oauth.Client) error {
	if c == nil || c.ID == "" {
		return errEmpty(op)
	}
	d, err := encodeJSON(op, c.ID, c)
	if err != nil {
		return err
	}
	now := s.now()
	return s.runStatus(ctx, script, op, c.ID, []string{s.clientKey(c.ID)},
		ms(now), d, ms(c.ExpiresAt), ttl(c.ExpiresAt, now))
}

func (s *Store) GetClient(ctx context.Context, id string) (*oauth.Client, error) {
	var c oauth.Client
	if err := s.getRecord(ctx, "get client", id, s.clientKey(id), &c); err != nil {
		return nil, err
	}
	return &c, nil
}

func (s *Store) DeleteClient(ctx context.Context, id string) error {
	return s.runStatus(ctx, deleteScript, "delete client", id, []string{s.clientKey(id)}, ms(s.now()))
}

// ---- QuotaStore ----

func (s *Store) AllowAll(ctx context.Context, qs []oauth.Quota) (oauth.QuotaResult, error) {
	if len(qs) == 0 {
		return oauth.QuotaResult{Allowed: true}, nil
	}
	keys := make([]string, len(qs))
	args := make([]any, 1, 1+2*len(qs))
	args[0] = ms(s.now())
	for i, q := range qs {
		if q.Window <= 0 {
			return oauth.QuotaResult{}, fmt.Errorf("redisstore: allow %q: window must be positive", q.Key)
		}
		keys[i] = s.quotaSetKey(q.Key)
		args = append(args, q.Limit, max(1, q.Window.Milliseconds()))
	}
	vals, err := allowAllScript.Run(ctx, s.rdb, keys, args...).Int64Slice()
	if err != nil || len(vals) != 2 {
		return oauth.QuotaResult{}, wrap("allow", qs[0].Key, fmt.Errorf("quota script: %v", err))
	}
	if vals[0] == 0 {
		return oauth.QuotaResult{Allowed: true}, nil
	}
	return oauth.QuotaResult{Refused: int(vals[0]) - 1, RetryAfter: time.Duration(max(1, vals[1])) * time.Millisecond}, nil
}

// ---- PendingStore ----

func (s *Store) PutPending(ctx context.Context, key string, p *oauth.PendingAuthorization) error {
	const op = "put pending"
	if key == "" || p == nil {
		return errEmpty(op)
	}
	if p.ExpiresAt.IsZero() {
		return errNoExpiry(op, key)
	}
	d, err := encodeJSON(op, key, p)
	if err != nil {
		return err
	}
	k := s.pendingKey(key)
	_, err = s.rdb.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		pipe.Del(ctx, k)
		pipe.HSet(ctx, k, "d", d, "x", ms(p.ExpiresAt))
		pipe.PExpire(ctx, k, time.Duration(ttl(p.ExpiresAt, s.now()))*time.Millisecond)
		return nil
	})
	if err != nil {
		return wrap(op, key, err)
	}
	return nil
}

func (s *Store) GetPending(ctx context.Context, key string) (*oauth.PendingAuthorization, error) {
	var p oauth.PendingAuthorization
	if err := s.getRecord(ctx, "get pending", key, s.pendingKey(key), &p); err != nil {
		return nil, err
	}
	return &p, nil
}

func (s *Store) TakePending(ctx context.Context, key string) (*oauth.PendingAuthorization, error) {
	const op = "take pending"
	now := s.now()
	vals, err := takeScript.Run(ctx, s.rdb, []string{s.pendingKey(key)}).Slice()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, wrap(op, key, err)
	}
	d := field(vals, 0)
	if d == "" || expired(fieldInt(vals, 1), now) {
		return nil, wrap(op, key, oauth.ErrNotFound)
	}
	var p oauth.PendingAuthorization
	if err := decodeJSON(op, key, d, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// ---- CodeStore ----

func (s *Store) PutCode(ctx context.Context, hash string, g *oauth.Grant) error {
	const op = "put code"
	if hash == "" || g == nil {
		return errEmpty(op)
	}
	if g.ExpiresAt.IsZero() {
		return errNoExpiry(op, hash)
	}
	d, err := encodeJSON(op, hash, g)
	if err != nil {
		return err
	}
	now := s.now()
	return s.runStatus(ctx, putCodeScript, op, hash, []string{s.codeKey(hash)},
		ms(now), d, ms(g.ExpiresAt), ttl(g.ExpiresAt.Add(oauth.UsedCodeRetention), now), oauth.UsedCodeRetention.Milliseconds())
}

func (s *Store) RedeemCode(ctx context.Context, hash string) (*oauth.Grant, error) {
	const op = "redeem code"
	vals, err := redeemScript.Run(ctx, s.rdb, []string{s.codeKey(hash)}, ms(s.now()), oauth.UsedCodeRetention.Milliseconds()).Slice()
	if err != nil {
		return nil, wrap(op, hash, err)
	}
	status := field(vals, 0)
	if status != "ok" && status != "used" {
		return nil, scriptStatus(op, hash, status)
	}
	var g oauth.Grant
	if err := decodeJSON(op, hash, field(vals, 1), &g); err != nil {
		return nil, err
	}
	return &g, scriptStatus(op, hash, status)
}

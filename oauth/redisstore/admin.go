package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mcp-oauth-gateway/gateway/oauth"
)

// The Store's oauth.AdminStore and oauth.TraceStore. Listings SCAN the
// keys of the store's prefix (on every master of a Cluster), so a record
// changed meanwhile may be seen or not; Redis expires records by itself,
// so Purge has nothing to do.

var (
	_ oauth.AdminStore = (*Store)(nil)
	_ oauth.TraceStore = (*Store)(nil)
)

// globEscape escapes the glob characters of SCAN's MATCH.
func globEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, "*", `\*`, "?", `\?`, "[", `\[`, "]", `\]`).Replace(s)
}

// scan calls fn for every key matching pattern.
func (s *Store) scan(ctx context.Context, pattern string, fn func(ctx context.Context, c redis.Cmdable, key string) error) error {
	one := func(ctx context.Context, c redis.Cmdable) error {
		it := c.Scan(ctx, 0, pattern, 500).Iterator()
		for it.Next(ctx) {
			if err := fn(ctx, c, it.Val()); err != nil {
				return err
			}
		}
		return it.Err()
	}
	if cc, ok := s.rdb.(*redis.ClusterClient); ok {
		return cc.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error { return one(ctx, m) })
	}
	return one(ctx, s.rdb)
}

// errStop carries fn's error out of a scan unchanged.
type errStop struct{ err error }

func (e errStop) Error() string { return e.err.Error() }

func stopped(err error) error {
	var st errStop
	if errors.As(err, &st) {
		return st.err
	}
	return err
}

func (s *Store) Clients(ctx context.Context, fn func(*oauth.Client) error) error {
	const op = "list clients"
	now := s.now()
	err := s.scan(ctx, globEscape(s.prefix)+"client:*", func(ctx context.Context, c redis.Cmdable, key string) error {
		vals, err := s.rdb.HMGet(ctx, key, "d", "x").Result()
		if err != nil {
			return wrap(op, key, err)
		}
		if field(vals, 0) == "" || expired(fieldInt(vals, 1), now) {
			return nil
		}
		var cl oauth.Client
		if err := decodeJSON(op, key, field(vals, 0), &cl); err != nil {
			return err
		}
		if err := fn(&cl); err != nil {
			return errStop{err}
		}
		return nil
	})
	return stopped(err)
}

func (s *Store) RefreshTokens(ctx context.Context, fn func(string, *oauth.RefreshToken) error) error {
	const op = "list refresh tokens"
	now := s.now()
	err := s.scan(ctx, globEscape(s.prefix)+"{*}:rt:*", func(ctx context.Context, c redis.Cmdable, key string) error {
		vals, err := s.rdb.HMGet(ctx, key, "d", "x", "s", "r", "g", "b").Result()
		if err != nil {
			return wrap(op, key, err)
		}
		if field(vals, 0) == "" || expired(fieldInt(vals, 1), now) {
			return nil
		}
		hash := key[strings.LastIndex(key, "}:rt:")+len("}:rt:"):]
		t, err := refreshToken(op, hash, field(vals, 0), vals[2:])
		if err != nil {
			return err
		}
		if err := fn(hash, t); err != nil {
			return errStop{err}
		}
		return nil
	})
	return stopped(err)
}

func (s *Store) Revocations(ctx context.Context, fn func(oauth.Revocation) error) error {
	const op = "list revocations"
	now := s.now()
	err := s.scan(ctx, globEscape(s.prefix)+"{*}:rv:*", func(ctx context.Context, c redis.Cmdable, key string) error {
		vals, err := s.rdb.HMGet(ctx, key, "d", "x").Result()
		if err != nil {
			return wrap(op, key, err)
		}
		if field(vals, 0) == "" || expired(fieldInt(vals, 1), now) {
			return nil
		}
		var r oauth.Revocation
		if err := decodeJSON(op, key, field(vals, 0), &r); err != nil {
			return err
		}
		r.ExpiresAt = fromMS(fieldInt(vals, 1)) // a repeated revocation keeps the later expiry
		if err := fn(r); err != nil {
			return errStop{err}
		}
		return nil
	})
	return stopped(err)
}

// Purge has nothing to do: Redis expires every record by its TTL.
func (s *Store) Purge(context.Context) (int, error) { return 0, nil }

func (s *Store) RestoreClient(ctx context.Context, c *oauth.Client) error {
	const op = "restore client"
	if c == nil || c.ID == "" {
		return errEmpty(op)
	}
	d, err := encodeJSON(op, c.ID, c)
	if err != nil {
		return err
	}
	now := s.now()
	key := s.clientKey(c.ID)
	_, err = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, key)
		p.HSet(ctx, key, "d", d, "x", ms(c.ExpiresAt))
		if t := ttl(c.ExpiresAt, now); t > 0 {
			p.PExpire(ctx, key, time.Duration(t)*time.Millisecond)
		}
		return nil
	})
	if err != nil {
		return wrap(op, c.ID, err)
	}
	return nil
}

// restoreRefreshScript: KEYS[1] token, KEYS[2] family set, KEYS[3]
// client's families; ARGV now, d, x, ttl, family, hash, successor,
// rotated-at (ns), grace until (ms), grace blob.
var restoreRefreshScript = redis.NewScript(luaLib + `
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'd', ARGV[2], 'x', ARGV[3], 'f', ARGV[5])
if ARGV[7] ~= '' then
  redis.call('HSET', KEYS[1], 's', ARGV[7], 'r', ARGV[8], 'g', ARGV[9], 'b', ARGV[10])
end
setttl(KEYS[1], ARGV[4])
index(KEYS[2], ARGV[6], ARGV[4])
index(KEYS[3], ARGV[5], ARGV[4])
return 'ok'
`)

func (s *Store) RestoreRefresh(ctx context.Context, hash string, t *oauth.RefreshToken) error {
	const op = "restore refresh"
	if hash == "" || t == nil || t.ClientID == "" || t.FamilyID == "" {
		return errEmpty(op)
	}
	if t.ExpiresAt.IsZero() {
		return errNoExpiry(op, hash)
	}
	now := s.now()
	if !now.Before(t.ExpiresAt) {
		return nil
	}
	// The rotation fields live next to the JSON, as RotateRefresh keeps
	// them.
	plain := *t
	plain.Successor, plain.RotatedAt, plain.GraceUntil, plain.GraceBlob = "", time.Time{}, time.Time{}, nil
	d, err := encodeJSON(op, hash, &plain)
	if err != nil {
		return err
	}
	var rotatedAt string
	if !t.RotatedAt.IsZero() {
		rotatedAt = strconv.FormatInt(t.RotatedAt.UnixNano(), 10)
	}
	c := t.ClientID
	return s.runStatus(ctx, restoreRefreshScript, op, hash,
		[]string{s.refreshPrefix(c) + hash, s.familyPrefix(c) + t.FamilyID, s.familiesKey(c)},
		ms(now), d, ms(t.ExpiresAt), ttl(t.ExpiresAt, now), t.FamilyID, hash,
		t.Successor, rotatedAt, ms(t.GraceUntil), string(t.GraceBlob))
}

func (s *Store) RestoreRevocation(ctx context.Context, r oauth.Revocation) error {
	const op = "restore revocation"
	if r.ClientID == "" || r.Kind == "" || r.Kind == oauth.RevocationReset {
		return errEmpty(op)
	}
	d, err := encodeJSON(op, r.ID, r)
	if err != nil {
		return err
	}
	now := s.now()
	return s.runStatus(ctx, revokeTokenScript, op, r.ID,
		[]string{s.revocationKey(r.Kind, r.ClientID, r.ID)},
		ms(now), d, ms(r.ExpiresAt), ttl(r.ExpiresAt, now), s.channel())
}

// Traces: a client's is a hash of its steps with their expiry in x; the
// unattributed events are a list next to its expiry, in one hash slot.
func (s *Store) traceKey(client string) string { return s.prefix + "trace:" + client }
func (s *Store) traceListKey() string          { return s.prefix + "{trace-u}:l" }
func (s *Store) traceListExpiry() string       { return s.prefix + "{trace-u}:x" }

func (s *Store) PutTraceStep(ctx context.Context, clientID, key string, e oauth.Event, keep time.Duration) error {
	const op = "put trace step"
	if keep <= 0 {
		return wrap(op, clientID, errors.New("keep must be positive"))
	}
	d, err := encodeJSON(op, clientID, e)
	if err != nil {
		return err
	}
	now := s.now()
	until := now.Add(keep)
	ttlMS := time.Duration(ttl(until, now)) * time.Millisecond
	if clientID == "" {
		x, gerr := s.rdb.Get(ctx, s.traceListExpiry()).Int64()
		_, err = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
			// An expired list is dropped before it grows again.
			if gerr == nil && expired(x, now) {
				p.Del(ctx, s.traceListKey())
			}
			p.LPush(ctx, s.traceListKey(), d)
			p.LTrim(ctx, s.traceListKey(), 0, oauth.MaxUnattributedTrace-1)
			p.PExpire(ctx, s.traceListKey(), ttlMS)
			p.Set(ctx, s.traceListExpiry(), ms(until), ttlMS)
			return nil
		})
	} else {
		k := s.traceKey(clientID)
		x, gerr := s.rdb.HGet(ctx, k, "x").Int64()
		_, err = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
			if gerr == nil && expired(x, now) {
				p.Del(ctx, k)
			}
			p.HSet(ctx, k, "s:"+key, d, "x", ms(until))
			p.PExpire(ctx, k, ttlMS)
			return nil
		})
	}
	if err != nil {
		return wrap(op, clientID, err)
	}
	return nil
}

func (s *Store) TraceSteps(ctx context.Context, clientID string) (map[string]oauth.Event, error) {
	const op = "trace"
	now := s.now()
	out := map[string]oauth.Event{}
	if clientID == "" {
		x, err := s.rdb.Get(ctx, s.traceListExpiry()).Int64()
		if errors.Is(err, redis.Nil) || err == nil && expired(x, now) {
			return out, nil
		}
		if err != nil {
			return nil, wrap(op, "", err)
		}
		all, err := s.rdb.LRange(ctx, s.traceListKey(), 0, oauth.MaxUnattributedTrace-1).Result()
		if err != nil {
			return nil, wrap(op, "", err)
		}
		for i, d := range all {
			var e oauth.Event
			if err := json.Unmarshal([]byte(d), &e); err == nil {
				out[strconv.Itoa(i)] = e
			}
		}
		return out, nil
	}
	all, err := s.rdb.HGetAll(ctx, s.traceKey(clientID)).Result()
	if err != nil {
		return nil, wrap(op, clientID, err)
	}
	if x, _ := strconv.ParseInt(all["x"], 10, 64); x == 0 || expired(x, now) {
		return out, nil
	}
	for k, d := range all {
		step, ok := strings.CutPrefix(k, "s:")
		if !ok {
			continue
		}
		var e oauth.Event
		if err := json.Unmarshal([]byte(d), &e); err == nil {
			out[step] = e
		}
	}
	return out, nil
}

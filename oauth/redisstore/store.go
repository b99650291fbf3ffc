package redisstore

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mcp-oauth-gateway/gateway/oauth"
)

// DefaultPrefix is the key prefix when Options.Prefix is empty.
const DefaultPrefix = "mcp-oauth:"

// Options configure a Store. A nil *Options means all defaults.
type Options struct {
	// Prefix starts every key and the pub/sub channel, so several
	// deployments can share one Redis. It must not contain '{' or '}'.
	// Zero: "mcp-oauth:".
	Prefix string
	// Now is the store's clock, which decides expiry, grace and polling
	// intervals. Zero: time.Now.
	Now func() time.Time
}

// Store is an oauth.Store in Redis. It is safe for concurrent use. Close
// ends its revocation feed; the Redis client stays the caller's.
type Store struct {
	rdb    redis.UniversalClient
	prefix string
	now    func() time.Time

	feed    *oauth.RevocationFeed
	feedMu  sync.Mutex
	sub     *redis.PubSub // nil until the first SubscribeRevocations
	closed  chan struct{}
	subDone chan struct{}
	once    sync.Once
}

var _ oauth.Store = (*Store)(nil)

// New returns a Store that keeps its data in rdb.
func New(rdb redis.UniversalClient, opts *Options) (*Store, error) {
	if rdb == nil {
		return nil, errors.New("redisstore: nil Redis client")
	}
	if opts == nil {
		opts = &Options{}
	}
	prefix := opts.Prefix
	if prefix == "" {
		prefix = DefaultPrefix
	}
	if strings.ContainsAny(prefix, "{}") {
		return nil, fmt.Errorf("redisstore: prefix %q must not contain '{' or '}' (they mark Cluster hash tags)", prefix)
	}
	s := &Store{
		rdb:    rdb,
		prefix: prefix,
		now:    opts.Now,
		feed:   oauth.NewRevocationFeed(),
		closed: make(chan struct{}),
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s, nil
}

// Prefix returns the key prefix in use.
func (s *Store) Prefix() string { return s.prefix }

// Close ends the revocation feed and its subscription. It does not close
// the Redis client. It is idempotent.
func (s *Store) Close() error {
	s.once.Do(func() {
		close(s.closed)
		s.feedMu.Lock()
		sub, done := s.sub, s.subDone
		s.feedMu.Unlock()
		if sub != nil {
			_ = sub.Close()
			<-done
		}
		s.feed.Close()
	})
	return nil
}

// NewClient builds a Redis client from a URL, for binaries that take
// REDIS_URL and REDIS_PASSWORD:
//
//	redis://[user:password@]host:port[/db]     a server
//	rediss://...                               a server over TLS
//	unix:///path/to/redis.sock[?db=N]          a server on a Unix socket
//	redis://host:port?addr=host2:port2&...     a Cluster (more seed nodes)
//	redis://sentinel:26379?master_name=mymaster&addr=...  Sentinel failover
//
// Query parameters are go-redis's (dial_timeout, pool_size, ...). A
// non-empty password overrides the URL's. Errors never repeat the password.
func NewClient(rawURL, password string) (redis.UniversalClient, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, errors.New("redisstore: invalid Redis URL (expected redis://host:port/db)")
	}
	safe := u.Redacted()
	q := u.Query()
	switch {
	case u.Scheme != "redis" && u.Scheme != "rediss" && u.Scheme != "unix":
		return nil, fmt.Errorf("redisstore: Redis URL %s: scheme must be redis, rediss or unix", safe)
	case q.Has("master_name"):
		o, err := redis.ParseFailoverURL(rawURL)
		if err != nil {
			return nil, fmt.Errorf("redisstore: Redis Sentinel URL %s: %s", safe, redact(err, u))
		}
		if password != "" {
			o.Password = password
		}
		return redis.NewFailoverClient(o), nil
	case q.Has("addr"):
		o, err := redis.ParseClusterURL(rawURL)
		if err != nil {
			return nil, fmt.Errorf("redisstore: Redis Cluster URL %s: %s", safe, redact(err, u))
		}
		if password != "" {
			o.Password = password
		}
		return redis.NewClusterClient(o), nil
	}
	o, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("redisstore: Redis URL %s: %s", safe, redact(err, u))
	}
	if password != "" {
		o.Password = password
	}
	return redis.NewClient(o), nil
}

// redact returns err's text without the URL's password.
func redact(err error, u *url.URL) string {
	msg := err.Error()
	if u.User != nil {
		if pw, ok := u.User.Password(); ok && pw != "" {
			msg = strings.ReplaceAll(msg, pw, "xxxxx")
		}
	}
	return msg
}

// ---- keys ----

// tag is a client id made safe to be a Cluster hash tag.
func tag(clientID string) string {
	if !strings.ContainsAny(clientID, "{}%") {
		return clientID
	}
	r := strings.NewReplacer("%", "%25", "{", "%7B", "}", "%7D")
	return r.Replace(clientID)
}

func (s *Store) clientKey(id string) string   { return s.prefix + "client:" + id }
func (s *Store) pendingKey(key string) string { return s.prefix + "pending:" + key }
func (s *Store) codeKey(hash string) string   { return s.prefix + "code:" + hash }
func (s *Store) signingKeys() string          { return s.prefix + "keys" }
func (s *Store) channel() string              { return s.prefix + "revocations" }

// quotaSetKey is a counter of AllowAll: all of them share the {q} tag, so
// one script can check several in a Cluster.
func (s *Store) quotaSetKey(key string) string { return s.prefix + "{q}:" + key }

// Keys of a client's refresh tokens, families and revocations share the
// client's hash tag; the prefixes end where the script appends a name.
func (s *Store) refreshPrefix(client string) string {
	return s.prefix + "{" + tag(client) + "}:rt:"
}
func (s *Store) familyPrefix(client string) string {
	return s.prefix + "{" + tag(client) + "}:fam:"
}
func (s *Store) familiesKey(client string) string {
	return s.prefix + "{" + tag(client) + "}:fams"
}
func (s *Store) revocationKey(kind oauth.RevocationKind, client, id string) string {
	return s.prefix + "{" + tag(client) + "}:rv:" + string(kind) + ":" + id
}

// Device authorizations and user codes share the {dev} tag.
func (s *Store) devicePrefix() string   { return s.prefix + "{dev}:d:" }
func (s *Store) userCodePrefix() string { return s.prefix + "{dev}:u:" }

// ---- time ----

// ms is t in Unix milliseconds; 0 for the zero time (never).
func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// fromMS is the inverse of ms.
func fromMS(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.UnixMilli(n).UTC()
}

// ttl is how long Redis keeps a record that is dropped at drop, from now
// (0: keep it). It is at least 1 ms, so a record never lives forever by
// mistake.
func ttl(drop, now time.Time) int64 {
	if drop.IsZero() {
		return 0
	}
	return max(1, drop.UnixMilli()-now.UnixMilli())
}

// expired reports whether a record with expiry x (Unix ms, 0 = never) is
// gone at now.
func expired(x int64, now time.Time) bool {
	return x != 0 && now.UnixMilli() >= x
}

// ---- errors ----

func wrap(op, key string, err error) error {
	return fmt.Errorf("redisstore: %s %q: %w", op, key, err)
}

func errEmpty(op string) error {
	return fmt.Errorf("redisstore: %s: empty key", op)
}

func errNoExpiry(op, key string) error {
	return fmt.Errorf("redisstore: %s %q: ExpiresAt is required", op, key)
}

// scriptStatus maps the status strings the scripts return to errors.
func scriptStatus(op, key, status string) error {
	switch status {
	case "ok":
		return nil
	case "notfound":
		return wrap(op, key, oauth.ErrNotFound)
	case "exists":
		return wrap(op, key, oauth.ErrExists)
	case "conflict":
		return wrap(op, key, oauth.ErrConflict)
	case "used":
		return wrap(op, key, oauth.ErrCodeUsed)
	}
	return wrap(op, key, fmt.Errorf("unexpected script answer %q", status))
}

// ---- reply decoding ----

// field returns the i-th string of a script's or HMGET's array reply;
// "" for a nil or missing entry.
func field(vals []any, i int) string {
	if i >= len(vals) {
		return ""
	}
	switch v := vals[i].(type) {
	case string:
		return v
	case int64:
		return strconv.FormatInt(v, 10)
	}
	return ""
}

func fieldInt(vals []any, i int) int64 {
	n, _ := strconv.ParseInt(field(vals, i), 10, 64)
	return n
}

// decodeJSON decodes a stored record.
func decodeJSON(op, key, data string, v any) error {
	if err := json.Unmarshal([]byte(data), v); err != nil {
		return wrap(op, key, fmt.Errorf("stored record unreadable: %w", err))
	}
	return nil
}

func encodeJSON(op, key string, v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", wrap(op, key, err)
	}
	return string(b), nil
}

package filestore

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/mcp-oauth-gateway/gateway/oauth"
)

// Options configure a Store. A nil *Options means all defaults.
type Options struct {
	// Now is the store's clock, which decides expiry, grace and polling
	// intervals. Zero: time.Now.
	Now func() time.Time
	// SweepInterval is how often expired records are removed from the file.
	// Zero: one minute. Negative: never (expired records stay invisible).
	SweepInterval time.Duration
	// LockTimeout is how long Open waits for a file that another process
	// holds open. Zero: one second.
	LockTimeout time.Duration
	// MaxQuotaKeys bounds the live quota windows kept in memory (see
	// oauth.LocalQuotas). Zero: oauth.DefaultMaxQuotaKeys.
	MaxQuotaKeys int
	// CompactRatio: at Open and after each periodic sweep, the file is
	// compacted (see Compact) when at least this fraction of it holds no
	// data. Zero: 0.5. Negative: never by itself.
	CompactRatio float64
	// CompactMinBytes: a smaller file is never compacted by itself. Zero:
	// 1 MiB.
	CompactMinBytes int64
	// Logger receives a line for each compaction. Zero: slog.Default().
	Logger *slog.Logger
}

// Store is an oauth.Store in one bbolt file. It is safe for concurrent use.
type Store struct {
	// mu guards db: every transaction holds it shared, Compact (which
	// replaces db) and Close exclusively.
	mu   sync.RWMutex
	db   *bolt.DB
	path string
	now  func() time.Time
	feed *oauth.RevocationFeed
	log  *slog.Logger

	lockTimeout     time.Duration
	compactRatio    float64
	compactMinBytes int64
	// quotas are counted in memory (see AllowAll).
	quotas *oauth.LocalQuotas

	stop chan struct{}
	done chan struct{}
	once sync.Once
}

var (
	_ oauth.Store      = (*Store)(nil)
	_ oauth.AdminStore = (*Store)(nil)
	_ oauth.TraceStore = (*Store)(nil)
)

// Bucket names. Values are encoded records (see encode), except in the
// index buckets.
var (
	bClients     = []byte("clients")     // client id -> Client
	bQuotas      = []byte("quotas")      // unused since quotas are kept in memory; old records are swept
	bPending     = []byte("pending")     // key -> PendingAuthorization
	bCodes       = []byte("codes")       // hash -> code
	bRefresh     = []byte("refresh")     // pair(client, hash) -> RefreshToken
	bFamilies    = []byte("families")    // pair(client, family) + hash -> nothing (index)
	bRevocations = []byte("revocations") // kind + pair(client, id) -> Revocation
	bKeys        = []byte("keys")        // kid -> SigningKey
	bDevices     = []byte("devices")     // device hash -> device
	bUserCodes   = []byte("usercodes")   // user code -> device hash (index)
	bUpstream    = []byte("upstream")    // pair(client, family) -> UpstreamCredential
	bMeta        = []byte("meta")        // "format" -> formatVersion
	bTraces      = []byte("traces")      // client id -> fileTrace; traceList -> []oauth.Event (see admin.go)

	allBuckets = [][]byte{bClients, bQuotas, bPending, bCodes, bRefresh, bFamilies,
		bRevocations, bKeys, bDevices, bUserCodes, bUpstream, bMeta, bTraces}

	// sweptBuckets hold encoded records whose drop time the sweep reads.
	sweptBuckets = [][]byte{bClients, bQuotas, bPending, bCodes, bRefresh, bRevocations, bDevices, bUpstream, bTraces}
)

// formatVersion is the file layout's version, kept in the meta bucket.
const formatVersion = "1"

// Open opens the store file at path, creating it (mode 0600) when it does
// not exist. A file another process holds, a file that is not a store, or a
// corrupt one give a clear error; the file is never changed then.
func Open(path string, opts *Options) (*Store, error) {
	if opts == nil {
		opts = &Options{}
	}
	timeout := opts.LockTimeout
	if timeout <= 0 {
		timeout = time.Second
	}
	db, err := openBolt(path, timeout)
	if err != nil {
		switch {
		case errors.Is(err, bolterrors.ErrTimeout):
			return nil, fmt.Errorf("filestore: open %s: the file is locked by another process (is another server using it?): %w", path, err)
		case errors.Is(err, bolterrors.ErrInvalid), errors.Is(err, bolterrors.ErrChecksum), errors.Is(err, bolterrors.ErrVersionMismatch):
			return nil, fmt.Errorf("filestore: open %s: not a store file, or corrupt (move it away to start afresh): %w", path, err)
		}
		return nil, fmt.Errorf("filestore: open %s: %w", path, err)
	}
	// The file holds private signing keys: keep it private even when an
	// older file was created with a wider mode.
	if err := tightenMode(path); err != nil {
		db.Close()
		return nil, err
	}
	s := &Store{
		db:   db,
		path: path,
		now:  opts.Now,
		feed: oauth.NewRevocationFeed(),
		log:  opts.Logger,
		stop: make(chan struct{}),
		done: make(chan struct{}),

		lockTimeout:     timeout,
		compactRatio:    opts.CompactRatio,
		compactMinBytes: opts.CompactMinBytes,
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.compactRatio == 0 {
		s.compactRatio = defaultCompactRatio
	}
	if s.compactMinBytes == 0 {
		s.compactMinBytes = defaultCompactMinBytes
	}
	s.quotas = oauth.NewLocalQuotas(s.now, opts.MaxQuotaKeys)
	if err := s.init(); err != nil {
		db.Close()
		return nil, err
	}
	s.maybeCompact()
	interval := opts.SweepInterval
	if interval == 0 {
		interval = time.Minute
	}
	if interval < 0 {
		close(s.done)
	} else {
		go s.sweepLoop(interval)
	}
	return s, nil
}

// openBolt opens the file; bbolt panics on some damaged pages (a broken
// freelist), which becomes an error.
func openBolt(path string, timeout time.Duration) (db *bolt.DB, err error) {
	defer func() {
		if r := recover(); r != nil {
			db, err = nil, fmt.Errorf("filestore: open %s: store file corrupt (move it away to start afresh): %v", path, r)
		}
	}()
	return bolt.Open(path, 0o600, &bolt.Options{Timeout: timeout})
}

func tightenMode(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("filestore: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(path, fi.Mode().Perm()&0o700); err != nil {
			return fmt.Errorf("filestore: restrict %s to its owner: %w", path, err)
		}
	}
	return nil
}

// init creates the buckets and checks the layout version.
func (s *Store) init() error {
	return s.update("open", s.path, func(tx *bolt.Tx) error {
		for _, name := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bMeta)
		switch v := meta.Get([]byte("format")); {
		case v == nil:
			return meta.Put([]byte("format"), []byte(formatVersion))
		case string(v) != formatVersion:
			return fmt.Errorf("file format %q, this version reads %q", v, formatVersion)
		}
		return nil
	})
}

// Path returns the store file's path.
func (s *Store) Path() string { return s.path }

// Close stops the sweeper, ends the revocation feeds and closes the file.
// It is idempotent.
func (s *Store) Close() error {
	var err error
	s.once.Do(func() {
		close(s.stop)
		<-s.done
		s.feed.Close()
		s.mu.Lock()
		defer s.mu.Unlock()
		err = s.db.Close()
	})
	return err
}

func (s *Store) sweepLoop(interval time.Duration) {
	defer close(s.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			if s.Sweep() == nil { // a failed sweep is retried next time
				s.maybeCompact()
			}
		}
	}
}

// Sweep removes every record whose time is over from the file now. The
// store also sweeps by itself every SweepInterval.
func (s *Store) Sweep() error {
	s.quotas.Sweep()
	now := s.now()
	return s.update("sweep", s.path, func(tx *bolt.Tx) error {
		for _, name := range sweptBuckets {
			b := tx.Bucket(name)
			var dead [][]byte
			err := b.ForEach(func(k, v []byte) error {
				if at := dropAt(v); !at.IsZero() && !now.Before(at) {
					dead = append(dead, bytes.Clone(k))
				}
				return nil
			})
			if err != nil {
				return err
			}
			for _, k := range dead {
				switch {
				case bytes.Equal(name, bRefresh):
					client, hash := splitPair(k)
					var t oauth.RefreshToken
					if err := decode(b.Get(k), &t); err != nil {
						return err
					}
					if err := dropRefresh(tx, client, hash, t.FamilyID); err != nil {
						return err
					}
				case bytes.Equal(name, bDevices):
					if err := dropDevice(tx, k); err != nil {
						return err
					}
				default:
					if err := b.Delete(k); err != nil {
						return err
					}
				}
			}
		}
		return nil
	})
}

// ---- transactions ----

// update runs fn in a write transaction. Errors are wrapped with the
// operation and key; a panic inside bbolt (a corrupt page) becomes an error.
func (s *Store) update(op, key string, fn func(tx *bolt.Tx) error) (err error) {
	defer recoverCorrupt(op, key, &err)
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.db.Update(fn); err != nil {
		return wrap(op, key, err)
	}
	return nil
}

// view runs fn in a read transaction, like update.
func (s *Store) view(op, key string, fn func(tx *bolt.Tx) error) (err error) {
	defer recoverCorrupt(op, key, &err)
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.db.View(fn); err != nil {
		return wrap(op, key, err)
	}
	return nil
}

func recoverCorrupt(op, key string, err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("filestore: %s %q: store file corrupt: %v", op, key, r)
	}
}

func wrap(op, key string, err error) error {
	return fmt.Errorf("filestore: %s %q: %w", op, key, err)
}

// ---- encoding ----

// A stored record is an 8-byte big-endian drop time (Unix nanoseconds; 0 =
// never), after which the sweep deletes it, followed by its JSON.

func encode(drop time.Time, v any) ([]byte, error) {
	js, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 8, 8+len(js))
	if !drop.IsZero() {
		binary.BigEndian.PutUint64(out, uint64(drop.UnixNano()))
	}
	return append(out, js...), nil
}

func decode(data []byte, v any) error {
	if len(data) < 8 {
		return errors.New("store file corrupt: short record")
	}
	if err := json.Unmarshal(data[8:], v); err != nil {
		return fmt.Errorf("store file corrupt: %w", err)
	}
	return nil
}

func dropAt(data []byte) time.Time {
	if len(data) < 8 {
		return time.Time{}
	}
	n := binary.BigEndian.Uint64(data)
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, int64(n))
}

// put encodes v into bucket b under key.
func put(b *bolt.Bucket, key []byte, drop time.Time, v any) error {
	data, err := encode(drop, v)
	if err != nil {
		return err
	}
	return b.Put(key, data)
}

// get decodes the record under key into v; false when there is none.
func get(b *bolt.Bucket, key []byte, v any) (bool, error) {
	data := b.Get(key)
	if data == nil {
		return false, nil
	}
	return true, decode(data, v)
}

// getLive reads the record under key in bucket for a Get method: op and
// logKey name it in errors, expiresAt reads its time; a record that is
// missing or whose time is over is oauth.ErrNotFound.
func getLive[T any](ctx context.Context, s *Store, op, logKey string, bucket, key []byte, expiresAt func(*T) time.Time) (*T, error) {
	if err := ctxErr(ctx, op); err != nil {
		return nil, err
	}
	now := s.now()
	var v T
	err := s.view(op, logKey, func(tx *bolt.Tx) error {
		ok, err := get(tx.Bucket(bucket), key, &v)
		if err != nil {
			return err
		}
		if !ok || expired(expiresAt(&v), now) {
			return oauth.ErrNotFound
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &v, nil
}

// pair encodes two strings into one key so that the key of (a, b) starts
// with the key prefix of a alone and no two pairs collide.
func pair(a, b string) []byte {
	k := binary.AppendUvarint(nil, uint64(len(a)))
	k = append(k, a...)
	return append(k, b...)
}

// prefix is the key prefix shared by every pair(a, ...).
func prefix(a string) []byte { return pair(a, "") }

func splitPair(k []byte) (string, string) {
	n, w := binary.Uvarint(k)
	if w <= 0 || uint64(len(k)-w) < n {
		return "", ""
	}
	return string(k[w : w+int(n)]), string(k[w+int(n):])
}

// scan calls fn for every key in b that starts with p.
func scan(b *bolt.Bucket, p []byte, fn func(k, v []byte) error) error {
	c := b.Cursor()
	for k, v := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
		if err := fn(k, v); err != nil {
			return err
		}
	}
	return nil
}

// expired reports whether a record with this expiry is gone at now. A zero
// expiry never passes.
func expired(exp, now time.Time) bool {
	return !exp.IsZero() && !now.Before(exp)
}

func errEmpty(op string) error {
	return fmt.Errorf("filestore: %s: empty key", op)
}

func errNoExpiry(op, key string) error {
	return fmt.Errorf("filestore: %s %q: ExpiresAt is required", op, key)
}

// ctxErr is checked before a transaction starts: bbolt calls are not
// cancellable once running, but a cancelled request should not start one.
func ctxErr(ctx context.Context, op string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("filestore: %s: %w", op, err)
	}
	return nil
}

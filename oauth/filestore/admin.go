package filestore

import (
	"context"
	"errors"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/mcp-oauth-gateway/gateway/oauth"
)

// The Store's oauth.AdminStore and oauth.TraceStore. Listings read one
// transaction's snapshot, then call fn outside it.

func (s *Store) Clients(ctx context.Context, fn func(*oauth.Client) error) error {
	now := s.now()
	var all []*oauth.Client
	err := s.view("list clients", "", func(tx *bolt.Tx) error {
		return tx.Bucket(bClients).ForEach(func(k, v []byte) error {
			var c oauth.Client
			if err := decode(v, &c); err != nil {
				return err
			}
			if !expired(c.ExpiresAt, now) {
				all = append(all, &c)
			}
			return nil
		})
	})
	if err != nil {
		return err
	}
	for _, c := range all {
		if err := fn(c); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) RefreshTokens(ctx context.Context, fn func(string, *oauth.RefreshToken) error) error {
	now := s.now()
	type rec struct {
		hash string
		t    *oauth.RefreshToken
	}
	var all []rec
	err := s.view("list refresh tokens", "", func(tx *bolt.Tx) error {
		return tx.Bucket(bRefresh).ForEach(func(k, v []byte) error {
			var t oauth.RefreshToken
			if err := decode(v, &t); err != nil {
				return err
			}
			if !expired(t.ExpiresAt, now) {
				_, hash := splitPair(k)
				all = append(all, rec{hash, &t})
			}
			return nil
		})
	})
	if err != nil {
		return err
	}
	for _, r := range all {
		if err := fn(r.hash, r.t); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) Revocations(ctx context.Context, fn func(oauth.Revocation) error) error {
	now := s.now()
	var all []oauth.Revocation
	err := s.view("list revocations", "", func(tx *bolt.Tx) error {
		return tx.Bucket(bRevocations).ForEach(func(k, v []byte) error {
			var r oauth.Revocation
			if err := decode(v, &r); err != nil {
				return err
			}
			if !expired(r.ExpiresAt, now) {
				all = append(all, r)
			}
			return nil
		})
	})
	if err != nil {
		return err
	}
	for _, r := range all {
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

// Purge sweeps now (see Sweep) and counts what went.
func (s *Store) Purge(ctx context.Context) (int, error) {
	count := func() (int, error) {
		st, err := s.Stats()
		if err != nil {
			return 0, err
		}
		n := 0
		for _, name := range sweptBuckets {
			n += st.Records[string(name)]
		}
		return n, nil
	}
	before, err := count()
	if err != nil {
		return 0, err
	}
	if err := s.Sweep(); err != nil {
		return 0, err
	}
	after, err := count()
	return before - after, err
}

func (s *Store) RestoreClient(ctx context.Context, c *oauth.Client) error {
	if c == nil || c.ID == "" {
		return errEmpty("restore client")
	}
	return s.update("restore client", c.ID, func(tx *bolt.Tx) error {
		return put(tx.Bucket(bClients), []byte(c.ID), c.ExpiresAt, c)
	})
}

func (s *Store) RestoreRefresh(ctx context.Context, hash string, t *oauth.RefreshToken) error {
	if hash == "" || t == nil || t.ClientID == "" || t.FamilyID == "" {
		return errEmpty("restore refresh")
	}
	if t.ExpiresAt.IsZero() {
		return errNoExpiry("restore refresh", hash)
	}
	if expired(t.ExpiresAt, s.now()) {
		return nil
	}
	return s.update("restore refresh", hash, func(tx *bolt.Tx) error {
		var old oauth.RefreshToken
		ok, err := get(tx.Bucket(bRefresh), pair(t.ClientID, hash), &old)
		if err != nil {
			return err
		}
		if ok {
			if err := dropRefresh(tx, t.ClientID, hash, old.FamilyID); err != nil {
				return err
			}
		}
		return putRefresh(tx, hash, t)
	})
}

func (s *Store) RestoreRevocation(ctx context.Context, r oauth.Revocation) error {
	if r.ClientID == "" || r.Kind == "" || r.Kind == oauth.RevocationReset {
		return errEmpty("restore revocation")
	}
	err := s.update("restore revocation", r.ID, func(tx *bolt.Tx) error { return recordRevocation(tx, r) })
	if err == nil {
		s.feed.Publish(r)
	}
	return err
}

// traceList is the key of the unattributed events in bTraces (a client id
// is never empty, so "" cannot collide, but bbolt refuses empty keys).
var traceList = []byte{0}

// fileTrace is one client's trace.
type fileTrace struct {
	Steps map[string]oauth.Event `json:"steps"`
	Until time.Time              `json:"until"`
}

// traceEntries are the unattributed events, newest first.
type traceEntries struct {
	Events []oauth.Event `json:"events"`
	Until  time.Time     `json:"until"`
}

func (s *Store) PutTraceStep(ctx context.Context, clientID, key string, e oauth.Event, keep time.Duration) error {
	if keep <= 0 {
		return errors.New("filestore: put trace step: keep must be positive")
	}
	now := s.now()
	until := now.Add(keep)
	return s.update("put trace step", clientID, func(tx *bolt.Tx) error {
		b := tx.Bucket(bTraces)
		if clientID == "" {
			var l traceEntries
			ok, err := get(b, traceList, &l)
			if err != nil {
				return err
			}
			if !ok || expired(l.Until, now) {
				l = traceEntries{}
			}
			l.Events = append([]oauth.Event{e}, l.Events...)
			if len(l.Events) > oauth.MaxUnattributedTrace {
				l.Events = l.Events[:oauth.MaxUnattributedTrace]
			}
			l.Until = until
			return put(b, traceList, until, &l)
		}
		var tr fileTrace
		ok, err := get(b, []byte(clientID), &tr)
		if err != nil {
			return err
		}
		if !ok || expired(tr.Until, now) || tr.Steps == nil {
			tr = fileTrace{Steps: map[string]oauth.Event{}}
		}
		tr.Steps[key] = e
		tr.Until = until
		return put(b, []byte(clientID), until, &tr)
	})
}

func (s *Store) TraceSteps(ctx context.Context, clientID string) (map[string]oauth.Event, error) {
	now := s.now()
	out := map[string]oauth.Event{}
	err := s.view("trace", clientID, func(tx *bolt.Tx) error {
		b := tx.Bucket(bTraces)
		if clientID == "" {
			var l traceEntries
			ok, err := get(b, traceList, &l)
			if err != nil || !ok || expired(l.Until, now) {
				return err
			}
			for i, e := range l.Events {
				out[strconv.Itoa(i)] = e
			}
			return nil
		}
		var tr fileTrace
		ok, err := get(b, []byte(clientID), &tr)
		if err != nil || !ok || expired(tr.Until, now) {
			return err
		}
		for k, e := range tr.Steps {
			out[k] = e
		}
		return nil
	})
	return out, err
}

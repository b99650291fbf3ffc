package oauth

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"sync"
	"time"
)

// The MemoryStore's AdminStore and TraceStore.

func (s *MemoryStore) Clients(ctx context.Context, fn func(*Client) error) error {
	now := s.now()
	s.mu.RLock()
	var all []*Client
	for _, c := range s.clients {
		if !expired(c.ExpiresAt, now) {
			all = append(all, c.Clone())
		}
	}
	s.mu.RUnlock()
	for _, c := range all {
		if err := fn(c); err != nil {
			return err
		}
	}
	return nil
}

func (s *MemoryStore) RefreshTokens(ctx context.Context, fn func(string, *RefreshToken) error) error {
	now := s.now()
	type rec struct {
		hash string
		t    *RefreshToken
	}
	s.mu.RLock()
	var all []rec
	for k, t := range s.refresh {
		if !expired(t.ExpiresAt, now) {
			all = append(all, rec{k.hash, t.Clone()})
		}
	}
	s.mu.RUnlock()
	for _, r := range all {
		if err := fn(r.hash, r.t); err != nil {
			return err
		}
	}
	return nil
}

func (s *MemoryStore) Revocations(ctx context.Context, fn func(Revocation) error) error {
	now := s.now()
	s.mu.RLock()
	var all []Revocation
	for _, r := range s.revocations {
		if !expired(r.ExpiresAt, now) {
			all = append(all, r)
		}
	}
	s.mu.RUnlock()
	for _, r := range all {
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

func (s *MemoryStore) Purge(ctx context.Context) (int, error) {
	count := func() int {
		st := s.Stats()
		return st.Clients + st.Pending + st.Codes + st.RefreshTokens + st.Revocations + st.Devices
	}
	before := count()
	s.Sweep()
	return before - count(), nil
}

func (s *MemoryStore) RestoreClient(ctx context.Context, c *Client) error {
	if c == nil || c.ID == "" {
		return errEmpty("restore client")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clients[c.ID] = c.Clone()
	return nil
}

func (s *MemoryStore) RestoreRefresh(ctx context.Context, hash string, t *RefreshToken) error {
	if hash == "" || t == nil || t.ClientID == "" || t.FamilyID == "" {
		return errEmpty("restore refresh")
	}
	if t.ExpiresAt.IsZero() {
		return errNoExpiry("restore refresh", hash)
	}
	if expired(t.ExpiresAt, s.now()) {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := refreshKey{t.ClientID, hash}
	if old, ok := s.refresh[k]; ok {
		s.dropRefresh(k, old.FamilyID)
	}
	s.putRefresh(k, t.Clone())
	return nil
}

func (s *MemoryStore) RestoreRevocation(ctx context.Context, r Revocation) error {
	if r.ClientID == "" || r.Kind == "" || r.Kind == RevocationReset {
		return errEmpty("restore revocation")
	}
	s.mu.Lock()
	s.recordRevocation(r)
	s.mu.Unlock()
	s.feed.Publish(r)
	return nil
}

// memTraces are the MemoryStore's traces; the zero value is ready.
type memTraces struct {
	mu           sync.Mutex
	clients      map[string]*memTrace
	unattributed []Event
	unattrUntil  time.Time
}

type memTrace struct {
	steps map[string]Event
	until time.Time
}

func (s *MemoryStore) PutTraceStep(ctx context.Context, clientID, key string, e Event, keep time.Duration) error {
	if keep <= 0 {
		return errors.New("oauth: memory store: put trace step: keep must be positive")
	}
	now := s.now()
	t := &s.traces
	t.mu.Lock()
	defer t.mu.Unlock()
	if clientID == "" {
		if expired(t.unattrUntil, now) {
			t.unattributed = nil
		}
		t.unattributed = append([]Event{e}, t.unattributed...)
		if len(t.unattributed) > MaxUnattributedTrace {
			t.unattributed = t.unattributed[:MaxUnattributedTrace]
		}
		t.unattrUntil = now.Add(keep)
		return nil
	}
	if t.clients == nil {
		t.clients = make(map[string]*memTrace)
	}
	for id, tr := range t.clients { // expired traces go as new ones come
		if expired(tr.until, now) {
			delete(t.clients, id)
		}
	}
	tr := t.clients[clientID]
	if tr == nil {
		tr = &memTrace{steps: make(map[string]Event)}
		t.clients[clientID] = tr
	}
	tr.steps[key] = e
	tr.until = now.Add(keep)
	return nil
}

func (s *MemoryStore) TraceSteps(ctx context.Context, clientID string) (map[string]Event, error) {
	now := s.now()
	t := &s.traces
	t.mu.Lock()
	defer t.mu.Unlock()
	out := map[string]Event{}
	if clientID == "" {
		if !expired(t.unattrUntil, now) {
			for i, e := range slices.Clone(t.unattributed) {
				out[strconv.Itoa(i)] = e
			}
		}
		return out, nil
	}
	if tr := t.clients[clientID]; tr != nil && !expired(tr.until, now) {
		for k, e := range tr.steps {
			out[k] = e
		}
	}
	return out, nil
}

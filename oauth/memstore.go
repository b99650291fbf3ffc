package oauth

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
)

// MemoryStoreOptions configure a MemoryStore. A nil *MemoryStoreOptions
// means all defaults.
type MemoryStoreOptions struct {
	// Now is the store's clock, which decides expiry, grace and polling
	// intervals. Zero: time.Now.
	Now func() time.Time
	// SweepInterval is how often expired records are removed. Zero: one
	// minute. Negative: never (expired records are still invisible).
	SweepInterval time.Duration
	// MaxQuotaKeys bounds the live quota windows kept (see LocalQuotas).
	// Zero: DefaultMaxQuotaKeys.
	MaxQuotaKeys int
}

// MemoryStore is a Store that keeps everything in the process's memory:
// for tests, development and single-process deployments that accept losing
// registrations and refresh tokens on restart. It is safe for concurrent use.
// Close stops its sweeper and ends its revocation feeds.
type MemoryStore struct {
	now  func() time.Time
	feed *RevocationFeed
	stop chan struct{}
	done chan struct{}
	once sync.Once

	quotas *LocalQuotas

	mu          sync.RWMutex
	clients     map[string]*Client
	pending     map[string]*PendingAuthorization
	codes       map[string]*memCode
	refresh     map[refreshKey]*RefreshToken
	families    map[familyKey]map[string]bool // hashes of a family
	byClient    map[string]map[string]bool    // families of a client
	revocations map[RevocationKey]Revocation
	keys        map[string]*SigningKey
	devices     map[string]*DeviceAuthorization // by device-code hash
	userCodes   map[string]string               // user code -> device-code hash
	deviceCodes map[string]string               // device-code hash -> user code
	upstream    map[familyKey]*UpstreamCredential

	traces memTraces // see memstore_admin.go
}

var (
	_ Store      = (*MemoryStore)(nil)
	_ AdminStore = (*MemoryStore)(nil)
	_ TraceStore = (*MemoryStore)(nil)
)

type memCode struct {
	grant *Grant
	used  bool
}

type refreshKey struct{ client, hash string }

type familyKey struct{ client, family string }

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore(opts *MemoryStoreOptions) *MemoryStore {
	if opts == nil {
		opts = &MemoryStoreOptions{}
	}
	s := &MemoryStore{
		now:         opts.Now,
		feed:        NewRevocationFeed(),
		stop:        make(chan struct{}),
		done:        make(chan struct{}),
		clients:     make(map[string]*Client),
		pending:     make(map[string]*PendingAuthorization),
		codes:       make(map[string]*memCode),
		refresh:     make(map[refreshKey]*RefreshToken),
		families:    make(map[familyKey]map[string]bool),
		byClient:    make(map[string]map[string]bool),
		revocations: make(map[RevocationKey]Revocation),
		keys:        make(map[string]*SigningKey),
		devices:     make(map[string]*DeviceAuthorization),
		userCodes:   make(map[string]string),
		deviceCodes: make(map[string]string),
		upstream:    make(map[familyKey]*UpstreamCredential),
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.quotas = NewLocalQuotas(s.now, opts.MaxQuotaKeys)
	interval := opts.SweepInterval
	if interval == 0 {
		interval = time.Minute
	}
	if interval < 0 {
		close(s.done)
		return s
	}
	go s.sweepLoop(interval)
	return s
}

// Close stops the sweeper and closes every revocation feed. The store's
// data stays readable; Close is idempotent.
func (s *MemoryStore) Close() error {
	s.once.Do(func() {
		close(s.stop)
		s.feed.Close()
	})
	<-s.done
	return nil
}

func (s *MemoryStore) sweepLoop(interval time.Duration) {
	defer close(s.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.Sweep()
		}
	}
}

// Sweep removes every expired record now. The store also sweeps by itself
// every SweepInterval.
func (s *MemoryStore) Sweep() {
	s.quotas.Sweep()
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, c := range s.clients {
		if expired(c.ExpiresAt, now) {
			delete(s.clients, id)
		}
	}
	for k, p := range s.pending {
		if expired(p.ExpiresAt, now) {
			delete(s.pending, k)
		}
	}
	for h, c := range s.codes {
		if expired(c.grant.ExpiresAt.Add(UsedCodeRetention), now) {
			delete(s.codes, h)
		}
	}
	for k, t := range s.refresh {
		if expired(t.ExpiresAt, now) {
			s.dropRefresh(k, t.FamilyID)
		}
	}
	for k, r := range s.revocations {
		if expired(r.ExpiresAt, now) {
			delete(s.revocations, k)
		}
	}
	for h, d := range s.devices {
		if expired(d.ExpiresAt.Add(UsedCodeRetention), now) {
			s.dropDevice(h)
		}
	}
	for k, c := range s.upstream {
		if expired(c.ExpiresAt, now) {
			delete(s.upstream, k)
		}
	}
}

// MemoryStats counts the records a MemoryStore holds, expired ones not yet
// swept included.
type MemoryStats struct {
	Clients, Pending, Codes, RefreshTokens, Revocations, Keys, Devices, QuotaWindows int
	// Upstream counts the families' upstream credentials.
	Upstream int
}

// Stats counts the records the store holds now.
func (s *MemoryStore) Stats() MemoryStats {
	q := s.quotas.Len()
	s.mu.RLock()
	defer s.mu.RUnlock()
	return MemoryStats{
		Clients: len(s.clients), Pending: len(s.pending), Codes: len(s.codes), RefreshTokens: len(s.refresh),
		Revocations: len(s.revocations), Keys: len(s.keys), Devices: len(s.devices), QuotaWindows: q, Upstream: len(s.upstream),
	}
}

func errEmpty(op string) error {
	return fmt.Errorf("oauth: memory store: %s: empty key", op)
}

func errNoExpiry(op, key string) error {
	return fmt.Errorf("oauth: memory store: %s %q: ExpiresAt is required", op, key)
}

func notFound(op, key string) error {
	return fmt.Errorf("oauth: memory store: %s %q: %w", op, key, ErrNotFound)
}

// ---- ClientStore ----

func (s *MemoryStore) CreateClient(_ context.Context, c *Client) error {
	if c == nil || c.ID == "" {
		return errEmpty("create client")
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.clients[c.ID]; ok && !expired(old.ExpiresAt, now) {
		return fmt.Errorf("oauth: memory store: create client %q: %w", c.ID, ErrExists)
	}
	s.clients[c.ID] = c.Clone()
	return nil
}

func (s *MemoryStore) GetClient(_ context.Context, id string) (*Client, error) {
	now := s.now()
	s.mu.RLock()
	defer s.mu.RUnlock()
	c, ok := s.clients[id]
	if !ok || expired(c.ExpiresAt, now) {
		return nil, notFound("get client", id)
	}
	return c.Clone(), nil
}

func (s *MemoryStore) UpdateClient(_ context.Context, c *Client) error {
	if c == nil || c.ID == "" {
		return errEmpty("update client")
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.clients[c.ID]
	if !ok || expired(old.ExpiresAt, now) {
		return notFound("update client", c.ID)
	}
	s.clients[c.ID] = c.Clone()
	return nil
}

func (s *MemoryStore) DeleteClient(_ context.Context, id string) error {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.clients[id]
	if !ok || expired(old.ExpiresAt, now) {
		return notFound("delete client", id)
	}
	delete(s.clients, id)
	return nil
}

// ---- QuotaStore ----

func (s *MemoryStore) AllowAll(ctx context.Context, qs []Quota) (QuotaResult, error) {
	return s.quotas.AllowAll(ctx, qs)
}

// ---- PendingStore ----

func (s *MemoryStore) PutPending(_ context.Context, key string, p *PendingAuthorization) error {
	if key == "" || p == nil {
		return errEmpty("put pending")
	}
	if p.ExpiresAt.IsZero() {
		return errNoExpiry("put pending", key)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pending[strings.Clone(key)] = detachPending(p)
	return nil
}

// detachPending returns a copy of p that shares no memory with it. A
// string cut from a request (a query parameter is a substring of the
// request line) would otherwise keep the whole request, up to the server's
// header limit, alive as long as the record.
func detachPending(p *PendingAuthorization) *PendingAuthorization {
	d := p.Clone()
	for _, f := range []*string{&d.ClientID, &d.RedirectURI, &d.CodeChallenge, &d.Scope, &d.State, &d.CSRFToken,
		&d.Provider, &d.UpstreamState, &d.UpstreamVerifier, &d.UserCode} {
		*f = strings.Clone(*f)
	}
	d.Resources = cloneStrings(p.Resources)
	d.User = detachUser(p.User)
	return d
}

// detachDevice is detachPending for a device authorization.
func detachDevice(p *DeviceAuthorization) *DeviceAuthorization {
	d := p.Clone()
	d.ClientID, d.Scope = strings.Clone(p.ClientID), strings.Clone(p.Scope)
	d.Resources = cloneStrings(p.Resources)
	d.User = detachUser(p.User)
	return d
}

func detachUser(u *Identity) *Identity {
	if u == nil {
		return nil
	}
	d := u.Clone()
	d.Subject, d.Provider, d.Login, d.Name, d.Email = strings.Clone(u.Subject), strings.Clone(u.Provider), strings.Clone(u.Login), strings.Clone(u.Name), strings.Clone(u.Email)
	d.Groups = cloneStrings(u.Groups)
	d.Orgs = cloneStrings(u.Orgs)
	return &d
}

// cloneStrings copies a slice and its strings.
func cloneStrings(ss []string) []string {
	if ss == nil {
		return nil
	}
	out := make([]string, len(ss))
	for i, v := range ss {
		out[i] = strings.Clone(v)
	}
	return out
}

func (s *MemoryStore) GetPending(_ context.Context, key string) (*PendingAuthorization, error) {
	now := s.now()
	s.mu.RLock()
	defer s.mu.RUnlock()
	p, ok := s.pending[key]
	if !ok || expired(p.ExpiresAt, now) {
		return nil, notFound("get pending", key)
	}
	return p.Clone(), nil
}

func (s *MemoryStore) TakePending(_ context.Context, key string) (*PendingAuthorization, error) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.pending[key]
	if !ok {
		return nil, notFound("take pending", key)
	}
	delete(s.pending, key)
	if expired(p.ExpiresAt, now) {
		return nil, notFound("take pending", key)
	}
	return p, nil
}

// ---- CodeStore ----

func (s *MemoryStore) PutCode(_ context.Context, hash string, g *Grant) error {
	if hash == "" || g == nil {
		return errEmpty("put code")
	}
	if g.ExpiresAt.IsZero() {
		return errNoExpiry("put code", hash)
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.codes[hash]; ok && !expired(c.grant.ExpiresAt.Add(UsedCodeRetention), now) {
		return fmt.Errorf("oauth: memory store: put code %q: %w", hash, ErrExists)
	}
	s.codes[hash] = &memCode{grant: g.Clone()}
	return nil
}

func (s *MemoryStore) RedeemCode(_ context.Context, hash string) (*Grant, error) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.codes[hash]
	if !ok {
		return nil, notFound("redeem code", hash)
	}
	switch err := RedeemCodeStep(c.grant, c.used, now); {
	case errors.Is(err, ErrCodeUsed):
		return c.grant.Clone(), fmt.Errorf("oauth: memory store: redeem code %q: %w", hash, err)
	case err != nil:
		return nil, notFound("redeem code", hash)
	}
	c.used = true
	return c.grant.Clone(), nil
}

// ---- RefreshStore ----

func (s *MemoryStore) IssueRefresh(_ context.Context, hash string, t *RefreshToken) error {
	if hash == "" || t == nil || t.ClientID == "" || t.FamilyID == "" {
		return errEmpty("issue refresh")
	}
	if t.ExpiresAt.IsZero() {
		return errNoExpiry("issue refresh", hash)
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	k := refreshKey{t.ClientID, hash}
	if old, ok := s.refresh[k]; ok && !expired(old.ExpiresAt, now) {
		return fmt.Errorf("oauth: memory store: issue refresh %q: %w", hash, ErrExists)
	}
	if r, ok := s.revocations[RevocationKey{RevokedFamily, t.ClientID, t.FamilyID}]; ok && !expired(r.ExpiresAt, now) {
		return fmt.Errorf("oauth: memory store: issue refresh %q: family %q revoked: %w", hash, t.FamilyID, ErrConflict)
	}
	s.putRefresh(k, t.Clone())
	return nil
}

// putRefresh stores t and indexes it by family and client. s.mu is held.
func (s *MemoryStore) putRefresh(k refreshKey, t *RefreshToken) {
	s.refresh[k] = t
	fk := familyKey{k.client, t.FamilyID}
	if s.families[fk] == nil {
		s.families[fk] = make(map[string]bool)
	}
	s.families[fk][k.hash] = true
	if s.byClient[k.client] == nil {
		s.byClient[k.client] = make(map[string]bool)
	}
	s.byClient[k.client][t.FamilyID] = true
}

// dropRefresh removes one token and its index entries. s.mu is held.
func (s *MemoryStore) dropRefresh(k refreshKey, family string) {
	delete(s.refresh, k)
	fk := familyKey{k.client, family}
	delete(s.families[fk], k.hash)
	if len(s.families[fk]) == 0 {
		delete(s.families, fk)
		delete(s.byClient[k.client], family)
		if len(s.byClient[k.client]) == 0 {
			delete(s.byClient, k.client)
		}
	}
}

func (s *MemoryStore) GetRefresh(_ context.Context, clientID, hash string) (*RefreshToken, error) {
	now := s.now()
	s.mu.RLock()
	defer s.mu.RUnlock()
	t, ok := s.refresh[refreshKey{clientID, hash}]
	if !ok || expired(t.ExpiresAt, now) {
		return nil, notFound("get refresh", hash)
	}
	return t.Clone(), nil
}

func (s *MemoryStore) RotateRefresh(_ context.Context, r *Rotation) (*RotationResult, error) {
	if r == nil || r.New == nil || r.ClientID == "" || r.OldHash == "" || r.NewHash == "" {
		return nil, errEmpty("rotate refresh")
	}
	if r.New.ExpiresAt.IsZero() {
		return nil, errNoExpiry("rotate refresh", r.NewHash)
	}
	now := s.now()
	var published *Revocation
	defer func() {
		if published != nil {
			s.feed.Publish(*published)
		}
	}()
	s.mu.Lock()
	defer s.mu.Unlock()
	// The step updates the stored old token in place.
	res, err := RotateStep(r, now, func(hash string) (*RefreshToken, error) {
		return s.refresh[refreshKey{r.ClientID, hash}], nil
	})
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, notFound("rotate refresh", r.OldHash)
	case err != nil:
		return nil, fmt.Errorf("oauth: memory store: rotate refresh %q: %w", r.OldHash, err)
	}
	switch res.Outcome {
	case Rotated:
		s.putRefresh(refreshKey{r.ClientID, r.NewHash}, r.New.Clone())
	case Reuse:
		rev := s.revokeFamily(r.ClientID, res.Old.FamilyID, now, r.RevokeUntil)
		published = &rev
	}
	return res, nil
}

// revokeFamily deletes a family's tokens and records its revocation.
// s.mu is held. The caller publishes the returned revocation.
func (s *MemoryStore) revokeFamily(clientID, familyID string, now, until time.Time) Revocation {
	for h := range s.families[familyKey{clientID, familyID}] {
		s.dropRefresh(refreshKey{clientID, h}, familyID)
	}
	delete(s.upstream, familyKey{clientID, familyID})
	rev := Revocation{Kind: RevokedFamily, ClientID: clientID, ID: familyID, At: now, ExpiresAt: until}
	s.recordRevocation(rev)
	return rev
}

// recordRevocation keeps rev, or extends the record it repeats (the feed
// announces rev as requested). s.mu is held.
func (s *MemoryStore) recordRevocation(rev Revocation) {
	k := rev.Key()
	var prev *Revocation
	if old, ok := s.revocations[k]; ok {
		prev = &old
	}
	s.revocations[k] = RecordRevocationStep(prev, rev)
}

func (s *MemoryStore) RevokeFamily(_ context.Context, clientID, familyID string, until time.Time) error {
	if clientID == "" || familyID == "" {
		return errEmpty("revoke family")
	}
	now := s.now()
	s.mu.Lock()
	rev := s.revokeFamily(clientID, familyID, now, until)
	s.mu.Unlock()
	s.feed.Publish(rev)
	return nil
}

func (s *MemoryStore) RevokeClient(_ context.Context, clientID string, until time.Time) error {
	if clientID == "" {
		return errEmpty("revoke client")
	}
	now := s.now()
	s.mu.Lock()
	for fam := range s.byClient[clientID] {
		for h := range s.families[familyKey{clientID, fam}] {
			s.dropRefresh(refreshKey{clientID, h}, fam)
		}
	}
	for k := range s.upstream {
		if k.client == clientID {
			delete(s.upstream, k)
		}
	}
	rev := Revocation{Kind: RevokedClient, ClientID: clientID, At: now, ExpiresAt: until}
	s.recordRevocation(rev)
	s.mu.Unlock()
	s.feed.Publish(rev)
	return nil
}

// ---- RevocationStore ----

func (s *MemoryStore) RevokeToken(_ context.Context, clientID, jti string, exp time.Time) error {
	if clientID == "" || jti == "" {
		return errEmpty("revoke token")
	}
	rev := Revocation{Kind: RevokedToken, ClientID: clientID, ID: jti, At: s.now(), ExpiresAt: exp}
	s.mu.Lock()
	s.recordRevocation(rev)
	s.mu.Unlock()
	s.feed.Publish(rev)
	return nil
}

func (s *MemoryStore) IsRevoked(_ context.Context, t AccessTokenRef) (bool, error) {
	now := s.now()
	s.mu.RLock()
	defer s.mu.RUnlock()
	return IsRevokedStep(t, now, func(k RevocationKey) (*Revocation, error) {
		if r, ok := s.revocations[k]; ok {
			return &r, nil
		}
		return nil, nil
	})
}

func (s *MemoryStore) SubscribeRevocations(ctx context.Context) (<-chan Revocation, error) {
	return s.feed.Subscribe(ctx)
}

// ---- KeyStore ----

func (s *MemoryStore) ListKeys(_ context.Context) ([]*SigningKey, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.sortedKeys(), nil
}

// sortedKeys returns copies of the keys, newest first. s.mu is held.
func (s *MemoryStore) sortedKeys() []*SigningKey {
	keys := make([]*SigningKey, 0, len(s.keys))
	for _, k := range s.keys {
		keys = append(keys, k.Clone())
	}
	SortKeys(keys)
	return keys
}

func (s *MemoryStore) AddKey(_ context.Context, k *SigningKey, ifNewest string) error {
	if k == nil || k.ID == "" {
		return errEmpty("add key")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := AddKeyStep(slices.Collect(maps.Values(s.keys)), k, ifNewest); err != nil {
		return fmt.Errorf("oauth: memory store: add key %q: %w", k.ID, err)
	}
	s.keys[k.ID] = k.Clone()
	return nil
}

func (s *MemoryStore) DeleteKey(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.keys[id]; !ok {
		return notFound("delete key", id)
	}
	delete(s.keys, id)
	return nil
}

// ---- DeviceStore ----

func (s *MemoryStore) PutDevice(_ context.Context, deviceHash, userCode string, d *DeviceAuthorization) error {
	if deviceHash == "" || userCode == "" || d == nil {
		return errEmpty("put device")
	}
	if d.ExpiresAt.IsZero() {
		return errNoExpiry("put device", deviceHash)
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.devices[deviceHash]; ok && !expired(old.ExpiresAt.Add(UsedCodeRetention), now) {
		return fmt.Errorf("oauth: memory store: put device %q: %w", deviceHash, ErrExists)
	}
	if h, ok := s.userCodes[userCode]; ok {
		if old, ok := s.devices[h]; ok && !expired(old.ExpiresAt, now) {
			return fmt.Errorf("oauth: memory store: put device: user code: %w", ErrExists)
		}
	}
	c := detachDevice(PutDeviceStep(d))
	s.dropDevice(deviceHash) // an expired one's user code index
	deviceHash, userCode = strings.Clone(deviceHash), strings.Clone(userCode)
	s.devices[deviceHash] = c
	s.userCodes[userCode] = deviceHash
	s.deviceCodes[deviceHash] = userCode
	return nil
}

// liveDevice returns the unexpired device authorization of a user code.
// s.mu is held.
func (s *MemoryStore) liveDevice(userCode string, now time.Time) (*DeviceAuthorization, bool) {
	h, ok := s.userCodes[userCode]
	if !ok {
		return nil, false
	}
	d, ok := s.devices[h]
	if !ok || expired(d.ExpiresAt, now) {
		return nil, false
	}
	return d, true
}

func (s *MemoryStore) GetDevice(_ context.Context, userCode string) (*DeviceAuthorization, error) {
	now := s.now()
	s.mu.RLock()
	defer s.mu.RUnlock()
	d, ok := s.liveDevice(userCode, now)
	if !ok {
		return nil, notFound("get device", "user code")
	}
	return d.Clone(), nil
}

func (s *MemoryStore) ApproveDevice(_ context.Context, userCode string, u Identity, authTime time.Time, upstream []byte) error {
	return s.decideDevice(userCode, DeviceApproved, &u, authTime, upstream)
}

func (s *MemoryStore) DenyDevice(_ context.Context, userCode string) error {
	return s.decideDevice(userCode, DeviceDenied, nil, time.Time{}, nil)
}

func (s *MemoryStore) decideDevice(userCode string, status DeviceStatus, u *Identity, authTime time.Time, upstream []byte) error {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.liveDevice(userCode, now)
	if !ok {
		return notFound("decide device", "user code")
	}
	if err := DecideDeviceStep(d, status, u, authTime, upstream); err != nil {
		return fmt.Errorf("oauth: memory store: decide device: %w", err)
	}
	return nil
}

func (s *MemoryStore) PollDevice(_ context.Context, deviceHash string) (*DevicePoll, error) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.devices[deviceHash]
	if !ok || expired(d.ExpiresAt.Add(UsedCodeRetention), now) {
		return nil, notFound("poll device", deviceHash)
	}
	status := PollDeviceStep(d, now)
	out := &DevicePoll{Status: status, Interval: d.Interval, Device: d.Clone()}
	if status == DeviceApproved || status == DeviceDenied {
		s.dropDevice(deviceHash)
	}
	return out, nil
}

// dropDevice removes a device authorization and its user code. s.mu is held.
func (s *MemoryStore) dropDevice(deviceHash string) {
	delete(s.devices, deviceHash)
	if uc, ok := s.deviceCodes[deviceHash]; ok {
		delete(s.deviceCodes, deviceHash)
		if s.userCodes[uc] == deviceHash {
			delete(s.userCodes, uc)
		}
	}
}

// ---- UpstreamStore ----

func (s *MemoryStore) PutUpstream(_ context.Context, clientID, familyID string, c *UpstreamCredential) error {
	if clientID == "" || familyID == "" || c == nil {
		return errEmpty("put upstream")
	}
	if c.ExpiresAt.IsZero() {
		return errNoExpiry("put upstream", familyID)
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.revocations[RevocationKey{RevokedFamily, clientID, familyID}]; ok && !expired(r.ExpiresAt, now) {
		return fmt.Errorf("oauth: memory store: put upstream %q: the family is revoked: %w", familyID, ErrConflict)
	}
	d := c.Clone()
	d.Version = 1
	s.upstream[familyKey{strings.Clone(clientID), strings.Clone(familyID)}] = d
	return nil
}

func (s *MemoryStore) GetUpstream(_ context.Context, clientID, familyID string) (*UpstreamCredential, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c, ok := s.upstream[familyKey{clientID, familyID}]
	if !ok || expired(c.ExpiresAt, s.now()) {
		return nil, fmt.Errorf("oauth: memory store: get upstream %q: %w", familyID, ErrNotFound)
	}
	return c.Clone(), nil
}

func (s *MemoryStore) SwapUpstream(_ context.Context, clientID, familyID string, version int64, c *UpstreamCredential) error {
	if clientID == "" || familyID == "" || c == nil {
		return errEmpty("swap upstream")
	}
	if c.ExpiresAt.IsZero() {
		return errNoExpiry("swap upstream", familyID)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := familyKey{clientID, familyID}
	old, ok := s.upstream[k]
	if !ok || expired(old.ExpiresAt, s.now()) {
		return fmt.Errorf("oauth: memory store: swap upstream %q: %w", familyID, ErrNotFound)
	}
	if old.Version != version {
		return fmt.Errorf("oauth: memory store: swap upstream %q: version %d, not %d: %w", familyID, old.Version, version, ErrConflict)
	}
	d := c.Clone()
	d.Version = version + 1
	s.upstream[k] = d
	return nil
}

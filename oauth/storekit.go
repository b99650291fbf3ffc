package oauth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// The store kit: what every Store implementation shares. The contracts of
// the store interfaces decide, for each operation, what happens to the
// records (a rotation, a second redemption, a repeated revocation, a fast
// poll); the functions here make those decisions on records a backend has
// loaded, so that a backend only loads and saves records, atomically, and
// does not write the state machine again. MemoryStore, filestore and
// redisstore use them (redisstore makes the same decisions inside Redis,
// in Lua, where a round trip matters), and the storetest suite checks the
// outcome on every backend.
//
//   - RotateStep: RefreshStore.RotateRefresh.
//   - RedeemCodeStep: CodeStore.RedeemCode.
//   - RecordRevocationStep, IsRevokedStep, AccessTokenRef.RevocationKeys:
//     recording revocations and asking about them.
//   - PutDeviceStep, DecideDeviceStep, PollDeviceStep: the device flow.
//   - AddKeyStep, SortKeys: the signing keys' compare-and-set and order.
//   - RevocationFeed: SubscribeRevocations for a store without a message
//     bus of its own; LocalQuotas: a QuotaStore in the process's memory.
//
// Each step works on the records it is given (it may update them in place,
// as it says) and returns the contract's sentinel errors (ErrNotFound,
// ErrExists, ErrConflict, ErrCodeUsed), which the store wraps with its
// operation and key.

// expired reports whether a record with this expiry is gone at now. A zero
// expiry never passes.
func expired(exp, now time.Time) bool {
	return !exp.IsZero() && !now.Before(exp)
}

// ---- Refresh tokens ----

// RotateStep decides RefreshStore.RotateRefresh for r at now. get returns
// the token of r.ClientID stored under a hash, expired or not, or nil when
// there is none; RotateStep asks for r.OldHash, then for the hash of its
// successor or r.NewHash. The result's Outcome says what the store does
// next, in the same transaction:
//   - Rotated: RotateStep marked the old token rotated in place
//     (RotatedAt, Successor, GraceUntil, GraceBlob); the store saves it and
//     stores r.New under r.NewHash.
//   - Retry: nothing changes.
//   - Reuse: the store revokes the family as RevokeFamily does, until
//     r.RevokeUntil, and announces the revocation.
//
// The error is ErrNotFound (no live old token), ErrConflict (r.New is of
// another family or client) or ErrExists (a live token holds r.NewHash),
// or one of get's.
func RotateStep(r *Rotation, now time.Time, get func(hash string) (*RefreshToken, error)) (*RotationResult, error) {
	old, err := get(r.OldHash)
	if err != nil {
		return nil, err
	}
	if old == nil || expired(old.ExpiresAt, now) {
		return nil, ErrNotFound
	}
	if r.New.FamilyID != old.FamilyID || r.New.ClientID != old.ClientID {
		return nil, fmt.Errorf("successor of another family or client: %w", ErrConflict)
	}
	res := &RotationResult{Old: old.Clone()}
	if old.Successor == "" {
		taken, err := get(r.NewHash)
		if err != nil {
			return nil, err
		}
		if taken != nil && !expired(taken.ExpiresAt, now) {
			return nil, fmt.Errorf("successor %q: %w", r.NewHash, ErrExists)
		}
		old.RotatedAt = now
		old.Successor = r.NewHash
		old.GraceUntil = r.GraceUntil
		old.GraceBlob = bytes.Clone(r.GraceBlob)
		res.Outcome = Rotated
		return res, nil
	}
	succ, err := get(old.Successor)
	if err != nil {
		return nil, err
	}
	if now.Before(old.GraceUntil) && succ != nil && !expired(succ.ExpiresAt, now) && succ.Successor == "" {
		res.Outcome = Retry
		res.GraceBlob = bytes.Clone(old.GraceBlob)
		return res, nil
	}
	res.Outcome = Reuse
	return res, nil
}

// ---- Authorization codes ----

// RedeemCodeStep decides CodeStore.RedeemCode for the stored grant g of a
// code, used or not, at now: nil when the code may be redeemed now (the
// store marks it used and keeps the mark until g.ExpiresAt plus
// UsedCodeRetention), ErrCodeUsed when it was redeemed before and the mark
// is still kept (the store returns g with the error), ErrNotFound
// otherwise (no grant, expired, or an old mark).
func RedeemCodeStep(g *Grant, used bool, now time.Time) error {
	switch {
	case g == nil:
		return ErrNotFound
	case used && !expired(g.ExpiresAt.Add(UsedCodeRetention), now):
		return ErrCodeUsed
	case used || expired(g.ExpiresAt, now):
		return ErrNotFound
	}
	return nil
}

// ---- Access-token revocation ----

// RevocationKey is where a store keeps one revocation: a repeated
// revocation has the same key, and replaces the record (see
// RecordRevocationStep).
type RevocationKey struct {
	Kind     RevocationKind
	ClientID string
	// ID is the jti or the family id; empty for a client revocation.
	ID string
}

// Key is where r is kept.
func (r Revocation) Key() RevocationKey {
	k := RevocationKey{Kind: r.Kind, ClientID: r.ClientID, ID: r.ID}
	if r.Kind == RevokedClient {
		k.ID = ""
	}
	return k
}

// RevocationKeys are the keys of the revocations that may cover t: its
// token's, its family's (when it names one) and its client's.
func (t AccessTokenRef) RevocationKeys() []RevocationKey {
	keys := make([]RevocationKey, 0, 3)
	if t.JTI != "" {
		keys = append(keys, RevocationKey{RevokedToken, t.ClientID, t.JTI})
	}
	if t.FamilyID != "" {
		keys = append(keys, RevocationKey{RevokedFamily, t.ClientID, t.FamilyID})
	}
	return append(keys, RevocationKey{RevokedClient, t.ClientID, ""})
}

// RecordRevocationStep is the record to keep when rev is recorded where
// prev is (nil: nothing is): rev, with the later of the two expiry times (a
// zero one never expires), so that recording again never shortens a
// revocation. The feed announces rev as it was asked for.
func RecordRevocationStep(prev *Revocation, rev Revocation) Revocation {
	if prev != nil && (prev.ExpiresAt.IsZero() || !rev.ExpiresAt.IsZero() && prev.ExpiresAt.After(rev.ExpiresAt)) {
		rev.ExpiresAt = prev.ExpiresAt
	}
	return rev
}

// IsRevokedStep answers RevocationStore.IsRevoked at now from the
// revocations get returns (nil for none, expired or not) under t's
// RevocationKeys.
func IsRevokedStep(t AccessTokenRef, now time.Time, get func(RevocationKey) (*Revocation, error)) (bool, error) {
	for _, k := range t.RevocationKeys() {
		r, err := get(k)
		if err != nil {
			return false, err
		}
		if r != nil && !expired(r.ExpiresAt, now) && r.Covers(t) {
			return true, nil
		}
	}
	return false, nil
}

// ---- Device authorization ----

// PutDeviceStep is the record DeviceStore.PutDevice stores for d: a copy,
// pending, without what the store sets later (the last poll, the user, the
// login time and the upstream credential).
func PutDeviceStep(d *DeviceAuthorization) *DeviceAuthorization {
	c := d.Clone()
	c.Status = DevicePending
	c.LastPoll = time.Time{}
	c.User = nil
	c.AuthTime = time.Time{}
	c.Upstream = nil
	return c
}

// DecideDeviceStep records the user's decision on the live device
// authorization d in place: status (DeviceApproved or DeviceDenied), and
// for an approval the user, their login time and the sealed upstream
// credential. ErrConflict when d was decided before.
func DecideDeviceStep(d *DeviceAuthorization, status DeviceStatus, u *Identity, authTime time.Time, upstream []byte) error {
	if d.Status != DevicePending {
		return fmt.Errorf("already %s: %w", d.Status, ErrConflict)
	}
	d.Status = status
	d.User = cloneIdentity(u)
	d.AuthTime = authTime
	d.Upstream = bytes.Clone(upstream)
	return nil
}

// PollDeviceStep applies one poll at now to d, as DeviceStore.PollDevice
// specifies, and returns the answer: it updates d.LastPoll and d.Interval.
// The store saves d, or consumes it when the answer is DeviceApproved or
// DeviceDenied. A d expired for longer than UsedCodeRetention is the
// store's ErrNotFound, before this step.
func PollDeviceStep(d *DeviceAuthorization, now time.Time) DeviceStatus {
	if expired(d.ExpiresAt, now) {
		return DeviceExpired
	}
	switch d.Status {
	case DeviceApproved, DeviceDenied:
		d.LastPoll = now
		return d.Status
	}
	defer func() { d.LastPoll = now }()
	if !d.LastPoll.IsZero() && now.Sub(d.LastPoll) < d.Interval {
		d.Interval += SlowDownStep
		return DeviceSlowDown
	}
	return DevicePending
}

// ---- Signing keys ----

// AddKeyStep decides KeyStore.AddKey of k on the keys a store holds, in
// any order: nil when k may be added, ErrExists when its ID is taken,
// ErrConflict when the newest key is not ifNewest.
func AddKeyStep(keys []*SigningKey, k *SigningKey, ifNewest string) error {
	var newest *SigningKey
	for _, have := range keys {
		if have.ID == k.ID {
			return ErrExists
		}
		if newest == nil || newestFirst(have, newest) < 0 {
			newest = have
		}
	}
	id := ""
	if newest != nil {
		id = newest.ID
	}
	if id != ifNewest {
		return fmt.Errorf("newest key is %q, not %q: %w", id, ifNewest, ErrConflict)
	}
	return nil
}

// SortKeys orders keys newest first, as ListKeys returns them.
func SortKeys(keys []*SigningKey) { slices.SortStableFunc(keys, newestFirst) }

// newestFirst orders keys by CreatedAt, then ID, both descending.
func newestFirst(a, b *SigningKey) int {
	if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
		return c
	}
	return strings.Compare(b.ID, a.ID)
}

// ---- The revocation feed ----

// RevocationFeed fans revocations out to in-process subscribers. Store
// implementations without a shared message bus use it to implement
// RevocationStore.SubscribeRevocations. Publish never blocks: each
// subscriber has its own queue; one that falls more than 1024 events
// behind gets a single RevocationReset instead of the events it missed.
type RevocationFeed struct {
	mu     sync.Mutex
	subs   map[*feedSub]bool
	closed chan struct{}
	wg     sync.WaitGroup
}

// maxFeedQueue is how many events a subscriber may lag behind.
const maxFeedQueue = 1024

type feedSub struct {
	mu    sync.Mutex
	queue []Revocation
	wake  chan struct{}
}

// NewRevocationFeed returns a feed with no subscribers.
func NewRevocationFeed() *RevocationFeed {
	return &RevocationFeed{subs: make(map[*feedSub]bool), closed: make(chan struct{})}
}

// errFeedClosed is returned by Subscribe after Close.
var errFeedClosed = errors.New("oauth: revocation feed closed")

// Subscribe returns a channel that receives every revocation published
// from now on, until ctx ends or the feed is closed; then it is closed.
func (f *RevocationFeed) Subscribe(ctx context.Context) (<-chan Revocation, error) {
	sub := &feedSub{wake: make(chan struct{}, 1)}
	f.mu.Lock()
	select {
	case <-f.closed:
		f.mu.Unlock()
		return nil, errFeedClosed
	default:
	}
	f.subs[sub] = true
	f.wg.Add(1)
	f.mu.Unlock()

	out := make(chan Revocation)
	go func() {
		defer f.wg.Done()
		defer close(out)
		defer func() {
			f.mu.Lock()
			delete(f.subs, sub)
			f.mu.Unlock()
		}()
		for {
			sub.mu.Lock()
			batch := sub.queue
			sub.queue = nil
			sub.mu.Unlock()
			for _, ev := range batch {
				select {
				case out <- ev:
				case <-ctx.Done():
					return
				case <-f.closed:
					return
				}
			}
			select {
			case <-sub.wake:
			case <-ctx.Done():
				return
			case <-f.closed:
				return
			}
		}
	}()
	return out, nil
}

// Publish sends rev to every subscriber.
func (f *RevocationFeed) Publish(rev Revocation) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for sub := range f.subs {
		sub.mu.Lock()
		if len(sub.queue) >= maxFeedQueue {
			sub.queue = append(sub.queue[:0], Revocation{Kind: RevocationReset, At: rev.At})
		} else {
			sub.queue = append(sub.queue, rev)
		}
		sub.mu.Unlock()
		select {
		case sub.wake <- struct{}{}:
		default:
		}
	}
}

// Close closes every subscriber's channel and waits for them to stop.
func (f *RevocationFeed) Close() {
	f.mu.Lock()
	select {
	case <-f.closed:
	default:
		close(f.closed)
	}
	f.mu.Unlock()
	f.wg.Wait()
}

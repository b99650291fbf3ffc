package oauth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Errors of the store contract. Match them with errors.Is.
var (
	// ErrNotFound: the record does not exist or has expired.
	ErrNotFound = errors.New("oauth: not found")
	// ErrExists: a record with this key already exists.
	ErrExists = errors.New("oauth: already exists")
	// ErrCodeUsed: the authorization code was redeemed before. RedeemCode
	// returns it together with the code's grant, so the server can revoke
	// what the first redemption produced.
	ErrCodeUsed = errors.New("oauth: authorization code already used")
	// ErrConflict: the record changed since the caller read it (a lost
	// compare-and-set), or a decision was already made.
	ErrConflict = errors.New("oauth: concurrent change")
)

// UsedCodeRetention is how long past its expiry a redeemed authorization
// code stays known as used, so a late replay still revokes its grant, and how
// long an expired device authorization is still answered with DeviceExpired.
const UsedCodeRetention = 10 * time.Minute

// Store is everything the authorization server keeps: the small
// interfaces below, grouped by concern, in one value passed to the server.
// Three implementations pass the shared contract suite in oauth/storetest:
// [NewMemoryStore] (one process, nothing survives a restart),
// oauth/filestore (one local file, the binaries' default) and
// oauth/redisstore (several replicas). Each also has a Close method.
//
// A new backend stores and loads records, atomically, and leaves the
// decisions of the contracts below (rotations, redemptions, repeated
// revocations, the device flow's polls, the keys' compare-and-set) to the
// store kit: RotateStep, RedeemCodeStep, RecordRevocationStep,
// IsRevokedStep, PutDeviceStep, DecideDeviceStep, PollDeviceStep,
// AddKeyStep and SortKeys, with RevocationFeed and LocalQuotas when it has
// no message bus or shared counters of its own. The contract suite then
// checks it like the others.
//
// Contracts that hold for every method:
//   - Secrets are never handed to a store: client secrets, registration
//     access tokens, authorization codes, refresh tokens and device codes
//     reach it as hashes (the server hashes them with SHA-256; the store only
//     keys by the string it is given).
//   - Times are absolute. A record whose ExpiresAt is not after the store's
//     clock is expired: it is never returned (ErrNotFound) and is removed
//     later (lazily, by a periodic sweep, or by a Redis TTL). A zero
//     ExpiresAt means the record does not expire, where a type allows that.
//   - "Atomic" means that concurrent calls, from any number of goroutines or
//     replicas, behave as if they ran one after another.
//   - Records passed in are copied; records returned belong to the caller.
//   - Absent or expired records give an error that matches [ErrNotFound]
//     with errors.Is; other failures are wrapped with the operation and key.
type Store interface {
	ClientStore
	QuotaStore
	PendingStore
	CodeStore
	RefreshStore
	RevocationStore
	KeyStore
	DeviceStore
	UpstreamStore
}

// ---- Clients (RFC 7591, RFC 7592) -----------------------------------------

// ClientStore keeps registered clients.
type ClientStore interface {
	// CreateClient stores a new client. It fails with ErrExists when a live
	// client has the same ID.
	CreateClient(ctx context.Context, c *Client) error
	// GetClient returns the client, or ErrNotFound when it is absent or
	// its ExpiresAt has passed.
	GetClient(ctx context.Context, id string) (*Client, error)
	// UpdateClient replaces the stored client with the same ID as c (RFC
	// 7592 PUT); ErrNotFound when there is none. The caller decides what
	// carries over (issued-at, secret hash).
	UpdateClient(ctx context.Context, c *Client) error
	// DeleteClient removes the client; ErrNotFound when there is none. It
	// does not revoke tokens: call RevokeClient for that.
	DeleteClient(ctx context.Context, id string) error
}

// Client is a registered client.
type Client struct {
	// ID is the client_id.
	ID string `json:"id"`
	// SecretHash is the hash of the client secret; empty for a public client.
	SecretHash string `json:"secret_hash,omitempty"`
	// RegistrationTokenHash is the hash of the RFC 7592 registration access
	// token; empty when the client cannot be managed.
	RegistrationTokenHash string `json:"registration_token_hash,omitempty"`
	// Metadata is what the client registered, unknown fields included.
	Metadata ClientMetadata `json:"metadata"`
	// IssuedAt is client_id_issued_at.
	IssuedAt time.Time `json:"issued_at"`
	// SecretExpiresAt is client_secret_expires_at. Zero: never.
	SecretExpiresAt time.Time `json:"secret_expires_at,omitzero"`
	// ExpiresAt is when the registration itself ends and the record
	// disappears. Zero: never.
	ExpiresAt time.Time `json:"expires_at,omitzero"`
}

// Clone returns a deep copy of c.
func (c *Client) Clone() *Client {
	if c == nil {
		return nil
	}
	d := *c
	d.Metadata = c.Metadata.Clone()
	return &d
}

// ---- Quotas ---------------------------------------------------------------

// QuotaStore counts events per key in fixed windows, shared by every
// replica: the server's per-address quotas and global caps on what
// unauthenticated requests may create use it (see Limits).
//
// A window starts at the first event counted for its key and lasts the
// given window; then the count starts again. A store may keep a key only
// as long as its window (a Redis TTL, a sweep): counters are not a growth
// vector of their own.
type QuotaStore interface {
	// AllowAll counts one event in every quota of qs if, and only if, each
	// of them has room for it (fewer than Limit events in its current
	// window): all or nothing, atomically, across replicas. A refused event
	// is counted nowhere and creates no key, so the keys a store holds are
	// bounded by the events it allowed. A quota with a Limit below 1 refuses
	// every event. An empty qs allows the event.
	AllowAll(ctx context.Context, qs []Quota) (QuotaResult, error)
}

// Quota is one fixed-window counter an event must fit into.
type Quota struct {
	Key    string
	Limit  int
	Window time.Duration // must be positive
}

// QuotaResult is AllowAll's answer.
type QuotaResult struct {
	// Allowed: the event was counted in every quota.
	Allowed bool
	// Refused is the index in qs of the first quota without room (when not
	// Allowed).
	Refused int
	// RetryAfter is how long until that quota's window ends (when not
	// Allowed; at least 1 ms).
	RetryAfter time.Duration
}

// ---- Pending authorizations ----------------------------------------------

// PendingStore keeps the state of an authorization request between
// /authorize, the consent page, the upstream identity provider and
// /callback. Keys are opaque to the store (a random value the server
// chose, or its hash).
type PendingStore interface {
	// PutPending stores p under key until p.ExpiresAt, replacing any
	// record with that key (so the server can add the user after login).
	PutPending(ctx context.Context, key string, p *PendingAuthorization) error
	// GetPending returns the record without consuming it.
	GetPending(ctx context.Context, key string) (*PendingAuthorization, error)
	// TakePending returns the record and deletes it, atomically: of
	// concurrent callers exactly one gets it, the others get ErrNotFound.
	TakePending(ctx context.Context, key string) (*PendingAuthorization, error)
}

// PendingAuthorization is a validated authorization request on its way
// through consent and login.
type PendingAuthorization struct {
	ClientID      string   `json:"client_id"`
	RedirectURI   string   `json:"redirect_uri"`
	CodeChallenge string   `json:"code_challenge"`
	Scope         string   `json:"scope,omitempty"`
	Resources     []string `json:"resources,omitempty"`
	// State is the client's state parameter, returned to it unchanged.
	State string `json:"state,omitempty"`
	// CSRFToken guards the consent form.
	CSRFToken string `json:"csrf_token,omitempty"`
	// Provider names the upstream identity provider; UpstreamState and
	// UpstreamVerifier are what the server sent to it (state, PKCE).
	Provider         string `json:"provider,omitempty"`
	UpstreamState    string `json:"upstream_state,omitempty"`
	UpstreamVerifier string `json:"upstream_verifier,omitempty"`
	// User is set once the user logged in; AuthTime is when.
	User     *Identity `json:"user,omitempty"`
	AuthTime time.Time `json:"auth_time,omitzero"`
	// UserCode is set when the request approves a device authorization
	// (RFC 8628) rather than issuing a code.
	UserCode string `json:"user_code,omitempty"`

	CreatedAt time.Time `json:"created_at"`
	// ExpiresAt is required: a pending authorization always expires.
	ExpiresAt time.Time `json:"expires_at"`
}

// Clone returns a deep copy of p.
func (p *PendingAuthorization) Clone() *PendingAuthorization {
	if p == nil {
		return nil
	}
	d := *p
	d.Resources = slices.Clone(p.Resources)
	d.User = cloneIdentity(p.User)
	return &d
}

// ---- Authorization codes --------------------------------------------------

// CodeStore keeps authorization codes, by hash.
type CodeStore interface {
	// PutCode stores a new code until g.ExpiresAt. ErrExists when the hash
	// is already known (used or not).
	PutCode(ctx context.Context, hash string, g *Grant) error
	// RedeemCode uses the code, atomically and at most once. The first
	// caller gets the grant. Every later caller gets the grant too, with an
	// error matching ErrCodeUsed, until UsedCodeRetention after the code's
	// expiry. An unknown code, or one that expired unused, gives ErrNotFound.
	RedeemCode(ctx context.Context, hash string) (*Grant, error)
}

// Grant is what an authorization code stands for.
type Grant struct {
	ClientID      string    `json:"client_id"`
	RedirectURI   string    `json:"redirect_uri"`
	CodeChallenge string    `json:"code_challenge"`
	Scope         string    `json:"scope,omitempty"`
	Resources     []string  `json:"resources,omitempty"`
	User          Identity  `json:"user"`
	AuthTime      time.Time `json:"auth_time,omitzero"`
	// FamilyID names the token family the code starts: its refresh tokens
	// and (as a claim) its access tokens, so a replay can revoke them all.
	FamilyID string `json:"family_id"`
	// Upstream is the identity provider's credential for the user (see
	// IdentityProvider), sealed under a key derived from the code: the
	// store alone cannot read it. Empty when the provider gave none.
	Upstream  []byte    `json:"upstream,omitempty"`
	IssuedAt  time.Time `json:"issued_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

// Clone returns a deep copy of g.
func (g *Grant) Clone() *Grant {
	if g == nil {
		return nil
	}
	d := *g
	d.Resources = slices.Clone(g.Resources)
	d.User = g.User.Clone()
	d.Upstream = bytes.Clone(g.Upstream)
	return &d
}

// ---- Refresh tokens -------------------------------------------------------

// RefreshStore keeps refresh tokens, by client and hash, grouped into
// families: the tokens that descend by rotation from one authorization.
// A token is bound to its client: looked up with another client id it does
// not exist.
type RefreshStore interface {
	// IssueRefresh stores the first token of a new family (after a code or
	// device grant). ErrExists when the hash is known; ErrConflict when
	// the family is recorded as revoked (a replayed code revoked it while
	// the first redemption was still minting its tokens).
	IssueRefresh(ctx context.Context, hash string, t *RefreshToken) error
	// GetRefresh returns the token of this client, rotated or not (a
	// rotated one has Successor set); ErrNotFound when absent, expired,
	// revoked or another client's.
	GetRefresh(ctx context.Context, clientID, hash string) (*RefreshToken, error)
	// RotateRefresh replaces a refresh token by its successor, atomically;
	// see Rotation for the outcomes. ErrNotFound when the old token is
	// absent, expired, revoked or another client's.
	RotateRefresh(ctx context.Context, r *Rotation) (*RotationResult, error)
	// RevokeFamily deletes every refresh token of the family and its
	// upstream credential (UpstreamStore), and records the family as
	// revoked (so its access tokens are revoked, see RevocationStore) until
	// the given time, which should be when the family's last access token
	// expires. Revoking an unknown family still records it; it is not an
	// error. A reuse found by RotateRefresh revokes the same way.
	RevokeFamily(ctx context.Context, clientID, familyID string, until time.Time) error
	// RevokeClient revokes every family of the client as RevokeFamily
	// does (upstream credentials of families without refresh tokens
	// included), and records that every access token of the client issued
	// up to now is revoked, until the given time.
	RevokeClient(ctx context.Context, clientID string, until time.Time) error
}

// RefreshToken is a stored refresh token.
type RefreshToken struct {
	FamilyID  string   `json:"family_id"`
	ClientID  string   `json:"client_id"`
	User      Identity `json:"user"`
	Scope     string   `json:"scope,omitempty"`
	Resources []string `json:"resources,omitempty"`
	// AuthTime is when the user logged in: the start of the family, which
	// bounds its absolute lifetime.
	AuthTime time.Time `json:"auth_time,omitzero"`
	// Upstream is the identity provider's credential for the user (see
	// IdentityProvider), sealed under a key derived from this refresh
	// token: the store alone cannot read it. Empty when there is none.
	Upstream []byte    `json:"upstream,omitempty"`
	IssuedAt time.Time `json:"issued_at"`
	// ExpiresAt is required. Whether a rotation keeps the family's expiry
	// or extends it is the server's choice: it sets the successor's.
	ExpiresAt time.Time `json:"expires_at"`

	// Set by the store when the token is rotated.
	RotatedAt  time.Time `json:"rotated_at,omitzero"`
	Successor  string    `json:"successor,omitempty"` // hash of the successor
	GraceUntil time.Time `json:"grace_until,omitzero"`
	GraceBlob  []byte    `json:"grace_blob,omitempty"`
}

// Clone returns a deep copy of t.
func (t *RefreshToken) Clone() *RefreshToken {
	if t == nil {
		return nil
	}
	d := *t
	d.Resources = slices.Clone(t.Resources)
	d.User = t.User.Clone()
	d.Upstream = bytes.Clone(t.Upstream)
	d.GraceBlob = bytes.Clone(t.GraceBlob)
	return &d
}

// Rotation asks RefreshStore.RotateRefresh to replace the token OldHash of
// ClientID by New (stored under NewHash). The store decides atomically, by
// the old token's state:
//   - active, never rotated: it is marked rotated (Successor = NewHash,
//     GraceUntil, GraceBlob) and New is stored. Outcome Rotated.
//   - rotated, the grace not over and the successor never rotated itself:
//     nothing changes; Outcome Retry with the stored GraceBlob (the server
//     keeps the pair it sent encrypted under a key derived from the old
//     token, so the store never holds a usable token).
//   - rotated, and the grace is over or the successor was rotated (using
//     the successor ends the grace at once) or is gone: the whole family is
//     revoked as by RevokeFamily(ClientID, family, RevokeUntil). Outcome
//     Reuse.
type Rotation struct {
	ClientID string
	OldHash  string
	NewHash  string
	// New is the successor; its FamilyID and ClientID must be the old
	// token's (ErrConflict otherwise).
	New *RefreshToken
	// GraceBlob is kept with the old token for a retry until GraceUntil.
	// A zero GraceUntil: no grace, any second use is a reuse.
	GraceBlob  []byte
	GraceUntil time.Time
	// RevokeUntil is how long the family stays recorded as revoked when a
	// reuse is detected: when the family's last access token expires.
	RevokeUntil time.Time
}

// RotateOutcome is how RotateRefresh decided.
type RotateOutcome int

const (
	// Rotated: the successor is stored; send it.
	Rotated RotateOutcome = iota + 1
	// Retry: the old token was rotated moments ago; send the pair in
	// RotationResult.GraceBlob again.
	Retry
	// Reuse: a rotated token came back; the family is revoked.
	Reuse
)

func (o RotateOutcome) String() string {
	switch o {
	case Rotated:
		return "rotated"
	case Retry:
		return "retry"
	case Reuse:
		return "reuse"
	}
	return fmt.Sprintf("RotateOutcome(%d)", int(o))
}

// RotationResult is RotateRefresh's answer.
type RotationResult struct {
	Outcome RotateOutcome
	// Old is the old token as it was before the call.
	Old *RefreshToken
	// GraceBlob is the blob stored by the first rotation (Outcome Retry).
	GraceBlob []byte
}

// ---- Access-token revocation ----------------------------------------------

// RevocationStore records revoked access tokens. Access tokens are JWTs
// verified locally; a verifier asks IsRevoked, or better keeps a cache fed
// by SubscribeRevocations, so that a revocation reaches every replica
// within a second without a store round trip per request.
//
// A revocation covers one token (by jti), a token family (every access
// token whose family claim names it) or a client (every access token of the
// client issued at or before the revocation). The server therefore puts the
// family id into the access tokens it mints. RefreshStore.RevokeFamily and
// RevokeClient record family and client revocations; they are announced on
// the feed like RevokeToken's.
type RevocationStore interface {
	// RevokeToken records that the access token jti of the client is
	// revoked until exp (its expiry), and announces it.
	RevokeToken(ctx context.Context, clientID, jti string, exp time.Time) error
	// IsRevoked reports whether any live revocation covers the token.
	IsRevoked(ctx context.Context, t AccessTokenRef) (bool, error)
	// SubscribeRevocations returns a feed of the revocations recorded from
	// now on, by any replica, in order per replica, until ctx ends or the
	// store is closed (then the channel is closed). When the feed may have
	// lost events (a reconnection, a subscriber too slow to keep up), it
	// sends a RevocationReset event: a verifier then forgets the verdicts it
	// cached.
	SubscribeRevocations(ctx context.Context) (<-chan Revocation, error)
}

// AccessTokenRef names an access token for revocation checks: its claims
// client_id, family id, jti and iat.
type AccessTokenRef struct {
	ClientID string
	FamilyID string
	JTI      string
	IssuedAt time.Time
}

// RevocationKind says what a Revocation covers.
type RevocationKind string

const (
	// RevokedToken covers the access token whose jti is ID.
	RevokedToken RevocationKind = "token"
	// RevokedFamily covers every access token of the family ID.
	RevokedFamily RevocationKind = "family"
	// RevokedClient covers every access token of ClientID issued at or
	// before At (compared in whole seconds, as JWT iat is).
	RevokedClient RevocationKind = "client"
	// RevocationReset is no revocation: the feed may have lost events.
	RevocationReset RevocationKind = "reset"
)

// Revocation is one recorded revocation, as announced on the feed: as its
// caller asked for it. Recording the same revocation again keeps the later
// of the two expiry times (and the later At).
type Revocation struct {
	Kind     RevocationKind `json:"kind"`
	ClientID string         `json:"client_id,omitempty"`
	// ID is the jti (RevokedToken) or the family id (RevokedFamily).
	ID string `json:"id,omitempty"`
	// At is when it was recorded.
	At time.Time `json:"at"`
	// ExpiresAt is when no token it covers can still be alive; the record
	// is forgotten then.
	ExpiresAt time.Time `json:"expires_at"`
}

// Covers reports whether r revokes the token t. It ignores r's expiry.
func (r Revocation) Covers(t AccessTokenRef) bool {
	if r.ClientID != t.ClientID {
		return false
	}
	switch r.Kind {
	case RevokedToken:
		return r.ID != "" && r.ID == t.JTI
	case RevokedFamily:
		return r.ID != "" && r.ID == t.FamilyID
	case RevokedClient:
		return t.IssuedAt.Unix() <= r.At.Unix()
	}
	return false
}

// ---- Signing keys ---------------------------------------------------------

// KeyStore keeps the token signing keys, so a restart and every replica use
// the same ones.
type KeyStore interface {
	// ListKeys returns every key, newest (by CreatedAt, then ID) first.
	// An empty store gives an empty list and no error.
	ListKeys(ctx context.Context) ([]*SigningKey, error)
	// AddKey stores k only if the newest key's ID is still ifNewest ("" =
	// the store holds no key): a compare-and-set, so replicas that start or
	// rotate at the same time agree on one key. When another key came
	// first it fails with ErrConflict and the caller lists the keys again
	// and uses the newest; ErrExists when k.ID is taken.
	AddKey(ctx context.Context, k *SigningKey, ifNewest string) error
	// DeleteKey removes a key; ErrNotFound when there is none.
	DeleteKey(ctx context.Context, id string) error
}

// SigningKey is one token signing key.
type SigningKey struct {
	// ID is the JWK "kid".
	ID string `json:"kid"`
	// Algorithm is the JWS "alg", e.g. "RS256".
	Algorithm string `json:"alg"`
	// PrivateJWK is the private key as a JSON Web Key.
	PrivateJWK []byte    `json:"private_jwk"`
	CreatedAt  time.Time `json:"created_at"`
	// SignUntil is when the key stops signing. Zero: until a newer key
	// exists.
	SignUntil time.Time `json:"sign_until,omitzero"`
	// RetireAt is when it may leave the JWKS (its last token expired).
	// Zero: never. The store does not delete keys by itself.
	RetireAt time.Time `json:"retire_at,omitzero"`
}

// Clone returns a deep copy of k.
func (k *SigningKey) Clone() *SigningKey {
	if k == nil {
		return nil
	}
	d := *k
	d.PrivateJWK = bytes.Clone(k.PrivateJWK)
	return &d
}

// ---- Upstream credentials ---------------------------------------------------

// UpstreamStore keeps, per token family, the user's credential at the
// identity provider (their upstream access and refresh tokens), for
// services that act as the user (Options.UpstreamKeys). The store only ever
// gets it sealed under keys it does not hold; it keeps the blob and a
// version for compare-and-set, so that replicas renewing the same upstream
// token take turns (Lease). RefreshStore.RevokeFamily and RevokeClient
// delete a family's credential.
type UpstreamStore interface {
	// PutUpstream stores the credential of a family (of the client) until
	// c.ExpiresAt, replacing any; the stored Version is 1. ErrConflict when
	// the family is recorded as revoked.
	PutUpstream(ctx context.Context, clientID, familyID string, c *UpstreamCredential) error
	// GetUpstream returns the family's credential; ErrNotFound when there
	// is none, it expired, or the family was revoked.
	GetUpstream(ctx context.Context, clientID, familyID string) (*UpstreamCredential, error)
	// SwapUpstream replaces the family's credential by c if its Version is
	// still version, atomically; the stored Version is then version+1.
	// ErrConflict when the version changed (another caller swapped
	// first), ErrNotFound when there is no live credential.
	SwapUpstream(ctx context.Context, clientID, familyID string, version int64, c *UpstreamCredential) error
}

// UpstreamCredential is a family's sealed upstream credential.
type UpstreamCredential struct {
	// Sealed is the credential, encrypted by the server.
	Sealed []byte `json:"sealed"`
	// Version counts the changes; set by the store.
	Version int64 `json:"version"`
	// LeaseUntil, when in the future, says that a caller is renewing the
	// upstream token; others wait for its result rather than renewing the
	// same (single-use) refresh token too.
	LeaseUntil time.Time `json:"lease_until,omitzero"`
	UpdatedAt  time.Time `json:"updated_at"`
	// ExpiresAt is required: when the family ends.
	ExpiresAt time.Time `json:"expires_at"`
}

// Clone returns a deep copy of c.
func (c *UpstreamCredential) Clone() *UpstreamCredential {
	if c == nil {
		return nil
	}
	d := *c
	d.Sealed = bytes.Clone(c.Sealed)
	return &d
}

// ---- Device authorization (RFC 8628) --------------------------------------

// DeviceStore keeps device authorizations, by device-code hash and by user
// code (which the server may also hash).
type DeviceStore interface {
	// PutDevice stores a new, pending device authorization until
	// d.ExpiresAt. ErrExists when the device code or the user code is in
	// use by a live authorization.
	PutDevice(ctx context.Context, deviceHash, userCode string, d *DeviceAuthorization) error
	// GetDevice returns the authorization of a user code, for the
	// verification page.
	GetDevice(ctx context.Context, userCode string) (*DeviceAuthorization, error)
	// ApproveDevice records the user's approval (the user, when they
	// logged in, and the sealed upstream credential, see
	// DeviceAuthorization.Upstream), atomically: ErrNotFound when the user
	// code is unknown or expired, ErrConflict when it was approved or denied
	// before.
	ApproveDevice(ctx context.Context, userCode string, u Identity, authTime time.Time, upstream []byte) error
	// DenyDevice records the user's refusal, like ApproveDevice.
	DenyDevice(ctx context.Context, userCode string) error
	// PollDevice answers the device's token request, atomically:
	//   - approved: DeviceApproved with the authorization; it is consumed
	//     (a later poll gets ErrNotFound).
	//   - denied: DeviceDenied; consumed.
	//   - pending, polled sooner than Interval after the previous poll:
	//     DeviceSlowDown, and Interval grows by 5 seconds from now on.
	//   - pending otherwise: DevicePending.
	//   - expired, up to UsedCodeRetention ago: DeviceExpired.
	// ErrNotFound for an unknown device code.
	PollDevice(ctx context.Context, deviceHash string) (*DevicePoll, error)
}

// DeviceStatus is the state of a device authorization, or a poll's answer.
type DeviceStatus string

const (
	DevicePending  DeviceStatus = "pending"
	DeviceSlowDown DeviceStatus = "slow_down"
	DeviceApproved DeviceStatus = "approved"
	DeviceDenied   DeviceStatus = "denied"
	DeviceExpired  DeviceStatus = "expired"
)

// SlowDownStep is how much a slow_down answer adds to a device's polling
// interval (RFC 8628 §3.5).
const SlowDownStep = 5 * time.Second

// DeviceAuthorization is a device authorization request (RFC 8628).
type DeviceAuthorization struct {
	ClientID  string   `json:"client_id"`
	Scope     string   `json:"scope,omitempty"`
	Resources []string `json:"resources,omitempty"`
	// Interval is the minimum time between polls.
	Interval time.Duration `json:"interval"`
	// Set by the store.
	Status   DeviceStatus `json:"status"`
	LastPoll time.Time    `json:"last_poll,omitzero"`
	// UpstreamKey is a public key (X25519) whose private half derives from
	// the device code: the upstream credential of the approving user is
	// sealed to it, so only the device's poll can open it.
	UpstreamKey []byte `json:"upstream_key,omitempty"`
	// User, AuthTime and Upstream (the sealed credential) are set by
	// ApproveDevice.
	User      *Identity `json:"user,omitempty"`
	AuthTime  time.Time `json:"auth_time,omitzero"`
	Upstream  []byte    `json:"upstream,omitempty"`
	IssuedAt  time.Time `json:"issued_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

// Clone returns a deep copy of d.
func (d *DeviceAuthorization) Clone() *DeviceAuthorization {
	if d == nil {
		return nil
	}
	c := *d
	c.Resources = slices.Clone(d.Resources)
	c.User = cloneIdentity(d.User)
	c.UpstreamKey = bytes.Clone(d.UpstreamKey)
	c.Upstream = bytes.Clone(d.Upstream)
	return &c
}

// DevicePoll is PollDevice's answer.
type DevicePoll struct {
	Status DeviceStatus
	// Interval is the polling interval from now on.
	Interval time.Duration
	// Device is the authorization as it is after the poll (always set).
	Device *DeviceAuthorization
}

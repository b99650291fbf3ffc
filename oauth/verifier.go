package oauth

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/mcp-oauth-gateway/gateway/caller"
)

// Token verification for resource servers: local, with no store round trip
// per request in steady state. The package documentation describes what is
// checked and how revocations reach the verifier (the local revocation
// set, the feed's reset events, RevocationRecheck).

// Defaults of VerifierOptions fields.
const (
	DefaultLeeway            = 30 * time.Second
	DefaultTokenCacheSize    = 10000
	DefaultRevocationRecheck = time.Minute
	// maxTokenBytes bounds the access tokens the verifier looks at.
	maxTokenBytes = 16 << 10
)

// Errors of token verification, besides those of VerifyAccessToken
// (ErrTokenMalformed, ErrTokenSignature, ErrTokenExpired, ErrTokenIssuer,
// ErrTokenRevoked).
var (
	ErrTokenNotYetValid = errors.New("oauth: access token not yet valid")
	ErrTokenAudience    = errors.New("oauth: access token not issued for this resource")
	// ErrRevocationUnavailable: the revocation store did not answer; the
	// token is refused for now (a 503).
	ErrRevocationUnavailable = errors.New("oauth: revocation status unavailable")
)

// VerifierOptions configure a Verifier. A nil *VerifierOptions means all
// defaults.
type VerifierOptions struct {
	// Revocations is where revocations are recorded: the authorization
	// server's store, or a store sharing it (oauth/redisstore on the same
	// Redis). The verifier subscribes to its feed until Close. Zero: no
	// revocation checks; a token stays valid until it expires.
	Revocations RevocationStore
	// Leeway is the clock skew allowed on exp, nbf and iat. Zero: 30
	// seconds.
	Leeway time.Duration
	// CacheSize is how many verified tokens are remembered. Zero: 10000.
	// Negative: none (every request verifies the signature).
	CacheSize int
	// RevocationRecheck is the longest time the store's "not revoked"
	// answer for a token is trusted, even while the feed is healthy.
	// Zero: one minute.
	RevocationRecheck time.Duration
	// Logger receives the verifier's logs. Zero: slog.Default().
	Logger *slog.Logger
	// Now is the clock. Zero: time.Now.
	Now func() time.Time
	// Observe receives a StepResource Event for every request a
	// ProtectedResource or ForwardAuth using this verifier decides on, and
	// a StepResourceMetadata Event for every fetch of a ProtectedResource's
	// metadata. Zero: none.
	Observe Observer
}

// Verifier checks access tokens of one issuer locally (see the package
// documentation for what it checks and how revocation reaches it). It
// does not check the audience: a ProtectedResource or ForwardAuth does,
// per resource. It is safe for concurrent use; Close stops its revocation
// feed.
type Verifier struct {
	issuer  string
	keys    KeySource
	revs    RevocationStore
	leeway  time.Duration
	recheck time.Duration
	log     *slog.Logger
	now     func() time.Time
	observe Observer // nil: none

	cache   *tokenCache // nil: no cache
	bufs    sync.Pool   // *[]byte scratch for hashing tokens
	revoked revocationSet
	// gen changes whenever cached store answers must not be trusted any
	// more (feed reset or re-established).
	gen    atomic.Uint64
	feedUp atomic.Bool

	cancel    context.CancelFunc
	done      chan struct{}
	closeOnce sync.Once
}

// NewVerifier returns a Verifier for the access tokens of issuer (exactly
// as their iss claim carries it), with keys from keys: the authorization
// server itself in the same process, or a JWKS fetched from it.
func NewVerifier(issuer string, keys KeySource, opts *VerifierOptions) (*Verifier, error) {
	if opts == nil {
		opts = &VerifierOptions{}
	}
	u, err := parseIssuer(issuer, true)
	if err != nil {
		return nil, err
	}
	if keys == nil {
		return nil, errors.New("oauth: NewVerifier needs a key source")
	}
	v := &Verifier{
		issuer:  u.String(),
		keys:    keys,
		revs:    opts.Revocations,
		leeway:  cmpOr(opts.Leeway, DefaultLeeway),
		recheck: cmpOr(opts.RevocationRecheck, DefaultRevocationRecheck),
		log:     opts.Logger,
		now:     opts.Now,
		observe: opts.Observe,
		done:    make(chan struct{}),
	}
	if v.leeway < 0 || v.recheck < 0 {
		return nil, errors.New("oauth: Leeway and RevocationRecheck must not be negative")
	}
	if v.log == nil {
		v.log = slog.Default()
	}
	if v.now == nil {
		v.now = time.Now
	}
	if size := cmpOr(opts.CacheSize, DefaultTokenCacheSize); size > 0 {
		v.cache = newTokenCache(size)
	}
	v.revoked.init()
	if v.revs == nil {
		close(v.done)
		return v, nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	v.cancel = cancel
	go v.follow(ctx)
	return v, nil
}

// Issuer is the issuer whose tokens v accepts.
func (v *Verifier) Issuer() string { return v.issuer }

// Close stops following the revocation feed. Verification keeps working,
// asking the store about every token. Close is idempotent.
func (v *Verifier) Close() error {
	v.closeOnce.Do(func() {
		if v.cancel != nil {
			v.cancel()
		}
		<-v.done
	})
	return nil
}

// Verify checks an access token (see the package documentation) and
// returns a copy of its claims. It does not check the audience.
func (v *Verifier) Verify(ctx context.Context, token string) (*AccessTokenClaims, error) {
	t, err := v.verify(ctx, token)
	if err != nil {
		return nil, err
	}
	c := t.claims
	return &c, nil
}

// verifiedToken is a token whose signature and claims were checked; it is
// shared by every request that presents the token and must not change,
// except for the revocation verdict.
type verifiedToken struct {
	claims    AccessTokenClaims
	payload   []byte   // the JSON claims, for Identity.Claims
	audiences []string // canonical forms of aud
	scopes    []string
	exp       time.Time
	ref       AccessTokenRef

	// The store's last "not revoked" answer: the feed generation and the
	// time (unix nanoseconds) it was given at.
	verdictGen atomic.Uint64
	verdictAt  atomic.Int64

	identOnce sync.Once
	ident     *caller.Identity

	headersOnce sync.Once
	headers     identityHeaders
}

// identityHeaders are the values of ForwardAuth's identity headers, built
// once per token and shared (read-only) by every response.
type identityHeaders struct {
	userID, userName, email, clientID []string
}

func (t *verifiedToken) identityHeaders() *identityHeaders {
	t.headersOnce.Do(func() {
		h := t.claims.IdentityHeaders()
		t.headers = identityHeaders{userID: h[HeaderUserID], userName: h[HeaderUserName], email: h[HeaderEmail], clientID: h[HeaderClientID]}
	})
	return &t.headers
}

// verify returns the checked token, from the cache when possible.
func (v *Verifier) verify(ctx context.Context, raw string) (*verifiedToken, error) {
	if raw == "" || len(raw) > maxTokenBytes {
		return nil, ErrTokenMalformed
	}
	now := v.now()
	var key [32]byte
	if v.cache != nil {
		key = v.tokenKey(raw)
		if t := v.cache.get(&key); t != nil {
			if err := v.checkLive(ctx, t, now); err != nil {
				if errors.Is(err, ErrTokenExpired) || errors.Is(err, ErrTokenRevoked) {
					v.cache.del(&key)
				}
				return nil, err
			}
			return t, nil
		}
	}
	t, err := v.parse(ctx, raw, now)
	if err != nil {
		return nil, err
	}
	if err := v.checkLive(ctx, t, now); err != nil {
		return nil, err
	}
	if v.cache != nil {
		v.cache.put(&key, t, now, v.leeway)
	}
	return t, nil
}

// tokenKey is the cache key of a token: its SHA-256, hashed from a pooled
// buffer so the hot path does not allocate a copy of the token.
func (v *Verifier) tokenKey(raw string) [32]byte {
	bp, _ := v.bufs.Get().(*[]byte)
	if bp == nil {
		bp = new([]byte)
	}
	b := append((*bp)[:0], raw...)
	key := sha256.Sum256(b)
	*bp = b[:0]
	v.bufs.Put(bp)
	return key
}

// parse checks form, header, signature and claims of a token.
func (v *Verifier) parse(ctx context.Context, raw string, now time.Time) (*verifiedToken, error) {
	if strings.Count(raw, ".") != 2 {
		return nil, ErrTokenMalformed
	}
	jws, err := jose.ParseSignedCompact(raw, supportedAlgs)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrTokenMalformed, err)
	}
	if len(jws.Signatures) != 1 {
		return nil, ErrTokenMalformed
	}
	h := jws.Signatures[0].Protected
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); !strings.EqualFold(typ, "at+jwt") && !strings.EqualFold(typ, "application/at+jwt") {
		return nil, fmt.Errorf("%w: typ is not at+jwt", ErrTokenMalformed)
	}
	if _, ok := h.ExtraHeaders["crit"]; ok {
		return nil, fmt.Errorf("%w: unsupported crit header", ErrTokenMalformed)
	}
	if h.KeyID == "" {
		return nil, fmt.Errorf("%w: no kid", ErrTokenSignature)
	}
	key, ok := v.keys.PublicKey(ctx, h.KeyID)
	if !ok {
		return nil, fmt.Errorf("%w: unknown kid", ErrTokenSignature)
	}
	if alg := key.algorithm(); alg == "" || h.Algorithm != alg {
		return nil, fmt.Errorf("%w: algorithm %s does not match the key", ErrTokenSignature, h.Algorithm)
	}
	payload, err := jws.Verify(key.Key)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrTokenSignature, err)
	}
	t := &verifiedToken{payload: payload}
	c := &t.claims
	if err := json.Unmarshal(payload, c); err != nil {
		return nil, fmt.Errorf("%w: claims: %v", ErrTokenMalformed, err)
	}
	if c.Issuer != v.issuer {
		return nil, ErrTokenIssuer
	}
	switch {
	case c.Expiry == nil:
		return nil, fmt.Errorf("%w: no exp", ErrTokenMalformed)
	case c.IssuedAt == nil:
		return nil, fmt.Errorf("%w: no iat", ErrTokenMalformed)
	case c.Subject == "" || c.ClientID == "" || c.ID == "":
		return nil, fmt.Errorf("%w: sub, client_id and jti are required", ErrTokenMalformed)
	case len(c.Audience) == 0:
		return nil, fmt.Errorf("%w: no aud", ErrTokenMalformed)
	}
	if c.IssuedAt.Time().After(now.Add(v.leeway)) {
		return nil, fmt.Errorf("%w: issued in the future", ErrTokenNotYetValid)
	}
	if c.NotBefore != nil && c.NotBefore.Time().After(now.Add(v.leeway)) {
		return nil, ErrTokenNotYetValid
	}
	t.exp = c.Expiry.Time()
	t.ref = c.Ref()
	for _, a := range c.Audience {
		if canon, err := CanonicalResource(a); err == nil {
			t.audiences = append(t.audiences, canon)
		}
	}
	t.scopes = strings.Fields(c.Scope)
	return t, nil
}

// checkLive checks what can change after a token was verified: its
// expiry and its revocation.
func (v *Verifier) checkLive(ctx context.Context, t *verifiedToken, now time.Time) error {
	if !now.Before(t.exp.Add(v.leeway)) {
		return ErrTokenExpired
	}
	if v.revs == nil {
		return nil
	}
	if v.revoked.covers(&t.ref) {
		return ErrTokenRevoked
	}
	gen, up := v.gen.Load(), v.feedUp.Load()
	if up && t.verdictGen.Load() == gen && now.UnixNano()-t.verdictAt.Load() < int64(v.recheck) {
		return nil
	}
	revoked, err := v.revs.IsRevoked(ctx, t.ref)
	if err != nil {
		v.log.WarnContext(ctx, "oauth: revocation check failed; refusing the token for now", "jti", t.claims.ID, "error", err)
		return fmt.Errorf("%w: %v", ErrRevocationUnavailable, err)
	}
	if revoked {
		return ErrTokenRevoked
	}
	if up && v.gen.Load() == gen {
		t.verdictAt.Store(now.UnixNano())
		t.verdictGen.Store(gen)
	}
	return nil
}

// hasAudience reports whether the token was issued for resource (in
// canonical form).
func (t *verifiedToken) hasAudience(resource string) bool {
	for _, a := range t.audiences {
		if a == resource {
			return true
		}
	}
	return false
}

// hasScopes reports whether every scope in want was granted.
func (t *verifiedToken) hasScopes(want []string) bool {
	for _, w := range want {
		found := false
		for _, s := range t.scopes {
			if s == w {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// identity is the caller as mcpserver tools see it, built once per token.
// Its Scopes and Claims are shared and must not be modified.
func (t *verifiedToken) identity() *caller.Identity {
	t.identOnce.Do(func() {
		var claims map[string]any
		_ = json.Unmarshal(t.payload, &claims) // verified JSON: cannot fail
		c := &t.claims
		t.ident = &caller.Identity{
			Subject:  c.Subject,
			Name:     cmpOr(c.Login, c.Name),
			Email:    c.Email,
			ClientID: c.ClientID,
			Scopes:   t.scopes,
			Claims:   claims,
			Source:   "token",
		}
	})
	return t.ident
}

// user is the token's user for a Policy.
func (t *verifiedToken) user() *Identity {
	return t.claims.identity()
}

// follow keeps the local revocation set fed from the store until ctx ends,
// subscribing again (with backoff) whenever the feed ends.
func (v *Verifier) follow(ctx context.Context) {
	defer close(v.done)
	const minBackoff, maxBackoff = 100 * time.Millisecond, 5 * time.Second
	backoff := minBackoff
	prune := time.NewTicker(time.Minute)
	defer prune.Stop()
	for {
		feed, err := v.revs.SubscribeRevocations(ctx)
		if err == nil {
			v.feedUp.Store(true)
			v.gen.Add(1) // answers from before the subscription may miss events
			backoff = minBackoff
			v.drain(ctx, feed, prune.C)
			v.feedUp.Store(false)
		}
		if ctx.Err() != nil {
			return
		}
		v.log.WarnContext(ctx, "oauth: the revocation feed is down; every request asks the store until it is back", "error", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// drain applies the feed's events until it closes.
func (v *Verifier) drain(ctx context.Context, feed <-chan Revocation, prune <-chan time.Time) {
	for {
		select {
		case r, ok := <-feed:
			if !ok {
				return
			}
			if r.Kind == RevocationReset {
				v.gen.Add(1)
				v.log.InfoContext(ctx, "oauth: the revocation feed may have lost events; cached revocation answers dropped")
				continue
			}
			v.revoked.add(r)
		case now := <-prune:
			v.revoked.prune(now)
		}
	}
}

// revocationSet holds the revocations announced on the feed until the
// tokens they cover have expired.
type revocationSet struct {
	size     atomic.Int64 // entries, so an empty set costs one load
	mu       sync.RWMutex
	tokens   map[revokedKey]time.Time
	families map[revokedKey]time.Time
	clients  map[string]clientCut
}

type revokedKey struct{ client, id string }

// clientCut revokes the client's tokens issued at or before at (whole
// seconds) until until.
type clientCut struct{ at, until int64 }

func (s *revocationSet) init() {
	s.tokens = make(map[revokedKey]time.Time)
	s.families = make(map[revokedKey]time.Time)
	s.clients = make(map[string]clientCut)
}

func (s *revocationSet) add(r Revocation) {
	s.mu.Lock()
	defer s.mu.Unlock()
	keep := func(m map[revokedKey]time.Time, k revokedKey) {
		if old, ok := m[k]; !ok || r.ExpiresAt.After(old) {
			m[k] = r.ExpiresAt
		}
	}
	switch r.Kind {
	case RevokedToken:
		if r.ID != "" {
			keep(s.tokens, revokedKey{r.ClientID, r.ID})
		}
	case RevokedFamily:
		if r.ID != "" {
			keep(s.families, revokedKey{r.ClientID, r.ID})
		}
	case RevokedClient:
		cut := s.clients[r.ClientID]
		cut.at = max(cut.at, r.At.Unix())
		cut.until = max(cut.until, r.ExpiresAt.Unix())
		s.clients[r.ClientID] = cut
	}
	s.size.Store(int64(len(s.tokens) + len(s.families) + len(s.clients)))
}

func (s *revocationSet) covers(t *AccessTokenRef) bool {
	if s.size.Load() == 0 {
		return false
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if _, ok := s.tokens[revokedKey{t.ClientID, t.JTI}]; ok {
		return true
	}
	if t.FamilyID != "" {
		if _, ok := s.families[revokedKey{t.ClientID, t.FamilyID}]; ok {
			return true
		}
	}
	if cut, ok := s.clients[t.ClientID]; ok && t.IssuedAt.Unix() <= cut.at {
		return true
	}
	return false
}

// prune forgets revocations whose tokens have all expired.
func (s *revocationSet) prune(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, until := range s.tokens {
		if now.After(until) {
			delete(s.tokens, k)
		}
	}
	for k, until := range s.families {
		if now.After(until) {
			delete(s.families, k)
		}
	}
	for k, cut := range s.clients {
		if now.Unix() > cut.until {
			delete(s.clients, k)
		}
	}
	s.size.Store(int64(len(s.tokens) + len(s.families) + len(s.clients)))
}

// tokenCache maps token hashes to verified tokens, in shards to spread
// lock contention. When a shard is full, expired tokens go first, then an
// arbitrary eighth of the shard.
type tokenCache struct {
	shards   [16]cacheShard
	perShard int
}

type cacheShard struct {
	mu sync.RWMutex
	m  map[[32]byte]*verifiedToken
}

func newTokenCache(size int) *tokenCache {
	c := &tokenCache{perShard: max(size/16, 1)}
	for i := range c.shards {
		c.shards[i].m = make(map[[32]byte]*verifiedToken)
	}
	return c
}

func (c *tokenCache) shard(k *[32]byte) *cacheShard { return &c.shards[k[0]&15] }

func (c *tokenCache) get(k *[32]byte) *verifiedToken {
	s := c.shard(k)
	s.mu.RLock()
	t := s.m[*k]
	s.mu.RUnlock()
	return t
}

func (c *tokenCache) put(k *[32]byte, t *verifiedToken, now time.Time, leeway time.Duration) {
	s := c.shard(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.m) >= c.perShard {
		for key, old := range s.m {
			if !now.Before(old.exp.Add(leeway)) {
				delete(s.m, key)
			}
		}
		for key := range s.m {
			if len(s.m) < c.perShard-c.perShard/8 {
				break
			}
			delete(s.m, key)
		}
	}
	s.m[*k] = t
}

func (c *tokenCache) del(k *[32]byte) {
	s := c.shard(k)
	s.mu.Lock()
	delete(s.m, *k)
	s.mu.Unlock()
}

// clear empties the cache.
func (c *tokenCache) clear() {
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		clear(s.m)
		s.mu.Unlock()
	}
}

package oauth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	neturl "net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// KeySource gives the public keys that verify access tokens, by kid. A
// *Server is one (its own keys, for a verifier in the same process); a
// *JWKS is one for a verifier in another process. PublicKey may look the
// kid up remotely when it does not know it, and should rate-limit that.
type KeySource interface {
	PublicKey(ctx context.Context, kid string) (VerificationKey, bool)
}

// VerificationKey is a public key that verifies access tokens, and the
// algorithm it is for. A token whose header names another algorithm than
// its key's is refused, so a key cannot be used with an algorithm it was
// not made for.
type VerificationKey struct {
	// Key is *rsa.PublicKey (at least 2048 bits), *ecdsa.PublicKey (P-256)
	// or ed25519.PublicKey. Another key verifies nothing.
	Key crypto.PublicKey
	// Algorithm is the JWS algorithm of the key: RS256, ES256 or EdDSA,
	// the one its type implies; another verifies nothing. Zero: the one
	// its type implies.
	Algorithm string
}

// algorithm is the JWS algorithm k verifies: its Algorithm when it names
// the one the key's type implies, "" for a key that verifies nothing here.
func (k VerificationKey) algorithm() string {
	var implied string
	switch key := k.Key.(type) {
	case *rsa.PublicKey:
		if key.N.BitLen() >= 2048 {
			implied = RS256
		}
	case *ecdsa.PublicKey:
		if key.Curve == elliptic.P256() {
			implied = ES256
		}
	case ed25519.PublicKey:
		implied = EdDSA
	}
	if k.Algorithm != "" && k.Algorithm != implied {
		return ""
	}
	return implied
}

// verificationKey is the public half of a JSON Web Key, with its algorithm
// resolved; ok is false for a key that verifies nothing here.
func verificationKey(jwk *jose.JSONWebKey) (VerificationKey, bool) {
	pub := jwk.Public() // never keep private material, if a set had any
	if !pub.Valid() {
		return VerificationKey{}, false
	}
	k := VerificationKey{Key: pub.Key, Algorithm: jwk.Algorithm}
	k.Algorithm = k.algorithm()
	return k, k.Algorithm != ""
}

var (
	_ KeySource = (*Server)(nil)
	_ KeySource = (*JWKS)(nil)
)

// Defaults of JWKSOptions fields.
const (
	DefaultJWKSMaxAge      = 5 * time.Minute
	DefaultJWKSMissRefetch = 5 * time.Second
	maxJWKSBytes           = 1 << 20
)

// JWKSOptions configure a JWKS. A nil *JWKSOptions means all defaults.
type JWKSOptions struct {
	// HTTPClient fetches the key set. Zero: a client with a 10 second
	// timeout that follows no redirects.
	HTTPClient *http.Client
	// MaxAge is how long a fetched key set is used before it is fetched
	// again, when the response's Cache-Control max-age does not say
	// otherwise (it is honoured between one minute and one day). Zero: 5
	// minutes.
	MaxAge time.Duration
	// MissRefetch is the minimum time between two fetches caused by tokens
	// with an unknown kid (a key rotation), so garbage tokens cannot make
	// the verifier hammer the authorization server. Zero: 5 seconds.
	MissRefetch time.Duration
	// AllowInsecureHTTP accepts an http:// URL on a host that is not
	// loopback. Keys fetched without TLS can be replaced by anyone on the
	// path, who can then mint tokens every verifier accepts: use it only on
	// a closed network. Zero: https, or http on a loopback host
	// (localhost, 127.0.0.1, [::1]).
	AllowInsecureHTTP bool
	// Logger receives fetch failures. Zero: slog.Default().
	Logger *slog.Logger
	// Now is the clock. Zero: time.Now.
	Now func() time.Time
}

// JWKS is a KeySource that fetches an authorization server's JSON Web Key
// Set (its jwks_uri) and caches it: it fetches again when the set is older
// than its cache lifetime, and when a token names an unknown kid (a key
// rotation), at most once per MissRefetch. A failed fetch keeps the keys
// it had. It starts no goroutine; fetches happen in the verifying call
// that needs them, one at a time. It is safe for concurrent use.
type JWKS struct {
	url         string
	client      *http.Client
	maxAge      time.Duration
	missRefetch time.Duration
	log         *slog.Logger
	now         func() time.Time

	state    atomic.Pointer[jwksState]
	mu       sync.Mutex   // one fetch at a time
	lastMiss atomic.Int64 // unix nanos of the last fetch caused by an unknown kid
}

type jwksState struct {
	keys    map[string]VerificationKey
	expires time.Time
}

// NewJWKS returns a KeySource for the key set at url (an authorization
// server's jwks_uri, such as "https://auth.example.com/jwks"): https, or
// http on a loopback host unless JWKSOptions.AllowInsecureHTTP. It fetches
// nothing yet: the first verification does, or Refresh.
func NewJWKS(url string, opts *JWKSOptions) (*JWKS, error) {
	if opts == nil {
		opts = &JWKSOptions{}
	}
	u, err := neturl.Parse(url)
	if err != nil || u.Scheme != "https" && u.Scheme != "http" || u.Host == "" || u.Hostname() == "" {
		return nil, fmt.Errorf("oauth: JWKS URL %q must be an absolute http(s) URL", url)
	}
	if u.Scheme == "http" && !isLoopbackHost(u.Host) && !opts.AllowInsecureHTTP {
		return nil, fmt.Errorf("oauth: JWKS URL %q must be https: keys fetched over plain http can be replaced on the way (http is allowed on loopback hosts, or with JWKSOptions.AllowInsecureHTTP)", url)
	}
	j := &JWKS{
		url:         url,
		client:      opts.HTTPClient,
		maxAge:      cmpOr(opts.MaxAge, DefaultJWKSMaxAge),
		missRefetch: cmpOr(opts.MissRefetch, DefaultJWKSMissRefetch),
		log:         opts.Logger,
		now:         opts.Now,
	}
	if j.maxAge < 0 || j.missRefetch < 0 {
		return nil, errors.New("oauth: JWKS MaxAge and MissRefetch must not be negative")
	}
	if j.client == nil {
		j.client = &http.Client{
			Timeout:       10 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	if j.log == nil {
		j.log = slog.Default()
	}
	if j.now == nil {
		j.now = time.Now
	}
	return j, nil
}

// PublicKey implements KeySource.
func (j *JWKS) PublicKey(ctx context.Context, kid string) (VerificationKey, bool) {
	now := j.now()
	st := j.state.Load()
	if st != nil {
		if _, ok := st.keys[kid]; ok {
			if !now.Before(st.expires) && j.mu.TryLock() {
				// Stale: this caller fetches, the others use the old set.
				_ = j.fetchLocked(ctx)
				j.mu.Unlock()
			}
			return j.lookup(kid)
		}
	}
	// An unknown kid (a rotation, or nothing fetched yet): at most one
	// fetch per MissRefetch. Callers that lose the race wait for the fetch
	// in flight, if any, then look again.
	last := j.lastMiss.Load()
	if last != 0 && now.UnixNano()-last < int64(j.missRefetch) || !j.lastMiss.CompareAndSwap(last, now.UnixNano()) {
		j.mu.Lock()
		j.mu.Unlock() //nolint:staticcheck // waits for a fetch in flight
		return j.lookup(kid)
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if cur := j.state.Load(); cur != st {
		if key, ok := cur.keys[kid]; ok {
			return key, true // another caller's fetch brought it
		}
	}
	_ = j.fetchLocked(ctx)
	return j.lookup(kid)
}

func (j *JWKS) lookup(kid string) (VerificationKey, bool) {
	st := j.state.Load()
	if st == nil {
		return VerificationKey{}, false
	}
	key, ok := st.keys[kid]
	return key, ok
}

// Refresh fetches the key set now.
func (j *JWKS) Refresh(ctx context.Context) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.fetchLocked(ctx)
}

// fetchLocked fetches and installs the key set; on failure the old one
// stays. j.mu is held.
func (j *JWKS) fetchLocked(ctx context.Context) error {
	keys, lifetime, err := j.fetch(ctx)
	if err != nil {
		j.log.WarnContext(ctx, "oauth: fetching the JWKS failed; keeping the keys it had", "url", j.url, "error", err)
		return err
	}
	j.state.Store(&jwksState{keys: keys, expires: j.now().Add(lifetime)})
	return nil
}

func (j *JWKS) fetch(ctx context.Context) (map[string]VerificationKey, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, j.url, nil)
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := j.client.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, 0, fmt.Errorf("oauth: JWKS %s: status %d", j.url, resp.StatusCode)
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "" && mt != "application/json" && mt != "application/jwk-set+json" {
		return nil, 0, fmt.Errorf("oauth: JWKS %s: content type %q is not JSON", j.url, mt)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes+1))
	if err != nil {
		return nil, 0, err
	}
	if len(body) > maxJWKSBytes {
		return nil, 0, fmt.Errorf("oauth: JWKS %s: larger than %d bytes", j.url, maxJWKSBytes)
	}
	keys, err := parseJWKS(body)
	if err != nil {
		return nil, 0, fmt.Errorf("oauth: JWKS %s: %w", j.url, err)
	}
	lifetime := j.maxAge
	if age, ok := maxAge(resp.Header.Get("Cache-Control")); ok {
		lifetime = min(max(age, time.Minute), 24*time.Hour)
	}
	return keys, lifetime, nil
}

// parseJWKS reads a JSON Web Key Set and keeps the public signing keys
// with a kid, of the algorithms access tokens use.
func parseJWKS(body []byte) (map[string]VerificationKey, error) {
	var raw struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, fmt.Errorf("not a JSON Web Key Set: %v", err)
	}
	if raw.Keys == nil {
		return nil, errors.New(`not a JSON Web Key Set: no "keys" member`)
	}
	keys := make(map[string]VerificationKey, len(raw.Keys))
	for _, rk := range raw.Keys {
		var k jose.JSONWebKey
		if err := k.UnmarshalJSON(rk); err != nil {
			continue // a key type this package does not use
		}
		if k.KeyID == "" || k.Use != "" && k.Use != "sig" || !k.Valid() {
			continue
		}
		if vk, ok := verificationKey(&k); ok {
			keys[k.KeyID] = vk
		}
	}
	return keys, nil
}

// maxAge reads max-age from a Cache-Control header; no-store and no-cache
// give zero.
func maxAge(cc string) (time.Duration, bool) {
	if cc == "" {
		return 0, false
	}
	for _, d := range strings.Split(cc, ",") {
		name, value, _ := strings.Cut(strings.TrimSpace(d), "=")
		switch strings.ToLower(name) {
		case "no-store", "no-cache":
			return 0, true
		case "max-age":
			n, err := strconv.ParseInt(strings.Trim(value, `"`), 10, 64)
			if err != nil || n < 0 {
				return 0, false
			}
			return time.Duration(min(n, 1<<31)) * time.Second, true
		}
	}
	return 0, false
}

package oauth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Signing algorithms of access tokens.
const (
	RS256 = "RS256" // RSA 2048 PKCS #1 v1.5 with SHA-256, the default
	ES256 = "ES256" // ECDSA P-256 with SHA-256
	EdDSA = "EdDSA" // Ed25519
)

// supportedAlgs are the JWS algorithms this package signs and verifies.
var supportedAlgs = []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.EdDSA}

// keyReloadInterval is how often the keyring looks for keys another replica
// added; a token signed with an unknown kid also triggers a look (at most
// once per keyMissInterval).
const (
	keyReloadInterval = time.Minute
	keyMissInterval   = 5 * time.Second
)

// ParsePrivateKey reads a PEM private key (PKCS #8, PKCS #1 RSA or SEC 1
// EC), or the base64 encoding of such a PEM document (JWT_PRIVATE_KEY_B64).
// It returns an *rsa.PrivateKey, *ecdsa.PrivateKey or ed25519.PrivateKey.
func ParsePrivateKey(data []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		dec, err := base64.StdEncoding.DecodeString(string(trimSpace(data)))
		if err != nil {
			return nil, errors.New("oauth: private key is neither PEM nor base64-encoded PEM")
		}
		if block, _ = pem.Decode(dec); block == nil {
			return nil, errors.New("oauth: base64-decoded private key is not PEM")
		}
	}
	var key any
	var err error
	switch block.Type {
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("oauth: unsupported PEM block %q (want PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY)", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("oauth: private key: %w", err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("oauth: unsupported private key type %T", key)
	}
	return signer, nil
}

func trimSpace(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for _, c := range b {
		if c != ' ' && c != '\n' && c != '\r' && c != '\t' {
			out = append(out, c)
		}
	}
	return out
}

// algForKey checks that key suits alg.
func algForKey(alg string, key crypto.Signer) error {
	switch k := key.(type) {
	case *rsa.PrivateKey:
		if alg != RS256 {
			return fmt.Errorf("oauth: an RSA key signs %s, not %s", RS256, alg)
		}
		if k.N.BitLen() < 2048 {
			return fmt.Errorf("oauth: RSA key of %d bits is too short; use 2048 or more", k.N.BitLen())
		}
	case *ecdsa.PrivateKey:
		if alg != ES256 || k.Curve != elliptic.P256() {
			return fmt.Errorf("oauth: an ECDSA key must be P-256 and sign %s", ES256)
		}
	case ed25519.PrivateKey:
		if alg != EdDSA {
			return fmt.Errorf("oauth: an Ed25519 key signs %s, not %s", EdDSA, alg)
		}
	default:
		return fmt.Errorf("oauth: unsupported key type %T", key)
	}
	return nil
}

// generateKey makes a new private key for alg.
func generateKey(alg string) (crypto.Signer, error) {
	switch alg {
	case RS256:
		return rsa.GenerateKey(rand.Reader, 2048)
	case ES256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case EdDSA:
		_, k, err := ed25519.GenerateKey(rand.Reader)
		return k, err
	}
	return nil, fmt.Errorf("oauth: unsupported signing algorithm %q (want RS256, ES256 or EdDSA)", alg)
}

// newJWK wraps a private key as a JWK whose kid is its RFC 7638 thumbprint.
func newJWK(key crypto.Signer, alg string) (*jose.JSONWebKey, error) {
	jwk := &jose.JSONWebKey{Key: key, Algorithm: alg, Use: "sig"}
	pub := jwk.Public()
	tp, err := pub.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("oauth: key thumbprint: %w", err)
	}
	jwk.KeyID = base64.RawURLEncoding.EncodeToString(tp)
	return jwk, nil
}

// keyring holds the signing keys: the newest key of the configured
// algorithm signs; every key that may still verify a live token is in the
// JWKS. Keys live in the store, so a restart and every replica share them;
// the ring re-reads them now and then and when it meets an unknown kid.
// It starts no goroutine.
type keyring struct {
	store       KeyStore // nil with a fixed key
	alg         string
	rotateEvery time.Duration // 0: never
	retireAfter time.Duration // how long a replaced key still verifies
	now         func() time.Time

	state    atomic.Pointer[keyState]
	reloadMu sync.Mutex // one reload at a time
	lastMiss atomic.Int64
}

// keyState is an immutable snapshot of the ring.
type keyState struct {
	signKid  string
	signer   jose.Signer
	signAlg  string
	public   map[string]VerificationKey
	jwks     []byte
	loadedAt time.Time
	rotateAt time.Time // zero: never
}

// newFixedKeyring serves one operator-provided key, without the store.
func newFixedKeyring(key crypto.Signer, alg string, now func() time.Time) (*keyring, error) {
	if err := algForKey(alg, key); err != nil {
		return nil, err
	}
	jwk, err := newJWK(key, alg)
	if err != nil {
		return nil, err
	}
	k := &keyring{alg: alg, now: now}
	st, err := buildState([]*jose.JSONWebKey{jwk}, jwk, now())
	if err != nil {
		return nil, err
	}
	k.state.Store(st)
	return k, nil
}

// newStoredKeyring loads (or creates) keys in the store.
func newStoredKeyring(ctx context.Context, store KeyStore, alg string, rotateEvery, retireAfter time.Duration, now func() time.Time) (*keyring, error) {
	if _, err := generateKeyCheck(alg); err != nil {
		return nil, err
	}
	k := &keyring{store: store, alg: alg, rotateEvery: rotateEvery, retireAfter: retireAfter, now: now}
	if err := k.reload(ctx); err != nil {
		return nil, err
	}
	return k, nil
}

func generateKeyCheck(alg string) (string, error) {
	switch alg {
	case RS256, ES256, EdDSA:
		return alg, nil
	}
	return "", fmt.Errorf("oauth: unsupported signing algorithm %q (want RS256, ES256 or EdDSA)", alg)
}

func buildState(keys []*jose.JSONWebKey, signing *jose.JSONWebKey, now time.Time) (*keyState, error) {
	st := &keyState{public: make(map[string]VerificationKey, len(keys)), loadedAt: now}
	set := jose.JSONWebKeySet{}
	for _, k := range keys {
		if vk, ok := verificationKey(k); ok {
			st.public[k.KeyID] = vk
		}
		set.Keys = append(set.Keys, k.Public())
	}
	var err error
	if st.jwks, err = json.Marshal(set); err != nil {
		return nil, fmt.Errorf("oauth: JWKS: %w", err)
	}
	if signing != nil {
		opts := (&jose.SignerOptions{}).WithType("at+jwt").WithHeader("kid", signing.KeyID)
		st.signer, err = jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(signing.Algorithm), Key: signing.Key}, opts)
		if err != nil {
			return nil, fmt.Errorf("oauth: signer: %w", err)
		}
		st.signKid, st.signAlg = signing.KeyID, signing.Algorithm
	}
	return st, nil
}

// current returns the snapshot to sign with, reloading or rotating first
// when it is due. A failed reload keeps the old keys (and is returned only
// when there are none).
func (k *keyring) current(ctx context.Context) (*keyState, error) {
	st := k.state.Load()
	if k.store == nil {
		return st, nil
	}
	now := k.now()
	due := now.Sub(st.loadedAt) >= keyReloadInterval || (!st.rotateAt.IsZero() && !now.Before(st.rotateAt))
	if !due {
		return st, nil
	}
	if k.reloadMu.TryLock() {
		err := k.reloadLocked(ctx)
		k.reloadMu.Unlock()
		if err != nil && st.signer == nil {
			return nil, err
		}
	}
	return k.state.Load(), nil
}

// lookup returns the public key of kid, re-reading the store (rate
// limited) when the kid is unknown.
func (k *keyring) lookup(ctx context.Context, kid string) (VerificationKey, bool) {
	if key, ok := k.state.Load().public[kid]; ok {
		return key, true
	}
	if k.store == nil {
		return VerificationKey{}, false
	}
	now := k.now().UnixNano()
	last := k.lastMiss.Load()
	if now-last < int64(keyMissInterval) || !k.lastMiss.CompareAndSwap(last, now) {
		return VerificationKey{}, false
	}
	k.reloadMu.Lock()
	_ = k.reloadLocked(ctx)
	k.reloadMu.Unlock()
	key, ok := k.state.Load().public[kid]
	return key, ok
}

func (k *keyring) reload(ctx context.Context) error {
	k.reloadMu.Lock()
	defer k.reloadMu.Unlock()
	return k.reloadLocked(ctx)
}

// reloadLocked reads the keys, adds a key when there is none of the
// configured algorithm or the newest is due for rotation, drops retired
// keys, and installs a new snapshot.
func (k *keyring) reloadLocked(ctx context.Context) error {
	for attempt := 0; attempt < 3; attempt++ {
		stored, err := k.store.ListKeys(ctx)
		if err != nil {
			return fmt.Errorf("oauth: list signing keys: %w", err)
		}
		now := k.now()
		var newest *SigningKey
		if len(stored) > 0 {
			newest = stored[0]
		}
		needNew := newest == nil || newest.Algorithm != k.alg ||
			(k.rotateEvery > 0 && !now.Before(newest.CreatedAt.Add(k.rotateEvery)))
		if needNew {
			ifNewest := ""
			if newest != nil {
				ifNewest = newest.ID
			}
			err := k.addKey(ctx, now, ifNewest)
			if errors.Is(err, ErrConflict) || errors.Is(err, ErrExists) {
				continue // another replica was first: use its key
			}
			if err != nil {
				return err
			}
			continue
		}
		return k.install(ctx, stored, now)
	}
	return errors.New("oauth: signing keys keep changing under concurrent rotation")
}

func (k *keyring) addKey(ctx context.Context, now time.Time, ifNewest string) error {
	priv, err := generateKey(k.alg)
	if err != nil {
		return err
	}
	jwk, err := newJWK(priv, k.alg)
	if err != nil {
		return err
	}
	raw, err := jwk.MarshalJSON()
	if err != nil {
		return fmt.Errorf("oauth: encode signing key: %w", err)
	}
	sk := &SigningKey{ID: jwk.KeyID, Algorithm: k.alg, PrivateJWK: raw, CreatedAt: now}
	if k.rotateEvery > 0 {
		sk.SignUntil = now.Add(k.rotateEvery)
		sk.RetireAt = sk.SignUntil.Add(k.retireAfter)
	}
	if err := k.store.AddKey(ctx, sk, ifNewest); err != nil {
		return fmt.Errorf("oauth: add signing key: %w", err)
	}
	return nil
}

// install builds the snapshot from the stored keys (newest first). A key
// replaced by a newer one verifies until retireAfter after the newer key
// appeared; then it is deleted.
func (k *keyring) install(ctx context.Context, stored []*SigningKey, now time.Time) error {
	var keys []*jose.JSONWebKey
	var signing *jose.JSONWebKey
	for i, sk := range stored {
		if i > 0 {
			replacedAt := stored[i-1].CreatedAt
			if !now.Before(replacedAt.Add(k.retireAfter)) {
				if err := k.store.DeleteKey(ctx, sk.ID); err != nil && !errors.Is(err, ErrNotFound) {
					return fmt.Errorf("oauth: delete retired key %s: %w", sk.ID, err)
				}
				continue
			}
		}
		var jwk jose.JSONWebKey
		if err := jwk.UnmarshalJSON(sk.PrivateJWK); err != nil {
			return fmt.Errorf("oauth: decode signing key %s: %w", sk.ID, err)
		}
		jwk.KeyID, jwk.Algorithm, jwk.Use = sk.ID, sk.Algorithm, "sig"
		keys = append(keys, &jwk)
		if i == 0 {
			signing = &jwk
		}
	}
	st, err := buildState(keys, signing, now)
	if err != nil {
		return err
	}
	if k.rotateEvery > 0 && len(stored) > 0 {
		st.rotateAt = stored[0].CreatedAt.Add(k.rotateEvery)
	}
	k.state.Store(st)
	return nil
}

// rotate adds a new signing key now, whatever the schedule.
func (k *keyring) rotate(ctx context.Context) error {
	if k.store == nil {
		return errors.New("oauth: a configured signing key cannot be rotated by the server")
	}
	k.reloadMu.Lock()
	defer k.reloadMu.Unlock()
	stored, err := k.store.ListKeys(ctx)
	if err != nil {
		return fmt.Errorf("oauth: list signing keys: %w", err)
	}
	ifNewest := ""
	if len(stored) > 0 {
		ifNewest = stored[0].ID
	}
	if err := k.addKey(ctx, k.now(), ifNewest); err != nil && !errors.Is(err, ErrConflict) {
		return err
	}
	return k.reloadLocked(ctx)
}

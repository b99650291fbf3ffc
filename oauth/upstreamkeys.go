package oauth

import (
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// UpstreamKeys are the server keys that users' upstream credentials are
// sealed under when the server keeps them for services
// (Options.UpstreamKeys): keys that are not in the store, so that the
// store, a backup of it or a Redis dump alone hold no usable token.
//
// The first key seals; every key opens. Each sealed blob starts with the
// id of its key, so rotating is: put a new key first and keep the old ones
// after it until every blob they sealed was re-sealed (each renewal of an
// upstream token re-seals it under the first key) or expired (at the end
// of its token family, RefreshFamilyLifetime); then drop them. A blob
// whose key is gone does not open: its user signs in again.
type UpstreamKeys struct {
	keys []upstreamKey // the first seals
}

type upstreamKey struct {
	id   string
	aead cipher.AEAD
}

// ErrUpstreamKeys: ParseUpstreamKeys could not read the keys.
var ErrUpstreamKeys = errors.New("oauth: bad upstream keys")

// labelVault is the HKDF info of the upstream keys.
const labelVault = "mcp-oauth-gateway upstream vault v1"

// ParseUpstreamKeys reads keys written "ID:SECRET" and separated by commas
// or new lines, the sealing key first: ID is a short name (letters,
// digits, '-', '_', at most 16), SECRET at least 32 bytes, base64
// (standard or URL alphabet, padded or not) or hex. Generate one with
// `openssl rand -base64 32`.
func ParseUpstreamKeys(s string) (*UpstreamKeys, error) {
	var k UpstreamKeys
	seen := map[string]bool{}
	for _, entry := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' }) {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		id, secret, ok := strings.Cut(entry, ":")
		id, secret = strings.TrimSpace(id), strings.TrimSpace(secret)
		if !ok || !validKeyID(id) {
			return nil, fmt.Errorf("%w: an entry is not ID:SECRET with a short ID (letters, digits, - and _, at most 16)", ErrUpstreamKeys)
		}
		if seen[id] {
			return nil, fmt.Errorf("%w: the key id %q appears twice", ErrUpstreamKeys, id)
		}
		seen[id] = true
		raw, err := decodeKeySecret(secret)
		if err != nil {
			return nil, fmt.Errorf("%w: key %q: %v", ErrUpstreamKeys, id, err)
		}
		key, err := hkdf.Key(sha256.New, raw, nil, labelVault, 32)
		if err != nil {
			return nil, err
		}
		aead, err := aeadFor(key)
		if err != nil {
			return nil, err
		}
		k.keys = append(k.keys, upstreamKey{id: id, aead: aead})
	}
	if len(k.keys) == 0 {
		return nil, fmt.Errorf("%w: no key", ErrUpstreamKeys)
	}
	return &k, nil
}

func validKeyID(id string) bool {
	if id == "" || len(id) > 16 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// decodeKeySecret reads a secret in hex or base64, of 32 bytes at least.
func decodeKeySecret(s string) ([]byte, error) {
	var raw []byte
	if len(s) >= 64 && strings.Trim(strings.ToLower(s), "0123456789abcdef") == "" {
		var err error
		if raw, err = hex.DecodeString(s); err != nil {
			return nil, errors.New("not hex")
		}
	} else {
		var err error
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			if raw, err = enc.DecodeString(s); err == nil {
				break
			}
		}
		if err != nil {
			return nil, errors.New("not base64 or hex")
		}
	}
	if len(raw) < 32 {
		return nil, fmt.Errorf("%d bytes; want 32 at least (openssl rand -base64 32)", len(raw))
	}
	return raw, nil
}

// IDs are the key ids, the sealing key first.
func (k *UpstreamKeys) IDs() []string {
	ids := make([]string, len(k.keys))
	for i, key := range k.keys {
		ids[i] = key.id
	}
	return ids
}

// seal encrypts plain under the first key, bound to context (the token
// family it belongs to, so that a blob moved to another record does not
// open): the key id's length and the id, then nonce, ciphertext and tag.
func (k *UpstreamKeys) seal(context string, plain []byte) []byte {
	key := k.keys[0]
	nonce := make([]byte, key.aead.NonceSize())
	_, _ = rand.Read(nonce) // never fails (crypto/rand)
	out := make([]byte, 0, 1+len(key.id)+len(nonce)+len(plain)+key.aead.Overhead())
	out = append(out, byte(len(key.id)))
	out = append(out, key.id...)
	out = append(out, nonce...)
	return key.aead.Seal(out, nonce, plain, []byte(context))
}

// open decrypts a blob of seal with the key it names.
func (k *UpstreamKeys) open(context string, sealed []byte) ([]byte, error) {
	if len(sealed) < 1 || len(sealed) < 1+int(sealed[0]) {
		return nil, fmt.Errorf("%w: too short", errSealed)
	}
	id := string(sealed[1 : 1+int(sealed[0])])
	rest := sealed[1+int(sealed[0]):]
	for _, key := range k.keys {
		if key.id != id {
			continue
		}
		if len(rest) < key.aead.NonceSize()+key.aead.Overhead() {
			return nil, fmt.Errorf("%w: too short", errSealed)
		}
		plain, err := key.aead.Open(nil, rest[:key.aead.NonceSize()], rest[key.aead.NonceSize():], []byte(context))
		if err != nil {
			return nil, errSealed
		}
		return plain, nil
	}
	return nil, fmt.Errorf("%w: sealed under the key %q, which is not configured any more", errSealed, truncate(id, 16))
}

// sealedKeyID is the id of the key a blob was sealed under ("" when it is
// not a blob of seal).
func sealedKeyID(sealed []byte) string {
	if len(sealed) < 1 || len(sealed) < 1+int(sealed[0]) {
		return ""
	}
	return string(sealed[1 : 1+int(sealed[0])])
}

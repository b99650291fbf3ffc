package oauth

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
)

// Sealed blobs: what the server keeps in the store but the store alone
// must not be able to read (a token pair for a refresh retry, the
// identity provider's credential for a user). Each is AES-256-GCM under a
// key derived with HKDF-SHA256 from a secret the store only ever sees
// hashed: the refresh token, the authorization code or the device code.
// Whoever holds the database (a backup, a replica's disk, a Redis dump)
// holds ciphertext; whoever also holds the client's secret could have
// used it anyway.
//
// A device authorization is approved in a browser that never sees the
// device code, so its blob is sealed to a public key instead: an X25519
// key pair derived from the device code, whose public half is stored with
// the authorization (ephemeral-static ECDH, then HKDF and AES-GCM).

// Labels of the sealed blobs (the HKDF info).
const (
	labelGrace    = "mcp-oauth-gateway refresh grace v1"
	labelUpstream = "mcp-oauth-gateway upstream credential v1"
	labelDevice   = "mcp-oauth-gateway device key v1"
)

// errSealed: a blob that does not open (another secret, or damaged).
var errSealed = errors.New("oauth: sealed blob does not open")

func aeadFor(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// secretAEAD is the cipher of the blobs sealed under secret with label.
func secretAEAD(secret, label string) (cipher.AEAD, error) {
	key, err := hkdf.Key(sha256.New, []byte(secret), nil, label, 32)
	if err != nil {
		return nil, err
	}
	return aeadFor(key)
}

// sealWith encrypts plain under a key derived from secret: nonce, then
// ciphertext and tag.
func sealWith(secret, label string, plain []byte) ([]byte, error) {
	aead, err := secretAEAD(secret, label)
	if err != nil {
		return nil, err
	}
	return sealAEAD(aead, plain), nil
}

// openWith decrypts a blob of sealWith.
func openWith(secret, label string, sealed []byte) ([]byte, error) {
	aead, err := secretAEAD(secret, label)
	if err != nil {
		return nil, err
	}
	return openAEAD(aead, sealed)
}

func sealAEAD(aead cipher.AEAD, plain []byte) []byte {
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
	_, _ = rand.Read(nonce) // never fails (crypto/rand)
	return aead.Seal(nonce, nonce, plain, nil)
}

func openAEAD(aead cipher.AEAD, sealed []byte) ([]byte, error) {
	if len(sealed) < aead.NonceSize()+aead.Overhead() {
		return nil, fmt.Errorf("%w: too short", errSealed)
	}
	plain, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], nil)
	if err != nil {
		return nil, errSealed
	}
	return plain, nil
}

// deviceKey is the X25519 key pair of a device code.
func deviceKey(deviceCode string) (*ecdh.PrivateKey, error) {
	seed, err := hkdf.Key(sha256.New, []byte(deviceCode), nil, labelDevice, 32)
	if err != nil {
		return nil, err
	}
	return ecdh.X25519().NewPrivateKey(seed)
}

// devicePublicKey is the public key the credential of the user who
// approves deviceCode is sealed to.
func devicePublicKey(deviceCode string) ([]byte, error) {
	k, err := deviceKey(deviceCode)
	if err != nil {
		return nil, err
	}
	return k.PublicKey().Bytes(), nil
}

// sharedAEAD derives the cipher of a sealed-to-key blob from the ECDH
// secret and both public keys.
func sharedAEAD(secret, ephemeral, recipient []byte, label string) (cipher.AEAD, error) {
	salt := append(append([]byte{}, ephemeral...), recipient...)
	key, err := hkdf.Key(sha256.New, secret, salt, label, 32)
	if err != nil {
		return nil, err
	}
	return aeadFor(key)
}

// sealToKey encrypts plain to an X25519 public key: the ephemeral public
// key, then a sealWith-style nonce, ciphertext and tag.
func sealToKey(recipient []byte, label string, plain []byte) ([]byte, error) {
	pub, err := ecdh.X25519().NewPublicKey(recipient)
	if err != nil {
		return nil, fmt.Errorf("oauth: seal: %w", err)
	}
	eph, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	secret, err := eph.ECDH(pub)
	if err != nil {
		return nil, fmt.Errorf("oauth: seal: %w", err)
	}
	aead, err := sharedAEAD(secret, eph.PublicKey().Bytes(), recipient, label)
	if err != nil {
		return nil, err
	}
	return append(eph.PublicKey().Bytes(), sealAEAD(aead, plain)...), nil
}

// openWithDeviceCode decrypts a blob of sealToKey sent to the key of
// deviceCode.
func openWithDeviceCode(deviceCode, label string, sealed []byte) ([]byte, error) {
	k, err := deviceKey(deviceCode)
	if err != nil {
		return nil, err
	}
	const keyLen = 32
	if len(sealed) < keyLen {
		return nil, fmt.Errorf("%w: too short", errSealed)
	}
	eph, err := ecdh.X25519().NewPublicKey(sealed[:keyLen])
	if err != nil {
		return nil, errSealed
	}
	secret, err := k.ECDH(eph)
	if err != nil {
		return nil, errSealed
	}
	aead, err := sharedAEAD(secret, sealed[:keyLen], k.PublicKey().Bytes(), label)
	if err != nil {
		return nil, err
	}
	return openAEAD(aead, sealed[keyLen:])
}

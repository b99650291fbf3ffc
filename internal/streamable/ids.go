package streamable

import (
	"crypto/rand"
	"encoding/base64"
)

// NewID returns n random bytes, base64url encoded: a session id (24 bytes,
// 32 characters of visible ASCII as Mcp-Session-Id wants) or a token.
func NewID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// ShortID is an id shortened for logs: its first 8 characters, enough to
// tell sessions apart and too few to use one.
func ShortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

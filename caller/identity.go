package caller

import (
	"context"
	"net/http"
	"slices"
)

// Identity is who is calling: a verified user and the client acting for it.
type Identity struct {
	// Subject is the stable user id (the token's sub, or X-User-Id).
	Subject string
	// Name is the user's login or display name (X-User-Name).
	Name string
	// Email is the user's e-mail address when known (X-User-Email).
	Email string
	// ClientID is the OAuth client acting for the user (X-Auth-Client-Id).
	ClientID string
	// Scopes are the granted scopes.
	Scopes []string
	// Claims holds the verified token's claims when the identity came from a
	// token; nil otherwise.
	Claims map[string]any
	// Source says where the identity came from: "token" for an
	// authentication hook, "gateway" for trusted gateway headers.
	Source string
}

// HasScope reports whether the identity was granted scope. It is false for
// a nil Identity (an anonymous caller).
func (id *Identity) HasScope(scope string) bool {
	return id != nil && slices.Contains(id.Scopes, scope)
}

// AuthFunc decides who is calling. It returns the caller's identity and true
// to let the request through (a nil identity means an anonymous caller), or
// false after it has written the whole refusal itself, such as a 401 with a
// WWW-Authenticate challenge.
type AuthFunc func(w http.ResponseWriter, r *http.Request) (*Identity, bool)

type contextKey struct{}

// FromContext returns the caller's identity, or nil for an anonymous
// caller.
func FromContext(ctx context.Context) *Identity {
	id, _ := ctx.Value(contextKey{}).(*Identity)
	return id
}

// NewContext returns a copy of ctx that carries id. Authentication
// middleware uses it; an MCP server built on mcpserver takes an identity
// already in the request's context as the caller's, and does not consult
// its own authentication then.
func NewContext(ctx context.Context, id *Identity) context.Context {
	return context.WithValue(ctx, contextKey{}, id)
}

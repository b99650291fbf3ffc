package mcpserver

import (
	"context"
	"net/http"
	"time"

	"github.com/mcp-oauth-gateway/gateway/caller"
)

// Identity is who is calling: a verified user and the client acting for it.
// It is caller.Identity, which the resource-server side (package oauth)
// produces without linking this package.
type Identity = caller.Identity

// AuthFunc decides who is calling. It returns the caller's identity and true
// to let the request through (a nil identity means an anonymous caller), or
// false after it has written the whole refusal itself, such as a 401 with a
// WWW-Authenticate challenge. It is caller.AuthFunc.
type AuthFunc = caller.AuthFunc

// Request describes the HTTP request that carried the current MCP message.
// Tools read it with RequestFromContext. Its fields must not be modified.
type Request struct {
	// Method, Host, Path and RemoteAddr are those of the HTTP request.
	Method     string
	Host       string
	Path       string
	RemoteAddr string
	// TLS reports whether the request came over TLS.
	TLS bool
	// Header holds the HTTP request headers.
	Header http.Header
	// Received is when the server started reading the request.
	Received time.Time
	// ProtocolVersion is the MCP protocol version of the message: the
	// MCP-Protocol-Version header, the 2026-07-28 _meta version, or the
	// version negotiated by the session.
	ProtocolVersion string
}

type requestKey struct{}
type sessionKey struct{}

// RequestFromContext returns the HTTP request that carried the current MCP
// message, or nil when ctx did not come from the HTTP transport (over stdio,
// for example).
func RequestFromContext(ctx context.Context) *Request {
	r, _ := ctx.Value(requestKey{}).(*Request)
	return r
}

// IdentityFromContext returns the caller's identity, or nil for an anonymous
// caller (caller.FromContext).
func IdentityFromContext(ctx context.Context) *Identity { return caller.FromContext(ctx) }

// ContextWithIdentity returns a copy of ctx that carries id. Authentication
// middleware in front of a Server uses it: an identity already in the
// request's context is taken as the caller's, and Options.Authenticate and
// gateway headers are then not consulted. It is caller.NewContext.
func ContextWithIdentity(ctx context.Context, id *Identity) context.Context {
	return caller.NewContext(ctx, id)
}

// SessionFromContext returns the current protocol session, or nil when the
// request is served statelessly (Stateless mode, or a 2026-07-28 client).
func SessionFromContext(ctx context.Context) *Session {
	s, _ := ctx.Value(sessionKey{}).(*Session)
	return s
}

// Caller finds who is calling r the way a Server does: the identity already
// in the request's context (ContextWithIdentity), else what auth decides
// when it is set (ok is false when auth refused the request and wrote the
// refusal), else the gateway headers when trustGatewayHeaders is set (see
// GatewayIdentity); nil for an anonymous caller. Other MCP endpoints (the
// stdio proxy) use it to read callers the same way.
func Caller(w http.ResponseWriter, r *http.Request, auth AuthFunc, trustGatewayHeaders bool) (id *Identity, ok bool) {
	if id := IdentityFromContext(r.Context()); id != nil {
		return id, true
	}
	if auth != nil {
		return auth(w, r)
	}
	if trustGatewayHeaders {
		return GatewayIdentity(r.Header), true
	}
	return nil, true
}

// GatewayIdentity reads the identity a trusted gateway put in the request
// headers (X-User-Id, X-User-Name, X-User-Email, X-Auth-Client-Id); nil when
// it set none. Only call it for requests known to come through such a gateway.
func GatewayIdentity(h http.Header) *Identity {
	id := &Identity{
		Subject:  h.Get("X-User-Id"),
		Name:     h.Get("X-User-Name"),
		Email:    h.Get("X-User-Email"),
		ClientID: h.Get("X-Auth-Client-Id"),
		Source:   "gateway",
	}
	if id.Subject == "" && id.Name == "" {
		return nil
	}
	if id.Subject == "" {
		id.Subject = id.Name
	}
	return id
}

package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/mcp-oauth-gateway/gateway/caller"
)

// Bearer-token protection of a resource embedded in the MCP server's
// process: a middleware, an mcpserver authentication hook and the
// resource's RFC 9728 metadata.

// Refusals of ProtectedResource.Authenticate and ForwardAuth, besides the
// token errors of the Verifier.
var (
	// ErrNoToken: the request has no bearer token (401, a challenge without
	// error code, RFC 6750 §3.1).
	ErrNoToken = errors.New("oauth: no bearer token")
	// ErrBadRequest: the Authorization header is malformed or repeated, or
	// the token came in the query string (400, invalid_request).
	ErrBadRequest = errors.New("oauth: malformed bearer authorization")
	// ErrInsufficientScope: the token lacks a required scope (403,
	// insufficient_scope with the scopes to ask for).
	ErrInsufficientScope = errors.New("oauth: access token lacks a required scope")
	// ErrUserNotAllowed: the resource's policy does not admit the user (403).
	ErrUserNotAllowed = errors.New("oauth: user not allowed on this resource")
)

// ProtectedResource guards one resource (an MCP endpoint) with bearer
// tokens: every request needs a token of the verifier's issuer whose
// audience is the resource, with the required scopes, of a user the
// resource's policy admits. Refusals carry the challenges of RFC 6750, RFC
// 9728 and MCP 2025-11-25, pointing at the resource's metadata, which
// ProtectedResource also serves. It is safe for concurrent use.
//
// Embedded in an mcpserver.Server:
//
//	pr, err := oauth.NewProtectedResource(verifier, oauth.Resource{URL: "https://mcp.example.com/mcp"})
//	srv, err := mcpserver.New("weather", "1.0.0", &mcpserver.Options{Authenticate: pr.AuthFunc()})
//	mux.Handle(pr.MetadataPath(), pr.MetadataHandler())
//	mux.Handle("/mcp", srv.Handler())
//
// or in front of any handler: mux.Handle("/mcp", guard.Wrap(pr.Middleware(h))).
// Clients of the 2025-03-26 era look for the authorization server's
// metadata on the MCP host; with the Server in the same process (its issuer
// without a path), mount it there too:
//
//	mux.Handle("GET /.well-known/oauth-authorization-server", srv)
type ProtectedResource struct {
	v   *Verifier
	res atomic.Pointer[resource]
	log *slog.Logger
}

// NewProtectedResource validates r and returns its guard, verifying tokens
// with v.
func NewProtectedResource(v *Verifier, r Resource) (*ProtectedResource, error) {
	if v == nil {
		return nil, errors.New("oauth: NewProtectedResource needs a verifier")
	}
	res, err := r.compile(v.issuer)
	if err != nil {
		return nil, err
	}
	if res.allow != nil && res.allow.Empty() {
		v.log.Warn("oauth: the resource's Allow policy is empty: nobody can use it", "resource", res.url)
	}
	p := &ProtectedResource{v: v, log: v.log}
	p.res.Store(res)
	return p, nil
}

// SetAllow replaces the resource's user policy (Resource.Allow; nil admits
// every user): from the next request on, a user it no longer admits is
// refused, whatever token they hold.
func (p *ProtectedResource) SetAllow(allow *Policy) {
	res := *p.res.Load()
	if allow != nil {
		c := *allow
		allow = &c
	}
	res.allow = allow
	p.res.Store(&res)
}

// URL is the resource identifier, in canonical form.
func (p *ProtectedResource) URL() string { return p.res.Load().url }

// Metadata returns the resource's RFC 9728 metadata.
func (p *ProtectedResource) Metadata() ResourceMetadata {
	m := p.res.Load().metadata
	m.AuthorizationServers = slices.Clone(m.AuthorizationServers)
	m.ScopesSupported = slices.Clone(m.ScopesSupported)
	m.BearerMethodsSupported = slices.Clone(m.BearerMethodsSupported)
	return m
}

// MetadataURL is the absolute URL of the resource's metadata, as the
// challenges name it in resource_metadata.
func (p *ProtectedResource) MetadataURL() string { return p.res.Load().metadataURL }

// MetadataPath is the path of the metadata URL, to mount MetadataHandler
// at: "/.well-known/oauth-protected-resource/mcp" for
// "https://mcp.example.com/mcp".
func (p *ProtectedResource) MetadataPath() string {
	_, path := splitOrigin(p.res.Load().url)
	return WellKnownResourceMetadata + path
}

// MetadataHandler serves the metadata document (GET, HEAD) and its CORS
// preflight, without authentication.
func (p *ProtectedResource) MetadataHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res := p.res.Load()
		serveResourceMetadata(w, r, res.doc)
		if p.v.observe != nil && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			p.v.observe(Event{Step: StepResourceMetadata, Time: p.v.now(), Resource: res.url, Status: http.StatusOK,
				Address: peerAddress(r), UserAgent: truncate(r.UserAgent(), 200)})
		}
	})
}

// Authenticate checks the bearer token of r for the resource and returns
// the caller. The error is ErrNoToken, ErrBadRequest, a token error of the
// Verifier (ErrTokenExpired, ErrTokenAudience, ...), ErrInsufficientScope,
// ErrUserNotAllowed, or ErrRevocationUnavailable.
func (p *ProtectedResource) Authenticate(r *http.Request) (*caller.Identity, error) {
	t, err := p.authenticate(r)
	if err != nil {
		return nil, err
	}
	id := *t.identity()
	return &id, nil
}

func (p *ProtectedResource) authenticate(r *http.Request) (*verifiedToken, error) {
	res := p.res.Load()
	raw, err := bearerFromRequest(r.Header, r.URL.RawQuery)
	var t *verifiedToken
	if err == nil {
		t, err = checkToken(r.Context(), p.v, raw, res)
	}
	if p.v.observe != nil {
		p.v.observeRequest(r, res, t, err)
	}
	return t, err
}

// observeRequest reports a resource's decision: the client and user of a
// verified token (also one refused for its scopes or user), nothing of an
// unverified one.
func (v *Verifier) observeRequest(r *http.Request, res *resource, t *verifiedToken, err error) {
	e := Event{Step: StepResource, Time: v.now(), Resource: res.url, Address: peerAddress(r), UserAgent: truncate(r.UserAgent(), 200)}
	if t != nil {
		e.ClientID, e.Subject = t.claims.ClientID, t.claims.Subject
	}
	if err != nil {
		rf := refusalFor(res, err, false)
		e.Error, e.Description, e.Status = RefusalReason(err), rf.description, rf.status
	}
	v.observe(e)
}

// checkToken verifies raw for res: the token, its audience, the scopes and
// the policy. With ErrTokenAudience, ErrInsufficientScope and
// ErrUserNotAllowed it returns the (verified) token too.
func checkToken(ctx context.Context, v *Verifier, raw string, res *resource) (*verifiedToken, error) {
	t, err := v.verify(ctx, raw)
	if err != nil {
		return nil, err
	}
	if !t.hasAudience(res.url) {
		return t, ErrTokenAudience
	}
	if !t.hasScopes(res.required) {
		return t, ErrInsufficientScope
	}
	if res.allow != nil && !res.allow.Allows(t.user()) {
		return t, ErrUserNotAllowed
	}
	return t, nil
}

// Middleware returns next behind the bearer check: a request with a good
// token reaches next with the caller's identity in its context
// (caller.FromContext, which is mcpserver.IdentityFromContext; the token's
// claims are in Identity.Claims and ClaimsFromContext); any other gets the
// refusal. CORS preflights pass without a token. Put it inside the mcpserver Guard
// (guard.Wrap(pr.Middleware(h))) so refusals carry CORS headers.
func (p *ProtectedResource) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isPreflight(r.Method, r.Header) {
			next.ServeHTTP(w, r)
			return
		}
		t, err := p.authenticate(r)
		if err != nil {
			p.refuse(w, r, p.res.Load(), err)
			return
		}
		id := *t.identity()
		ctx := caller.NewContext(r.Context(), &id)
		ctx = context.WithValue(ctx, claimsKey{}, t)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// AuthFunc returns the check as an authentication hook: for
// mcpserver.Options.Authenticate (mcpserver.AuthFunc is caller.AuthFunc),
// or any server that asks a caller.AuthFunc who is calling. A refused
// request has its refusal written.
func (p *ProtectedResource) AuthFunc() caller.AuthFunc {
	return func(w http.ResponseWriter, r *http.Request) (*caller.Identity, bool) {
		t, err := p.authenticate(r)
		if err != nil {
			p.refuse(w, r, p.res.Load(), err)
			return nil, false
		}
		id := *t.identity()
		return &id, true
	}
}

type claimsKey struct{}

// ClaimsFromContext returns a copy of the claims of the access token that
// authenticated the request, when ProtectedResource.Middleware did.
func ClaimsFromContext(ctx context.Context) (*AccessTokenClaims, bool) {
	t, ok := ctx.Value(claimsKey{}).(*verifiedToken)
	if !ok {
		return nil, false
	}
	c := t.claims
	return &c, true
}

// refuse writes the refusal for err and logs it (never the token).
func (p *ProtectedResource) refuse(w http.ResponseWriter, r *http.Request, res *resource, err error) {
	writeRefusal(w, r, p.log, res, err, false)
}

// refusal is how one error is answered.
type refusal struct {
	status      int
	code        string // RFC 6750 error code, "" for none
	description string
	challenge   string // WWW-Authenticate value, "" for none
}

// refusalFor maps an error to its answer for res. nginx, whose auth_request
// understands only 2xx, 401 and 403, gets 401 for a malformed request.
func refusalFor(res *resource, err error, nginx bool) refusal {
	invalid := func(desc string) refusal {
		return refusal{http.StatusUnauthorized, ErrorInvalidToken, desc,
			challenge(ErrorInvalidToken, desc, res.metadataURL, nil)}
	}
	switch {
	case errors.Is(err, ErrNoToken):
		return refusal{http.StatusUnauthorized, "", "this resource needs a bearer token", res.challengeNoToken}
	case errors.Is(err, ErrBadRequest):
		desc := "malformed bearer authorization"
		var be *badRequestError
		if errors.As(err, &be) {
			desc = be.desc
		}
		status := http.StatusBadRequest
		if nginx {
			status = http.StatusUnauthorized
		}
		return refusal{status, ErrorInvalidRequest, desc, challenge(ErrorInvalidRequest, desc, res.metadataURL, nil)}
	case errors.Is(err, ErrInsufficientScope):
		return refusal{http.StatusForbidden, "insufficient_scope", "the access token lacks a scope this resource requires", res.challengeScope}
	case errors.Is(err, ErrUserNotAllowed):
		return refusal{http.StatusForbidden, ErrorAccessDenied, "this user is not allowed to use this resource", ""}
	case errors.Is(err, ErrTokenExpired):
		return invalid("the access token expired")
	case errors.Is(err, ErrTokenRevoked):
		return invalid("the access token was revoked")
	case errors.Is(err, ErrTokenAudience):
		return invalid("the access token was not issued for this resource")
	case errors.Is(err, ErrTokenNotYetValid):
		return invalid("the access token is not valid yet")
	case errors.Is(err, ErrTokenMalformed), errors.Is(err, ErrTokenSignature), errors.Is(err, ErrTokenIssuer):
		return invalid("the access token is invalid")
	}
	return refusal{http.StatusServiceUnavailable, ErrorTemporarilyUnavailable, "the token cannot be checked right now; try again", ""}
}

// writeRefusal answers a refused request: the status, the challenge, and a
// small JSON body naming the error.
func writeRefusal(w http.ResponseWriter, r *http.Request, log *slog.Logger, res *resource, err error, nginx bool) {
	rf := refusalFor(res, err, nginx)
	if rf.status >= 500 {
		log.ErrorContext(r.Context(), "oauth: cannot check the bearer token", "resource", res.url, "error", err)
	} else {
		log.DebugContext(r.Context(), "oauth: bearer token refused", "resource", res.url, "status", rf.status, "error", err)
	}
	h := w.Header()
	if rf.challenge != "" {
		h.Set("WWW-Authenticate", rf.challenge)
	}
	if rf.status == http.StatusServiceUnavailable {
		h.Set("Retry-After", "1")
	}
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(rf.status)
	code := rf.code
	if code == "" {
		code = "unauthorized"
	}
	body, _ := json.Marshal(errorBody{Error: code, Description: rf.description})
	_, _ = w.Write(body)
}

// badRequestError is an ErrBadRequest with what exactly was wrong.
type badRequestError struct{ desc string }

func (e *badRequestError) Error() string { return "oauth: " + e.desc }
func (e *badRequestError) Is(target error) bool {
	return target == ErrBadRequest
}

// bearerFromRequest extracts the bearer token of a request from its
// headers (RFC 6750 §2.1), refusing one in the query string (§2.3; only
// the header method is supported) and a repeated or malformed header.
// Another authorization scheme counts as no bearer token.
func bearerFromRequest(h http.Header, rawQuery string) (string, error) {
	if rawQuery != "" && strings.Contains(rawQuery, "access_token") && queryHasToken(rawQuery) {
		return "", &badRequestError{"the access token must be sent in the Authorization header, not in the query string"}
	}
	values := h.Values("Authorization")
	switch len(values) {
	case 0:
		return "", ErrNoToken
	case 1:
	default:
		return "", &badRequestError{"more than one Authorization header"}
	}
	scheme, rest, _ := strings.Cut(values[0], " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", ErrNoToken
	}
	token := strings.Trim(rest, " ")
	if token == "" || !validB64Token(token) {
		return "", &badRequestError{"the bearer token is empty or not a valid token"}
	}
	return token, nil
}

// queryHasToken reports whether a raw query has an access_token
// parameter.
func queryHasToken(rawQuery string) bool {
	for part := range strings.SplitSeq(rawQuery, "&") {
		name, _, _ := strings.Cut(part, "=")
		if name == "access_token" {
			return true
		}
	}
	return false
}

// validB64Token checks the RFC 6750 b64token syntax:
// 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
func validB64Token(s string) bool {
	i := 0
	for i < len(s) && b64tokenChar(s[i]) {
		i++
	}
	if i == 0 {
		return false
	}
	for ; i < len(s); i++ {
		if s[i] != '=' {
			return false
		}
	}
	return true
}

// The b64token characters before the padding, as bit sets of the ASCII
// codes 0-63 and 64-127: a token is checked on every request.
const (
	b64tokenLow  uint64 = 1<<'+' | 1<<'-' | 1<<'.' | 1<<'/' | (1<<10-1)<<'0'
	b64tokenHigh uint64 = (1<<26-1)<<('A'-64) | 1<<('_'-64) | (1<<26-1)<<('a'-64) | 1<<('~'-64)
)

func b64tokenChar(c byte) bool {
	switch {
	case c < 64:
		return b64tokenLow>>c&1 == 1
	case c < 128:
		return b64tokenHigh>>(c-64)&1 == 1
	}
	return false
}

// isPreflight reports whether a request is a CORS preflight.
func isPreflight(method string, h http.Header) bool {
	return method == http.MethodOptions && h.Get("Origin") != "" && h.Get("Access-Control-Request-Method") != ""
}

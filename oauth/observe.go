package oauth

import (
	"errors"
	"net"
	"net/http"
	"time"
)

// Observing the server and its resources: every step of a client's way to
// a working token, and every decision at a protected resource, reported to
// one callback (Options.Observe, VerifierOptions.Observe), for metrics and
// for a connection trace ("where did claude.ai stop?"). An Event never
// holds a secret: no token, code, client secret, PKCE verifier or state.

// Step names what an Event reports.
type Step string

// The steps of a client's way, in the order a client takes them.
const (
	// StepResourceMetadata: the RFC 9728 metadata of a protected resource
	// was fetched (no client is named).
	StepResourceMetadata Step = "resource_metadata"
	// StepMetadata: the authorization server's RFC 8414 (or OpenID)
	// metadata was fetched (no client is named).
	StepMetadata Step = "metadata"
	// StepRegister: a dynamic registration (RFC 7591).
	StepRegister Step = "register"
	// StepAuthorize: an authorization request reached /authorize.
	StepAuthorize Step = "authorize"
	// StepConsent: the user answered the consent page.
	StepConsent Step = "consent"
	// StepLogin: the identity provider's answer (GitHub's callback, the
	// development login).
	StepLogin Step = "login"
	// StepToken: a request at /token; GrantType says which grant.
	StepToken Step = "token"
	// StepResource: a request at a protected resource with its verdict.
	StepResource Step = "resource"
)

// Event is one observed step. Fields a step does not have are empty.
type Event struct {
	Step Step      `json:"step"`
	Time time.Time `json:"time"`
	// ClientID is the client the step belongs to; empty when the request
	// named none the server knows (the metadata fetches, a request without
	// a good token at a resource).
	ClientID string `json:"client_id,omitempty"`
	// Error is why the step failed: the OAuth error code
	// ("invalid_grant") or, at a resource, the Refusal reason; empty when
	// it succeeded.
	Error string `json:"error,omitempty"`
	// Description says more about a failure, for people. Never a secret.
	Description string `json:"description,omitempty"`
	// Status is the HTTP status of the answer; 0 for a request a
	// protected resource let through to its handler.
	Status int `json:"status,omitempty"`
	// GrantType is the token request's grant_type.
	GrantType string `json:"grant_type,omitempty"`
	// Resource is the resource of a resource or resource-metadata step.
	Resource string `json:"resource,omitempty"`
	// Subject is the user, when known (token, resource).
	Subject string `json:"sub,omitempty"`
	// Address and UserAgent are the client's, as the request carried them
	// (the TCP peer; the server's trusted forwarded header where it has
	// one).
	Address   string `json:"address,omitempty"`
	UserAgent string `json:"user_agent,omitempty"`
}

// OK reports whether the step succeeded.
func (e Event) OK() bool { return e.Error == "" }

// Observer receives events. It is called on the request's goroutine, so
// it must be quick and must not block (count, or queue for later); it is
// called concurrently.
type Observer func(Event)

// Reasons of refusals at a protected resource (Event.Error of StepResource
// events).
const (
	RefusedNoToken           = "no_token"
	RefusedBadRequest        = "bad_request"
	RefusedExpired           = "expired"
	RefusedRevoked           = "revoked"
	RefusedAudience          = "wrong_audience"
	RefusedInvalid           = "invalid_token"
	RefusedNotYetValid       = "not_yet_valid"
	RefusedInsufficientScope = "insufficient_scope"
	RefusedUserNotAllowed    = "user_not_allowed"
	RefusedUnavailable       = "unavailable"
)

// RefusalReason names a refusal of ProtectedResource.Authenticate or
// ForwardAuth with one of the Refused* reasons; "" for nil.
func RefusalReason(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrNoToken):
		return RefusedNoToken
	case errors.Is(err, ErrBadRequest):
		return RefusedBadRequest
	case errors.Is(err, ErrInsufficientScope):
		return RefusedInsufficientScope
	case errors.Is(err, ErrUserNotAllowed):
		return RefusedUserNotAllowed
	case errors.Is(err, ErrTokenExpired):
		return RefusedExpired
	case errors.Is(err, ErrTokenRevoked):
		return RefusedRevoked
	case errors.Is(err, ErrTokenAudience):
		return RefusedAudience
	case errors.Is(err, ErrTokenNotYetValid):
		return RefusedNotYetValid
	case errors.Is(err, ErrTokenMalformed), errors.Is(err, ErrTokenSignature), errors.Is(err, ErrTokenIssuer):
		return RefusedInvalid
	}
	return RefusedUnavailable
}

// peerAddress is the TCP peer of r without its port.
func peerAddress(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// emit reports an event of a request to the server's observer: the
// client's address as the server counts it (trusted proxies included), a
// failure's OAuth error code and description, and the answer's status.
func (s *Server) emit(r *http.Request, e Event, err error) {
	if s.observe == nil {
		return
	}
	e.Time = s.now()
	if a, ok := r.Context().Value(clientAddrKey{}).(clientAddr); ok {
		e.Address = a.String()
	} else if a := s.addrs.addr(r); a.IsValid() {
		e.Address = a.String()
	}
	e.UserAgent = truncate(r.UserAgent(), 200)
	if e.Status == 0 {
		e.Status = http.StatusOK
	}
	if err != nil {
		oe := asOAuthError(err)
		e.Error, e.Description, e.Status = oe.Code, oe.Description, oe.HTTPStatus()
	}
	s.observe(e)
}

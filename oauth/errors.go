package oauth

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// OAuth error codes (RFC 6749 §4.1.2.1 and §5.2, RFC 7591 §3.2.2, RFC 7009,
// RFC 8628 §3.5, RFC 6750 §3.1).
const (
	ErrorInvalidRequest          = "invalid_request"
	ErrorInvalidClient           = "invalid_client"
	ErrorInvalidGrant            = "invalid_grant"
	ErrorUnauthorizedClient      = "unauthorized_client"
	ErrorUnsupportedGrantType    = "unsupported_grant_type"
	ErrorUnsupportedResponseType = "unsupported_response_type"
	ErrorInvalidScope            = "invalid_scope"
	ErrorInvalidTarget           = "invalid_target"
	ErrorAccessDenied            = "access_denied"
	ErrorServerError             = "server_error"
	ErrorTemporarilyUnavailable  = "temporarily_unavailable"
	ErrorInvalidRedirectURI      = "invalid_redirect_uri"
	ErrorInvalidClientMetadata   = "invalid_client_metadata"
	ErrorInvalidToken            = "invalid_token"
	ErrorUnsupportedTokenType    = "unsupported_token_type"
	ErrorAuthorizationPending    = "authorization_pending"
	ErrorSlowDown                = "slow_down"
	ErrorExpiredToken            = "expired_token"
	ErrorTooManyRequests         = "too_many_requests"
)

// Error is an OAuth protocol error: what the client is told (Code,
// Description, Status) and, apart from it, the cause, which is logged and
// never sent.
type Error struct {
	// Code is the RFC 6749 "error" value, e.g. "invalid_grant".
	Code string
	// Description is the human-readable "error_description"; it must not
	// contain secrets. Empty: none is sent.
	Description string
	// Status is the HTTP status. Zero: 400, or 401 for invalid_client and
	// invalid_token, 500 for server_error.
	Status int
	// Err is the underlying cause, for logs and errors.Is/As.
	Err error
	// RetryAfter, when positive, is sent as the Retry-After header (a
	// quota or cap was reached).
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	s := "oauth: " + e.Code
	if e.Description != "" {
		s += ": " + e.Description
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// HTTPStatus is the status the error is sent with.
func (e *Error) HTTPStatus() int {
	if e.Status != 0 {
		return e.Status
	}
	switch e.Code {
	case ErrorInvalidClient, ErrorInvalidToken:
		return http.StatusUnauthorized
	case ErrorServerError:
		return http.StatusInternalServerError
	case ErrorTemporarilyUnavailable:
		return http.StatusServiceUnavailable
	case ErrorTooManyRequests:
		return http.StatusTooManyRequests
	}
	return http.StatusBadRequest
}

// newError returns an *Error with a formatted description.
func newError(code, format string, args ...any) *Error {
	return &Error{Code: code, Description: fmt.Sprintf(format, args...)}
}

// errorBody is the RFC 6749 §5.2 JSON error document.
type errorBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

// asOAuthError turns any error into the *Error sent to a client: an *Error
// found in the chain as is, anything else as server_error (its text stays in
// the log).
func asOAuthError(err error) *Error {
	var oe *Error
	if errors.As(err, &oe) {
		return oe
	}
	return &Error{Code: ErrorServerError, Description: "internal error", Err: err}
}

// writeError writes err as RFC 6749 §5.2 JSON and logs it. Unknown errors
// become server_error; their text is logged, never sent.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	oe := asOAuthError(err)
	status := oe.HTTPStatus()
	if status >= 500 {
		s.log.ErrorContext(r.Context(), "oauth: request failed", "method", r.Method, "path", r.URL.Path, "error", err)
	} else {
		s.log.DebugContext(r.Context(), "oauth: request refused", "method", r.Method, "path", r.URL.Path, "code", oe.Code, "error", err)
	}
	setRetryAfter(w, oe.RetryAfter)
	if status == http.StatusUnauthorized && oe.Code == ErrorInvalidClient && r.Header.Get("Authorization") != "" {
		// RFC 6749 §5.2: a client that tried HTTP authentication gets a challenge.
		w.Header().Set("WWW-Authenticate", `Basic realm="oauth", charset="UTF-8"`)
	}
	writeJSON(w, status, errorBody{Error: oe.Code, Description: oe.Description})
}

// writeJSON writes v as a JSON response that no cache keeps.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		// Our own response types always marshal; this is a programming error.
		http.Error(w, `{"error":"server_error"}`, http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

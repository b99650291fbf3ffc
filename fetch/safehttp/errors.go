package safehttp

import (
	"errors"
	"fmt"
	"net/netip"
)

// Sentinels; match them with errors.Is.
var (
	// ErrRefused means the guard refused a destination: its scheme, port,
	// domain or IP address is not allowed. The error is a *RefusedError.
	ErrRefused = errors.New("safehttp: destination refused")
	// ErrBodyTooLarge means a response body exceeded the byte cap. The bytes
	// up to the cap were delivered before it.
	ErrBodyTooLarge = errors.New("safehttp: response body exceeds the size limit")
	// ErrTooManyRedirects means a redirect chain exceeded the cap.
	ErrTooManyRedirects = errors.New("safehttp: too many redirects")
)

// RefusedError says why the guard refused a destination. It matches
// ErrRefused.
type RefusedError struct {
	// Host is the host as the URL or dial named it; empty when unknown.
	Host string
	// Addr is the refused IP address, when the refusal is about one.
	Addr netip.Addr
	// Reason names the rule: "loopback", "private network", "scheme
	// \"file\" not allowed", ...
	Reason string
}

func (e *RefusedError) Error() string {
	switch {
	case e.Addr.IsValid() && e.Host != "" && e.Host != e.Addr.String():
		return fmt.Sprintf("safehttp: refused %s (%s): %s", e.Host, e.Addr, e.Reason)
	case e.Addr.IsValid():
		return fmt.Sprintf("safehttp: refused %s: %s", e.Addr, e.Reason)
	case e.Host != "":
		return fmt.Sprintf("safehttp: refused %s: %s", e.Host, e.Reason)
	}
	return "safehttp: refused: " + e.Reason
}

// Is makes errors.Is(err, ErrRefused) true.
func (e *RefusedError) Is(target error) bool { return target == ErrRefused }

// BodyTooLargeError reports the cap a response body exceeded. It matches
// ErrBodyTooLarge.
type BodyTooLargeError struct {
	Limit int64
}

func (e *BodyTooLargeError) Error() string {
	return fmt.Sprintf("safehttp: response body exceeds the %d-byte limit", e.Limit)
}

// Is makes errors.Is(err, ErrBodyTooLarge) true.
func (e *BodyTooLargeError) Is(target error) bool { return target == ErrBodyTooLarge }

package fetch

import (
	"net/http"
	"net/netip"

	"github.com/mcp-oauth-gateway/gateway/fetch/safehttp"
)

// The guarded HTTP client lives in package safehttp, which links neither
// the HTML converter nor mcp-go, so that other packages (the authorization
// server's Client ID Metadata Document fetches) can use it. The names
// below are aliases of safehttp's, kept so that code written against
// fetch keeps compiling: the values are the very same (errors.Is(err,
// fetch.ErrRefused) and errors.Is(err, safehttp.ErrRefused) agree). New
// code uses safehttp directly.

// Defaults of ClientOptions fields.
//
// Deprecated: use safehttp.DefaultMaxBodyBytes, safehttp.DefaultTimeout
// and safehttp.DefaultMaxRedirects.
const (
	DefaultMaxBodyBytes = safehttp.DefaultMaxBodyBytes
	DefaultTimeout      = safehttp.DefaultTimeout
	DefaultMaxRedirects = safehttp.DefaultMaxRedirects
)

type (
	// ClientOptions configure the guarded transport.
	//
	// Deprecated: use safehttp.Options.
	ClientOptions = safehttp.Options
	// Transport is the guarded transport.
	//
	// Deprecated: use safehttp.Transport.
	Transport = safehttp.Transport
	// Resolver looks up the IP addresses of a host name.
	//
	// Deprecated: use safehttp.Resolver.
	Resolver = safehttp.Resolver
	// RefusedError says why the guard refused a destination.
	//
	// Deprecated: use safehttp.RefusedError.
	RefusedError = safehttp.RefusedError
	// BodyTooLargeError reports the cap a response body exceeded.
	//
	// Deprecated: use safehttp.BodyTooLargeError.
	BodyTooLargeError = safehttp.BodyTooLargeError
)

// The guard's sentinels: the same values as safehttp's.
//
// Deprecated: use safehttp.ErrRefused, safehttp.ErrBodyTooLarge and
// safehttp.ErrTooManyRedirects.
var (
	ErrRefused          = safehttp.ErrRefused
	ErrBodyTooLarge     = safehttp.ErrBodyTooLarge
	ErrTooManyRedirects = safehttp.ErrTooManyRedirects
)

// NewTransport returns a guarded Transport.
//
// Deprecated: use safehttp.NewTransport.
func NewTransport(opts *ClientOptions) (*Transport, error) { return safehttp.NewTransport(opts) }

// NewClient returns an http.Client on a guarded Transport.
//
// Deprecated: use safehttp.NewClient.
func NewClient(opts *ClientOptions) (*http.Client, error) { return safehttp.NewClient(opts) }

// CheckIP applies the default address policy to ip.
//
// Deprecated: use safehttp.CheckIP.
func CheckIP(ip netip.Addr) error { return safehttp.CheckIP(ip) }

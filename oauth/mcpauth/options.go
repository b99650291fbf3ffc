package mcpauth

import (
	"log/slog"
	"net/http"
	"time"
)

// Defaults of Options.
const (
	DefaultClientName    = "MCP client"
	DefaultMaxStepUps    = 2
	DefaultRefreshBefore = time.Minute
	DefaultHTTPTimeout   = 30 * time.Second
)

// Options configure a Transport. The zero value (or nil) is a public client
// that registers itself, keeps its tokens in memory and logs the user in
// through the browser.
type Options struct {
	// Base carries the MCP requests. Nil: http.DefaultTransport, which
	// keeps 2 idle connections per host; a client with more requests in
	// flight gives a Transport with a larger MaxIdleConnsPerHost.
	Base http.RoundTripper
	// HTTPClient makes the discovery, registration and token requests.
	// Nil: a client on Base with a timeout of DefaultHTTPTimeout.
	HTTPClient *http.Client
	// Store keeps tokens and registrations. Nil: a MemoryStore (nothing
	// survives the process); NewFileStore for a file shared by processes.
	Store Store
	// Login obtains the user's authorization. Nil: Browser with its
	// defaults.
	Login Login

	// ClientID and ClientSecret are pre-registered credentials; with a
	// client id nothing is registered. Empty: a Client ID Metadata
	// Document (ClientMetadataURL) where the server supports it, else
	// dynamic registration.
	ClientID, ClientSecret string
	// TokenEndpointAuthMethod of a pre-registered client: none,
	// client_secret_basic or client_secret_post. Empty: none without a
	// secret, else what the server supports (basic first).
	TokenEndpointAuthMethod string
	// ClientMetadataURL is the https URL of this client's Client ID
	// Metadata Document, used as its client id at servers that advertise
	// client_id_metadata_document_supported. Empty: not used.
	ClientMetadataURL string
	// ClientName is the client_name of a dynamic registration. Empty:
	// DefaultClientName.
	ClientName string
	// ClientURI, SoftwareID and SoftwareVersion go into dynamic
	// registrations when set.
	ClientURI, SoftwareID, SoftwareVersion string

	// Scopes are requested when neither the server's challenge nor its
	// resource metadata names any. Empty: no scope parameter.
	Scopes []string
	// Resource is the resource indicator (RFC 8707) to ask tokens for.
	// Empty: the resource of the server's protected resource metadata
	// (checked to cover the server URL).
	Resource string
	// MaxStepUps bounds the step-up authorizations (403
	// insufficient_scope) of one request. Zero: DefaultMaxStepUps;
	// negative: none.
	MaxStepUps int
	// RefreshBefore is how long before its expiry a token is refreshed.
	// Zero: DefaultRefreshBefore.
	RefreshBefore time.Duration

	// Logger receives the client's log (never a token or code; at most
	// their fingerprints). Nil: slog.Default().
	Logger *slog.Logger
	// Now is the clock. Nil: time.Now.
	Now func() time.Time
}

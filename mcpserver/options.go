package mcpserver

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcp-oauth-gateway/gateway/internal/streamable"
)

// SessionMode says whether a server keeps protocol sessions for clients of the
// 2025-03-26 .. 2025-11-25 era. Clients of 2026-07-28 and later are always
// served statelessly, whatever the mode.
type SessionMode int

const (
	// Stateful mints a random session id at initialize, tracks it, and
	// requires it on every later request: a request without one gets 400,
	// an unknown or ended one gets 404. DELETE ends a session; idle sessions
	// expire. This is the default.
	Stateful SessionMode = iota
	// Stateless keeps nothing between requests: initialize mints no session
	// id, any session id a client sends is ignored, GET and DELETE get 405.
	Stateless
)

func (m SessionMode) String() string {
	switch m {
	case Stateful:
		return "stateful"
	case Stateless:
		return "stateless"
	default:
		return fmt.Sprintf("SessionMode(%d)", int(m))
	}
}

// Defaults of Options fields.
const (
	DefaultPath               = "/mcp"
	DefaultHealthPath         = "/health"
	DefaultSessionIdleTimeout = time.Hour
	DefaultMaxSessions        = streamable.DefaultMaxSessions
	DefaultMaxBodyBytes       = streamable.DefaultMaxBodyBytes
	DefaultReplayEvents       = streamable.DefaultReplayEvents
	DefaultKeepAlive          = streamable.DefaultKeepAlive
	DefaultWriteTimeout       = streamable.DefaultWriteTimeout
)

// Options configure a Server. A nil *Options means all defaults; each field
// documents its zero value.
type Options struct {
	// Title and Instructions are reported to clients in initialize and
	// server/discover results. Zero: none.
	Title        string
	Instructions string

	// Path is where the MCP endpoint is served. Zero: "/mcp".
	Path string
	// HealthPath is where GET reports the server's health as JSON. Zero:
	// "/health"; "-" disables it.
	HealthPath string

	// Sessions selects the session mode for legacy-era clients. Zero: Stateful.
	Sessions SessionMode
	// SessionIdleTimeout ends a stateful session that saw no request for this
	// long. Zero: one hour. Negative: sessions never expire.
	SessionIdleTimeout time.Duration
	// MaxSessions caps live stateful sessions; an initialize beyond the cap
	// gets 503 with a JSON-RPC error and Retry-After. Zero: 10000.
	// Negative: no cap.
	MaxSessions int
	// MaxBodyBytes caps a request body; a larger one gets 413 with a
	// JSON-RPC error. Zero: 4 MiB.
	MaxBodyBytes int64
	// ReplayEvents is how many events of each SSE stream a session keeps
	// (and at most 4 MiB of them) so a client can resume a broken stream
	// with Last-Event-ID; see the package documentation for how long
	// streams are kept. Zero: 256. Negative: no resumption (streams carry
	// no event ids).
	ReplayEvents int
	// KeepAlive is the interval of comments on an idle SSE stream, which
	// keep reverse proxies from closing it. Zero: 15 s. Negative: none.
	KeepAlive time.Duration
	// WriteTimeout bounds each write to an SSE stream (and of a plain JSON
	// answer of 64 KiB or more): a client that stops reading loses its
	// connection after it, and the stream stays resumable. Zero: 30 s.
	// Negative: no limit.
	WriteTimeout time.Duration

	// ProtocolVersions restricts the protocol versions served, for example
	// []string{"2025-06-18", "2025-11-25"}. A request naming a version
	// outside the list gets 400. Zero: every version mcp-go implements, from
	// 2024-11-05 to 2026-07-28.
	ProtocolVersions []string

	// AllowedOrigins lists the browser origins (scheme://host[:port]) that may
	// call the server, for the Origin check and for CORS. "*" allows every
	// origin. Origins on a loopback host (localhost, 127.0.0.1, [::1]) and an
	// Origin equal to the request's own scheme and host are always allowed.
	// Zero: only those.
	AllowedOrigins []string
	// AllowedHosts lists the Host header values (host, matching any port,
	// or host:port) the server answers besides loopback names; any other
	// Host gets 403 on every listener, which defeats DNS rebinding. Zero:
	// loopback names only, so a server reached by another name (behind a
	// reverse proxy, in a container) must list it or set AllowAnyHost.
	AllowedHosts []string
	// AllowAnyHost turns the Host check off (see GuardOptions.AllowAnyHost),
	// for a server behind a reverse proxy that routes by host name. Zero:
	// the Host is checked.
	AllowAnyHost bool

	// Authenticate, when set, is asked who is calling on every request to the
	// MCP endpoint (never for CORS preflights or health). Zero: no
	// authentication hook.
	Authenticate AuthFunc
	// TrustGatewayHeaders takes the caller's identity from X-User-Id,
	// X-User-Name, X-User-Email and X-Auth-Client-Id, as set by a gateway
	// that already verified the caller. Only turn it on when every request
	// reaches the server through such a gateway. Zero: off.
	TrustGatewayHeaders bool

	// DisableResourceSubscriptions turns off the resources/subscribe
	// capability. Zero: subscriptions are offered.
	DisableResourceSubscriptions bool

	// Logger receives the server's own logs. Zero: slog.Default().
	Logger *slog.Logger
	// Now is the clock. Zero: time.Now.
	Now func() time.Time
}

// config is Options with defaults applied and validated.
type config struct {
	Options
	versions []string // served protocol versions, newest first
}

func (o *Options) resolve() (*config, error) {
	c := &config{}
	if o != nil {
		c.Options = *o
	}
	if c.Path == "" {
		c.Path = DefaultPath
	}
	if !strings.HasPrefix(c.Path, "/") {
		return nil, fmt.Errorf("mcpserver: Path %q must start with /", c.Path)
	}
	if c.HealthPath == "" {
		c.HealthPath = DefaultHealthPath
	}
	if c.HealthPath != "-" && !strings.HasPrefix(c.HealthPath, "/") {
		return nil, fmt.Errorf("mcpserver: HealthPath %q must start with /", c.HealthPath)
	}
	if c.HealthPath == c.Path {
		return nil, errors.New("mcpserver: HealthPath and Path must differ")
	}
	switch c.Sessions {
	case Stateful, Stateless:
	default:
		return nil, fmt.Errorf("mcpserver: unknown session mode %d", int(c.Sessions))
	}
	if c.SessionIdleTimeout == 0 {
		c.SessionIdleTimeout = DefaultSessionIdleTimeout
	}
	if err := streamable.ResolveLimits(&c.MaxSessions, &c.MaxBodyBytes, &c.ReplayEvents, &c.KeepAlive, &c.WriteTimeout); err != nil {
		return nil, fmt.Errorf("mcpserver: %w", err)
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	versions, err := servedVersions(c.ProtocolVersions)
	if err != nil {
		return nil, err
	}
	c.versions = versions
	for _, origin := range c.AllowedOrigins {
		if origin == "*" {
			continue
		}
		if _, err := canonicalOrigin(origin); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// servedVersions validates a protocol version list and returns it newest
// first; an empty list means every version mcp-go knows.
func servedVersions(list []string) ([]string, error) {
	if len(list) == 0 {
		return slices.Clone(mcp.ValidProtocolVersions), nil
	}
	var out []string
	for _, v := range mcp.ValidProtocolVersions {
		if slices.Contains(list, v) {
			out = append(out, v)
		}
	}
	for _, v := range list {
		if !mcp.IsValidProtocolVersion(v) {
			return nil, fmt.Errorf("mcpserver: unknown protocol version %q (known: %s)", v, strings.Join(mcp.ValidProtocolVersions, ", "))
		}
	}
	return out, nil
}

// ParseProtocolVersions parses a comma-separated protocol version list, as
// binaries take it from a flag or MCP_PROTOCOL_VERSIONS_SUPPORTED, and checks
// every entry.
func ParseProtocolVersions(s string) ([]string, error) {
	var out []string
	for _, v := range strings.Split(s, ",") {
		v = strings.TrimSpace(v)
		if v == "" {
			continue
		}
		if !mcp.IsValidProtocolVersion(v) {
			return nil, fmt.Errorf("unknown protocol version %q (known: %s)", v, strings.Join(mcp.ValidProtocolVersions, ", "))
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		return nil, errors.New("no protocol version given")
	}
	return out, nil
}

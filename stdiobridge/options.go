package stdiobridge

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"github.com/mcp-oauth-gateway/gateway/internal/streamable"
	"github.com/mcp-oauth-gateway/gateway/mcpserver"
)

// Command is how to start a stdio MCP server.
type Command struct {
	// Path is the program to run; a name without a slash is looked up in
	// PATH. Required.
	Path string
	// Args are the program's arguments, passed untouched.
	Args []string
	// Env adds KEY=VALUE entries to the environment the server inherits
	// from the proxy. Zero: the proxy's environment as is.
	Env []string
	// Dir is the server's working directory. Zero: the proxy's.
	Dir string
}

// String is the command line, for logs.
func (c Command) String() string {
	return strings.Join(append([]string{c.Path}, c.Args...), " ")
}

// ModernMode says how the proxy serves clients of protocol version
// 2026-07-28 and later, which send stateless requests with no initialize
// handshake and no session.
type ModernMode int

const (
	// ModernAuto serves them from a small pool of initialized servers per
	// caller. A server that answers server/discover with 2026-07-28 among
	// its versions gets their requests as they are; for any other server the
	// proxy translates: it answers server/discover from the server's
	// initialize result, serves subscriptions/listen itself, and turns the
	// server's sampling and elicitation requests into input_required results.
	// This is the default.
	ModernAuto ModernMode = iota
	// ModernTranslate always translates, even for a server that speaks
	// 2026-07-28 itself.
	ModernTranslate
	// ModernOff refuses them with an UnsupportedProtocolVersion error that
	// lists the session-based versions, so that clients fall back to
	// initialize.
	ModernOff
)

// String names the mode as ParseModernMode reads it.
func (m ModernMode) String() string {
	switch m {
	case ModernAuto:
		return "auto"
	case ModernTranslate:
		return "translate"
	case ModernOff:
		return "off"
	}
	return fmt.Sprintf("ModernMode(%d)", int(m))
}

// ParseModernMode parses "auto", "translate" or "off".
func ParseModernMode(s string) (ModernMode, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "auto":
		return ModernAuto, nil
	case "translate":
		return ModernTranslate, nil
	case "off":
		return ModernOff, nil
	}
	return 0, fmt.Errorf("unknown 2026-07-28 mode %q (want auto, translate or off)", s)
}

// Defaults of ProxyOptions fields.
const (
	DefaultMaxChildren    = 100
	DefaultMaxSessions    = streamable.DefaultMaxSessions
	DefaultPoolSize       = 1
	DefaultStartupTimeout = 60 * time.Second
	DefaultRequestTimeout = 5 * time.Minute
	DefaultIdleTimeout    = 5 * time.Minute
	DefaultStopGrace      = 2 * time.Second
	DefaultMaxBodyBytes   = streamable.DefaultMaxBodyBytes
	DefaultReplayEvents   = streamable.DefaultReplayEvents
	DefaultKeepAlive      = streamable.DefaultKeepAlive
	DefaultWriteTimeout   = streamable.DefaultWriteTimeout
)

// ProxyOptions configure a Proxy. A nil *ProxyOptions means all defaults;
// each field documents its zero value.
type ProxyOptions struct {
	// Name names the server in logs and in the health report. Zero: the base
	// name of Command.Path.
	Name string

	// Shared runs one server process for every session and every caller
	// instead of one per session. Only share a server that keeps no
	// per-client state, since every caller then sees the same process. Zero:
	// one process per session.
	Shared bool
	// MaxChildren caps the live server processes; an initialize beyond it
	// gets 503 with a JSON-RPC error. Zero: 100. Negative: no cap.
	MaxChildren int
	// MaxSessions caps the live sessions (which matters for a shared
	// process: with one process per session, MaxChildren bounds them
	// first); an initialize beyond it gets 503. Zero: 10000. Negative: no
	// cap.
	MaxSessions int
	// PoolSize is how many initialized processes serve the 2026-07-28
	// requests of one caller (callers never share a process unless Shared is
	// set). Zero: 1.
	PoolSize int

	// StartupTimeout bounds the start of a server: from spawning it to its
	// answer to initialize (npx cold starts are slow). Zero: 60 s.
	StartupTimeout time.Duration
	// RequestTimeout bounds one request: without an answer by then, the
	// client gets a JSON-RPC error and the server a cancellation. A progress
	// notification restarts the clock. Zero: 5 min. Negative: no limit.
	RequestTimeout time.Duration
	// IdleTimeout ends a session (and stops its process) that saw no request
	// and held no open stream for this long; idle pooled processes go the
	// same way. Zero: 5 min. Negative: never.
	IdleTimeout time.Duration
	// StopGrace is how long a server gets to exit after its input is closed,
	// and again after SIGTERM, before SIGKILL. Zero: 2 s.
	StopGrace time.Duration

	// MaxBodyBytes caps a request body; a larger one gets 413 with a
	// JSON-RPC error. Zero: 4 MiB.
	MaxBodyBytes int64
	// MaxMessageBytes caps one message from a server; a larger one is
	// dropped and logged. Zero: no limit.
	MaxMessageBytes int
	// ReplayEvents is how many events of each SSE stream a session keeps
	// (and at most 4 MiB of them) so that a client can resume a broken
	// stream with Last-Event-ID; see the package documentation for how long
	// streams are kept. Zero: 256. Negative: no resumption (streams carry no
	// event ids).
	ReplayEvents int
	// KeepAlive is the interval of SSE comments on idle streams, which keep
	// reverse proxies from closing them. Zero: 15 s. Negative: none.
	KeepAlive time.Duration
	// WriteTimeout bounds each write to an SSE stream (and of a plain JSON
	// answer of 64 KiB or more): a client that stops reading loses its
	// connection after it, and the stream stays resumable. Zero: 30 s.
	// Negative: no limit.
	WriteTimeout time.Duration

	// AllowedOrigins, AllowedHosts and AllowAnyHost configure the Origin,
	// Host and CORS guard, as in mcpserver.GuardOptions. Zero: loopback
	// names and origins only.
	AllowedOrigins []string
	AllowedHosts   []string
	AllowAnyHost   bool
	// Authenticate, when set, is asked who is calling on every request. A
	// session belongs to the subject and the client id of the identity that
	// created it; another user, or another client of the same user, gets 404
	// for it, and 2026-07-28 callers get processes of their own by the same
	// key. Zero: no authentication hook.
	Authenticate mcpserver.AuthFunc
	// TrustGatewayHeaders takes the caller's identity from the X-User-*
	// headers of a gateway that already verified the caller. Zero: off.
	TrustGatewayHeaders bool

	// Modern says how 2026-07-28 clients are served. Zero: ModernAuto.
	Modern ModernMode

	// Logger receives the proxy's logs and the servers' stderr. Zero:
	// slog.Default().
	Logger *slog.Logger
}

// config is ProxyOptions with defaults applied.
type config struct {
	ProxyOptions
	cmd Command
}

func resolve(cmd Command, o *ProxyOptions) (*config, error) {
	c := &config{cmd: cmd}
	if o != nil {
		c.ProxyOptions = *o
	}
	c.cmd.Args = append([]string(nil), cmd.Args...)
	c.cmd.Env = append([]string(nil), cmd.Env...)
	if strings.TrimSpace(cmd.Path) == "" {
		return nil, errors.New("stdiobridge: Command.Path is required")
	}
	for _, kv := range cmd.Env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return nil, fmt.Errorf("stdiobridge: Command.Env entry %q is not KEY=VALUE", kv)
		}
	}
	if c.Name == "" {
		c.Name = filepath.Base(cmd.Path)
	}
	if c.MaxChildren == 0 {
		c.MaxChildren = DefaultMaxChildren
	}
	if c.PoolSize == 0 {
		c.PoolSize = DefaultPoolSize
	}
	if c.PoolSize < 0 {
		return nil, errors.New("stdiobridge: PoolSize must not be negative")
	}
	if c.StartupTimeout == 0 {
		c.StartupTimeout = DefaultStartupTimeout
	}
	if c.StartupTimeout < 0 {
		return nil, errors.New("stdiobridge: StartupTimeout must not be negative")
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = DefaultRequestTimeout
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.StopGrace <= 0 {
		c.StopGrace = DefaultStopGrace
	}
	if err := streamable.ResolveLimits(&c.MaxSessions, &c.MaxBodyBytes, &c.ReplayEvents, &c.KeepAlive, &c.WriteTimeout); err != nil {
		return nil, fmt.Errorf("stdiobridge: %w", err)
	}
	if c.MaxMessageBytes < 0 {
		return nil, errors.New("stdiobridge: MaxMessageBytes must not be negative")
	}
	switch c.Modern {
	case ModernAuto, ModernTranslate, ModernOff:
	default:
		return nil, fmt.Errorf("stdiobridge: unknown Modern mode %d", int(c.Modern))
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c, nil
}

package echo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcp-oauth-gateway/gateway/mcpserver"
)

// Options configure a tool set. A nil *Options means all defaults.
type Options struct {
	// Environ returns the environment environmentDump reports, as
	// "KEY=value" strings. Zero: os.Environ.
	Environ func() []string
	// Now is the clock the reports use for "now" (elapsed time, token
	// expiry, ages). Zero: time.Now.
	Now func() time.Time
}

// RegisterStateful adds the stateful tool set to s, which must be in
// mcpserver.Stateful mode: echo, replayLastEcho, printHeader, bearerDecode,
// authContext, requestTiming, protocolNegotiation, corsAnalysis,
// environmentDump, healthProbe, sessionInfo and whoIStheGOAT.
func RegisterStateful(s *mcpserver.Server, opts *Options) error {
	if s.Mode() != mcpserver.Stateful {
		return errors.New("echo: RegisterStateful needs a server in Stateful mode; use RegisterStateless")
	}
	return register(s, opts, true)
}

// RegisterStateless adds the stateless tool set to s: echo (which returns
// the message exactly), printHeader, bearerDecode, authContext,
// requestTiming, protocolNegotiation, corsAnalysis, environmentDump,
// healthProbe and whoIStheGOAT. It suits a server in either mode.
func RegisterStateless(s *mcpserver.Server, opts *Options) error {
	return register(s, opts, false)
}

// tools is a configured tool set.
type tools struct {
	srv      *mcpserver.Server
	stateful bool
	environ  func() []string
	now      func() time.Time
	guard    *mcpserver.Guard

	// From the server's options.
	versions     []string // served protocol versions, newest first
	idleTimeout  time.Duration
	maxSessions  int
	origins      []string
	trustGateway bool
	authHook     bool
}

func register(s *mcpserver.Server, opts *Options, stateful bool) error {
	if s == nil {
		return errors.New("echo: nil server")
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	// The reports quote the served protocol versions, the session idle
	// timeout and cap, the allowed origins and how the caller's identity is
	// established from the server's own options.
	so := s.Options()
	t := &tools{
		srv:          s,
		stateful:     stateful,
		environ:      o.Environ,
		now:          o.Now,
		idleTimeout:  so.SessionIdleTimeout,
		maxSessions:  so.MaxSessions,
		origins:      slices.Clone(so.AllowedOrigins),
		trustGateway: so.TrustGatewayHeaders,
		authHook:     so.Authenticate != nil,
	}
	if t.environ == nil {
		t.environ = os.Environ
	}
	if t.now == nil {
		t.now = time.Now
	}
	t.versions = so.ProtocolVersions
	guard, err := mcpserver.NewGuard(&mcpserver.GuardOptions{AllowedOrigins: so.AllowedOrigins, AllowedHosts: so.AllowedHosts,
		AllowAnyHost: so.AllowAnyHost, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return fmt.Errorf("echo: %w", err)
	}
	t.guard = guard
	for _, tl := range t.list() {
		s.AddTool(tl.definition(), t.handler(tl))
	}
	return nil
}

// tool is one diagnostic tool: its definition and its report.
type tool struct {
	name, title, description string
	params                   []param
	readOnly                 bool
	run                      func(c *call) *mcp.CallToolResult
}

// list is the tool set, in the order tools/list shows it.
func (t *tools) list() []tool {
	all := []tool{
		t.echoTool(),
		t.replayTool(),
		t.printHeaderTool(),
		t.bearerDecodeTool(),
		t.authContextTool(),
		t.requestTimingTool(),
		t.protocolTool(),
		t.corsTool(),
		t.environmentTool(),
		t.healthTool(),
		t.sessionInfoTool(),
		t.goatTool(),
	}
	if !t.stateful {
		all = slices.DeleteFunc(all, func(tl tool) bool { return tl.name == "replayLastEcho" || tl.name == "sessionInfo" })
	}
	return all
}

func (tl tool) definition() mcp.Tool {
	opts := []mcp.ToolOption{
		mcp.WithDescription(tl.description),
		mcp.WithToolTitle(tl.title),
		mcp.WithReadOnlyHintAnnotation(tl.readOnly),
		mcp.WithDestructiveHintAnnotation(false),
		mcp.WithIdempotentHintAnnotation(true),
		mcp.WithOpenWorldHintAnnotation(false),
		mcp.WithSchemaAdditionalProperties(false),
	}
	for _, p := range tl.params {
		opts = append(opts, p.option())
	}
	return mcp.NewTool(tl.name, opts...)
}

// call is what a tool's report is made from.
type call struct {
	t        *tools
	args     map[string]any
	req      *mcpserver.Request // never nil; empty when the call did not come over HTTP
	overHTTP bool
	session  *mcpserver.Session // nil when the call is served statelessly
	identity *mcpserver.Identity
	now      time.Time
}

// handler wraps a tool's report: it checks the arguments against the
// tool's parameters and gathers what the report reads.
func (t *tools) handler(tl tool) mcpserver.ToolHandler {
	return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		args, err := checkArgs(tl.name, tl.params, req.Params.Arguments)
		if err != nil {
			return mcp.NewToolResultError(err.Error()), nil
		}
		c := &call{
			t:        t,
			args:     args,
			req:      mcpserver.RequestFromContext(ctx),
			session:  mcpserver.SessionFromContext(ctx),
			identity: mcpserver.IdentityFromContext(ctx),
			now:      t.now(),
		}
		// Over stdio, mcpserver gives an empty Request.
		c.overHTTP = c.req != nil && c.req.Method != ""
		if c.req == nil {
			c.req = &mcpserver.Request{}
		}
		if c.req.Header == nil {
			r := *c.req
			r.Header = http.Header{}
			c.req = &r
		}
		return tl.run(c), nil
	}
}

// protocolVersion is the protocol version of the call.
func (c *call) protocolVersion() string {
	if c.req.ProtocolVersion == "" && c.session != nil {
		return c.session.ProtocolVersion()
	}
	return c.req.ProtocolVersion
}

// header returns the first value of a request header.
func (c *call) header(name string) string { return c.req.Header.Get(name) }

// serverType describes the server for the reports.
func (t *tools) serverType() string {
	if t.srv.Mode() == mcpserver.Stateful {
		return "Stateful with session management"
	}
	return "Stateless (no sessions)"
}

// sessionLine writes the short session line the stateful reports start with.
func (c *call) sessionLine(r *report) {
	if c.session != nil {
		r.linef("Session: %s", shortSession(c.session.ID()))
		r.blank()
	}
}

// clientName is the name the session's client gave at initialize.
func clientName(s *mcpserver.Session) string {
	if name := s.Client().Name; name != "" {
		return name
	}
	return "unknown"
}

// shortSession shows the start of a session id, enough to tell sessions
// apart in a report, not enough to use one.
func shortSession(id string) string {
	if len(id) > 8 {
		return id[:8] + "..."
	}
	return id
}

func text(s string) *mcp.CallToolResult { return mcp.NewToolResultText(s) }

func toolError(format string, args ...any) *mcp.CallToolResult {
	return mcp.NewToolResultError(fmt.Sprintf(format, args...))
}

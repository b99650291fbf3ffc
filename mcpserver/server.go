package mcpserver

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/mcp-oauth-gateway/gateway/internal/streamable"
)

// Handler types of the tools, resources and prompts a Server serves. They are
// mcp-go's, so handlers written for mcp-go work unchanged.
type (
	ToolHandler             = server.ToolHandlerFunc
	ResourceHandler         = server.ResourceHandlerFunc
	ResourceTemplateHandler = server.ResourceTemplateHandlerFunc
	PromptHandler           = server.PromptHandlerFunc
)

// Server is an MCP server served over StreamableHTTP. Register tools,
// resources and prompts, then serve Handler. It is safe for concurrent use;
// registration may happen while serving (clients are told of list changes).
type Server struct {
	cfg      *config
	mcp      *server.MCPServer
	name     string
	version  string
	started  time.Time
	guard    *Guard
	handler  http.Handler // the endpoint and health
	endpoint http.Handler // the MCP endpoint behind the guard

	sessions *streamable.Table[*Session]
	window   streamable.Window // of streams that are not resumable
	pending  *pendingTable
	workers  *workers
	cancel   context.CancelFunc

	longTools sync.Map // names of the tools added with AddLongRunningTool

	closeOnce sync.Once
}

// New returns a Server that reports name and version to clients. It fails on
// an invalid Options value.
func New(name, version string, opts *Options) (*Server, error) {
	cfg, err := opts.resolve()
	if err != nil {
		return nil, err
	}
	guard, err := NewGuard(&GuardOptions{AllowedOrigins: cfg.AllowedOrigins, AllowedHosts: cfg.AllowedHosts,
		AllowAnyHost: cfg.AllowAnyHost, Logger: cfg.Logger})
	if err != nil {
		return nil, err
	}
	serverOpts := []server.ServerOption{
		server.WithToolCapabilities(true),
		server.WithResourceCapabilities(!cfg.DisableResourceSubscriptions, true),
		server.WithPromptCapabilities(true),
		server.WithLogging(),
		server.WithCompletions(),
		server.WithRecovery(),
	}
	if cfg.Title != "" {
		serverOpts = append(serverOpts, server.WithTitle(cfg.Title))
	}
	if cfg.Instructions != "" {
		serverOpts = append(serverOpts, server.WithInstructions(cfg.Instructions))
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		cfg:      cfg,
		mcp:      server.NewMCPServer(name, version, serverOpts...),
		name:     name,
		version:  version,
		started:  cfg.Now(),
		guard:    guard,
		sessions: streamable.NewTable[*Session](cfg.MaxSessions),
		window:   streamable.WindowOf(cfg.ReplayEvents),
		pending:  newPendingTable(),
		workers:  newWorkers(),
		cancel:   cancel,
	}
	mux := http.NewServeMux()
	s.endpoint = guard.Wrap(streamable.Methods{Post: s.servePost, Get: s.serveGet, Delete: s.serveDelete})
	mux.Handle(cfg.Path, s.endpoint)
	if cfg.HealthPath != "-" {
		mux.HandleFunc("GET "+cfg.HealthPath, s.serveHealth)
	}
	s.handler = mux
	go s.sweep(ctx)
	return s, nil
}

// Name and Version are what the server reports to clients.
func (s *Server) Name() string    { return s.name }
func (s *Server) Version() string { return s.version }

// Started is when the server was created.
func (s *Server) Started() time.Time { return s.started }

// Mode is the server's session mode.
func (s *Server) Mode() SessionMode { return s.cfg.Sessions }

// Options returns the options the server runs with, defaults filled in:
// ProtocolVersions lists the served versions, newest first.
func (s *Server) Options() Options {
	o := s.cfg.Options
	o.ProtocolVersions = slices.Clone(s.cfg.versions)
	o.AllowedOrigins = slices.Clone(o.AllowedOrigins)
	o.AllowedHosts = slices.Clone(o.AllowedHosts)
	return o
}

// ActiveSessions is the number of live stateful sessions.
func (s *Server) ActiveSessions() int { return s.sessions.Len() }

// AddTool registers a tool; a tool of the same name is replaced. Clients
// with an open stream are told the tool list changed.
func (s *Server) AddTool(tool mcp.Tool, h ToolHandler) {
	s.mcp.AddTool(tool, func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		res, err := h(ctx, req)
		noteRPCError(ctx, err)
		return res, err
	})
}

// AddLongRunningTool registers a tool whose calls may take long. Such a
// call runs on a goroutine of its own while the HTTP handler writes its
// stream, so the tool may end its HTTP response early with CloseStream and
// let the client fetch what follows, and the result, by reconnecting with
// GET and Last-Event-ID (SEP-1699 polling; stateful sessions only). Other
// tools run on their request's own goroutine, which is cheaper.
func (s *Server) AddLongRunningTool(tool mcp.Tool, h ToolHandler) {
	s.longTools.Store(tool.Name, struct{}{})
	s.AddTool(tool, h)
}

// RemoveTools unregisters tools by name.
func (s *Server) RemoveTools(names ...string) {
	for _, name := range names {
		s.longTools.Delete(name)
	}
	s.mcp.DeleteTools(names...)
}

// AddResource registers a resource at its URI.
func (s *Server) AddResource(r mcp.Resource, h ResourceHandler) {
	s.mcp.AddResource(r, func(ctx context.Context, req mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
		res, err := h(ctx, req)
		noteRPCError(ctx, err)
		return res, err
	})
}

// AddResourceTemplate registers a resource template.
func (s *Server) AddResourceTemplate(t mcp.ResourceTemplate, h ResourceTemplateHandler) {
	s.mcp.AddResourceTemplate(t, func(ctx context.Context, req mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
		res, err := h(ctx, req)
		noteRPCError(ctx, err)
		return res, err
	})
}

// AddPrompt registers a prompt.
func (s *Server) AddPrompt(p mcp.Prompt, h PromptHandler) {
	s.mcp.AddPrompt(p, func(ctx context.Context, req mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
		res, err := h(ctx, req)
		noteRPCError(ctx, err)
		return res, err
	})
}

// RemovePrompts unregisters prompts by name.
func (s *Server) RemovePrompts(names ...string) { s.mcp.DeletePrompts(names...) }

// Handler serves the MCP endpoint at Options.Path and the health report at
// Options.HealthPath.
func (s *Server) Handler() http.Handler { return s.handler }

// ServeHTTP serves the MCP endpoint alone, whatever the request path, behind
// the Origin, Host and CORS guard; use it to mount the endpoint in a mux of
// your own.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.endpoint.ServeHTTP(w, r)
}

// Close ends every session and stops the server's background work. Requests
// in flight are not interrupted; streams held open by clients are closed.
// Close may be called more than once.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.cancel()
		s.closeSessions()
		s.workers.stop()
	})
	return nil
}

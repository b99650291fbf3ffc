// Package mcpserver serves Model Context Protocol servers over the
// StreamableHTTP transport. It is built on github.com/mark3labs/mcp-go's
// MCPServer, whose tool, resource and prompt types it uses, and replaces its
// HTTP transport with one that is strict and complete:
//
//   - Both protocol eras on one endpoint: 2025-03-26 .. 2025-11-25 clients
//     with initialize and sessions, and 2026-07-28 stateless requests
//     (server/discover, subscriptions/listen, Mcp-Method / Mcp-Name and
//     Mcp-Param-* header validation, JSON-RPC errors mapped to HTTP statuses).
//   - Explicit session modes. Stateful: random session ids, 400 without one,
//     404 for an unknown or ended one or one created by another user or
//     another OAuth client of the same user, DELETE ends a session, idle
//     expiry and a cap (503 with Retry-After). Stateless: nothing kept.
//   - What a tool sends during a call (progress, log messages, sampling,
//     elicitation and roots requests) goes out on that call's own SSE stream,
//     in order, and is never dropped; what is not tied to a call (list
//     changes, resource updates) goes to the session's GET stream.
//   - SSE streams carry event ids; a client whose connection broke resumes
//     with GET and Last-Event-ID, and a tool may end its HTTP response early
//     (CloseStream) to have the client poll for the rest (SEP-1699).
//   - Origin checks on every method, Host checks against DNS rebinding on
//     every listener, CORS for browser clients (MCP Inspector, claude.ai), a
//     body limit (413), strict JSON-RPC parsing (400, -32700), GET /health.
//   - Tools read the HTTP request (headers, arrival time), the session and
//     the caller's identity from their context. The identity comes from an
//     authentication hook (the oauth package provides one), from an outer
//     middleware, or, only when the operator says so, from the trusted
//     X-User-Id / X-User-Name headers of a gateway.
//
// A server:
//
//	s, err := mcpserver.New("weather", "1.0.0", &mcpserver.Options{
//		AllowedOrigins: []string{"https://claude.ai"},
//	})
//	if err != nil {
//		return err
//	}
//	s.AddTool(mcp.NewTool("forecast", mcp.WithString("city", mcp.Required())),
//		func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
//			user := mcpserver.IdentityFromContext(ctx) // nil when anonymous
//			_ = mcpserver.Progress(ctx, req, 1, 2, "looking up "+req.GetString("city", ""))
//			...
//		})
//	http.ListenAndServe("127.0.0.1:3000", s.Handler()) // /mcp and /health
//
// The same server can serve one client over stdio with ServeStdio, and
// NewGuard gives any other MCP endpoint the Origin, Host and CORS checks.
//
// The Host check is on by default, wherever the server listens: the MCP
// endpoint answers only a Host that is a loopback name (localhost,
// *.localhost, 127.0.0.0/8, ::1) or listed in Options.AllowedHosts, and
// answers any other with 403, so a page whose DNS name an attacker pointed
// at the server cannot call it from a browser. A server embedded behind a
// reverse proxy or reached by a LAN or container name lists the names its
// clients use (AllowedHosts: []string{"mcp.example.com"}); one behind a
// proxy that already routes by host name may set AllowAnyHost instead. The
// first refused Host is logged as a warning naming these options.
//
// # Transport rules
//
// The HTTP transport is the one stdiobridge's proxy uses too, so both
// answer clients alike:
//
//   - A session belongs to the subject and the client id of the identity
//     that created it; any other caller gets 404 for it.
//   - A second connection to a stream (a GET, or a GET with the
//     Last-Event-ID of a POST stream) takes it over, and the older
//     connection's response ends: a client reconnects when it believes its
//     connection is dead, and after a silent network drop the old one may
//     still look alive for minutes.
//   - Every write to an SSE stream (and of a JSON answer of 64 KiB or more)
//     must complete within Options.WriteTimeout (30 s): a client that stops
//     reading loses its connection instead of holding a handler, and can
//     resume. Idle streams get a comment every Options.KeepAlive (15 s).
//   - Event ids are "<stream>-<seq>"; seq 0 is the priming event of a
//     2025-11-25 stream.
//   - Accept is read as media ranges, q=0 excluding a type: a client that
//     takes neither JSON nor SSE gets 406, one that takes only SSE gets its
//     response as SSE, one that takes only JSON gets the response alone.
//   - A stream keeps its newest Options.ReplayEvents events (and 4 MiB); a
//     session keeps at most 32 POST streams and 16 MiB for resumption, each
//     for 5 minutes after it finished, the oldest finished first. A
//     Last-Event-ID of a stream no longer kept gets 410 Gone; one that is
//     not an id of the session gets 400.
package mcpserver

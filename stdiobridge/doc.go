// Package stdiobridge bridges stdio MCP and StreamableHTTP, both ways: a
// Proxy serves stdio MCP servers over StreamableHTTP, and a Client gives a
// local stdio MCP client a remote StreamableHTTP server.
//
// Most MCP servers (filesystem, memory, time, fetch, playwright, ...) speak
// only stdio. A Proxy starts such a server as a child process and serves it
// at an HTTP endpoint that MCP clients of every protocol version can use:
//
//	px, err := stdiobridge.NewProxy(stdiobridge.Command{
//		Path: "npx",
//		Args: []string{"-y", "@modelcontextprotocol/server-memory"},
//	}, nil)
//	if err != nil {
//		return err
//	}
//	defer px.Close()
//	mux := stdiobridge.NewMux()
//	if err := mux.Handle("/mcp", px); err != nil {
//		return err
//	}
//	return http.ListenAndServe("127.0.0.1:3000", mux) // also serves /health
//
// # A raw relay
//
// The proxy relays JSON-RPC messages as bytes; it does not decode and
// re-encode them. It reads the few members it routes on and changes only what
// it must: the id of a request (every client request gets an id of the
// child's own, mapped back on the response), and, on a process several
// clients share, the progress token. What the server sends on its own gets
// to the right client: progress by its token, logs and the server's requests
// (sampling, elicitation, roots) on the stream of the request in flight, or
// on the session's GET stream when none is, and list changes on the GET
// stream. The client's answers go back to the server.
//
// # Sessions and processes
//
// For clients of protocol versions 2025-03-26 to 2025-11-25 an initialize
// starts a process of the session's own (or, with ProxyOptions.Shared, joins
// the one shared process) and creates the session; its id is required on
// every later request (400 without it, 404 when unknown, ended, or created by
// another user or another OAuth client of the same user). DELETE ends the
// session and its process. A POST is answered with plain JSON when the
// response is all the server sends (and the client takes JSON), and with an
// SSE stream when the server sends related messages first; streams carry
// event ids and a client can resume a broken one with Last-Event-ID.
//
// A server that acts as the signed-in user with the user's own credential
// (a GitHub MCP server with the user's GitHub token) runs behind [Users]:
// a Proxy per caller, whose processes get that caller's environment
// (CallerEnv), never shared between callers; when a caller's environment
// changes (a renewed token) new processes serve them and the old ones stop.
//
// # Transport rules
//
// The HTTP transport is the one mcpserver uses too, so a proxied stdio
// server and an mcpserver answer clients alike: sessions belong to the
// subject and the client id of the identity that created them; a second
// connection to a stream takes it over and the older one's response ends
// (after a silent network drop the old one may still look alive); every
// write to an SSE stream (and of a JSON answer of 64 KiB or more) must
// complete within ProxyOptions.WriteTimeout (30 s), and idle streams get a
// comment every ProxyOptions.KeepAlive (15 s); event ids are
// "<stream>-<seq>"; Accept is read as media ranges, q=0 excluding a type
// (406 for a client that takes neither JSON nor SSE); every 503 carries
// Retry-After; a stream keeps its newest ProxyOptions.ReplayEvents events
// (and 4 MiB), and a session keeps at most 32 POST streams and 16 MiB for
// resumption, each for 5 minutes after it finished; a Last-Event-ID of a
// stream no longer kept gets 410 Gone.
//
// Clients of 2026-07-28 send stateless requests. They are served by a small
// pool of processes per caller that the proxy initialized itself; see
// ModernMode for how a server that predates 2026-07-28 is translated.
//
// A process that exits unexpectedly fails every request pending on it with
// a JSON-RPC error and ends its sessions; it is never reused. Processes
// start in a process group of their own and are stopped by closing their
// input, then SIGTERM to the group, then SIGKILL after StopGrace; on Linux
// the kernel kills them if the proxy dies without stopping them. A process's
// stderr goes to the log, line by line; lines of stdout that are not
// JSON-RPC are logged and skipped; messages may be of any size.
//
// # What stdio cannot tell
//
// A stdio server does not say which request a log message or a sampling
// request of its own belongs to. The proxy sends it on the stream of the
// only request in flight (or the newest one, when all in flight belong to
// one session), else on the session's GET stream. On a process several
// clients share, a server request that could belong to requests of several
// clients is refused with a JSON-RPC error to the server rather than sent
// to a client it may not concern; so is one for which no client stream is
// open. Progress notifications are always routed exactly, by token.
//
// # Several servers
//
// A Mux serves several proxies at their own paths and reports their state at
// /health; ParseConfig reads the JSON configuration file format of
// mcp-streamablehttp-proxy (the "mcpServers" map that MCP clients use).
//
// # The client direction
//
// Claude Desktop, VS Code, Cursor and other local clients start their MCP
// servers as commands and speak newline-delimited JSON-RPC on their stdin
// and stdout. A Client is such a command's inside for a remote server:
//
//	auth, err := mcpauth.NewTransport(serverURL, &mcpauth.Options{Store: store}) // OAuth, when the server wants it
//	if err != nil {
//		return err
//	}
//	c, err := stdiobridge.NewClient(serverURL, &stdiobridge.ClientOptions{HTTPClient: auth.Client()})
//	if err != nil {
//		return err
//	}
//	return c.Run(ctx, os.Stdin, os.Stdout) // until stdin ends or ctx is done
//
// It is a raw relay too: every line is posted as it was read, and what the
// server sends is written as it sent it, one message per line (pretty
// printed JSON is compacted; nothing else changes). Requests run
// concurrently: the goroutine that read a request posts it and another one
// reads on, so nothing stands between reading a message and sending it.
// The initialize request and notifications are relayed in order with what
// follows them. Everything the server sends reaches the output: JSON
// answers, every event of SSE response streams (notifications, progress,
// the server's own requests such as sampling and elicitation, whose
// answers from the input are posted back), and the session's GET stream,
// opened after notifications/initialized. A broken response stream is
// resumed with Last-Event-ID after the server's retry delay (30 s at most;
// at most 5 times without a new event); a session the server forgot (404) is
// re-created by replaying the client's initialize and
// notifications/initialized, and the request sent again; when the input
// ends the requests in flight get ClientOptions.ShutdownGrace, then the
// session is deleted. Every request carries the negotiated
// MCP-Protocol-Version; 2026-07-28 requests (no session) carry their own
// version from _meta and the Mcp-Method, Mcp-Name and Mcp-Param-* headers,
// and a tool whose x-mcp-header annotations are invalid is refused
// locally. A request that fails (no connection, a refused status, an
// answer beyond ClientOptions.MaxMessageBytes, a JSON answer that is not
// its response, a stream that cannot be resumed) is answered with a
// JSON-RPC error, so the client does not wait
// for nothing; a line from the client beyond that limit is skipped and
// logged. The log never sees a message's content or a token.
//
// The mcp-streamablehttp-client binary is this Client with the OAuth of
// oauth/mcpauth and a command line for testing servers.
package stdiobridge

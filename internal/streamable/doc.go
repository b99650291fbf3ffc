// Package streamable is the StreamableHTTP transport core that mcpserver
// (MCP servers built on mcp-go) and stdiobridge (stdio servers relayed as
// raw bytes) share: what a client of either sees of the transport is decided
// here, once.
//
//   - Stream: the bounded event log of one SSE stream, with resumption and
//     one takeover rule; Serve writes it to a response as plain JSON or as
//     SSE, with a write deadline and keep-alive comments.
//   - Streams: the GET stream and the resumable POST streams of a session,
//     with one retention rule; Session and Table: sessions bound to an
//     owner, with a cap, activity and sweeping.
//   - The request checks: Content-Type, Accept, the body limit, the
//     2026-07-28 headers; the JSON-RPC error codes, the error answers and the
//     map from error codes to HTTP statuses.
//
// What differs between the two stays with them: where messages come from
// (mcp-go's MCPServer, a child process's stdout), dispatch, batches, and the
// 2026-07-28 translation for stdio servers that predate it.
//
// # Decisions
//
// Session owner. A session is bound to the user and to the OAuth client it
// was created through (OwnerKey). Another user, or another client of the
// same user, gets 404 for it, as for a session that does not exist.
//
// A second reader of a stream. The newest connection takes the stream over
// and the older one's response ends. A client reconnects (GET, with or
// without Last-Event-ID) when it believes its connection is dead; after a
// silent network drop the old connection can look alive to the server for
// many minutes, and refusing the new one (409) would lock the client out of
// its own stream exactly then. The newcomer passed the same session and
// owner checks, so taking over grants it nothing it did not have.
//
// SSE write deadline and keep-alives. Every write to an SSE stream (and of a
// plain JSON answer of 64 KiB or more) must complete within the write
// timeout (DefaultWriteTimeout, 30 s): a client that stops reading loses
// its connection and the handler returns; the stream stays resumable. An
// idle SSE stream gets a comment every keep-alive interval
// (DefaultKeepAlive, 15 s).
//
// Event ids are "<stream>-<seq>", decimal; seq 0 is the priming event.
//
// Accept is read as media ranges, the most specific match deciding and q=0
// excluding a type. A POST whose client takes neither application/json nor
// text/event-stream gets 406; one that takes only SSE gets its response as
// an SSE stream; one that takes only JSON gets the response alone, and what
// the call sent before it is dropped. A GET must take text/event-stream.
//
// Every 503 (a session or process cap, a server shutting down) carries
// Retry-After (RetryAfter seconds).
//
// Retention, for interrupted and finished streams alike. A stream keeps its
// newest ReplayEvents events (256 by default) and at most StreamBytes of
// them, written or not; a reader attached to it is not cut short unless it
// falls 4096 events or 64 MiB behind. A session keeps the POST streams whose
// event ids it gave out, at most MaxKeptStreams (32) and SessionBytes (16
// MiB) of them, each until KeepFinished (5 min) after it finished; over a
// bound, the oldest finished stream goes first, then the oldest unfinished
// one, which ends. A client that resumes late gets a clear answer: a
// Last-Event-ID of a stream no longer kept gets 410 Gone with a JSON-RPC
// error; one whose events after it fell out of the window gets what is kept
// (usually the response), after an SSE comment that says events were
// dropped; one that is not an id of this session gets 400.
package streamable

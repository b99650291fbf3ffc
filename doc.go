// Package gateway is the MCP OAuth Gateway: a Go SDK, and thin binaries built
// from it, that put OAuth 2.1 in front of any Model Context Protocol (MCP)
// server without changing that server. It re-implements, and goes beyond, a
// Python system of six packages. This package holds no code; it is the map.
//
// # Packages
//
//   - mcpserver: the StreamableHTTP server framework every MCP server here
//     is built on (over github.com/mark3labs/mcp-go). Both protocol eras on
//     one endpoint (2025-03-26 .. 2025-11-25 with sessions, 2026-07-28
//     stateless), explicit session modes, Origin/Host/CORS checks, body
//     limits, health, resumable SSE streams, notifications that stay on the
//     call they belong to, and the caller's identity in the tool's context.
//   - oauth: the OAuth 2.1 authorization server as an http.Handler (RFC 8414
//     metadata, RFC 7591/7592 dynamic client registration, PKCE S256,
//     RFC 8707 resources, RFC 9068 JWT access tokens signed with go-jose,
//     rotating refresh tokens, RFC 7009 revocation, RFC 7662 introspection,
//     RFC 8628 device flow), its identity providers (GitHub, any OpenID
//     Connect provider, a local development login; several at once), the
//     users' own upstream tokens sealed for the services that act as them,
//     and its stores: in memory, oauth/filestore (one local file, the
//     binaries' default) and oauth/redisstore (Redis, for several
//     replicas). The resource-server side: token verification, RFC 9728
//     metadata, a bearer middleware, the /verify endpoint for reverse
//     proxies, and ProtectedResource.Mount for a protected service on a mux.
//   - oauth/identityproxy: the reverse proxy from a protected resource to an
//     upstream MCP server in any language, with the verified identity in
//     headers and never the client's token.
//   - oauth/mcpauth: OAuth for MCP clients as an http.RoundTripper
//     (discovery, registration, PKCE login in a browser, by device code or
//     by paste, refresh shared safely between processes).
//   - stdiobridge: serves stdio MCP servers (filesystem, memory, fetch, ...)
//     over StreamableHTTP as a raw JSON-RPC relay with process supervision,
//     and the other direction: a local stdio endpoint for a remote
//     StreamableHTTP server (stdiobridge.Client).
//     It and mcpserver share one transport core (internal/streamable:
//     sessions, the SSE event log and resumption, write deadlines, request
//     checks), so a proxied stdio server answers clients as mcpserver does.
//   - fetch: an MCP fetch tool set with an SSRF-safe HTTP transport (every
//     connection and redirect decided on the IP actually dialled) and
//     HTML-to-markdown conversion. The transport is fetch/safehttp, usable
//     on its own; the authorization server fetches Client ID Metadata
//     Documents with it.
//   - caller: who is calling, in a request's context: what oauth's bearer
//     check puts there and mcpserver tools read (mcpserver.Identity is
//     caller.Identity), so a token verifier links no MCP server.
//   - echo: diagnostic tool sets (stateful and stateless) that show what a
//     server behind the gateway sees: headers, token, identity, CORS, timing.
//
// # Binaries (examples/)
//
// mcp-oauth-gateway (the authorization server and MCP services behind it,
// in one process: go run ./examples/mcp-oauth-gateway), mcp-oauth-server,
// mcp-streamablehttp-proxy, mcp-fetch-streamablehttp-server,
// mcp-echo-streamablehttp-server-stateful and -stateless, and the client
// bridge mcp-streamablehttp-client. Each main.go only turns flags and
// environment variables (the Python originals' names) into Options and
// serves the library's handler with graceful shutdown.
//
// # The request flow
//
//	MCP client --(no token)--> /svc/mcp -> 401 WWW-Authenticate: Bearer resource_metadata="..."
//	  -> GET /.well-known/oauth-protected-resource/svc/mcp        (RFC 9728)
//	  -> GET /.well-known/oauth-authorization-server              (RFC 8414)
//	  -> POST /register (RFC 7591), or a Client ID Metadata Document URL
//	  -> GET /authorize (PKCE S256, resource=...) -> consent -> GitHub or OpenID provider -> /callback
//	  <- redirect_uri?code=...&state=...&iss=...
//	  -> POST /token -> JWT access token (aud = the resource) + rotating refresh token
//	  -> /svc/mcp with the bearer token -> verified in process, or by /verify for
//	     Traefik forwardAuth, nginx auth_request, Caddy forward_auth
//	  -> the MCP service, which sees the identity (X-User-Id, X-User-Name), never the token
package gateway

// Package echo provides the diagnostic MCP tool sets of the echo servers:
// tools that answer with what the server saw of the call (headers, bearer
// token, identity, timing, CORS, protocol negotiation, environment, health,
// session) so an operator can check a gateway deployment from any MCP client.
//
// There are two sets, registered on an mcpserver.Server:
//
//   - RegisterStateful: echo, replayLastEcho, printHeader, bearerDecode,
//     authContext, requestTiming, protocolNegotiation, corsAnalysis,
//     environmentDump, healthProbe, sessionInfo and whoIStheGOAT, for a
//     server in mcpserver.Stateful mode. echo prefixes the message with the
//     session and remembers it for replayLastEcho.
//   - RegisterStateless: the same without replayLastEcho and sessionInfo;
//     echo returns the message exactly.
//
// Every tool has a description and an input schema that refuses unknown
// arguments; bad arguments give a tool result with isError set. Secrets are
// never shown whole: tokens, cookies, session ids and secret-looking
// environment variables are redacted (environmentDump's showSecrets reveals
// at most the first and last 4 characters of a long secret). Tools report
// the caller's verified identity from mcpserver.IdentityFromContext, and
// show what the request carried besides (an unverified token's claims,
// X-User-* headers the server does not trust) as such.
//
// Use:
//
//	opts := &mcpserver.Options{TrustGatewayHeaders: true}
//	srv, err := mcpserver.New("mcp-echo-streamablehttp-server-stateful", "1.0.0", opts)
//	if err != nil { ... }
//	if err := echo.RegisterStateful(srv, nil); err != nil { ... }
//	http.ListenAndServe("127.0.0.1:3000", srv.Handler())
//
// The binaries examples/mcp-echo-streamablehttp-server-stateful and
// examples/mcp-echo-streamablehttp-server-stateless serve these sets.
package echo

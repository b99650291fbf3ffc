// Package mcpauth is the client side of MCP authorization: an
// http.RoundTripper that gets, keeps and refreshes OAuth tokens for one
// protected MCP server, usable by any Go MCP client (mcp-go's
// StreamableHTTP client through transport.WithHTTPBasicClient, the
// stdiobridge client, or plain net/http).
//
//	store, _ := mcpauth.NewFileStore(path) // e.g. mcpauth.DefaultFilePath("my-app")
//	auth, err := mcpauth.NewTransport("https://mcp.example.com/mcp", &mcpauth.Options{
//		Store: store,
//		Login: &mcpauth.Browser{}, // or &mcpauth.Device{}, &mcpauth.Paste{}
//	})
//	if err != nil {
//		return err
//	}
//	httpClient := auth.Client()
//
// # What it does
//
// On a 401 it reads resource_metadata from the WWW-Authenticate challenge,
// else tries the well-known locations in the order of the MCP
// specification (path-inserted, then root); it checks that the protected
// resource metadata's resource covers the server URL, then fetches the
// authorization server's RFC 8414 or OpenID metadata (path-aware), checks
// that its issuer is the one asked for, and refuses a server that does not
// offer PKCE with S256. A server without resource metadata is treated as
// of the 2025-03-26 revision (its origin is its authorization server, with
// default endpoints when it has no metadata either).
//
// The client is, in this order of preference: pre-registered
// (Options.ClientID), a Client ID Metadata Document
// (Options.ClientMetadataURL) where the server advertises support, or
// registered dynamically (RFC 7591, application_type native) and stored
// with its RFC 7592 registration access token and URI, which Registration,
// UpdateRegistration and DeleteRegistration use.
//
// The login is the authorization code flow with PKCE S256, the resource
// indicator (RFC 8707) on the authorization, token and refresh requests, a
// random state and the RFC 9207 iss check; scopes are the challenge's, else
// the resource metadata's scopes_supported, plus offline_access where the
// server offers it. A 403 insufficient_scope leads to a step-up login for
// the scopes the challenge names, at most Options.MaxStepUps times per
// request and never for scopes the token already has. How the user
// approves is a Login: Browser (a loopback listener and the system
// browser, RFC 8252), Device (RFC 8628, for SSH and headless machines) or
// Paste (the redirect URL pasted on the terminal, never read from standard
// input).
//
// Tokens are refreshed shortly before they expire and on a 401. Concurrent
// requests share one refresh or login; processes sharing a FileStore take
// a file lock and re-read the tokens under it first, so two processes
// never both spend a rotating refresh token. A refresh token the server
// refuses leads to one fresh login, not a loop; a request gets at most two
// renewals. A client the server no longer knows (a refresh refused with
// invalid_client, or a stored registration that the RFC 7592 read, asked
// once before a login, says is gone) is registered again, since a login
// with it would end on the server's error page, which the client never
// sees.
//
// Logs never contain a token, code or secret, only short fingerprints.
//
// # The credentials file
//
// A FileStore is one JSON file of mode 0600 (format
// "mcp-oauth-gateway/credentials", version 1, documented in README.md)
// whose format changes only with its version number.
package mcpauth

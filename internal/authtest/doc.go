// Package authtest runs, for tests on loopback, an authorization server
// (package oauth, approving every request as a fixed user) and an MCP
// server protected by its tokens (the stateless echo tools behind
// oauth.ProtectedResource), and counts what reaches the authorization
// server. It also builds and runs the real mcp-oauth-server binary as a
// child process.
package authtest

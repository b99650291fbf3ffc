// Command mcp-echo-streamablehttp-server-stateless serves the stateless echo
// diagnostic tools (package echo) over MCP StreamableHTTP at /mcp, keeping
// no sessions, and a health report at /health.
//
//	mcp-echo-streamablehttp-server-stateless [--host 127.0.0.1] [--port 3000] [--debug]
//	    [--protocol-versions 2025-06-18,2025-11-25]
//	    [--allowed-origins https://claude.ai] [--allowed-hosts echo.example.com] [--allow-any-host]
//	    [--trust-gateway-headers] [--log-file FILE]
//
// Every flag has an environment variable (see README.md); a flag given on
// the command line wins. A bad setting exits with status 2.
package main

import (
	"os"

	"github.com/mcp-oauth-gateway/gateway/internal/echocmd"
)

func main() {
	os.Exit(echocmd.Main("mcp-echo-streamablehttp-server-stateless", false, os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

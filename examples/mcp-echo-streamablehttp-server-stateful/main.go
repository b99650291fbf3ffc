// Command mcp-echo-streamablehttp-server-stateful serves the stateful echo
// diagnostic tools (package echo) over MCP StreamableHTTP at /mcp, with
// protocol sessions, and a health report at /health.
//
//	mcp-echo-streamablehttp-server-stateful [--host 127.0.0.1] [--port 3000] [--debug]
//	    [--protocol-versions 2025-06-18,2025-11-25] [--session-timeout 3600]
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
	os.Exit(echocmd.Main("mcp-echo-streamablehttp-server-stateful", true, os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

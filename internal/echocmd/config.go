// Package echocmd is the command line of the two echo diagnostic binaries,
// examples/mcp-echo-streamablehttp-server-stateful and -stateless: their
// flags and environment variables (the Python originals'), the server they
// run and its graceful shutdown.
package echocmd

import (
	"context"
	"io"
	"log/slog"
	"time"

	"github.com/mcp-oauth-gateway/gateway/internal/cli"
	"github.com/mcp-oauth-gateway/gateway/internal/cli/guardflags"
	"github.com/mcp-oauth-gateway/gateway/mcpserver"
)

// config is the binary's settings, from flags and environment.
type config struct {
	listen   *cli.Listen
	level    slog.Level
	logFile  *cli.LogFile
	server   mcpserver.Options
	shutdown time.Duration
}

func parseConfig(name string, stateful bool, args []string, getenv func(string) string, help io.Writer) (*config, error) {
	summary := "The stateless echo diagnostic MCP server: tools that show what the server saw of each call " +
		"(headers, token, identity, timing, CORS, protocol, environment, health), served over StreamableHTTP at /mcp."
	if stateful {
		summary = "The stateful echo diagnostic MCP server: tools that show what the server saw of each call " +
			"(headers, token, identity, timing, CORS, protocol, environment, health, session), with protocol sessions, " +
			"served over StreamableHTTP at /mcp."
	}
	c := cli.New(name, summary)
	listen := c.Listen(3000, "MCP_ECHO_HOST", "MCP_ECHO_PORT")
	debug := c.Bool("debug", false, "log at debug level, every HTTP request included", "MCP_ECHO_DEBUG")
	versions := c.String("protocol-versions", "", "MCP protocol versions to serve, comma-separated (default all)", "MCP_PROTOCOL_VERSIONS_SUPPORTED")
	var timeout *time.Duration
	if stateful {
		timeout = c.Duration("session-timeout", time.Hour, "end sessions idle this long", "MCP_SESSION_TIMEOUT")
	}
	guard := guardflags.Register(c, []string{"MCP_ECHO_ALLOWED_ORIGINS", "MCP_CORS_ORIGINS"}, []string{"MCP_ECHO_ALLOWED_HOSTS", "MCP_ALLOWED_HOSTS"})
	trust := c.Bool("trust-gateway-headers", false, "take the caller's identity from X-User-Id/X-User-Name; only behind the gateway", "MCP_ECHO_TRUST_GATEWAY_HEADERS")
	logFile := c.LogFile()
	if err := c.Parse(args, getenv, help); err != nil {
		return nil, err
	}

	cfg := &config{listen: listen, level: slog.LevelInfo, logFile: logFile, shutdown: 10 * time.Second}
	if *debug {
		cfg.level = slog.LevelDebug
	}
	cfg.server = ServerOptions(stateful)
	if stateful {
		cfg.server.SessionIdleTimeout = *timeout
	}
	cfg.server.TrustGatewayHeaders = *trust
	if *versions != "" {
		var err error
		if cfg.server.ProtocolVersions, err = mcpserver.ParseProtocolVersions(*versions); err != nil {
			return nil, c.Bad("protocol-versions", err)
		}
	}
	if err := guard.Check(context.Background(), listen); err != nil {
		return nil, err
	}
	guard.Apply(&cfg.server)
	return cfg, nil
}

// ServerOptions are the mcpserver options of the stateful or stateless
// echo server: its session mode, title and instructions.
func ServerOptions(stateful bool) mcpserver.Options {
	if stateful {
		return mcpserver.Options{
			Sessions:     mcpserver.Stateful,
			Title:        "MCP Echo Server (stateful)",
			Instructions: "Diagnostic tools that show what this server saw of each call: headers, token, identity, timing, CORS, protocol, environment, health and session.",
		}
	}
	return mcpserver.Options{
		Sessions:     mcpserver.Stateless,
		Title:        "MCP Echo Server (stateless)",
		Instructions: "Diagnostic tools that show what this server saw of each call: headers, token, identity, timing, CORS, protocol, environment and health. The echo tool returns its message exactly.",
	}
}

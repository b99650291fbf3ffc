package echocmd

import (
	"context"
	"io"
	"runtime/debug"
	"strings"

	"github.com/mcp-oauth-gateway/gateway/echo"
	"github.com/mcp-oauth-gateway/gateway/internal/cli"
	"github.com/mcp-oauth-gateway/gateway/mcpserver"
)

// Main runs the echo server named name, stateful or stateless, until SIGINT
// or SIGTERM, and returns the exit status: 0 after --help or a shutdown, 2
// for a bad setting, 1 when the server cannot run. Help goes to stdout,
// logs and errors to stderr.
func Main(name string, stateful bool, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cfg, err := parseConfig(name, stateful, args, getenv, stdout)
	if err != nil {
		return cli.Exit(stderr, name, err)
	}
	ctx, stop := cli.SignalContext(context.Background())
	defer stop()
	return cli.Exit(stderr, name, serve(ctx, name, stateful, cfg, stderr))
}

func serve(ctx context.Context, name string, stateful bool, cfg *config, stderr io.Writer) error {
	logger, closeLog, err := cfg.logFile.Logger(stderr, cfg.level)
	if err != nil {
		return err
	}
	defer closeLog()
	cfg.server.Logger = logger

	srv, err := mcpserver.New(name, Version(), &cfg.server)
	if err != nil {
		return cli.Usage(err)
	}
	defer srv.Close()
	register := echo.RegisterStateless
	if stateful {
		register = echo.RegisterStateful
	}
	if err := register(srv, nil); err != nil {
		return cli.Usage(err)
	}
	ln, err := cfg.listen.Listen(ctx)
	if err != nil {
		return err
	}
	attrs := []any{"url", "http://" + ln.Addr().String() + "/mcp", "sessions", cfg.server.Sessions.String(),
		"trust_gateway_headers", cfg.server.TrustGatewayHeaders}
	if stateful {
		attrs = append(attrs, "session_timeout", cfg.server.SessionIdleTimeout)
	}
	return cli.Serve(ctx, ln, echo.LogRequests(logger, srv.Handler()), &cli.ServeOptions{
		Logger:          logger,
		LogAttrs:        attrs,
		ShutdownTimeout: cfg.shutdown,
		OnShutdown:      func() { srv.Close() }, // ends sessions and their open streams
	})
}

// Version is the module version the binary was built from, or
// "0.0.0-dev".
func Version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return strings.TrimPrefix(bi.Main.Version, "v")
	}
	return "0.0.0-dev"
}

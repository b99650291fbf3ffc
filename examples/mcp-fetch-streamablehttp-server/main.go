// Command mcp-fetch-streamablehttp-server is an MCP server, served over
// StreamableHTTP, whose fetch tool lets a model read web pages without
// letting it reach the server's own network. See README.md.
package main

import (
	"context"
	"io"
	"os"

	"github.com/mcp-oauth-gateway/gateway/fetch"
	"github.com/mcp-oauth-gateway/gateway/internal/cli"
	"github.com/mcp-oauth-gateway/gateway/mcpserver"
)

const version = "1.0.0"

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// run is the binary: it returns the exit status (0, 2 for a bad setting,
// 1 when the server cannot run).
func run(args []string, env func(string) string, stdout, stderr io.Writer) int {
	cfg, err := parseConfig(args, env, stdout)
	if err != nil {
		return cli.Exit(stderr, name, err)
	}
	ctx, stop := cli.SignalContext(context.Background())
	defer stop()
	return cli.Exit(stderr, name, serve(ctx, cfg, stderr))
}

func serve(ctx context.Context, cfg *config, stderr io.Writer) error {
	log, closeLog, err := cfg.logFile.Logger(stderr, cfg.logLevel)
	if err != nil {
		return err
	}
	defer closeLog()
	cfg.fetch.Logger = log
	cfg.server.Logger = log
	cfg.server.Title = "Fetch"
	cfg.server.Instructions = "Use the fetch tool to read web pages, JSON APIs, text files and images on the public internet."

	tools, err := fetch.New(&cfg.fetch)
	if err != nil {
		return err
	}
	defer tools.Close()
	srv, err := mcpserver.New(name, version, &cfg.server)
	if err != nil {
		return err
	}
	defer srv.Close()
	tools.Register(srv)

	if cfg.fetch.Client.AllowPrivateAddresses {
		log.Warn("private network addresses can be fetched (FETCH_ALLOW_PRIVATE_IPS)")
	}
	return cli.ListenAndServe(ctx, cfg.listen, srv.Handler(), &cli.ServeOptions{
		Logger:     log,
		LogAttrs:   []any{"mcp", "/mcp", "health", "/health", "sessions", cfg.server.Sessions.String()},
		OnShutdown: func() { srv.Close() }, // ends open streams so the shutdown does not wait for them
	})
}

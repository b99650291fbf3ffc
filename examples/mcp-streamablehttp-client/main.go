// Command mcp-streamablehttp-client connects local stdio MCP clients
// (Claude Desktop, VS Code, Cursor) to a remote StreamableHTTP MCP server
// behind OAuth, and tests such servers from the command line.
//
//	mcp-streamablehttp-client --server-url https://mcp.example.com/mcp       # the stdio bridge
//	mcp-streamablehttp-client --server-url URL --token                       # token status, refresh or login, test call
//	mcp-streamablehttp-client --server-url URL -c "echo message=hello"       # call a tool
//	mcp-streamablehttp-client --server-url URL --list-tools
//
// It discovers the server's authorization server, registers itself, logs
// the user in (browser, device code or paste-back) and keeps the tokens in
// a private file under the user's config directory, refreshing them as
// needed. See README.md for every flag and the client configurations.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/mcp-oauth-gateway/gateway/oauth/mcpauth"
	"github.com/mcp-oauth-gateway/gateway/stdiobridge"
)

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr))
}

const name = "mcp-streamablehttp-client"

func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

func run(args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	cfg, err := parseConfig(args, getenv, stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0
	case err != nil:
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 2
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: cfg.logLevel}))
	path := cfg.credentials
	if path == "" {
		if path, err = mcpauth.DefaultFilePath(name); err != nil {
			fmt.Fprintf(stderr, "%s: %v (pass --credentials-file)\n", name, err)
			return 2
		}
	}
	store, err := mcpauth.NewFileStore(path)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 2
	}
	tr, err := mcpauth.NewTransport(cfg.serverURL, &mcpauth.Options{
		Store: store, Login: newLogin(cfg, getenv, stderr),
		ClientID: cfg.clientID, ClientSecret: cfg.clientSecret, ClientMetadataURL: cfg.clientMetadata,
		ClientName: name, SoftwareID: "mcp-oauth-gateway/" + name, SoftwareVersion: version(),
		Resource: cfg.resource, Logger: logger,
	})
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 2
	}
	bridge, err := stdiobridge.NewClient(cfg.serverURL, &stdiobridge.ClientOptions{
		HTTPClient: &http.Client{Transport: tr}, Header: cfg.header, Logger: logger,
	})
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if cfg.action == "" {
		logger.Info("bridging stdio", "server", cfg.serverURL, "credentials", store.Path())
		if err := bridge.Run(ctx, stdin, stdout); err != nil {
			logger.Error("bridge", "err", err)
			return 1
		}
		return 0
	}
	a := &app{cfg: cfg, tr: tr, bridge: bridge, out: stdout, errw: stderr, log: logger}
	if err := a.run(ctx); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 1
	}
	return 0
}

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
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"runtime/debug"

	"github.com/mcp-oauth-gateway/gateway/internal/cli"

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
	cfg, err := parseConfig(args, getenv, stdout)
	if err != nil {
		return cli.Exit(stderr, name, err) // 0 after --help, 2 for a bad setting
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: cfg.logLevel}))
	path := cfg.credentials
	if path == "" {
		if path, err = mcpauth.DefaultFilePath(name); err != nil {
			return cli.Exit(stderr, name, cli.Usagef("%v (pass --credentials-file)", err))
		}
	}
	store, err := mcpauth.NewFileStore(path)
	if err != nil {
		return cli.Exit(stderr, name, cli.Usagef("credentials file: %w", err))
	}
	// Keep the connections of every request in flight (the default keeps
	// two per host: the others would be closed and dialed again, with TLS).
	base := http.DefaultTransport.(*http.Transport).Clone()
	base.MaxIdleConnsPerHost = stdiobridge.DefaultClientIdleConns
	var tr *mcpauth.Transport
	hc := &http.Client{Transport: base}
	if !cfg.staticAuth { // else the Authorization header is the user's own
		tr, err = mcpauth.NewTransport(cfg.serverURL, &mcpauth.Options{
			Base: base, Store: store, Login: newLogin(cfg, getenv, stderr),
			ClientID: cfg.clientID, ClientSecret: cfg.clientSecret, ClientMetadataURL: cfg.clientMetadata,
			ClientName: name, SoftwareID: "mcp-oauth-gateway/" + name, SoftwareVersion: version(),
			Resource: cfg.resource, Logger: logger,
		})
		if err != nil {
			return cli.Exit(stderr, name, cli.Usage(err))
		}
		hc.Transport = tr
	}
	bridge, err := stdiobridge.NewClient(cfg.serverURL, &stdiobridge.ClientOptions{
		HTTPClient: hc, Header: cfg.header, Logger: logger,
	})
	if err != nil {
		return cli.Exit(stderr, name, cli.Usage(err))
	}
	ctx, stop := cli.SignalContext(context.Background())
	defer stop()
	if cfg.action == "" {
		logger.Info("bridging stdio", "server", cfg.serverURL, "credentials", store.Path(), "oauth", !cfg.staticAuth)
		if err := bridge.Run(ctx, stdin, stdout); err != nil {
			return cli.Exit(stderr, name, fmt.Errorf("bridge: %w", err))
		}
		return 0
	}
	a := &app{cfg: cfg, tr: tr, bridge: bridge, out: stdout, errw: stderr, log: logger}
	err = a.run(ctx)
	if r := (reported{}); err != nil && cfg.json && !errors.As(err, &r) {
		// Machine-readable output stays so when the action fails.
		_ = a.print(map[string]any{"error": err.Error()}, "")
	}
	return cli.Exit(stderr, name, err)
}

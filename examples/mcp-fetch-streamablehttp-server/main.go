// Command mcp-fetch-streamablehttp-server is an MCP server, served over
// StreamableHTTP, whose fetch tool lets a model read web pages without
// letting it reach the server's own network. See README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/mcp-oauth-gateway/gateway/fetch"
	"github.com/mcp-oauth-gateway/gateway/mcpserver"
)

const version = "1.0.0"

func main() {
	cfg, err := parseConfig(os.Args[1:], os.Getenv, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "mcp-fetch-streamablehttp-server:", err)
		os.Exit(2)
	}
	if err := run(cfg, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "mcp-fetch-streamablehttp-server:", err)
		os.Exit(1)
	}
}

func run(cfg *config, logOut io.Writer) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: cfg.logLevel}))
	cfg.fetch.Logger = log
	cfg.server.Logger = log
	cfg.server.Title = "Fetch"
	cfg.server.Instructions = "Use the fetch tool to read web pages, JSON APIs, text files and images on the public internet."

	tools, err := fetch.New(&cfg.fetch)
	if err != nil {
		return err
	}
	defer tools.Close()
	srv, err := mcpserver.New("mcp-fetch-streamablehttp-server", version, &cfg.server)
	if err != nil {
		return err
	}
	defer srv.Close()
	tools.Register(srv)

	hs := &http.Server{
		Addr:              net.JoinHostPort(cfg.host, cfg.port),
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", hs.Addr)
	if err != nil {
		return err
	}
	if cfg.fetch.Client.AllowPrivateAddresses {
		log.Warn("private network addresses can be fetched (FETCH_ALLOW_PRIVATE_IPS)")
	}
	log.Info("listening", "addr", ln.Addr().String(), "mcp", "/mcp", "health", "/health", "sessions", cfg.server.Sessions.String())
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	srv.Close() // ends open streams so Shutdown does not wait for them
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutdown); err != nil {
		return err
	}
	return nil
}

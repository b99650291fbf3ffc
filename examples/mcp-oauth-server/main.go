// Command mcp-oauth-server is the OAuth 2.1 authorization server of the MCP
// OAuth Gateway: dynamic client registration, PKCE, GitHub login, JWT
// access tokens and rotating refresh tokens. See README.md.
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

	"github.com/mcp-oauth-gateway/gateway/oauth"
)

func main() {
	cfg, err := parseConfig(os.Args[1:], os.Getenv, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "mcp-oauth-server:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "mcp-oauth-server:", err)
		var bad badSetting
		if errors.As(err, &bad) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// badSetting marks an error caused by the configuration (exit status 2).
type badSetting struct{ error }

func (b badSetting) Unwrap() error { return b.error }

// run serves until ctx ends, then shuts down gracefully.
func run(ctx context.Context, cfg *config, logOut io.Writer) error {
	log := slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: cfg.logLevel}))
	cfg.opts.Logger = log

	store, closeStore, err := openStore(ctx, cfg)
	if err != nil {
		return badSetting{err}
	}
	defer closeStore()

	var idp oauth.IdentityProvider
	if cfg.devLogin {
		idp, err = oauth.NewDevLogin(&oauth.DevLoginOptions{User: cfg.devUser, AllowPublicIssuer: cfg.devInsecure})
	} else {
		idp, err = oauth.NewGitHub(cfg.githubID, cfg.githubSecret, &oauth.GitHubOptions{
			BaseURL: cfg.githubURL, APIURL: cfg.githubAPI, FetchOrgs: len(cfg.opts.Policy.Orgs) > 0,
		})
	}
	if err != nil {
		return badSetting{err}
	}
	startCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	srv, err := oauth.NewServer(startCtx, cfg.issuer, store, idp, &cfg.opts)
	cancel()
	if err != nil {
		return badSetting{err}
	}

	hs := &http.Server{
		Addr:              net.JoinHostPort(cfg.host, cfg.port),
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", hs.Addr)
	if err != nil {
		return err
	}
	log.Info("mcp-oauth-server listening", "addr", ln.Addr().String(), "issuer", srv.Issuer(), "store", storeLabel(cfg.store),
		"identity_provider", idp.Name(), "policy", cfg.opts.Policy.String())
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("mcp-oauth-server shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return hs.Shutdown(shutdownCtx)
}

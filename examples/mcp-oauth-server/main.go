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
	"net/url"
	"os"
	"os/signal"
	"strings"
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

// routes serves the authorization server, and next to it the /verify
// endpoint of the reverse proxy (under the issuer's path) and the
// protected-resource metadata the proxy routes here from the MCP hosts.
func routes(srv *oauth.Server, fa *oauth.ForwardAuth) http.Handler {
	prefix := strings.TrimSuffix(issuerPath(srv.Issuer()), "/")
	mux := http.NewServeMux()
	mux.Handle(prefix+"/verify", fa)
	meta := fa.MetadataHandler()
	mux.Handle(oauth.WellKnownResourceMetadata, meta)
	mux.Handle(oauth.WellKnownResourceMetadata+"/", meta)
	mux.Handle("/", srv)
	return mux
}

func issuerPath(issuer string) string {
	u, err := url.Parse(issuer)
	if err != nil {
		return ""
	}
	return u.Path
}

// reloadResources re-reads --resource-config (SIGHUP); a bad file keeps
// the running configuration.
func reloadResources(cfg *config, fa *oauth.ForwardAuth, log *slog.Logger) {
	if cfg.resourceFile == "" {
		log.Info("SIGHUP: no --resource-config to reload")
		return
	}
	rc, err := loadResources(cfg.resourceFile, defaultScope(cfg.opts.Scopes))
	if err == nil {
		err = fa.SetResources(rc.resources, rc.def)
	}
	if err != nil {
		log.Error("SIGHUP: the resource configuration was not reloaded; the previous one stays", "error", err)
		return
	}
	if rc.orgs && !cfg.resources.orgs && !cfg.devLogin {
		log.Warn("SIGHUP: the new configuration names organizations; GitHub reports them only after a restart")
	}
	log.Info("SIGHUP: resource configuration reloaded", "file", cfg.resourceFile, "resources", resourcesLabel(rc))
}

func resourcesLabel(rc *resourceConfig) string {
	if len(rc.resources) == 0 {
		return "each request's own URL"
	}
	urls := make([]string, len(rc.resources))
	for i, r := range rc.resources {
		urls[i] = r.URL
	}
	return strings.Join(urls, " ")
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
			BaseURL: cfg.githubURL, APIURL: cfg.githubAPI, FetchOrgs: len(cfg.opts.Policy.Orgs) > 0 || cfg.resources.orgs,
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

	// The resource-server side, in the same process: tokens verified with
	// the server's keys, revocations followed through the store.
	verifier, err := oauth.NewVerifier(srv.Issuer(), srv, &oauth.VerifierOptions{Revocations: store, Logger: log})
	if err != nil {
		return err
	}
	defer verifier.Close()
	fa, err := oauth.NewForwardAuth(verifier, &oauth.ForwardAuthOptions{
		Resources: cfg.resources.resources, Default: cfg.resources.def, PassToken: cfg.passToken, Logger: log,
	})
	if err != nil {
		return badSetting{err}
	}
	// Logins and refreshes for a resource ask its policy too.
	srv.SetResourcePolicies(fa)

	hs := &http.Server{
		Addr:              net.JoinHostPort(cfg.host, cfg.port),
		Handler:           routes(srv, fa),
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
		"identity_provider", idp.Name(), "policy", cfg.opts.Policy.String(), "verify", srv.Issuer()+"/verify",
		"resources", resourcesLabel(cfg.resources))
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
wait:
	for {
		select {
		case err := <-errc:
			return err
		case <-ctx.Done():
			break wait
		case <-hup:
			reloadResources(cfg, fa, log)
		}
	}
	log.Info("mcp-oauth-server shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return hs.Shutdown(shutdownCtx)
}

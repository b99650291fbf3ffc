// Command mcp-oauth-server is the OAuth 2.1 authorization server of the MCP
// OAuth Gateway: dynamic client registration, PKCE, GitHub login, JWT
// access tokens and rotating refresh tokens. See README.md.
package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/mcp-oauth-gateway/gateway/internal/cli"
	"github.com/mcp-oauth-gateway/gateway/oauth"
)

func main() {
	os.Exit(runMain(os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// runMain is the binary: it returns the exit status (0 after --help or a
// shutdown, 2 for a bad setting, 1 when the server cannot run).
func runMain(args []string, env getenv, stdout, stderr io.Writer) int {
	cfg, err := parseConfig(args, env, stdout)
	if err != nil {
		return cli.Exit(stderr, name, err)
	}
	ctx, stop := cli.SignalContext(context.Background())
	defer stop()
	return cli.Exit(stderr, name, run(ctx, cfg, stderr))
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

// run serves until ctx ends, then shuts down gracefully.
func run(ctx context.Context, cfg *config, logOut io.Writer) error {
	log, closeLog, err := cfg.logFile.Logger(logOut, cfg.logLevel)
	if err != nil {
		return err
	}
	defer closeLog()
	cfg.opts.Logger = log

	// Listen first: without --issuer or BASE_DOMAIN the issuer is the
	// address actually listened on, so --port 0 advertises the real port.
	ln, err := cfg.listen.Listen(ctx)
	if err != nil {
		return err
	}
	defer ln.Close()
	if cfg.issuer == "" {
		cfg.issuer = listenIssuer(ln.Addr())
	}

	store, closeStore, err := openStore(ctx, cfg)
	if err != nil {
		return cli.Usage(err)
	}
	defer closeStore()

	providers, err := identityProviders(ctx, cfg, log)
	if err != nil {
		return err
	}
	cfg.opts.IdentityProviders = providers
	startCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	srv, err := oauth.NewServer(startCtx, cfg.issuer, store, nil, &cfg.opts)
	cancel()
	if err != nil {
		return cli.Usage(err)
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
		return cli.Usage(err)
	}
	// Logins and refreshes for a resource ask its policy too.
	srv.SetResourcePolicies(fa)

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				reloadResources(cfg, fa, log)
			}
		}
	}()
	return cli.Serve(ctx, ln, routes(srv, fa), &cli.ServeOptions{
		Logger: log,
		LogAttrs: []any{"issuer", srv.Issuer(), "store", storeLabel(cfg.store), "identity_providers", providerNames(providers),
			"policy", cfg.opts.Policy.String(), "verify", srv.Issuer() + "/verify", "resources", resourcesLabel(cfg.resources)},
		ReadTimeout:  30 * time.Second,
		WriteTimeout: 30 * time.Second,
	})
}

// identityProviders builds the configured providers: the development
// login alone, or GitHub and the OpenID provider. An OpenID provider that
// cannot be reached now is a warning (logins wait until it answers); one
// whose discovery document does not fit the settings is an error.
func identityProviders(ctx context.Context, cfg *config, log *slog.Logger) ([]oauth.IdentityProvider, error) {
	if cfg.devLogin {
		d, err := oauth.NewDevLogin(&oauth.DevLoginOptions{User: cfg.devUser, AllowPublicIssuer: cfg.devNetwork})
		if err != nil {
			return nil, cli.Usage(err)
		}
		return []oauth.IdentityProvider{d}, nil
	}
	var list []oauth.IdentityProvider
	if cfg.githubID != "" {
		gh, err := oauth.NewGitHub(cfg.githubID, cfg.githubSecret, &oauth.GitHubOptions{
			BaseURL: cfg.githubURL, APIURL: cfg.githubAPI, FetchOrgs: len(cfg.opts.Policy.Orgs) > 0 || cfg.resources.orgs,
		})
		if err != nil {
			return nil, cli.Usage(err)
		}
		list = append(list, gh)
	}
	if cfg.oidc != nil {
		o, err := cfg.oidc.New(&oauth.OIDCOptions{Logger: log})
		if err != nil {
			return nil, cli.Usage(err)
		}
		dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err = o.Discover(dctx)
		cancel()
		switch {
		case errors.Is(err, oauth.ErrUpstreamUnavailable):
			log.Warn("the OpenID provider cannot be reached now; logins with it wait until it answers", "issuer", o.Issuer(), "error", err)
		case err != nil:
			return nil, cli.Usagef("OIDC_ISSUER: %w", err)
		}
		list = append(list, o)
	}
	return list, nil
}

func providerNames(list []oauth.IdentityProvider) string {
	names := make([]string, len(list))
	for i, p := range list {
		names[i] = p.ID()
	}
	return strings.Join(names, " ")
}

// listenIssuer is the issuer of a server given neither --issuer nor
// BASE_DOMAIN: http on the address listened on, 127.0.0.1 when that is
// every interface.
func listenIssuer(addr net.Addr) string {
	host, port := "127.0.0.1", "0"
	if tcp, ok := addr.(*net.TCPAddr); ok {
		port = strconv.Itoa(tcp.Port)
		if tcp.IP.IsLoopback() {
			host = tcp.IP.String()
		}
	}
	return "http://" + net.JoinHostPort(host, port)
}

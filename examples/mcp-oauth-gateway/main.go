// Command mcp-oauth-gateway is the whole MCP OAuth Gateway in one process:
// the OAuth 2.1 authorization server of mcp-oauth-server and MCP services
// behind its token check, each at its own URL: the echo and fetch servers,
// stdio servers started on demand, and upstream StreamableHTTP servers with
// the caller's identity in headers. See README.md.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/mcp-oauth-gateway/gateway/internal/admincmd"
	"github.com/mcp-oauth-gateway/gateway/internal/authcmd"
	"github.com/mcp-oauth-gateway/gateway/internal/cli"
	"github.com/mcp-oauth-gateway/gateway/internal/cli/guardflags"
	"github.com/mcp-oauth-gateway/gateway/mcpserver"
	"github.com/mcp-oauth-gateway/gateway/oauth"
)

const name = "mcp-oauth-gateway"

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// run is the binary: it returns the exit status (0 after --help or a
// shutdown, 2 for a bad setting, 1 when the gateway cannot run).
func run(args []string, env func(string) string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "admin" {
		return admincmd.Main(name, args[1:], env, os.Stdin, stdout, stderr)
	}
	cfg, err := parseSettings(args, env, stdout)
	if err != nil {
		return cli.Exit(stderr, name, err)
	}
	ctx, stop := cli.SignalContext(context.Background())
	defer stop()
	return cli.Exit(stderr, name, serve(ctx, cfg, stdout, stderr))
}

// settings are the command line and the --config file.
type settings struct {
	auth       *authcmd.Config
	configPath string
	file       *fileConfig
	guard      *guardflags.Settings
}

func parseSettings(args []string, env func(string) string, help io.Writer) (*settings, error) {
	c := cli.New(name, "The MCP OAuth Gateway in one process: the OAuth 2.1 authorization server (the settings of "+
		"mcp-oauth-server) and MCP services behind its token check, each at its own URL: /echo-stateful/mcp, "+
		"/echo-stateless/mcp, /fetch/mcp, and the stdio and upstream servers of --config. With no settings it runs on "+
		"127.0.0.1:8080 with the development login. See examples/mcp-oauth-gateway/README.md.")
	auth := authcmd.Register(c, authcmd.Binary{Name: name, Port: 8080, DevLoginWithoutGitHub: true}, env)
	configPath := c.String("config", "", "YAML `FILE` with the services, routing, TLS, metrics and trace settings (see gateway.example.yaml)", "MCP_GATEWAY_CONFIG")
	guard := guardflags.Register(c, []string{"MCP_ALLOWED_ORIGINS", "MCP_CORS_ORIGINS"}, []string{"MCP_ALLOWED_HOSTS"})
	c.Note("Subcommands: " + name + " admin ... (clients, grants, counts, purge, backups, connection traces; see admin --help).")
	if err := c.Parse(args, env, help); err != nil {
		return nil, err
	}
	// The file first: its OpenID providers are the authorization server's
	// too, after OIDC_ISSUER's.
	fc, err := loadConfig(*configPath, env, auth.OIDCName())
	if err != nil {
		return nil, cli.Usage(err)
	}
	ac, err := auth.Config(fc.oidcProviders()...)
	if err != nil {
		return nil, err
	}
	if err := guard.Validate(); err != nil {
		return nil, err
	}
	return &settings{auth: ac, configPath: *configPath, file: fc, guard: guard}, nil
}

// serve runs the gateway until ctx ends, then shuts down gracefully:
// requests in flight finish, streams end, stdio servers are stopped.
func serve(ctx context.Context, s *settings, stdout, logOut io.Writer) error {
	cfg, fc := s.auth, s.file
	log, closeLog, err := cfg.LogFile.Logger(logOut, cfg.LogLevel)
	if err != nil {
		return err
	}
	defer closeLog()

	ln, err := cfg.Listen.Listen(ctx)
	if err != nil {
		return err
	}
	defer ln.Close()
	scheme := "http"
	if fc.TLS != nil {
		scheme = "https"
	}
	if cfg.Issuer == "" {
		if fc.TLS != nil && fc.TLS.ACME != nil {
			return cli.Usagef("automatic certificates need the public issuer: set --issuer or BASE_DOMAIN")
		}
		cfg.Issuer = authcmd.ListenIssuer(scheme, ln.Addr())
	}
	lay, err := newLayout(fc, cfg.Issuer, cfg.BaseDomain)
	if err != nil {
		return cli.Usage(err)
	}
	urls := make([]string, len(*fc.Services))
	hosts := []string{hostOf(cfg.Issuer)}
	for i := range *fc.Services {
		urls[i], _ = lay.resourceURL(&(*fc.Services)[i])
		hosts = append(hosts, hostOf(urls[i]))
	}
	if lay.base != nil {
		hosts = append(hosts, lay.base.Hostname())
	}
	tlsSet, err := newTLS(fc.TLS, hosts, filepath.Dir(cfg.Store))
	if err != nil {
		return err
	}

	// Tokens for the services only, unless --resources or
	// --resource-config say otherwise.
	if len(cfg.Options.Resources) == 0 && cfg.ResourceFile == "" {
		cfg.Options.Resources = urls
	}
	m := newMetrics()
	cfg.Options.Observe = m.observe
	cfg.TraceRetention, cfg.TraceOff = fc.Trace.Retention, fc.Trace.Disabled
	if cfg.Options.ServiceName == "" {
		cfg.Options.ServiceName = "MCP OAuth Gateway"
	}
	for _, sc := range *fc.Services {
		if uc := sc.UpstreamCredential; uc != nil {
			cfg.UserCredentials = append(cfg.UserCredentials, authcmd.UserCredential{Provider: uc.Provider, Scopes: uc.Scopes})
		}
	}
	auth, err := authcmd.Open(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer auth.Close()
	// The admin subcommands reach an open file through this socket.
	defer admincmd.ServeStore(ctx, cfg.Store, auth.Store, log)()

	guardOpts := mcpserver.Options{AllowedOrigins: s.guard.Origins(), AllowAnyHost: s.guard.AnyHost()}
	guardOpts.AllowedHosts = append(append([]string(nil), s.guard.Hosts()...), nonLoopback(hosts)...)
	guard, err := mcpserver.NewGuard(&mcpserver.GuardOptions{AllowedOrigins: guardOpts.AllowedOrigins,
		AllowedHosts: guardOpts.AllowedHosts, AllowAnyHost: guardOpts.AllowAnyHost, Logger: log})
	if err != nil {
		return cli.Usage(err)
	}
	b := &builder{log: log, server: auth.Server, verifier: auth.Verifier, guard: guardOpts, scope: authcmd.DefaultScope(cfg.Options.Scopes), layout: lay}
	var services []*service
	closeServices := func() {
		var wg sync.WaitGroup
		for _, svc := range services {
			wg.Add(1)
			go func() { defer wg.Done(); svc.close() }()
		}
		wg.Wait()
	}
	var closeOnce sync.Once
	stopServices := func() { closeOnce.Do(closeServices) }
	defer stopServices()
	policies := &servicePolicies{byURL: map[string]*oauth.ProtectedResource{}, next: auth.ForwardAuth}
	for i := range *fc.Services {
		svc, err := b.build(&(*fc.Services)[i])
		if err != nil {
			return cli.Usage(err)
		}
		services = append(services, svc)
		policies.byURL[svc.url] = svc.pr
	}
	auth.Server.SetResourcePolicies(policies)
	m.track(services)

	gw := &gateway{auth: auth, services: services, metrics: m, log: log, access: fc.AccessLog == nil || *fc.AccessLog}
	if err := gw.routes(guard, lay.host, fc.Metrics.Listen == ""); err != nil {
		return cli.Usage(err)
	}
	authcmd.OnHangup(ctx, func() {
		auth.ReloadResources()
		if tlsSet != nil && tlsSet.reload != nil {
			if err := tlsSet.reload(); err != nil {
				log.Error("SIGHUP: the certificate was not reloaded; the previous one stays", "error", err)
			} else {
				log.Info("SIGHUP: certificate reloaded")
			}
		}
	})

	var side sync.WaitGroup
	defer side.Wait()
	if fc.Metrics.Listen != "" {
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", m.handler(false))
		mux.HandleFunc("GET /health", gw.serveHealth)
		mux.HandleFunc("GET /ready", gw.serveReady)
		if err := serveSide(ctx, &side, fc.Metrics.Listen, mux, log, "metrics"); err != nil {
			return err
		}
	}
	var mainLn net.Listener = ln
	if tlsSet != nil {
		mainLn = tls.NewListener(ln, tlsSet.config)
		if tlsSet.challenge != nil {
			addr := net.JoinHostPort(cfg.Listen.Host(), strconv.Itoa(tlsSet.httpPort))
			if err := serveSide(ctx, &side, addr, tlsSet.challenge, log, "acme-http"); err != nil {
				return err
			}
		}
	}
	printSummary(stdout, summaryOf(s, auth, services, lay, tlsSet))
	timeout := fc.ShutdownTimeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	attrs := []any{"issuer", auth.Server.Issuer(), "store", authcmd.StoreLabel(cfg.Store), "identity_providers", authcmd.ProviderNames(auth.Providers),
		"policy", cfg.Options.Policy.String(), "services", len(services)}
	return cli.Serve(ctx, mainLn, gw, &cli.ServeOptions{
		Logger:          log,
		LogAttrs:        attrs,
		ShutdownTimeout: timeout,
		// Once the requests in flight are done: end the MCP sessions and
		// their streams, and stop the stdio servers.
		OnShutdown: stopServices,
	})
}

// serveSide serves h on addr (the metrics listener, the ACME HTTP port)
// until ctx ends.
func serveSide(ctx context.Context, wg *sync.WaitGroup, addr string, h http.Handler, log *slog.Logger, what string) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("%s listener: %w", what, err)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := cli.Serve(ctx, ln, h, &cli.ServeOptions{Logger: log.With("listener", what), ShutdownTimeout: 5 * time.Second}); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("listener failed", "listener", what, "error", err)
		}
	}()
	return nil
}

// hostOf is the host name of an absolute URL.
func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Hostname()
}

// nonLoopback drops loopback names (the guard allows them anyway) and
// duplicates.
func nonLoopback(hosts []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, h := range hosts {
		if h == "" || cli.LoopbackName(h) || seen[h] {
			continue
		}
		seen[h] = true
		out = append(out, h)
	}
	return out
}

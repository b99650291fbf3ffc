package authcmd

import (
	"context"
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

// Auth is a running authorization server with its resource-server side:
// what Open built from a Config.
type Auth struct {
	cfg *Config
	log *slog.Logger
	// Store is the server's state.
	Store oauth.Store
	// Providers sign users in: GitHub and the OpenID Connect provider, or
	// the development login.
	Providers []oauth.IdentityProvider
	// Server is the authorization server.
	Server *oauth.Server
	// Verifier checks the server's tokens in this process, following the
	// store's revocations.
	Verifier *oauth.Verifier
	// ForwardAuth is the /verify endpoint, configured by --resource-config.
	ForwardAuth *oauth.ForwardAuth
	// Tracer keeps the connection traces (nil: off, or a store without
	// traces).
	Tracer  *oauth.Tracer
	closers []func()
}

// Open builds the authorization server of cfg, whose Issuer must be set
// (see ListenIssuer): it opens the store, the identity provider, the
// server (loading or creating its signing keys), its verifier and the
// /verify endpoint, and makes the server ask the resources' policies at
// login and refresh. Options.Observe, when set, observes the verifier's
// resources too; with a store that keeps traces, a Tracer records them
// (unless TraceOff). A configuration the server refuses is a usage error
// (exit status 2). Close releases it all.
func Open(ctx context.Context, cfg *Config, log *slog.Logger) (*Auth, error) {
	a := &Auth{cfg: cfg, log: log}
	cfg.Options.Logger = log
	ok := false
	defer func() {
		if !ok {
			a.Close()
		}
	}()
	store, closeStore, err := OpenStore(ctx, cfg.Store, cfg.RedisPassword, log)
	if err != nil {
		return nil, cli.Usage(err)
	}
	a.Store = store
	a.closers = append(a.closers, closeStore)
	if ts, ok := store.(oauth.TraceStore); ok && !cfg.TraceOff {
		a.Tracer = oauth.NewTracer(ts, &oauth.TracerOptions{Retention: cfg.TraceRetention, Logger: log})
		a.closers = append(a.closers, func() { a.Tracer.Close() })
		observe, trace := cfg.Options.Observe, a.Tracer.Observe
		cfg.Options.Observe = func(e oauth.Event) {
			if observe != nil {
				observe(e)
			}
			trace(e)
		}
	}

	if a.Providers, err = identityProviders(ctx, cfg, log); err != nil {
		return nil, err
	}
	cfg.Options.IdentityProviders = a.Providers
	startCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	a.Server, err = oauth.NewServer(startCtx, cfg.Issuer, store, nil, &cfg.Options)
	cancel()
	if err != nil {
		return nil, cli.Usage(err)
	}

	// The resource-server side, in the same process: tokens verified with
	// the server's keys, revocations followed through the store.
	a.Verifier, err = oauth.NewVerifier(a.Server.Issuer(), a.Server, &oauth.VerifierOptions{Revocations: store, Logger: log, Observe: cfg.Options.Observe})
	if err != nil {
		return nil, err
	}
	a.closers = append(a.closers, func() { a.Verifier.Close() })
	a.ForwardAuth, err = oauth.NewForwardAuth(a.Verifier, &oauth.ForwardAuthOptions{
		Resources: cfg.Resources.Resources, Default: cfg.Resources.Default, PassToken: cfg.PassToken, Logger: log,
	})
	if err != nil {
		return nil, cli.Usage(err)
	}
	// Logins and refreshes for a resource ask its policy too.
	a.Server.SetResourcePolicies(a.ForwardAuth)
	ok = true
	return a, nil
}

// Close stops the verifier and closes the store, in that order.
func (a *Auth) Close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
	a.closers = nil
}

// VerifyPath is the path of the /verify endpoint: under the issuer's path.
func (a *Auth) VerifyPath() string {
	return strings.TrimSuffix(issuerPath(a.Server.Issuer()), "/") + "/verify"
}

// Routes serves the authorization server, and next to it the /verify
// endpoint of the reverse proxy (under the issuer's path) and the
// protected-resource metadata the proxy routes here from the MCP hosts.
func (a *Auth) Routes() http.Handler {
	mux := http.NewServeMux()
	a.Mount(mux)
	return mux
}

// Mount registers what Routes serves on mux: the authorization server at
// "/", /verify, and the protected-resource metadata of --resource-config
// at the bare well-known path and below it (more specific patterns
// registered on mux win).
func (a *Auth) Mount(mux *http.ServeMux) {
	mux.Handle(a.VerifyPath(), a.ForwardAuth)
	meta := a.ForwardAuth.MetadataHandler()
	mux.Handle(oauth.WellKnownResourceMetadata, meta)
	mux.Handle(oauth.WellKnownResourceMetadata+"/", meta)
	mux.Handle("/", a.Server)
}

func issuerPath(issuer string) string {
	u, err := url.Parse(issuer)
	if err != nil {
		return ""
	}
	return u.Path
}

// LogAttrs are the attributes of the "listening" log line.
func (a *Auth) LogAttrs() []any {
	return []any{"issuer", a.Server.Issuer(), "store", StoreLabel(a.cfg.Store), "identity_providers", ProviderNames(a.Providers),
		"policy", a.cfg.Options.Policy.String(), "verify", a.Server.Issuer() + "/verify", "resources", ResourcesLabel(a.cfg.Resources)}
}

// ReloadResources re-reads --resource-config (SIGHUP); a bad file keeps
// the running configuration.
func (a *Auth) ReloadResources() {
	cfg, log := a.cfg, a.log
	if cfg.ResourceFile == "" {
		log.Info("SIGHUP: no --resource-config to reload")
		return
	}
	rc, err := LoadResources(cfg.ResourceFile, DefaultScope(cfg.Options.Scopes))
	if err == nil {
		err = a.ForwardAuth.SetResources(rc.Resources, rc.Default)
	}
	if err != nil {
		log.Error("SIGHUP: the resource configuration was not reloaded; the previous one stays", "error", err)
		return
	}
	if rc.Orgs && !cfg.Resources.Orgs && !cfg.DevLogin {
		log.Warn("SIGHUP: the new configuration names organizations; GitHub reports them only after a restart")
	}
	log.Info("SIGHUP: resource configuration reloaded", "file", cfg.ResourceFile, "resources", ResourcesLabel(rc))
}

// OnHangup calls reload at every SIGHUP until ctx ends.
func OnHangup(ctx context.Context, reload func()) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		defer signal.Stop(hup)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				reload()
			}
		}
	}()
}

// ResourcesLabel names the resources of a configuration for logs.
func ResourcesLabel(rc *ResourceConfig) string {
	if len(rc.Resources) == 0 {
		return "each request's own URL"
	}
	urls := make([]string, len(rc.Resources))
	for i, r := range rc.Resources {
		urls[i] = r.URL
	}
	return strings.Join(urls, " ")
}

// ListenIssuer is the issuer of a server given neither --issuer nor
// BASE_DOMAIN: scheme (http or https) on the address listened on,
// 127.0.0.1 when that is every interface.
func ListenIssuer(scheme string, addr net.Addr) string {
	host, port := "127.0.0.1", "0"
	if tcp, ok := addr.(*net.TCPAddr); ok {
		port = strconv.Itoa(tcp.Port)
		if tcp.IP.IsLoopback() {
			host = tcp.IP.String()
		}
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}

// Command mcp-streamablehttp-proxy serves stdio MCP servers over
// StreamableHTTP.
//
//	mcp-streamablehttp-proxy [flags] [--] server_command [args...]
//	mcp-streamablehttp-proxy [flags] --config servers.json
//
// See README.md for the flags and environment variables.
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
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/mcp-oauth-gateway/gateway/stdiobridge"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stderr)
	stop()
	os.Exit(code)
}

// settings are the command line and environment, checked.
type settings struct {
	addr    string
	path    string
	logFile string
	level   slog.Level
	config  *stdiobridge.Config
	command []string
	opts    stdiobridge.ProxyOptions
}

func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	return def
}

func parse(args []string, stderr io.Writer) (*settings, error) {
	fs := flag.NewFlagSet("mcp-streamablehttp-proxy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: mcp-streamablehttp-proxy [flags] [--] server_command [args...]")
		fmt.Fprintln(stderr, "       mcp-streamablehttp-proxy [flags] --config servers.json")
		fs.PrintDefaults()
	}
	host := fs.String("host", env("MCP_BIND_HOST", "0.0.0.0"), "address to listen on (MCP_BIND_HOST)")
	port := fs.String("port", env("MCP_PORT", "3000"), "port to listen on (MCP_PORT)")
	timeout := fs.Float64("timeout", 300, "session idle timeout in seconds; 0 keeps idle sessions")
	logLevel := fs.String("log-level", env("LOG_LEVEL", "info"), "debug, info, warning or error (LOG_LEVEL)")
	config := fs.String("config", env("MCP_PROXY_CONFIG", ""), "JSON file of several servers (MCP_PROXY_CONFIG)")
	path := fs.String("path", "/mcp", "endpoint path of a single server")
	shared := fs.Bool("shared", false, "one server process for every session (only for servers without per-client state)")
	maxChildren := fs.Int("max-children", stdiobridge.DefaultMaxChildren, "cap on live server processes; -1 for none")
	maxSessions := fs.Int("max-sessions", stdiobridge.DefaultMaxSessions, "cap on live sessions; -1 for none")
	poolSize := fs.Int("pool-size", stdiobridge.DefaultPoolSize, "processes per caller for 2026-07-28 clients")
	startup := fs.Float64("startup-timeout", stdiobridge.DefaultStartupTimeout.Seconds(), "seconds a server gets to start and answer initialize")
	request := fs.Float64("request-timeout", stdiobridge.DefaultRequestTimeout.Seconds(), "seconds a request may take; 0 for no limit")
	modern := fs.String("protocol-2026", env("MCP_PROTOCOL_2026", "auto"), "2026-07-28 clients: auto, translate or off (MCP_PROTOCOL_2026)")
	origins := fs.String("allowed-origins", env("MCP_CORS_ORIGINS", ""), "comma-separated browser origins allowed to call, or * (MCP_CORS_ORIGINS)")
	hosts := fs.String("allowed-hosts", env("MCP_ALLOWED_HOSTS", ""), "comma-separated extra Host values accepted on loopback (MCP_ALLOWED_HOSTS)")
	trust := fs.Bool("trust-gateway-headers", env("MCP_TRUST_GATEWAY_HEADERS", "") == "true", "sessions belong to the X-User-Id a gateway sets (MCP_TRUST_GATEWAY_HEADERS=true)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	s := &settings{path: *path, logFile: os.Getenv("LOG_FILE"), command: fs.Args()}
	p, err := strconv.Atoi(*port)
	if err != nil || p < 0 || p > 65535 {
		return nil, fmt.Errorf("bad port %q", *port)
	}
	s.addr = net.JoinHostPort(*host, strconv.Itoa(p))
	switch strings.ToLower(*logLevel) {
	case "debug":
		s.level = slog.LevelDebug
	case "info":
		s.level = slog.LevelInfo
	case "warning", "warn":
		s.level = slog.LevelWarn
	case "error":
		s.level = slog.LevelError
	default:
		return nil, fmt.Errorf("bad log level %q (want debug, info, warning or error)", *logLevel)
	}
	mode, err := stdiobridge.ParseModernMode(*modern)
	if err != nil {
		return nil, err
	}
	if *timeout < 0 || *startup <= 0 || *request < 0 {
		return nil, errors.New("timeouts must not be negative")
	}
	s.opts = stdiobridge.ProxyOptions{
		Shared:              *shared,
		MaxChildren:         *maxChildren,
		MaxSessions:         *maxSessions,
		PoolSize:            *poolSize,
		StartupTimeout:      seconds(*startup),
		RequestTimeout:      seconds(*request),
		IdleTimeout:         seconds(*timeout),
		Modern:              mode,
		AllowedOrigins:      list(*origins),
		AllowedHosts:        list(*hosts),
		TrustGatewayHeaders: *trust,
	}
	if *request == 0 {
		s.opts.RequestTimeout = -1
	}
	if *timeout == 0 {
		s.opts.IdleTimeout = -1
	}
	switch {
	case *config != "" && len(s.command) > 0:
		return nil, errors.New("give either --config or a server command, not both")
	case *config != "":
		data, err := os.ReadFile(*config)
		if err != nil {
			return nil, err
		}
		if s.config, err = stdiobridge.ParseConfig(data); err != nil {
			return nil, err
		}
	case len(s.command) == 0:
		return nil, errors.New("no server command given (mcp-streamablehttp-proxy [flags] -- command args...)")
	}
	return s, nil
}

func seconds(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }

func list(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// run serves until ctx ends and returns the exit status: 2 for bad
// settings, 1 when the listener fails.
func run(ctx context.Context, args []string, stderr io.Writer) int {
	s, err := parse(args, stderr)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stderr, "mcp-streamablehttp-proxy:", err)
		}
		return 2
	}
	var out io.Writer = stderr
	if s.logFile != "" {
		f, err := os.OpenFile(s.logFile, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			fmt.Fprintln(stderr, "mcp-streamablehttp-proxy: LOG_FILE:", err)
			return 2
		}
		defer f.Close()
		out = io.MultiWriter(stderr, f)
	}
	logger := slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: s.level}))
	s.opts.Logger = logger

	mux := stdiobridge.NewMux()
	var proxies []*stdiobridge.Proxy
	if s.config != nil {
		for _, name := range s.config.Names() {
			sc := s.config.Servers[name]
			px, err := stdiobridge.NewProxy(sc.ToCommand(), sc.Options(name, s.opts))
			if err != nil {
				fmt.Fprintf(stderr, "mcp-streamablehttp-proxy: server %q: %v\n", name, err)
				return 2
			}
			if err := mux.Handle(s.config.Route(name), px); err != nil {
				fmt.Fprintf(stderr, "mcp-streamablehttp-proxy: server %q: %v\n", name, err)
				mux.Close()
				return 2
			}
			proxies = append(proxies, px)
			logger.Info("serving stdio server", "name", name, "path", s.config.Route(name), "command", sc.Command)
		}
	} else {
		px, err := stdiobridge.NewProxy(stdiobridge.Command{Path: s.command[0], Args: s.command[1:]}, &s.opts)
		if err != nil {
			fmt.Fprintln(stderr, "mcp-streamablehttp-proxy:", err)
			return 2
		}
		if err := mux.Handle(s.path, px); err != nil {
			fmt.Fprintln(stderr, "mcp-streamablehttp-proxy:", err)
			px.Close()
			return 2
		}
		proxies = append(proxies, px)
		logger.Info("serving stdio server", "path", s.path, "command", strings.Join(s.command, " "))
	}

	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		fmt.Fprintln(stderr, "mcp-streamablehttp-proxy:", err)
		mux.Close()
		return 1
	}
	// Start each server once, so that /health tells at once whether it runs.
	for _, px := range proxies {
		go func() {
			if err := px.Check(ctx); err != nil && ctx.Err() == nil {
				logger.Error("the stdio server does not start", "server", px.Name(), "err", err)
			}
		}()
	}
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		<-ctx.Done()
		logger.Info("shutting down")
		// Let requests in flight finish; open SSE streams end when the
		// servers are stopped.
		shutdown, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		if hs.Shutdown(shutdown) != nil {
			mux.Close()
			hs.Close()
		}
	}()
	logger.Info("listening", "addr", ln.Addr().String())
	err = hs.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		<-drained
	}
	mux.Close()
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		logger.Error("serve", "err", err)
		return 1
	}
	return 0
}

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
	"io"
	"log/slog"
	"math"
	"os"
	"strings"
	"time"

	"github.com/mcp-oauth-gateway/gateway/internal/cli"
	"github.com/mcp-oauth-gateway/gateway/internal/cli/guardflags"
	"github.com/mcp-oauth-gateway/gateway/stdiobridge"
)

const name = "mcp-streamablehttp-proxy"

func main() {
	ctx, stop := cli.SignalContext(context.Background())
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// settings are the command line and environment, checked.
type settings struct {
	listen  *cli.Listen
	path    string
	logFile *cli.LogFile
	level   slog.Level
	config  *stdiobridge.Config
	command []string
	opts    stdiobridge.ProxyOptions
}

func parse(args []string, env func(string) string, help io.Writer) (*settings, error) {
	c := cli.New(name, "Serves stdio MCP servers over StreamableHTTP: one server command given after the flags "+
		"(after -- when its own arguments look like flags), or several named in a JSON file with --config.")
	c.AcceptArgs("[--] server_command [args...]")
	c.Note("Or: " + name + " [flags] --config servers.json")
	listen := c.Listen(3000, "MCP_BIND_HOST", "MCP_PORT")
	timeout := c.DurationOrZero("timeout", stdiobridge.DefaultIdleTimeout, "end a session idle this long; 0 keeps idle sessions")
	level := c.LogLevel("log-level", slog.LevelInfo, "debug, info, warning or error", "LOG_LEVEL")
	logFile := c.LogFile()
	config := c.String("config", "", "JSON `FILE` of several servers", "MCP_PROXY_CONFIG")
	path := c.String("path", "/mcp", "endpoint `PATH` of a single server")
	shared := c.Bool("shared", false, "one server process for every session (only for servers without per-client state)")
	maxChildren := c.Int("max-children", stdiobridge.DefaultMaxChildren, -1, math.MaxInt, "cap on live server processes; -1 for none")
	maxSessions := c.Int("max-sessions", stdiobridge.DefaultMaxSessions, -1, math.MaxInt, "cap on live sessions; -1 for none")
	poolSize := c.Int("pool-size", stdiobridge.DefaultPoolSize, 1, math.MaxInt, "processes per caller for 2026-07-28 clients")
	startup := c.Duration("startup-timeout", stdiobridge.DefaultStartupTimeout, "time a server gets to start and answer initialize")
	request := c.DurationOrZero("request-timeout", stdiobridge.DefaultRequestTimeout, "time a request may take; 0 for no limit")
	modern := c.Enum("protocol-2026", "auto", []string{"auto", "translate", "off"}, "2026-07-28 clients: served by the server if it speaks that version (auto), always translated for it (translate), or refused (off)", "MCP_PROTOCOL_2026")
	guard := guardflags.Register(c, []string{"MCP_CORS_ORIGINS"}, []string{"MCP_ALLOWED_HOSTS"})
	trust := c.Bool("trust-gateway-headers", false, "sessions belong to the X-User-Id a gateway sets; only behind the gateway", "MCP_TRUST_GATEWAY_HEADERS")
	if err := c.Parse(args, env, help); err != nil {
		return nil, err
	}

	s := &settings{listen: listen, path: *path, logFile: logFile, level: *level, command: c.Args()}
	mode, err := stdiobridge.ParseModernMode(*modern)
	if err != nil {
		return nil, c.Bad("protocol-2026", err)
	}
	if err := guard.Check(context.Background(), listen); err != nil {
		return nil, err
	}
	s.opts = stdiobridge.ProxyOptions{
		Shared:              *shared,
		MaxChildren:         *maxChildren,
		MaxSessions:         *maxSessions,
		PoolSize:            *poolSize,
		StartupTimeout:      *startup,
		RequestTimeout:      orNone(*request),
		IdleTimeout:         orNone(*timeout),
		Modern:              mode,
		AllowedOrigins:      guard.Origins(),
		AllowedHosts:        guard.Hosts(),
		AllowAnyHost:        guard.AnyHost(),
		TrustGatewayHeaders: *trust,
	}
	switch {
	case *config != "" && len(s.command) > 0:
		return nil, cli.Usagef("give either %s or a server command, not both", c.Names("config"))
	case *config != "":
		data, err := os.ReadFile(*config)
		if err != nil {
			return nil, c.Bad("config", err)
		}
		if s.config, err = stdiobridge.ParseConfig(data); err != nil {
			return nil, c.Bad("config", err)
		}
	case len(s.command) == 0:
		return nil, cli.Usagef("no server command given (%s [flags] [--] command args..., or --config FILE; see --help)", name)
	}
	return s, nil
}

// orNone maps 0 ("no limit" on the command line) to the library's -1.
func orNone(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

// run serves until ctx ends and returns the exit status: 0 after --help
// or a shutdown, 2 for bad settings, 1 when the listener fails.
func run(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) int {
	s, err := parse(args, env, stdout)
	if err != nil {
		return cli.Exit(stderr, name, err)
	}
	return cli.Exit(stderr, name, serve(ctx, s, stderr))
}

func serve(ctx context.Context, s *settings, stderr io.Writer) error {
	logger, closeLog, err := s.logFile.Logger(stderr, s.level)
	if err != nil {
		return err
	}
	defer closeLog()
	s.opts.Logger = logger

	mux := stdiobridge.NewMux()
	defer mux.Close()
	var proxies []*stdiobridge.Proxy
	if s.config != nil {
		for _, name := range s.config.Names() {
			sc := s.config.Servers[name]
			px, err := stdiobridge.NewProxy(sc.ToCommand(), sc.Options(name, s.opts))
			if err != nil {
				return cli.Usagef("server %q: %w", name, err)
			}
			if err := mux.Handle(s.config.Route(name), px); err != nil {
				px.Close()
				return cli.Usagef("server %q: %w", name, err)
			}
			proxies = append(proxies, px)
			logger.Info("serving stdio server", "name", name, "path", s.config.Route(name), "command", sc.Command)
		}
	} else {
		px, err := stdiobridge.NewProxy(stdiobridge.Command{Path: s.command[0], Args: s.command[1:]}, &s.opts)
		if err != nil {
			return cli.Usage(err)
		}
		if err := mux.Handle(s.path, px); err != nil {
			px.Close()
			return cli.Usage(err)
		}
		proxies = append(proxies, px)
		logger.Info("serving stdio server", "path", s.path, "command", strings.Join(s.command, " "))
	}

	ln, err := s.listen.Listen(ctx)
	if err != nil {
		return err
	}
	// Start each server once, so that /health tells at once whether it runs.
	for _, px := range proxies {
		go func() {
			if err := px.Check(ctx); err != nil && ctx.Err() == nil {
				logger.Error("the stdio server does not start", "server", px.Name(), "err", err)
			}
		}()
	}
	// Requests in flight finish; then the servers stop, which ends the
	// open SSE streams.
	return cli.Serve(ctx, ln, mux, &cli.ServeOptions{Logger: logger, OnShutdown: func() { mux.Close() }})
}

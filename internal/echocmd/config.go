// Package echocmd is the command line of the two echo diagnostic binaries,
// examples/mcp-echo-streamablehttp-server-stateful and -stateless: their
// flags and environment variables (the Python originals'), the server they
// run and its graceful shutdown.
package echocmd

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/mcp-oauth-gateway/gateway/mcpserver"
)

// errUsage reports a command line the flag package refused (and explained).
var errUsage = errors.New("usage")

// config is the binary's settings, from flags and environment.
type config struct {
	addr     string
	debug    bool
	logFile  string
	server   mcpserver.Options
	shutdown time.Duration
}

func parseConfig(name string, stateful bool, args []string, getenv func(string) string, stderr io.Writer) (*config, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	host := fs.String("host", "", "address to bind to (env MCP_ECHO_HOST, default 127.0.0.1)")
	port := fs.String("port", "", "port to bind to; 0 picks a free one (env MCP_ECHO_PORT, default 3000)")
	debugFlag := fs.Bool("debug", false, "log at debug level, every HTTP request included (env MCP_ECHO_DEBUG)")
	versions := fs.String("protocol-versions", "", "comma-separated MCP protocol versions to serve (env MCP_PROTOCOL_VERSIONS_SUPPORTED, default all)")
	var timeout *string
	if stateful {
		timeout = fs.String("session-timeout", "", "end sessions idle this long: seconds or a Go duration such as 90m (env MCP_SESSION_TIMEOUT, default 3600)")
	}
	origins := fs.String("allowed-origins", "", "comma-separated browser origins allowed besides loopback and same-origin, or * (env MCP_ECHO_ALLOWED_ORIGINS or MCP_CORS_ORIGINS)")
	hosts := fs.String("allowed-hosts", "", "comma-separated Host values accepted besides loopback names when bound to loopback (env MCP_ECHO_ALLOWED_HOSTS)")
	trust := fs.Bool("trust-gateway-headers", false, "take the caller's identity from X-User-Id/X-User-Name; only behind the gateway (env MCP_ECHO_TRUST_GATEWAY_HEADERS)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage of %s:\n", name)
		fs.PrintDefaults()
		fmt.Fprintln(fs.Output(), "\nLOG_FILE, when set, also appends the logs to that file.")
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, errUsage
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	// setting returns the flag's value when given, else the first
	// environment variable set, else def.
	setting := func(flagName string, flagValue *string, def string, envs ...string) (string, string) {
		if given[flagName] {
			return *flagValue, "--" + flagName
		}
		for _, env := range envs {
			if v := getenv(env); v != "" {
				return v, env
			}
		}
		return def, "--" + flagName
	}
	boolSetting := func(flagName string, flagValue *bool, env string) (bool, error) {
		if given[flagName] {
			return *flagValue, nil
		}
		v := getenv(env)
		if v == "" {
			return false, nil
		}
		b, err := parseBool(v)
		if err != nil {
			return false, fmt.Errorf("%s: %w", env, err)
		}
		return b, nil
	}

	cfg := &config{shutdown: 10 * time.Second}
	if stateful {
		cfg.server.Sessions = mcpserver.Stateful
		cfg.server.Title = "MCP Echo Server (stateful)"
		cfg.server.Instructions = "Diagnostic tools that show what this server saw of each call: headers, token, identity, timing, CORS, protocol, environment, health and session."
	} else {
		cfg.server.Sessions = mcpserver.Stateless
		cfg.server.Title = "MCP Echo Server (stateless)"
		cfg.server.Instructions = "Diagnostic tools that show what this server saw of each call: headers, token, identity, timing, CORS, protocol, environment and health. The echo tool returns its message exactly."
	}

	h, src := setting("host", host, "127.0.0.1", "MCP_ECHO_HOST")
	if strings.TrimSpace(h) == "" {
		return nil, fmt.Errorf("%s: empty host", src)
	}
	p, src := setting("port", port, "3000", "MCP_ECHO_PORT")
	n, err := strconv.Atoi(strings.TrimSpace(p))
	if err != nil || n < 0 || n > 65535 {
		return nil, fmt.Errorf("%s: invalid port %q: want a number from 0 to 65535", src, p)
	}
	cfg.addr = net.JoinHostPort(strings.TrimSpace(h), strconv.Itoa(n))

	if cfg.debug, err = boolSetting("debug", debugFlag, "MCP_ECHO_DEBUG"); err != nil {
		return nil, err
	}
	if cfg.server.TrustGatewayHeaders, err = boolSetting("trust-gateway-headers", trust, "MCP_ECHO_TRUST_GATEWAY_HEADERS"); err != nil {
		return nil, err
	}
	if v, src := setting("protocol-versions", versions, "", "MCP_PROTOCOL_VERSIONS_SUPPORTED"); v != "" {
		if cfg.server.ProtocolVersions, err = mcpserver.ParseProtocolVersions(v); err != nil {
			return nil, fmt.Errorf("%s: %w", src, err)
		}
	}
	if stateful {
		t, src := setting("session-timeout", timeout, "3600", "MCP_SESSION_TIMEOUT")
		if cfg.server.SessionIdleTimeout, err = parseTimeout(t); err != nil {
			return nil, fmt.Errorf("%s: %w", src, err)
		}
	}
	o, oSrc := setting("allowed-origins", origins, "", "MCP_ECHO_ALLOWED_ORIGINS", "MCP_CORS_ORIGINS")
	cfg.server.AllowedOrigins = splitList(o)
	hl, hSrc := setting("allowed-hosts", hosts, "", "MCP_ECHO_ALLOWED_HOSTS")
	cfg.server.AllowedHosts = splitList(hl)
	if _, err := mcpserver.NewGuard(&mcpserver.GuardOptions{AllowedOrigins: cfg.server.AllowedOrigins}); err != nil {
		return nil, fmt.Errorf("%s: %w", oSrc, err)
	}
	if _, err := mcpserver.NewGuard(&mcpserver.GuardOptions{AllowedHosts: cfg.server.AllowedHosts}); err != nil {
		return nil, fmt.Errorf("%s: %w", hSrc, err)
	}
	cfg.logFile = getenv("LOG_FILE")
	return cfg, nil
}

// parseTimeout reads a session timeout: whole seconds, as the original
// server takes it, or a Go duration.
func parseTimeout(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	d, err := time.ParseDuration(s)
	if n, nerr := strconv.ParseInt(s, 10, 64); nerr == nil {
		d, err = time.Duration(n)*time.Second, nil
		if n > int64(1<<63-1)/int64(time.Second) {
			err = errors.New("too long")
		}
	}
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("invalid session timeout %q: want a positive number of seconds or a duration such as 90m", s)
	}
	return d, nil
}

func parseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "true", "yes", "on":
		return true, nil
	case "0", "false", "no", "off":
		return false, nil
	}
	return false, fmt.Errorf("invalid boolean %q: want true or false", s)
}

func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

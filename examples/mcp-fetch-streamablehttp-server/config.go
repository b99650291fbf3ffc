package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/url"
	"strconv"
	"strings"

	"github.com/mcp-oauth-gateway/gateway/fetch"
	"github.com/mcp-oauth-gateway/gateway/internal/cli"
	"github.com/mcp-oauth-gateway/gateway/internal/cli/guardflags"
	"github.com/mcp-oauth-gateway/gateway/mcpserver"
)

const name = "mcp-fetch-streamablehttp-server"

// config is everything the flags and the environment say.
type config struct {
	listen   *cli.Listen
	logLevel slog.Level
	logFile  *cli.LogFile
	fetch    fetch.Options
	server   mcpserver.Options
}

// parseConfig reads flags (args) and environment variables (through env,
// so tests pass their own); --help goes to help. Flags win over the
// environment.
func parseConfig(args []string, env func(string) string, help io.Writer) (*config, error) {
	c := cli.New(name, "An MCP server (StreamableHTTP) with an SSRF-safe fetch tool: it reads web pages, "+
		"JSON APIs, text files and images for a model without letting it reach the server's own network.")
	listen := c.Listen(3000, "HOST", "PORT")
	schemes := c.List("allowed-schemes", []string{"http", "https"}, "URL schemes the tool may fetch: http, https or both", "MCP_FETCH_ALLOWED_SCHEMES")
	redirects := c.Int("max-redirects", 5, 0, math.MaxInt, "redirects followed per fetch, each checked again (0: none)", "MCP_FETCH_MAX_REDIRECTS")
	userAgent := c.String("user-agent", fetch.DefaultUserAgent, "User-Agent sent when a call names none; its product token is matched against robots.txt", "MCP_FETCH_DEFAULT_USER_AGENT")
	maxSize := c.Size("max-size", 10<<20, "largest response body read, after decompression", "FETCH_MAX_SIZE")
	timeout := c.Duration("timeout", 30e9, "default time limit of a fetch", "FETCH_TIMEOUT")
	maxTimeout := c.Duration("max-timeout", 0, "longest time limit a call may ask for (default: the timeout)", "FETCH_MAX_TIMEOUT")
	allowedDomains := c.List("allowed-domains", nil, "if set, only these domains and their subdomains are fetched", "FETCH_ALLOWED_DOMAINS")
	blockedDomains := c.List("blocked-domains", nil, "domains, with their subdomains, never fetched", "FETCH_BLOCKED_DOMAINS")
	allowPrivate := c.Bool("allow-private-ips", false, "allow private networks (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7); loopback, link-local and cloud metadata stay refused", "FETCH_ALLOW_PRIVATE_IPS")
	allowedPorts := c.List("allowed-ports", nil, "destination ports allowed (default 80, 443 and every port above 1024)", "FETCH_ALLOWED_PORTS")
	ignoreRobots := c.Bool("ignore-robots", false, "do not check robots.txt before fetching", "FETCH_IGNORE_ROBOTS")
	proxy := c.URL("proxy", "", []string{"http"}, "send fetches through this HTTP proxy (http://[user:pass@]host:port) as CONNECT tunnels to checked addresses", "FETCH_PROXY")
	guard := guardflags.Register(c, []string{"MCP_ALLOWED_ORIGINS"}, []string{"MCP_ALLOWED_HOSTS"})
	versions := c.String("protocol-versions", "", "MCP protocol versions served, comma-separated (default all)", "MCP_PROTOCOL_VERSIONS_SUPPORTED")
	stateless := c.Bool("stateless", false, "keep no protocol sessions", "MCP_STATELESS")
	level := c.LogLevel("log-level", slog.LevelInfo, "debug, info, warning or error", "LOG_LEVEL")
	logFile := c.LogFile()
	if err := c.Parse(args, env, help); err != nil {
		return nil, err
	}

	cfg := &config{listen: listen, logLevel: *level, logFile: logFile}
	f := &cfg.fetch
	for _, s := range *schemes {
		if s = strings.ToLower(s); s != "http" && s != "https" {
			return nil, c.Bad("allowed-schemes", fmt.Errorf("scheme %q: only http and https can be fetched", s))
		}
	}
	f.Client.AllowedSchemes = *schemes
	f.Client.MaxRedirects = *redirects
	if *redirects == 0 {
		f.Client.MaxRedirects = -1
	}
	f.UserAgent = *userAgent
	f.Client.MaxBodyBytes = *maxSize
	f.Client.Timeout = *timeout
	if f.MaxTimeout = *maxTimeout; f.MaxTimeout != 0 && f.MaxTimeout < f.Client.Timeout {
		return nil, c.Bad("max-timeout", fmt.Errorf("below the timeout (%v)", f.Client.Timeout))
	}
	f.Client.AllowedDomains, f.Client.BlockedDomains = *allowedDomains, *blockedDomains
	f.Client.AllowPrivateAddresses = *allowPrivate
	for _, p := range *allowedPorts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return nil, c.Bad("allowed-ports", fmt.Errorf("%q is not a port number", p))
		}
		f.Client.AllowedPorts = append(f.Client.AllowedPorts, n)
	}
	f.IgnoreRobots = *ignoreRobots
	if *proxy != "" {
		f.Client.Proxy, _ = url.Parse(*proxy)
	}

	s := &cfg.server
	s.Sessions = mcpserver.Stateful
	if *stateless {
		s.Sessions = mcpserver.Stateless
	}
	if err := guard.Check(context.Background(), listen); err != nil {
		return nil, err
	}
	guard.Apply(s)
	if *versions != "" {
		var err error
		if s.ProtocolVersions, err = mcpserver.ParseProtocolVersions(*versions); err != nil {
			return nil, c.Bad("protocol-versions", err)
		}
	}
	// Let the library judge what only it knows (domain names).
	if _, err := fetch.New(&cfg.fetch); err != nil {
		return nil, cli.Usage(err)
	}
	return cfg, nil
}

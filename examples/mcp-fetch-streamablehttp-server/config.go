package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/mcp-oauth-gateway/gateway/fetch"
	"github.com/mcp-oauth-gateway/gateway/mcpserver"
)

// config is everything the flags and the environment say.
type config struct {
	host, port string
	logLevel   slog.Level
	fetch      fetch.Options
	server     mcpserver.Options
}

// setting is one flag with the environment variables that give its
// default. The first set variable wins; the flag wins over all.
type setting struct {
	flag, def, usage string
	env              []string
	value            *string
}

// parseConfig reads flags (args) and environment variables (through env,
// so tests pass their own). Flags win over the environment.
func parseConfig(args []string, env func(string) string, stderr io.Writer) (*config, error) {
	fs := flag.NewFlagSet("mcp-fetch-streamablehttp-server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: mcp-fetch-streamablehttp-server [flags]\n\n"+
			"An MCP server (StreamableHTTP) with an SSRF-safe fetch tool.\n"+
			"Every flag can also be set with the environment variable named in brackets.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	settings := []*setting{
		{flag: "host", def: "127.0.0.1", env: []string{"HOST"}, usage: "address to listen on"},
		{flag: "port", def: "3000", env: []string{"PORT"}, usage: "port to listen on"},
		{flag: "allowed-schemes", def: "http,https", env: []string{"MCP_FETCH_ALLOWED_SCHEMES"}, usage: "URL schemes the tool may fetch: http, https or both (comma-separated or a JSON list)"},
		{flag: "max-redirects", def: "5", env: []string{"MCP_FETCH_MAX_REDIRECTS"}, usage: "redirects followed per fetch, each checked again (0: none)"},
		{flag: "user-agent", def: fetch.DefaultUserAgent, env: []string{"MCP_FETCH_DEFAULT_USER_AGENT"}, usage: "User-Agent sent when a call names none; its product token is matched against robots.txt"},
		{flag: "max-size", def: "10MiB", env: []string{"FETCH_MAX_SIZE"}, usage: "largest response body read, after decompression (bytes, or with KB, KiB, MB, MiB)"},
		{flag: "timeout", def: "30", env: []string{"FETCH_TIMEOUT"}, usage: "default time limit of a fetch (seconds, or a duration such as 45s)"},
		{flag: "max-timeout", def: "", env: []string{"FETCH_MAX_TIMEOUT"}, usage: "longest time limit a call may ask for (default: the timeout)"},
		{flag: "allowed-domains", def: "", env: []string{"FETCH_ALLOWED_DOMAINS"}, usage: "if set, only these domains and their subdomains are fetched (comma-separated)"},
		{flag: "blocked-domains", def: "", env: []string{"FETCH_BLOCKED_DOMAINS"}, usage: "domains, with their subdomains, never fetched (comma-separated)"},
		{flag: "allow-private-ips", def: "false", env: []string{"FETCH_ALLOW_PRIVATE_IPS"}, usage: "allow private networks (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7); loopback, link-local and cloud metadata stay refused"},
		{flag: "allowed-ports", def: "", env: []string{"FETCH_ALLOWED_PORTS"}, usage: "destination ports allowed (comma-separated; default 80, 443 and every port above 1024)"},
		{flag: "ignore-robots", def: "false", env: []string{"FETCH_IGNORE_ROBOTS"}, usage: "do not check robots.txt before fetching"},
		{flag: "proxy", def: "", env: []string{"FETCH_PROXY"}, usage: "send fetches through this HTTP proxy (http://[user:pass@]host:port) as CONNECT tunnels to checked addresses"},
		{flag: "allowed-origins", def: "", env: []string{"MCP_ALLOWED_ORIGINS"}, usage: "browser origins allowed to call the MCP endpoint (comma-separated, * for any); loopback and same-host origins always are"},
		{flag: "allowed-hosts", def: "", env: []string{"MCP_ALLOWED_HOSTS"}, usage: "extra Host header values accepted on loopback, against DNS rebinding (comma-separated)"},
		{flag: "protocol-versions", def: "", env: []string{"MCP_PROTOCOL_VERSIONS_SUPPORTED"}, usage: "MCP protocol versions served (comma-separated; default all)"},
		{flag: "stateless", def: "false", env: []string{"MCP_STATELESS"}, usage: "keep no protocol sessions"},
		{flag: "log-level", def: "info", env: []string{"LOG_LEVEL"}, usage: "debug, info, warn or error"},
	}
	byName := map[string]*setting{}
	for _, s := range settings {
		s.value = new(string)
		def := s.def
		for _, name := range s.env {
			if v := strings.TrimSpace(env(name)); v != "" {
				def = v
				break
			}
		}
		fs.StringVar(s.value, s.flag, def, fmt.Sprintf("%s [%s]", s.usage, strings.Join(s.env, ", ")))
		byName[s.flag] = s
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	get := func(name string) string { return strings.TrimSpace(*byName[name].value) }
	bad := func(name string, err error) error {
		s := byName[name]
		return fmt.Errorf("bad value %q for -%s [%s]: %w", get(name), s.flag, strings.Join(s.env, ", "), err)
	}

	c := &config{host: get("host"), port: get("port")}
	if p, err := strconv.Atoi(c.port); err != nil || p < 0 || p > 65535 {
		return nil, bad("port", errors.New("want a port number"))
	}
	if err := c.logLevel.UnmarshalText([]byte(get("log-level"))); err != nil {
		return nil, bad("log-level", errors.New("want debug, info, warn or error"))
	}
	f := &c.fetch
	var err error
	if f.Client.AllowedSchemes, err = parseList(get("allowed-schemes")); err != nil {
		return nil, bad("allowed-schemes", err)
	}
	for _, s := range f.Client.AllowedSchemes {
		if s = strings.ToLower(s); s != "http" && s != "https" {
			return nil, bad("allowed-schemes", fmt.Errorf("scheme %q: only http and https can be fetched", s))
		}
	}
	redirects, err := strconv.Atoi(get("max-redirects"))
	if err != nil || redirects < 0 {
		return nil, bad("max-redirects", errors.New("want a whole number, 0 or more"))
	}
	f.Client.MaxRedirects = redirects
	if redirects == 0 {
		f.Client.MaxRedirects = -1
	}
	f.UserAgent = get("user-agent")
	if f.Client.MaxBodyBytes, err = parseSize(get("max-size")); err != nil {
		return nil, bad("max-size", err)
	}
	if f.Client.Timeout, err = parseSeconds(get("timeout")); err != nil {
		return nil, bad("timeout", err)
	}
	if s := get("max-timeout"); s != "" {
		if f.MaxTimeout, err = parseSeconds(s); err != nil {
			return nil, bad("max-timeout", err)
		}
		if f.MaxTimeout < f.Client.Timeout {
			return nil, bad("max-timeout", fmt.Errorf("below the timeout (%v)", f.Client.Timeout))
		}
	}
	if f.Client.AllowedDomains, err = parseList(get("allowed-domains")); err != nil {
		return nil, bad("allowed-domains", err)
	}
	if f.Client.BlockedDomains, err = parseList(get("blocked-domains")); err != nil {
		return nil, bad("blocked-domains", err)
	}
	if f.Client.AllowPrivateAddresses, err = parseBool(get("allow-private-ips")); err != nil {
		return nil, bad("allow-private-ips", err)
	}
	ports, err := parseList(get("allowed-ports"))
	if err != nil {
		return nil, bad("allowed-ports", err)
	}
	for _, p := range ports {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return nil, bad("allowed-ports", fmt.Errorf("%q is not a port number", p))
		}
		f.Client.AllowedPorts = append(f.Client.AllowedPorts, n)
	}
	if f.IgnoreRobots, err = parseBool(get("ignore-robots")); err != nil {
		return nil, bad("ignore-robots", err)
	}
	if s := get("proxy"); s != "" {
		u, err := url.Parse(s)
		if err != nil || u.Scheme != "http" || u.Host == "" {
			return nil, fmt.Errorf("bad value for -proxy [FETCH_PROXY]: want http://[user:pass@]host:port")
		}
		f.Client.Proxy = u
	}

	s := &c.server
	s.Sessions = mcpserver.Stateful
	if stateless, err := parseBool(get("stateless")); err != nil {
		return nil, bad("stateless", err)
	} else if stateless {
		s.Sessions = mcpserver.Stateless
	}
	if s.AllowedOrigins, err = parseList(get("allowed-origins")); err != nil {
		return nil, bad("allowed-origins", err)
	}
	if s.AllowedHosts, err = parseList(get("allowed-hosts")); err != nil {
		return nil, bad("allowed-hosts", err)
	}
	if v := get("protocol-versions"); v != "" {
		if s.ProtocolVersions, err = mcpserver.ParseProtocolVersions(v); err != nil {
			return nil, bad("protocol-versions", err)
		}
	}
	// Let the libraries judge what only they know (domain names, origins).
	if _, err := fetch.New(&c.fetch); err != nil {
		return nil, err
	}
	return c, nil
}

// parseList reads a comma-separated list or, as the Python original's
// settings accepted, a JSON array of strings.
func parseList(s string) ([]string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	if strings.HasPrefix(s, "[") {
		var out []string
		if err := json.Unmarshal([]byte(s), &out); err != nil {
			return nil, errors.New("want a comma-separated list or a JSON array of strings")
		}
		return out, nil
	}
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out, nil
}

func parseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "true", "yes", "on":
		return true, nil
	case "", "0", "false", "no", "off":
		return false, nil
	}
	return false, errors.New("want true or false")
}

// parseSize reads a byte count: 1048576, 512KB, 512KiB, 10MB, 10MiB, 1GiB.
func parseSize(s string) (int64, error) {
	num := strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1000}, {"MB", 1000 * 1000}, {"GB", 1000 * 1000 * 1000}, {"B", 1}} {
		if len(num) > len(u.suffix) && strings.EqualFold(num[len(num)-len(u.suffix):], u.suffix) {
			num, mult = strings.TrimSpace(num[:len(num)-len(u.suffix)]), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 1 || n > (1<<40)/mult {
		return 0, errors.New("want a positive size in bytes, such as 10485760 or 10MiB")
	}
	return n * mult, nil
}

// parseSeconds reads seconds (30, 2.5) or a Go duration (45s, 2m).
func parseSeconds(s string) (time.Duration, error) {
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if f <= 0 || f > 24*3600 {
			return 0, errors.New("want a number of seconds above 0")
		}
		return time.Duration(f * float64(time.Second)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, errors.New("want seconds (30) or a duration (45s)")
	}
	return d, nil
}

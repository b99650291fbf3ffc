package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
)

// config is everything the flags, the environment and the env file say.
type config struct {
	serverURL       string
	logLevel        slog.Level
	credentials     string
	header          http.Header
	resource        string
	clientID        string
	clientSecret    string
	clientMetadata  string
	callbackPort    int
	login           string
	json            bool
	action          string // "" (the bridge) or the action flag's name
	command, raw    string
	updateClient    string
	protocolVersion string
}

// setting is one flag with the environment variables that give its
// default (the first one set wins; then the env file; the flag wins over
// all).
type setting struct {
	flag, short, def, usage string
	env                     []string
	value                   *string
	isBool                  bool
}

// headerFlags collects repeated --header K:V.
type headerFlags []string

func (h *headerFlags) String() string     { return strings.Join(*h, ", ") }
func (h *headerFlags) Set(v string) error { *h = append(*h, v); return nil }

// actions are the flags that make the program do one thing and exit
// instead of bridging.
var actions = []string{"token", "test-auth", "reset-auth", "command", "raw", "list-tools", "list-resources", "list-prompts",
	"get-client-info", "update-client", "delete-client"}

func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (*config, error) {
	fs := flag.NewFlagSet("mcp-streamablehttp-client", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: mcp-streamablehttp-client [flags]\n\n"+
			"Bridges a local stdio MCP client (Claude Desktop, VS Code, Cursor) to a remote StreamableHTTP MCP\n"+
			"server with OAuth, or, with an action flag, runs one command against it.\n"+
			"Every setting can also come from the environment variable named in brackets, or from --env-file.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	// The env file is a settings source only: never written.
	envFile := map[string]string{}
	for i, a := range args {
		name := ""
		switch {
		case a == "--env-file" || a == "-env-file":
			if i+1 < len(args) {
				name = args[i+1]
			}
		case strings.HasPrefix(a, "--env-file=") || strings.HasPrefix(a, "-env-file="):
			name = a[strings.Index(a, "=")+1:]
		}
		if name != "" {
			m, err := readEnvFile(name)
			if err != nil {
				return nil, err
			}
			envFile = m
		}
	}
	lookup := func(name string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return strings.TrimSpace(envFile[name])
	}
	settings := []*setting{
		{flag: "server-url", env: []string{"MCP_SERVER_URL"}, usage: "URL of the remote MCP endpoint (required)"},
		{flag: "env-file", usage: "read settings (KEY=VALUE lines) from this file; it is never written"},
		{flag: "log-level", def: "warn", env: []string{"LOG_LEVEL"}, usage: "debug, info, warn or error (logs go to stderr)"},
		{flag: "credentials-file", env: []string{"MCP_CLIENT_CREDENTIALS_FILE"}, usage: "where tokens and registrations are kept (default: credentials.json under the user's config directory)"},
		{flag: "resource", env: []string{"MCP_CLIENT_RESOURCE"}, usage: "resource indicator to ask tokens for (default: the server's protected resource metadata)"},
		{flag: "client-id", env: []string{"MCP_CLIENT_ID", "OAUTH_CLIENT_ID"}, usage: "pre-registered OAuth client id (default: register dynamically)"},
		{flag: "client-secret", env: []string{"MCP_CLIENT_SECRET", "OAUTH_CLIENT_SECRET"}, usage: "secret of the pre-registered client"},
		{flag: "client-metadata-url", env: []string{"MCP_CLIENT_METADATA_URL"}, usage: "https URL of this client's Client ID Metadata Document, used where the server supports them"},
		{flag: "callback-port", def: "0", env: []string{"MCP_CLIENT_CALLBACK_PORT"}, usage: "loopback port of the login callback (0: the registered one if free, else any)"},
		{flag: "login", def: "auto", env: []string{"MCP_CLIENT_LOGIN"}, usage: "how to log in: browser, device, paste, or auto (browser with a display, else device when offered, else paste)"},
		{flag: "protocol-version", def: "2025-11-25", env: []string{"MCP_PROTOCOL_VERSION"}, usage: "protocol version the command actions ask for"},
		{flag: "json", def: "false", isBool: true, usage: "print command results as JSON"},
		{flag: "token", def: "false", isBool: true, usage: "show the token's status, refresh it or log in, then test a call"},
		{flag: "test-auth", def: "false", isBool: true, usage: "check that the server accepts the stored or a new token"},
		{flag: "reset-auth", def: "false", isBool: true, usage: "forget the stored tokens and registration of this server"},
		{flag: "command", short: "c", usage: `call a tool: "NAME ARGS", ARGS a JSON object, k=v pairs, or the value of its single required argument`},
		{flag: "raw", usage: `send a JSON-RPC request ({"method":...,"params":...}) and print the response`},
		{flag: "list-tools", def: "false", isBool: true, usage: "list the server's tools"},
		{flag: "list-resources", def: "false", isBool: true, usage: "list the server's resources"},
		{flag: "list-prompts", def: "false", isBool: true, usage: "list the server's prompts"},
		{flag: "get-client-info", def: "false", isBool: true, usage: "show the client registration (RFC 7592)"},
		{flag: "update-client", usage: "change the client registration: k=v,... (a JSON value where one is needed)"},
		{flag: "delete-client", def: "false", isBool: true, usage: "delete the client registration at the server and forget it"},
	}
	byName := map[string]*setting{}
	for _, s := range settings {
		s.value = new(string)
		def := s.def
		for _, name := range s.env {
			if v := lookup(name); v != "" {
				def = v
				break
			}
		}
		usage := s.usage
		if len(s.env) > 0 {
			usage = fmt.Sprintf("%s [%s]", s.usage, strings.Join(s.env, ", "))
		}
		if s.isBool {
			b := new(bool)
			*b, _ = strconv.ParseBool(def)
			fs.Var(boolValue{b, s.value}, s.flag, usage)
			*s.value = strconv.FormatBool(*b)
		} else {
			fs.StringVar(s.value, s.flag, def, usage)
			if s.short != "" {
				fs.StringVar(s.value, s.short, def, "short for --"+s.flag)
			}
		}
		byName[s.flag] = s
	}
	var headers headerFlags
	fs.Var(&headers, "header", "extra request header K:V for the MCP server (repeatable)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	get := func(name string) string { return strings.TrimSpace(*byName[name].value) }
	bad := func(name string, err error) error {
		s := byName[name]
		env := ""
		if len(s.env) > 0 {
			env = " [" + strings.Join(s.env, ", ") + "]"
		}
		return fmt.Errorf("bad value %q for --%s%s: %w", get(name), s.flag, env, err)
	}
	c := &config{serverURL: get("server-url"), credentials: get("credentials-file"), resource: get("resource"),
		clientID: get("client-id"), clientSecret: get("client-secret"), clientMetadata: get("client-metadata-url"),
		login: get("login"), command: *byName["command"].value, raw: get("raw"), updateClient: get("update-client"),
		protocolVersion: get("protocol-version"), header: http.Header{}}
	if c.serverURL == "" {
		return nil, errors.New("the server URL is missing: pass --server-url or set MCP_SERVER_URL")
	}
	if err := c.logLevel.UnmarshalText([]byte(get("log-level"))); err != nil {
		if strings.EqualFold(get("log-level"), "warning") {
			c.logLevel = slog.LevelWarn
		} else {
			return nil, bad("log-level", errors.New("want debug, info, warn or error"))
		}
	}
	p, err := strconv.Atoi(get("callback-port"))
	if err != nil || p < 0 || p > 65535 {
		return nil, bad("callback-port", errors.New("want a port number"))
	}
	c.callbackPort = p
	switch c.login {
	case "auto", "browser", "device", "paste":
	default:
		return nil, bad("login", errors.New("want browser, device, paste or auto"))
	}
	if c.clientSecret != "" && c.clientID == "" {
		return nil, bad("client-secret", errors.New("a client secret needs --client-id"))
	}
	c.json = get("json") == "true"
	for _, h := range headers {
		k, v, ok := strings.Cut(h, ":")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("bad value %q for --header: want NAME:VALUE", h)
		}
		if strings.EqualFold(strings.TrimSpace(k), "Authorization") {
			return nil, fmt.Errorf("bad value for --header: the Authorization header is the OAuth client's")
		}
		c.header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	var set []string
	for _, a := range actions {
		v := get(a)
		if a == "command" {
			v = strings.TrimSpace(c.command)
		}
		if v != "" && v != "false" {
			set = append(set, "--"+a)
			c.action = a
		}
	}
	if len(set) > 1 {
		return nil, fmt.Errorf("%s cannot be combined; give one action", strings.Join(set, " and "))
	}
	return c, nil
}

// boolValue is a bool flag that also records its value as text.
type boolValue struct {
	b *bool
	s *string
}

func (v boolValue) String() string {
	if v.b == nil {
		return "false"
	}
	return strconv.FormatBool(*v.b)
}
func (v boolValue) Set(s string) error {
	b, err := strconv.ParseBool(s)
	if err != nil {
		return err
	}
	*v.b, *v.s = b, strconv.FormatBool(b)
	return nil
}
func (v boolValue) IsBoolFlag() bool { return true }

// readEnvFile reads KEY=VALUE lines (# comments, optional export and
// quotes).
func readEnvFile(name string) (map[string]string, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("--env-file: %w", err)
	}
	defer f.Close()
	m := map[string]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		l := strings.TrimSpace(sc.Text())
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		l = strings.TrimPrefix(l, "export ")
		k, v, ok := strings.Cut(l, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("--env-file %s:%d: want KEY=VALUE", name, n)
		}
		v = strings.TrimSpace(v)
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		m[strings.TrimSpace(k)] = v
	}
	return m, sc.Err()
}

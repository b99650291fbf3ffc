package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"

	"github.com/mcp-oauth-gateway/gateway/internal/cli"
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
	updates         map[string]any // --update-client, parsed
	protocolVersion string
	// staticAuth: --header gave the Authorization header (a token of the
	// user's own, as mcp-remote takes it); no OAuth then.
	staticAuth bool
}

// oauthActions need the OAuth client: they make no sense with a static
// Authorization header.
var oauthActions = []string{"token", "reset-auth", "get-client-info", "update-client", "delete-client"}

// settings are the values of the command line, as Parse leaves them.
type settings struct {
	serverURL, envFile, credentials, resource *string
	clientID, clientSecret, clientMetadata    *string
	logLevel                                  *slog.Level
	callbackPort                              *int
	login, protocolVersion                    *string
	json                                      *bool
	headers                                   *[]string
	command, raw, updateClient                *string
	token, testAuth, resetAuth, listTools     *bool
	listResources, listPrompts, getClientInfo *bool
	deleteClient                              *bool
}

// actions are the flags that make the program do one thing and exit
// instead of bridging.
var actions = []string{"token", "test-auth", "reset-auth", "command", "raw", "list-tools", "list-resources", "list-prompts",
	"get-client-info", "update-client", "delete-client"}

// define registers the settings: the Python client's flags and variables
// (--server-url / MCP_SERVER_URL, --env-file, --log-level / LOG_LEVEL,
// -t/--token, -c/--command, ..., MCP_CLIENT_ID, MCP_CLIENT_SECRET) and the
// new ones.
func define(c *cli.Command) *settings {
	s := &settings{}
	s.serverURL = c.URL("server-url", "", []string{"https", "http"}, "the remote MCP endpoint, such as https://mcp.example.com/mcp (required)", "MCP_SERVER_URL")
	s.envFile = c.String("env-file", "", "read settings from this `FILE` of KEY=VALUE lines, under the environment; it is never written")
	s.logLevel = c.LogLevel("log-level", slog.LevelWarn, "debug, info, warning or error; logs go to standard error and never show a token", "MCP_CLIENT_LOG_LEVEL", "LOG_LEVEL")
	s.credentials = c.String("credentials-file", "", "the `FILE` tokens and registrations are kept in (default credentials.json in the mcp-streamablehttp-client directory under the user's config directory)", "MCP_CLIENT_CREDENTIALS_FILE")
	s.headers = c.Repeated("header", "an extra `NAME:VALUE` header on every request to the server; an Authorization header is sent as it is, instead of OAuth")
	s.resource = c.String("resource", "", "the resource indicator (a `URI`) to ask tokens for (default the one of the server's protected resource metadata)", "MCP_CLIENT_RESOURCE")
	s.clientID = c.String("client-id", "", "the `ID` of a pre-registered OAuth client (default: register dynamically)", "MCP_CLIENT_ID")
	s.clientSecret = c.Secret("client-secret", "the secret of the pre-registered client (better in the variable or a file, --client-secret-file: command lines are visible to other users)", "MCP_CLIENT_SECRET")
	s.clientMetadata = c.URL("client-metadata-url", "", []string{"https"}, "the https URL of this client's Client ID Metadata Document, used where the server supports them", "MCP_CLIENT_METADATA_URL")
	s.callbackPort = c.Port("callback-port", 0, "the loopback port of the login callback (0: the registered one when free, else any)", "MCP_CLIENT_CALLBACK_PORT")
	s.login = c.Enum("login", "auto", []string{"auto", "browser", "device", "paste"},
		"how to log in: browser (a loopback callback), device (a code to enter on any device), paste (paste the redirect URL on the terminal), or auto (browser where there is a display, else device where the server offers it, else paste)", "MCP_CLIENT_LOGIN")
	s.protocolVersion = c.String("protocol-version", "2025-11-25", "the protocol `VERSION` the actions ask for", "MCP_PROTOCOL_VERSION")
	s.json = c.Bool("json", false, "print the result of an action as JSON", "MCP_CLIENT_JSON")

	s.token = c.Bool("token", false, "action: show the token's status, refresh it or log in, then make a test call")
	c.Short("t", "token")
	s.testAuth = c.Bool("test-auth", false, "action: check that the server accepts the token (logging in when needed)")
	s.resetAuth = c.Bool("reset-auth", false, "action: forget the server's tokens and this client's registration")
	s.command = c.String("command", "", "action: call a tool, `'TOOL ARGS'`, ARGS a JSON object, k=v pairs, or the value of the tool's single required argument")
	c.Short("c", "command")
	s.raw = c.String("raw", "", "action: send a JSON-RPC request (`JSON`), such as '{\"method\":\"tools/list\",\"params\":{}}', and print the response")
	s.listTools = c.Bool("list-tools", false, "action: list the server's tools")
	s.listResources = c.Bool("list-resources", false, "action: list the server's resources")
	s.listPrompts = c.Bool("list-prompts", false, "action: list the server's prompts")
	s.getClientInfo = c.Bool("get-client-info", false, "action: show the client registration as the server has it (RFC 7592)")
	s.updateClient = c.String("update-client", "", "action: change the client registration, `k=v,...` (redirect_uris=a|b, or JSON values)")
	s.deleteClient = c.Bool("delete-client", false, "action: delete the client registration at the server and forget it")
	return s
}

func newCommand() *cli.Command {
	c := cli.New(name, "Bridges a local stdio MCP client (Claude Desktop, VS Code, Cursor) to a remote StreamableHTTP MCP "+
		"server behind OAuth, or, with an action flag, runs one command against that server. It discovers the server's "+
		"authorization server, registers itself, logs the user in and keeps the tokens in a private file, refreshing them.")
	c.Note("Without an action flag the program is the bridge: JSON-RPC messages on standard input and output, one per " +
		"line, logs on standard error. Give at most one action. Exit status: 0 on success, 1 when the action failed, " +
		"2 for a bad setting. BROWSER (a command; %s stands for the URL) chooses how the browser is opened. See " +
		"examples/mcp-streamablehttp-client/README.md.")
	return c
}

// parseConfig reads the flags (args), the environment (getenv) and the
// env file; --help goes to help. A flag wins over a variable, a variable
// over the env file.
func parseConfig(args []string, getenv func(string) string, help io.Writer) (*config, error) {
	c := newCommand()
	s := define(c)
	if err := c.Parse(args, getenv, help); err != nil {
		return nil, err
	}
	if path := *s.envFile; path != "" {
		file, err := readEnvFile(path)
		if err != nil {
			return nil, c.Bad("env-file", err)
		}
		// Again, with the file under the environment.
		c = newCommand()
		s = define(c)
		lookup := func(k string) string {
			if v := getenv(k); strings.TrimSpace(v) != "" {
				return v
			}
			return file[k]
		}
		if err := c.Parse(args, lookup, help); err != nil {
			var se *cli.SettingError
			if errors.As(err, &se) && se.Source != "" && strings.TrimSpace(getenv(se.Source)) == "" && file[se.Source] != "" {
				se.Source += " in " + path
			}
			return nil, err
		}
	}
	return settingsConfig(c, s)
}

// settingsConfig checks what Parse cannot check alone and builds the
// config.
func settingsConfig(c *cli.Command, s *settings) (*config, error) {
	cfg := &config{serverURL: *s.serverURL, logLevel: *s.logLevel, credentials: *s.credentials, resource: *s.resource,
		clientID: *s.clientID, clientSecret: *s.clientSecret, clientMetadata: *s.clientMetadata, callbackPort: *s.callbackPort,
		login: *s.login, json: *s.json, command: strings.TrimSpace(*s.command), raw: *s.raw,
		protocolVersion: *s.protocolVersion, header: http.Header{}}
	if cfg.serverURL == "" {
		return nil, cli.Usagef("the server URL is missing: pass %s", c.Names("server-url"))
	}
	if cfg.clientSecret != "" && cfg.clientID == "" {
		return nil, c.Bad("client-secret", fmt.Errorf("a client secret needs %s", c.Names("client-id")))
	}
	for _, h := range *s.headers {
		k, v, ok := strings.Cut(h, ":")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		bad := func(why string) error {
			// An Authorization header's value is a credential: not shown.
			return &cli.SettingError{Flag: "header", Value: h, Secret: strings.EqualFold(k, "Authorization"), Source: "--header", Err: errors.New(why)}
		}
		switch {
		case !ok || k == "" || strings.ContainsAny(k, " \t\r\n") || strings.ContainsAny(v, "\r\n"):
			return nil, bad("want NAME:VALUE")
		case strings.EqualFold(k, "Authorization") && (v == "" || cfg.header.Get("Authorization") != ""):
			return nil, bad("want one Authorization header with a value")
		case strings.EqualFold(k, "Mcp-Session-Id") || strings.EqualFold(k, "Mcp-Protocol-Version") || strings.EqualFold(k, "Content-Type"):
			return nil, bad("the bridge sets " + http.CanonicalHeaderKey(k) + " itself")
		}
		cfg.header.Add(k, v)
	}
	if cfg.staticAuth = cfg.header.Get("Authorization") != ""; cfg.staticAuth {
		for _, name := range []string{"client-id", "client-secret", "client-metadata-url", "resource"} {
			if c.Given(name) {
				return nil, cli.Usagef("%s is for the OAuth client, which a static Authorization --header turns off", c.Names(name))
			}
		}
	}
	chosen := map[string]bool{
		"token": *s.token, "test-auth": *s.testAuth, "reset-auth": *s.resetAuth, "command": cfg.command != "",
		"raw": strings.TrimSpace(cfg.raw) != "", "list-tools": *s.listTools, "list-resources": *s.listResources,
		"list-prompts": *s.listPrompts, "get-client-info": *s.getClientInfo,
		"update-client": strings.TrimSpace(*s.updateClient) != "", "delete-client": *s.deleteClient,
	}
	var set []string
	for _, a := range actions {
		if chosen[a] {
			set = append(set, "--"+a)
			cfg.action = a
		}
	}
	if c.Given("command") && cfg.command == "" {
		return nil, c.Bad("command", errors.New(`want "TOOL ARGS"`))
	}
	if len(set) > 1 {
		return nil, cli.Usagef("%s cannot be combined; give one action", strings.Join(set, " and "))
	}
	if cfg.staticAuth && slices.Contains(oauthActions, cfg.action) {
		return nil, cli.Usagef("--%s manages the OAuth client's tokens or registration, which a static Authorization --header turns off", cfg.action)
	}
	switch cfg.action {
	case "raw":
		var m map[string]any
		if err := json.Unmarshal([]byte(cfg.raw), &m); err != nil {
			return nil, c.Bad("raw", errors.New("not a JSON object"))
		}
		if method, _ := m["method"].(string); method == "" {
			return nil, c.Bad("raw", errors.New(`the request has no "method"`))
		}
	case "update-client":
		var err error
		if cfg.updates, err = parseUpdates(*s.updateClient); err != nil {
			return nil, c.Bad("update-client", err)
		}
	}
	return cfg, nil
}

// readEnvFile reads KEY=VALUE lines (# comments, blank lines, an optional
// "export ", values in single or double quotes).
func readEnvFile(name string) (map[string]string, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
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
			return nil, fmt.Errorf("line %d: want KEY=VALUE", n)
		}
		v = strings.TrimSpace(v)
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		m[strings.TrimSpace(k)] = v
	}
	return m, sc.Err()
}

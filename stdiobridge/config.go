package stdiobridge

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Config is the configuration file of several stdio servers behind one
// proxy, in the "mcpServers" format MCP clients use:
//
//	{
//	  "mcpServers": {
//	    "memory": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-memory"]},
//	    "time":   {"command": "uvx", "args": ["mcp-server-time"], "shared": true,
//	               "env": {"TZ": "UTC"}, "idleTimeout": "30m"}
//	  }
//	}
//
// Each server is served at /<name>/mcp unless it names a path.
type Config struct {
	Servers map[string]ServerConfig `json:"mcpServers"`
}

// ServerConfig is one server of a Config. Zero fields take the proxy-wide
// defaults.
type ServerConfig struct {
	// Type must be "stdio" or empty; other transports are not served.
	Type string `json:"type,omitempty"`
	// Command, Args, Env and Cwd start the server.
	Command string            `json:"command"`
	Args    []string          `json:"args,omitempty"`
	Env     map[string]string `json:"env,omitempty"`
	Cwd     string            `json:"cwd,omitempty"`
	// Disabled servers are skipped.
	Disabled bool `json:"disabled,omitempty"`
	// Path is where the server is served. Zero: /<name>/mcp.
	Path string `json:"path,omitempty"`
	// Shared, MaxChildren, PoolSize and Modern are the ProxyOptions fields.
	Shared      bool   `json:"shared,omitempty"`
	MaxChildren int    `json:"maxChildren,omitempty"`
	PoolSize    int    `json:"poolSize,omitempty"`
	Modern      string `json:"modern,omitempty"`
	// Timeouts, as Go durations ("90s", "5m") or numbers of seconds.
	StartupTimeout Duration `json:"startupTimeout,omitzero"`
	RequestTimeout Duration `json:"requestTimeout,omitzero"`
	IdleTimeout    Duration `json:"idleTimeout,omitzero"`
}

// Duration is a time.Duration read from JSON as a Go duration string or a
// number of seconds.
type Duration time.Duration

// UnmarshalJSON reads "90s"-style strings and numbers of seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		v, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		*d = Duration(v)
		return nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("duration %s: want a string like \"90s\" or a number of seconds", b)
	}
	*d = Duration(f * float64(time.Second))
	return nil
}

// MarshalJSON writes the duration as a Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

var serverName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// ParseConfig reads and checks a configuration file. Unknown fields are
// errors, so that a typo does not pass unnoticed.
func ParseConfig(data []byte) (*Config, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var c Config
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("stdiobridge: config: %w", err)
	}
	if dec.More() {
		return nil, errors.New("stdiobridge: config: trailing data after the JSON object")
	}
	if len(c.Servers) == 0 {
		return nil, errors.New(`stdiobridge: config: no servers in "mcpServers"`)
	}
	paths := map[string]string{}
	for _, name := range c.Names() {
		s := c.Servers[name]
		if !serverName.MatchString(name) {
			return nil, fmt.Errorf("stdiobridge: config: server name %q: use letters, digits, '.', '_' and '-'", name)
		}
		if s.Type != "" && s.Type != "stdio" {
			return nil, fmt.Errorf("stdiobridge: config: server %q: type %q is not served (only stdio)", name, s.Type)
		}
		if strings.TrimSpace(s.Command) == "" {
			return nil, fmt.Errorf("stdiobridge: config: server %q: command is required", name)
		}
		if _, err := ParseModernMode(s.Modern); err != nil {
			return nil, fmt.Errorf("stdiobridge: config: server %q: %w", name, err)
		}
		if s.MaxChildren < 0 && s.MaxChildren != -1 || s.PoolSize < 0 {
			return nil, fmt.Errorf("stdiobridge: config: server %q: maxChildren and poolSize must not be negative (maxChildren -1: no cap)", name)
		}
		p := s.route(name)
		if !strings.HasPrefix(p, "/") || p == "/health" || strings.ContainsAny(p, " {}") {
			return nil, fmt.Errorf("stdiobridge: config: server %q: bad path %q", name, p)
		}
		if other, dup := paths[p]; dup {
			return nil, fmt.Errorf("stdiobridge: config: servers %q and %q share the path %s", other, name, p)
		}
		paths[p] = name
	}
	return &c, nil
}

// Names returns the names of the enabled servers, sorted.
func (c *Config) Names() []string {
	var out []string
	for n, s := range c.Servers {
		if !s.Disabled {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

func (s ServerConfig) route(name string) string {
	if s.Path != "" {
		return "/" + strings.Trim(s.Path, "/")
	}
	return "/" + name + "/mcp"
}

// Route returns where the server named name is served.
func (c *Config) Route(name string) string { return c.Servers[name].route(name) }

// ToCommand returns how to start the server.
func (s ServerConfig) ToCommand() Command {
	cmd := Command{Path: s.Command, Args: s.Args, Dir: s.Cwd}
	keys := make([]string, 0, len(s.Env))
	for k := range s.Env {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		cmd.Env = append(cmd.Env, k+"="+s.Env[k])
	}
	return cmd
}

// Options returns base with the server's own settings applied.
func (s ServerConfig) Options(name string, base ProxyOptions) *ProxyOptions {
	o := base
	o.Name = name
	if s.Shared {
		o.Shared = true
	}
	if s.MaxChildren != 0 {
		o.MaxChildren = s.MaxChildren
	}
	if s.PoolSize != 0 {
		o.PoolSize = s.PoolSize
	}
	if s.Modern != "" {
		o.Modern, _ = ParseModernMode(s.Modern)
	}
	if s.StartupTimeout != 0 {
		o.StartupTimeout = time.Duration(s.StartupTimeout)
	}
	if s.RequestTimeout != 0 {
		o.RequestTimeout = time.Duration(s.RequestTimeout)
	}
	if s.IdleTimeout != 0 {
		o.IdleTimeout = time.Duration(s.IdleTimeout)
	}
	return &o
}

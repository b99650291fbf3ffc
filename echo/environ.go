package echo

import (
	"os"
	"runtime"
	"sort"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"
)

// echoVariables are the environment variables of the echo binaries, listed
// by environmentDump even when not set. Any other MCP_* variable is listed
// when set.
var echoVariables = []string{
	"MCP_ECHO_HOST",
	"MCP_ECHO_PORT",
	"MCP_ECHO_DEBUG",
	"MCP_PROTOCOL_VERSION",
	"MCP_PROTOCOL_VERSIONS_SUPPORTED",
	"MCP_SESSION_TIMEOUT",
	"MCP_ECHO_ALLOWED_ORIGINS",
	"MCP_CORS_ORIGINS",
	"MCP_ECHO_ALLOWED_HOSTS",
	"MCP_ECHO_TRUST_GATEWAY_HEADERS",
	"LOG_FILE",
}

func (t *tools) environmentTool() tool {
	return tool{
		name:  "environmentDump",
		title: "Environment dump",
		description: "Display the server's sanitized environment configuration (the echo server's variables " +
			"and any MCP_* variable) and system information. Secret values are always redacted.",
		readOnly: true,
		params: []param{{name: "showSecrets", boolean: true,
			description: "Show the first and last 4 characters of long secrets (never more)"}},
		run: func(c *call) *mcp.CallToolResult {
			r := newReport("Environment Configuration", 40)
			c.sessionLine(r)
			env := map[string]string{}
			var extra []string
			for _, kv := range c.t.environ() {
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					continue
				}
				env[k] = v
				if strings.HasPrefix(k, "MCP_") && !contains(echoVariables, k) {
					extra = append(extra, k)
				}
			}
			sort.Strings(extra)
			show := c.boolArg("showSecrets")

			r.section("MCP Configuration")
			for _, k := range append(append([]string{}, echoVariables...), extra...) {
				v, set := env[k]
				switch {
				case !set:
					r.kv(k, "not set")
				case secretName(k) && show:
					r.kv(k, redact(v))
				case secretName(k):
					r.kv(k, mask(v))
				default:
					r.kv(k, printable(truncate(redactURLPassword(v), 200)))
				}
			}
			if !show {
				r.item("(secret values hidden; showSecrets reveals the first and last 4 characters of long ones)")
			}

			r.section("System Information")
			r.kv("Go", runtime.Version())
			r.kv("Platform", runtime.GOOS+"/"+runtime.GOARCH)
			if host, err := os.Hostname(); err == nil {
				r.kv("Hostname", host)
			}
			r.kv("PID", os.Getpid())
			r.kv("CPUs", runtime.NumCPU())

			r.blank()
			r.linef("Server Type: %s", c.t.serverType())
			return text(r.String())
		},
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

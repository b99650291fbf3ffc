package echo

import (
	"slices"
	"sort"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"
)

// versionFeatures sums up what each protocol version brought.
var versionFeatures = []struct{ version, features string }{
	{mcp.ProtocolVersion20241105, "Original MCP specification (HTTP+SSE transport)"},
	{mcp.ProtocolVersion20250326, "StreamableHTTP transport, OAuth 2.1 authorization, tool annotations"},
	{mcp.ProtocolVersion20250618, "MCP-Protocol-Version header, structured tool output, elicitation, protected resource metadata"},
	{mcp.ProtocolVersion20251125, "Client ID metadata documents, URL elicitation, tasks, SSE polling; last version with initialize"},
	{mcp.ProtocolVersion20260728, "Stateless core: no initialize or sessions, server/discover, per-request metadata"},
}

func (t *tools) protocolTool() tool {
	return tool{
		name:  "protocolNegotiation",
		title: "Protocol negotiation",
		description: "Analyze MCP protocol version negotiation: the version this call used, " +
			"the versions this server serves, and whether a given version would be accepted.",
		readOnly: true,
		params:   []param{{name: "testVersion", description: "Test a specific protocol version, e.g. 2025-06-18"}},
		run: func(c *call) *mcp.CallToolResult {
			r := newReport("MCP Protocol Negotiation Analysis", 40)
			if c.session != nil {
				r.linef("Session: %s", shortSession(c.session.ID()))
				r.linef("Session Protocol: %s", or(c.session.ProtocolVersion(), "Not set"))
				r.blank()
			}
			served := c.t.versions
			header := c.header("MCP-Protocol-Version")

			r.section("Current Request")
			r.kv("MCP-Protocol-Version Header", or(header, "not specified"))
			if header != "" {
				r.kv("Header Present", "✅ Yes")
			} else {
				r.kv("Header Present", "❌ No")
			}
			r.kv("Version Used For This Call", or(c.protocolVersion(), "unknown"))
			r.kv("Server Supported Versions", strings.Join(served, ", "))
			r.kv("Server Default Version", or(c.t.defaultVersion(), "none (only 2026-07-28 is served)"))

			r.section("MCP-Related Headers in Request")
			var names []string
			for name := range c.req.Header {
				if strings.Contains(strings.ToLower(name), "mcp") {
					names = append(names, name)
				}
			}
			sort.Strings(names)
			for _, name := range names {
				for _, v := range c.req.Header[name] {
					r.kv(name, redactHeader(name, v))
				}
			}
			if len(names) == 0 {
				r.item("No MCP-related headers found")
			}

			r.section("Negotiation Result")
			version := or(header, c.protocolVersion())
			switch {
			case version == "":
				r.item("⚠️  No protocol version specified by client")
				r.item("Server would use default: %s", c.t.defaultVersion())
			case slices.Contains(served, version):
				r.item("✅ Compatible - Client requesting version: %s", version)
			default:
				r.item("❌ Incompatible - Client version not supported: %s", version)
			}
			if c.session != nil {
				r.item("Note: the session fixed its version at initialize; later requests must repeat it in MCP-Protocol-Version.")
			} else {
				r.item("Note: this call was served statelessly, so it stands on its own.")
			}

			if test := c.stringArg("testVersion"); test != "" {
				test = printable(truncate(strings.TrimSpace(test), 40))
				r.heading("Testing Version: " + test)
				switch {
				case slices.Contains(served, test):
					r.item("✅ This version is supported")
				case mcp.IsValidProtocolVersion(test):
					r.item("❌ This version is NOT supported by this server (it is a known MCP version)")
				default:
					r.item("❌ This version is NOT supported: not a known MCP version (known: %s)", strings.Join(mcp.ValidProtocolVersions, ", "))
				}
			}

			r.section("Version Compatibility")
			for _, v := range versionFeatures {
				if slices.Contains(served, v.version) {
					r.kv(v.version, "✅ Supported")
				} else {
					r.kv(v.version, "❌ Not supported")
				}
			}

			r.section("Protocol Version Features")
			for _, v := range versionFeatures {
				r.kv(v.version, v.features)
			}
			return text(r.String())
		},
	}
}

// defaultVersion is the version initialize settles on for a client asking
// for one the server does not serve: the newest served version that has
// initialize.
func (t *tools) defaultVersion() string {
	for _, v := range t.versions {
		if !mcp.IsModernProtocol(v) {
			return v
		}
	}
	return ""
}

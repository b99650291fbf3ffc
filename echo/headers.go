package echo

import (
	"sort"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcp-oauth-gateway/gateway/mcpserver"
)

func (t *tools) printHeaderTool() tool {
	return tool{
		name:  "printHeader",
		title: "Print HTTP headers",
		description: "Print all HTTP headers of the request that carried this call, " +
			"with tokens, cookies and other secrets redacted.",
		readOnly: true,
		run: func(c *call) *mcp.CallToolResult {
			var b strings.Builder
			b.WriteString("HTTP Headers:\n")
			b.WriteString(strings.Repeat("-", 40))
			b.WriteString("\n")
			if !c.overHTTP {
				b.WriteString("No headers available (this call did not come over HTTP)\n")
			}
			writeHeaders(&b, c.req)
			if c.session != nil {
				b.WriteString("\nSession Context:\n")
				b.WriteString("Session ID: " + shortSession(c.session.ID()) + "\n")
				b.WriteString("Session Initialized: Yes\n")
				b.WriteString("Protocol Version: " + c.session.ProtocolVersion() + "\n")
			}
			return text(b.String())
		},
	}
}

// writeHeaders writes the request's headers as lowercase "name: value"
// lines sorted by name, one line per value, secrets redacted. The Host
// header, which Go keeps apart, is included.
func writeHeaders(b *strings.Builder, r *mcpserver.Request) {
	h := r.Header
	if r.Host != "" && h.Get("Host") == "" {
		h = h.Clone()
		h.Set("Host", r.Host)
	}
	names := make([]string, 0, len(h))
	for name := range h {
		names = append(names, name)
	}
	sort.Slice(names, func(i, j int) bool { return strings.ToLower(names[i]) < strings.ToLower(names[j]) })
	for _, name := range names {
		for _, v := range h[name] {
			b.WriteString(strings.ToLower(name))
			b.WriteString(": ")
			b.WriteString(redactHeader(name, v))
			b.WriteByte('\n')
		}
	}
}

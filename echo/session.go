package echo

import (
	"fmt"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
)

func (t *tools) sessionInfoTool() tool {
	return tool{
		name:  "sessionInfo",
		title: "Session information",
		description: "Display the current session (id, age, activity, protocol version, client, owner) " +
			"and the server's session statistics.",
		readOnly: true,
		run: func(c *call) *mcp.CallToolResult {
			r := newReport("Session Information", 40)
			r.section("Current Session")
			if s := c.session; s != nil {
				r.kv("Session ID", shortSession(s.ID()))
				r.kv("Created", s.Created().UTC().Format(time.RFC3339))
				r.kv("Age", fmt.Sprintf("%.1fs", c.now.Sub(s.Created()).Seconds()))
				r.kv("Last Activity", s.LastActive().UTC().Format(time.RFC3339))
				r.kv("Initialized", "Yes")
				r.kv("Protocol Version", or(s.ProtocolVersion(), "Not set"))
				client := s.Client()
				r.kv("Client", fmt.Sprintf("%s v%s", or(client.Name, "unknown"), or(client.Version, "unknown")))
				if owner := s.Identity(); owner != nil {
					r.kv("Owner", fmt.Sprintf("%s (%s)", or(owner.Name, owner.Subject), identitySource(owner)))
				} else {
					r.kv("Owner", "anonymous")
				}
				_, has := s.Load(lastEchoKey)
				r.kv("Last Echo Stored", yesNo(has))
			} else {
				r.item("None (stateless request: protocol version %s has no sessions)", or(c.protocolVersion(), "unknown"))
			}

			r.section("Server Statistics")
			r.kv("Total Active Sessions", c.t.srv.ActiveSessions())
			r.kv("Server Type", c.t.serverType())
			if c.t.idleTimeout > 0 {
				r.kv("Session Timeout", fmt.Sprintf("%d seconds", int64(c.t.idleTimeout/time.Second)))
			} else {
				r.kv("Session Timeout", "never")
			}
			if c.t.maxSessions > 0 {
				r.kv("Session Cap", c.t.maxSessions)
			}
			return text(r.String())
		},
	}
}

func yesNo(b bool) string {
	if b {
		return "Yes"
	}
	return "No"
}

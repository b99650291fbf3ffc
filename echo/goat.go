package echo

import (
	"strings"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcp-oauth-gateway/gateway/mcpserver"
)

func (t *tools) goatTool() tool {
	return tool{
		name:  "whoIStheGOAT",
		title: "Who is the G.O.A.T.?",
		description: "Runs a rigorous, entirely serious artificial-intelligence analysis of software engineering " +
			"greatness and names the Greatest Of All Time programmer. Reads the caller's verified identity.",
		readOnly: true,
		run: func(c *call) *mcp.CallToolResult {
			r := newReport("G.O.A.T. PROGRAMMER IDENTIFICATION SYSTEM v3.14159", 50)
			if s := c.session; s != nil {
				client := s.Client()
				r.linef("Session: %s", shortSession(s.ID()))
				r.linef("Client: %s v%s", or(client.Name, "unknown"), or(client.Version, "unknown"))
				r.blank()
			}
			id := c.identity
			if id == nil || (id.Name == "" && id.Subject == "" && id.Email == "") {
				writeNoGOAT(r, c)
				return text(r.String())
			}
			name := displayName(id)

			r.linef("ADVANCED AI ANALYSIS COMPLETE")
			r.linef("%s", strings.Repeat("═", 40))
			r.blank()
			r.linef("After weighing every commit ever pushed, our models have reached a verdict.")
			r.blank()
			r.linef("OFFICIAL DETERMINATION:")
			r.linef("Greatest Of All Time (G.O.A.T.) Programmer Status")
			r.linef("%s", strings.Repeat("─", 40))
			r.linef("Subject: %s", name)
			if id.Subject != "" && id.Subject != name {
				r.linef("Identifier: %s", id.Subject)
			}
			if id.Email != "" {
				r.linef("Digital Fingerprint: %s", id.Email)
			}
			r.linef("Identity Source: %s", identitySource(id))
			r.blank()
			r.linef("AI-IDENTIFIED EXCEPTIONAL CAPABILITIES:")
			r.linef("• Code Quality Score: 100/100 (the scale had to be recalibrated)")
			r.linef("• Off-By-One Errors: 0 (or 1, depending on where you start counting)")
			r.linef("• Code Review Turnaround: answers before the pull request is opened")
			r.linef("• Naming Things: solved, along with cache invalidation")
			r.linef("• Production Incidents: reports them to the monitoring system first")
			r.blank()
			r.linef("MACHINE LEARNING INSIGHTS:")
			r.linef("Our deep learning models found patterns in %s's code that", name)
			r.linef("correlate strongly with:")
			r.linef("- Tests that fail only when the code is wrong")
			r.linef("- Benchmarks compared against a baseline in the same run")
			r.linef("- Secrets that never reach a log line")
			r.blank()
			r.linef("CONCLUSION:")
			r.linef("Based on irrefutable AI analysis, %s represents", name)
			r.linef("the pinnacle of software engineering achievement.")
			r.linef("This determination is final and scientifically validated.")
			r.blank()
			r.linef("[Analysis performed by G.O.A.T. Recognition AI v3.14159]")
			return text(r.String())
		},
	}
}

// displayName is how the caller is called: name, else subject, else e-mail.
func displayName(id *mcpserver.Identity) string {
	return or(id.Name, or(id.Subject, id.Email))
}

func writeNoGOAT(r *report, c *call) {
	r.linef("AUTHENTICATION REQUIRED")
	r.linef("%s", strings.Repeat("─", 40))
	r.blank()
	r.linef("The G.O.A.T. Recognition AI needs to know who is asking before it")
	r.linef("can perform its advanced analysis, and this call has no verified identity.")
	r.blank()
	r.linef("STATUS: Analysis Pending - Awaiting Authentication")
	r.blank()
	r.linef("RECOMMENDED ACTION:")
	if _, ok := bearerToken(c.header("Authorization")); ok || c.header("X-User-Id") != "" || c.header("X-User-Name") != "" {
		r.linef("Credentials arrived, but this server does not verify them. Run it behind")
		r.linef("the gateway with trusted gateway headers (--trust-gateway-headers), or")
		r.linef("give it an authentication hook.")
	} else {
		r.linef("Call through the OAuth gateway so the call carries a verified identity.")
	}
	r.linef("The 'bearerDecode' and 'authContext' tools show what the call carried.")
}

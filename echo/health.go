package echo

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcp-oauth-gateway/gateway/mcpserver"
)

// crowded is the share of the session cap above which healthProbe reports
// the server degraded.
const crowded = 0.9

func (t *tools) healthTool() tool {
	return tool{
		name:  "healthProbe",
		title: "Health probe",
		description: "Perform a deep health check of the service: status, sessions, and Go runtime figures " +
			"(goroutines, heap, memory, GC, uptime), read without stopping the world.",
		readOnly: true,
		run: func(c *call) *mcp.CallToolResult {
			r := newReport("Service Health Check", 40)
			srv := c.t.srv
			uptime := c.now.Sub(srv.Started())
			stateful := srv.Mode() == mcpserver.Stateful
			active := srv.ActiveSessions()
			degraded := ""
			if stateful && c.t.maxSessions > 0 && float64(active) >= crowded*float64(c.t.maxSessions) {
				degraded = fmt.Sprintf("%d of %d sessions in use", active, c.t.maxSessions)
			}
			status := "✅ HEALTHY"
			if degraded != "" {
				status = "⚠️  DEGRADED (" + degraded + ")"
			}

			r.section("Service Status")
			r.kv("Status", status)
			r.kv("Server", srv.Name()+" v"+srv.Version())
			r.kv("Protocol", strings.Join(c.t.versions, ", "))
			r.kv("Type", c.t.serverType())
			r.kv("Uptime", uptime.Truncate(time.Second).String())

			if stateful {
				r.section("Session Management")
				r.kv("Active Sessions", active)
				if c.t.maxSessions > 0 {
					r.kv("Session Cap", c.t.maxSessions)
				} else {
					r.kv("Session Cap", "none")
				}
				if c.t.idleTimeout > 0 {
					r.kv("Session Timeout", fmt.Sprintf("%ds", int64(c.t.idleTimeout/time.Second)))
				} else {
					r.kv("Session Timeout", "never")
				}
				if c.session != nil {
					r.kv("Current Session Age", fmt.Sprintf("%.1fs", c.now.Sub(c.session.Created()).Seconds()))
				}
			}

			st := readRuntime()
			r.section("System Resources")
			r.kv("Heap In Use", fmt.Sprintf("%s (%d objects)", mib(st.heapInUse), st.heapObjects))
			r.kv("Memory From OS", mib(st.totalMemory))
			r.kv("GC Cycles", st.gcCycles)
			r.kv("CPUs", fmt.Sprintf("%d (GOMAXPROCS %d)", runtime.NumCPU(), st.gomaxprocs))

			r.section("Process Information")
			r.kv("PID", os.Getpid())
			r.kv("Goroutines", st.goroutines)
			r.kv("Go Version", runtime.Version())

			r.section("Configuration Health")
			r.item("✅ Serving protocol versions %s", strings.Join(c.t.versions, ", "))
			switch {
			case c.t.authHook:
				r.item("✅ Callers are authenticated by the server's authentication hook")
			case c.t.trustGateway:
				r.item("✅ Caller identity taken from trusted gateway headers (X-User-Id, X-User-Name)")
			default:
				r.item("i  No caller identity: no authentication hook, gateway headers not trusted")
			}

			r.blank()
			r.linef("Overall Health: %s", status)
			return text(r.String())
		},
	}
}

package echo

import (
	"fmt"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcp-oauth-gateway/gateway/mcpserver"
)

// Performance thresholds of requestTiming, as the original's.
const (
	excellent  = 10 * time.Millisecond
	good       = 50 * time.Millisecond
	acceptable = 100 * time.Millisecond
)

func (t *tools) requestTimingTool() tool {
	return tool{
		name:  "requestTiming",
		title: "Request timing",
		description: "Show request timing and performance metrics: when the request arrived, " +
			"how long the server took to reach this tool, and the server's load.",
		readOnly: true,
		run: func(c *call) *mcp.CallToolResult {
			r := newReport("Request Timing Analysis", 40)
			if c.session != nil {
				r.linef("Session: %s", shortSession(c.session.ID()))
				r.linef("Session Age: %.2fs", c.now.Sub(c.session.Created()).Seconds())
				r.blank()
			}
			received := c.req.Received
			if received.IsZero() {
				received = c.now
			}
			elapsed := c.now.Sub(received)

			r.section("Timing")
			r.kv("Request received", received.UTC().Format(time.RFC3339Nano))
			r.kv("Current time", c.now.UTC().Format(time.RFC3339Nano))
			r.kv("Elapsed", fmt.Sprintf("%.2fms", float64(elapsed)/float64(time.Millisecond)))

			r.section("Request Details")
			if c.overHTTP {
				r.kv("Method", c.req.Method)
				r.kv("URL", c.requestURL())
			} else {
				r.kv("Transport", "not HTTP")
			}
			r.kv("Protocol Version", or(c.protocolVersion(), "unknown"))

			r.section("Performance Indicators")
			switch {
			case elapsed < excellent:
				r.item("⚡ Excellent (<10ms)")
			case elapsed < good:
				r.item("✅ Good (<50ms)")
			case elapsed < acceptable:
				r.item("⚠️  Acceptable (<100ms)")
			default:
				r.item("❌ Slow (>100ms)")
			}

			st := readRuntime()
			r.section("System Performance")
			r.kv("Goroutines", st.goroutines)
			r.kv("Heap In Use", mib(st.heapInUse))
			r.kv("GOMAXPROCS", st.gomaxprocs)
			if c.t.srv.Mode() == mcpserver.Stateful {
				r.kv("Active Sessions", c.t.srv.ActiveSessions())
			}
			return text(r.String())
		},
	}
}

// requestURL is the URL of the request as the server saw it.
func (c *call) requestURL() string {
	scheme := "http"
	if c.req.TLS {
		scheme = "https"
	}
	return scheme + "://" + c.req.Host + c.req.Path
}

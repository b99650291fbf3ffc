package echo

import (
	"net/http"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcp-oauth-gateway/gateway/mcpserver"
)

// browserClient names the web MCP client an origin belongs to, "" for
// origins corsAnalysis does not recognize.
func browserClient(origin string) string {
	switch strings.ToLower(origin) {
	case "https://claude.ai":
		return "Claude.ai"
	case "https://console.anthropic.com":
		return "Anthropic Console"
	case "https://chatgpt.com", "https://chat.openai.com":
		return "ChatGPT"
	}
	return ""
}

func (t *tools) corsTool() tool {
	return tool{
		name:  "corsAnalysis",
		title: "CORS analysis",
		description: "Analyze CORS configuration and requirements: the request's Origin, whether this server " +
			"allows it, and the CORS headers this server answers it with.",
		readOnly: true,
		run: func(c *call) *mcp.CallToolResult {
			r := newReport("CORS Configuration Analysis", 40)
			c.sessionLine(r)
			r.linef("CORS is handled by this server: its Origin check refuses a browser origin it does not allow")
			r.linef("(403), and it answers preflights and sets the CORS response headers itself. A proxy in front")
			r.linef("needs no CORS configuration of its own, and should not add a second set of headers.")

			origin := c.header("Origin")
			r.section("Request Headers")
			if origin != "" {
				r.kv("Origin", origin)
			} else {
				r.kv("Origin", "Not present (same-origin or non-browser request)")
			}
			for _, h := range []string{"Sec-Fetch-Site", "Sec-Fetch-Mode"} {
				if v := c.header(h); v != "" {
					r.kv(h, v)
				}
			}
			r.kv("Method", or(c.req.Method, "unknown")+" (not a preflight: preflights are answered before any tool runs)")

			r.section("Allowed Origins")
			if len(c.t.origins) == 0 {
				r.item("Loopback origins (localhost, 127.0.0.1, [::1]) and the server's own origin only")
			} else {
				r.item("%s, plus loopback origins and the server's own origin", strings.Join(c.t.origins, ", "))
			}

			if origin != "" {
				actual := c.t.simulate(http.MethodPost, origin, c.req)
				r.section("Response CORS Headers (set by this server)")
				if actual.status == http.StatusForbidden {
					r.item("❌ 403: the configured origins refuse %s (the request got here, so the server's options differ from those the tools were given)", origin)
				} else {
					writeCORS(r, actual.header)
				}
				pre := c.t.simulate(http.MethodOptions, origin, c.req)
				r.section("Preflight Answer (OPTIONS, simulated for this Origin)")
				r.kv("Status", pre.status)
				writeCORS(r, pre.header)
			} else {
				r.section("Response CORS Headers (set by this server)")
				r.item("None: CORS headers are only sent to requests with an Origin")
			}

			r.section("CORS Requirements")
			switch {
			case origin == "":
				r.item("✅ No Origin: CORS does not apply")
			case browserClient(origin) != "":
				r.item("✅ Origin is %s - allowed (the request got through the Origin check)", browserClient(origin))
			default:
				r.item("✅ Origin %s - allowed (the request got through the Origin check)", origin)
			}

			r.section("Common CORS Issues")
			issues := 0
			if origin == "" {
				r.item("i  No Origin header - this is a same-origin or non-browser request")
				issues++
			}
			if c.header("Authorization") != "" && origin != "" {
				r.item("i  Authorization is sent cross-origin: it must be in Access-Control-Allow-Headers (it is)")
				issues++
			}
			if ct := c.header("Content-Type"); ct != "" && origin != "" && !simpleContentType(ct) {
				r.item("i  Content-Type %s makes browsers send a preflight first (answered above)", ct)
				issues++
			}
			if c.header("Cookie") != "" && origin != "" {
				r.item("⚠️  Cookies sent cross-origin: this server does not allow credentials; use a bearer token")
				issues++
			}
			if issues == 0 {
				r.item("✅ None found")
			}
			return text(r.String())
		},
	}
}

// corsResult is what the server's guard answers a request with.
type corsResult struct {
	status int
	header http.Header
}

// simulate runs a request from origin through a guard built from the
// server's options and returns its answer: the CORS headers a browser sees.
// A preflight asks for the headers MCP clients send.
func (t *tools) simulate(method, origin string, from *mcpserver.Request) corsResult {
	req, _ := http.NewRequest(method, "http://localhost/mcp", http.NoBody)
	req.Host = from.Host
	req.Header.Set("Origin", origin)
	if fh := from.Header.Get("X-Forwarded-Host"); fh != "" {
		req.Header.Set("X-Forwarded-Host", fh)
	}
	if method == http.MethodOptions {
		req.Header.Set("Access-Control-Request-Method", http.MethodPost)
		req.Header.Set("Access-Control-Request-Headers", "authorization, content-type, mcp-protocol-version, mcp-session-id")
	}
	w := &headerRecorder{header: http.Header{}}
	t.guard.Wrap(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})).ServeHTTP(w, req)
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return corsResult{status: w.status, header: w.header}
}

// headerRecorder keeps the status and headers of a response and drops its
// body.
type headerRecorder struct {
	header http.Header
	status int
}

func (w *headerRecorder) Header() http.Header { return w.header }
func (w *headerRecorder) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return len(p), nil
}
func (w *headerRecorder) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func writeCORS(r *report, h http.Header) {
	found := false
	for _, name := range []string{"Access-Control-Allow-Origin", "Access-Control-Allow-Methods", "Access-Control-Allow-Headers",
		"Access-Control-Expose-Headers", "Access-Control-Allow-Credentials", "Access-Control-Max-Age", "Vary"} {
		if v := h.Values(name); len(v) > 0 {
			r.kv(name, strings.Join(v, ", "))
			found = true
		}
	}
	if !found {
		r.item("(none)")
	}
}

func simpleContentType(ct string) bool {
	mt, _, _ := strings.Cut(strings.ToLower(ct), ";")
	switch strings.TrimSpace(mt) {
	case "application/x-www-form-urlencoded", "multipart/form-data", "text/plain":
		return true
	}
	return false
}

package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/mcp-oauth-gateway/gateway/internal/authcmd"
)

// summary is what the gateway prints on stdout when it starts: what to
// paste into an MCP client, where the state lives, how to sign in.
type summary struct {
	services  [][2]string // name, URL
	issuer    string
	login     string
	store     string
	tls       string
	metrics   string
	githubTip string
	config    string
}

func summaryOf(s *settings, auth *authcmd.Auth, svcs []*service, lay *layout, t *tlsSetup) *summary {
	cfg := s.auth
	sum := &summary{issuer: auth.Server.Issuer(), config: s.configPath}
	for _, svc := range svcs {
		sum.services = append(sum.services, [2]string{svc.name, svc.url})
	}
	switch {
	case cfg.DevUser != "":
		sum.login = "every request is approved as " + cfg.DevUser + " (--dev-user), without pages"
	case cfg.DevLogin:
		sum.login = "development login: a form that believes any user name (" + cfg.Options.Policy.String() + " allowed)"
	default:
		names := make([]string, len(auth.Providers))
		for i, p := range auth.Providers {
			names[i] = p.Name()
		}
		sum.login = strings.Join(names, ", ") + "; allowed: " + cfg.Options.Policy.String()
	}
	switch {
	case cfg.Store == "memory":
		sum.store = "in memory (lost at exit)"
	case authcmd.IsRedisURL(cfg.Store):
		sum.store = "Redis " + authcmd.StoreLabel(cfg.Store)
	default:
		sum.store = cfg.Store + " (embedded store; --store or REDIS_URL to change)"
	}
	if t != nil {
		sum.tls = t.label
	}
	if s.file.Metrics.Listen != "" {
		sum.metrics = "http://" + s.file.Metrics.Listen + "/metrics"
	} else {
		sum.metrics = strings.TrimRight(sum.issuer, "/") + "/metrics (loopback clients only)"
		if lay.host {
			sum.metrics = "/metrics on any host (loopback clients only)"
		}
	}
	if cfg.DevLogin {
		sum.githubTip = "To sign in with GitHub: create an OAuth App (GitHub > Settings > Developer settings) whose callback URL is " +
			sum.issuer + "/callback, then set GITHUB_CLIENT_ID, GITHUB_CLIENT_SECRET and ALLOWED_GITHUB_USERS " +
			"(id:NUMBER, org:NAME or logins) and start again."
	}
	return sum
}

func printSummary(w io.Writer, s *summary) {
	var b strings.Builder
	b.WriteString("\nMCP OAuth Gateway is running.\n\n")
	if len(s.services) > 0 {
		b.WriteString("MCP services (paste a URL into your MCP client):\n")
		width := 0
		for _, sv := range s.services {
			width = max(width, len(sv[0]))
		}
		for _, sv := range s.services {
			fmt.Fprintf(&b, "  %-*s  %s\n", width, sv[0], sv[1])
		}
		b.WriteString("\n")
	} else {
		b.WriteString("No MCP services: add some under services: in --config.\n\n")
	}
	fmt.Fprintf(&b, "Authorization server: %s\n", s.issuer)
	fmt.Fprintf(&b, "Sign-in:              %s\n", s.login)
	fmt.Fprintf(&b, "State:                %s\n", s.store)
	if s.tls != "" {
		fmt.Fprintf(&b, "TLS:                  %s\n", s.tls)
	}
	if s.config != "" {
		fmt.Fprintf(&b, "Configuration:        %s\n", s.config)
	}
	fmt.Fprintf(&b, "Health:               /health, /ready; metrics: %s\n", s.metrics)
	if s.githubTip != "" {
		b.WriteString("\n" + wrapText(s.githubTip, 100) + "\n")
	}
	b.WriteString("\n")
	io.WriteString(w, b.String())
}

// wrapText fills text to width columns.
func wrapText(text string, width int) string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(text) {
		if line != "" && len(line)+1+len(word) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += word
	}
	if line != "" {
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n")
}

package echo

import (
	"strconv"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcp-oauth-gateway/gateway/mcpserver"
)

// gatewayHeaders are the identity headers a gateway sets, with their labels
// in reports.
var gatewayHeaders = []struct{ name, label string }{
	{"X-User-Id", "User ID"},
	{"X-User-Name", "User Name"},
	{"X-User-Email", "User Email"},
	{"X-Auth-Client-Id", "Auth Client ID"},
	{"X-Auth-Token", "Auth Token"},
	{"X-Client-Id", "Client ID"},
	{"X-Oauth-Client", "OAuth Client"},
}

func (t *tools) authContextTool() tool {
	return tool{
		name:  "authContext",
		title: "Authentication context",
		description: "Display the complete authentication context of this call: the verified identity, " +
			"the bearer token (unverified claims), gateway identity headers, session, cookies, origin and transport security.",
		readOnly: true,
		run: func(c *call) *mcp.CallToolResult {
			r := newReport("Authentication Context Analysis", 40)
			c.sessionLine(r)

			r.section("Verified Identity")
			if id := c.identity; id != nil {
				r.kv("Source", identitySource(id))
				writeIdentity(r, id)
			} else {
				r.item("❌ None: the caller is anonymous to this server (%s)", c.t.identityHow())
			}

			r.section("Bearer Token")
			auth := c.header("Authorization")
			token, isBearer := bearerToken(auth)
			switch {
			case auth == "":
				r.item("❌ Not present")
			case !isBearer:
				r.item("❌ Wrong type: %s", authScheme(auth))
			default:
				r.item("✅ Present (length: %d)", len(token))
				if tok, err := decodeJWT(token); err == nil {
					for _, cl := range []struct{ claim, label string }{{"sub", "Subject"}, {"client_id", "Client ID"}, {"scope", "Scope"}, {"aud", "Audience"}} {
						if v, ok := tok.claims[cl.claim]; ok {
							r.kv(cl.label+" (unverified)", audience(v))
						}
					}
				} else {
					r.item("Not a decodable JWT (%v)", err)
				}
			}

			r.section("OAuth Headers")
			if c.t.trustGateway {
				r.kv("Trusted", "Yes (X-User-Id and X-User-Name make the verified identity)")
			} else {
				r.kv("Trusted", "No (this server does not trust gateway headers: shown for information)")
			}
			found := false
			for _, h := range gatewayHeaders {
				if v := c.header(h.name); v != "" {
					r.kv(h.label, redactHeader(h.name, v))
					found = true
				}
			}
			if !found {
				r.item("❌ No OAuth headers found")
			}

			r.section("Session Information")
			if c.session != nil {
				r.kv("MCP Session ID", shortSession(c.session.ID()))
				if owner := c.session.Identity(); owner != nil {
					r.kv("Session Owner", owner.Subject)
				}
			} else if id := c.header("Mcp-Session-Id"); id != "" {
				r.kv("MCP Session ID", shortSession(id)+" (not used: this call is served statelessly)")
			} else {
				r.kv("MCP Session ID", "Not present")
			}
			if cookies := cookieNames(strings.Join(c.req.Header.Values("Cookie"), "; ")); len(cookies) > 0 {
				r.kv("Cookies", plural(len(cookies), "cookie")+" (values not shown)")
				for _, name := range cookies {
					r.item("  - %s", printable(truncate(name, 64)))
				}
			} else {
				r.kv("Cookies", "None")
			}

			r.section("Request Origin")
			r.kv("Host", or(c.req.Host, "unknown"))
			r.kv("Origin", or(c.header("Origin"), "not specified"))
			if ref := c.header("Referer"); ref != "" {
				r.kv("Referer", stripQuery(ref))
			} else {
				r.kv("Referer", "not specified")
			}
			r.kv("User-Agent", or(c.header("User-Agent"), "unknown"))
			r.kv("Remote Address", or(c.req.RemoteAddr, "unknown"))
			if xff := c.header("X-Forwarded-For"); xff != "" {
				r.kv("X-Forwarded-For", xff)
			}

			r.section("Security Status")
			if isBearer {
				r.item("✅ Bearer authentication present")
			} else {
				r.item("❌ No bearer authentication")
			}
			if c.identity != nil {
				r.item("✅ Caller identified (%s)", identitySource(c.identity))
			} else {
				r.item("⚠️  Anonymous caller")
			}
			if c.secure() {
				r.item("✅ HTTPS connection")
			} else {
				r.item("⚠️  Non-HTTPS connection")
			}
			return text(r.String())
		},
	}
}

// identityHow explains how this server could know its caller.
func (t *tools) identityHow() string {
	switch {
	case t.authHook:
		return "the authentication hook found no user"
	case t.trustGateway:
		return "no X-User-Id or X-User-Name header from the gateway"
	default:
		return "no authentication hook, and gateway headers are not trusted"
	}
}

func identitySource(id *mcpserver.Identity) string {
	switch id.Source {
	case "gateway":
		return "gateway (trusted X-User-* headers)"
	case "token":
		return "token (verified by the authentication hook)"
	case "":
		return "unknown"
	default:
		return id.Source
	}
}

func writeIdentity(r *report, id *mcpserver.Identity) {
	r.kv("Subject", or(id.Subject, "(none)"))
	if id.Name != "" {
		r.kv("Name", id.Name)
	}
	if id.Email != "" {
		r.kv("Email", id.Email)
	}
	if id.ClientID != "" {
		r.kv("Client ID", id.ClientID)
	}
	if len(id.Scopes) > 0 {
		r.kv("Scopes", strings.Join(id.Scopes, " "))
	}
}

// secure reports whether the call came over HTTPS, directly or through a
// proxy that says so.
func (c *call) secure() bool {
	return c.req.TLS || strings.EqualFold(strings.TrimSpace(strings.Split(c.header("X-Forwarded-Proto"), ",")[0]), "https")
}

func or(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}

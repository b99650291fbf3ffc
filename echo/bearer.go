package echo

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
)

// registeredClaim reports whether bearerDecode shows a JWT claim by name
// (RFC 7519 §4.1) rather than among the custom claims.
func registeredClaim(name string) bool {
	switch name {
	case "iss", "sub", "aud", "exp", "nbf", "iat", "jti":
		return true
	}
	return false
}

func (t *tools) bearerDecodeTool() tool {
	return tool{
		name:  "bearerDecode",
		title: "Decode bearer token",
		description: "Decode the JWT bearer token of the Authorization header: header, claims, " +
			"issue and expiry times. The signature is not verified and never shown whole.",
		readOnly: true,
		params: []param{{name: "includeRaw", boolean: true,
			description: "Include the raw base64url token parts (the signature stays redacted)"}},
		run: func(c *call) *mcp.CallToolResult {
			r := newReport("Bearer Token Analysis", 40)
			c.sessionLine(r)
			auth := c.header("Authorization")
			token, isBearer := bearerToken(auth)
			switch {
			case auth == "":
				r.linef("❌ No Authorization header found")
				return text(r.String())
			case !isBearer:
				r.linef("❌ Authorization header is not Bearer type: %s", authScheme(auth))
				return text(r.String())
			}
			tok, err := decodeJWT(token)
			if err != nil {
				r.linef("❌ Not a decodable JWT: %v", err)
				r.linef("Token: %s", redact(token))
				r.linef("It may be an opaque token: only its issuer can tell what it means.")
				return text(r.String())
			}
			r.linef("✅ Valid JWT structure (decoded only: the signature is not verified)")
			r.blank()
			writeJWT(r, tok, c.now, c.boolArg("includeRaw"))
			return text(r.String())
		},
	}
}

// authScheme names the scheme of an Authorization value, never its
// credentials.
func authScheme(v string) string {
	scheme, _, _ := strings.Cut(strings.TrimSpace(v), " ")
	if len(scheme) > 20 || strings.ContainsAny(scheme, ".=") {
		return "(no scheme; value redacted)"
	}
	return scheme + " (credentials redacted)"
}

func writeJWT(r *report, tok *jwt, now time.Time, includeRaw bool) {
	r.section("Header")
	r.kv("Algorithm", claimOr(tok.header, "alg", "unknown"))
	r.kv("Type", claimOr(tok.header, "typ", "unknown"))
	if kid, ok := tok.header["kid"]; ok {
		r.kv("Key ID", claimString(kid))
	}

	r.section("Payload")
	for _, c := range []struct{ claim, label string }{{"iss", "Issuer"}, {"sub", "Subject"}, {"aud", "Audience"}, {"jti", "JWT ID"}} {
		if v, ok := tok.claims[c.claim]; ok {
			if c.claim == "aud" {
				r.kv(c.label, audience(v))
			} else {
				r.kv(c.label, claimString(v))
			}
		}
	}
	if v, ok := tok.claims["iat"]; ok {
		if at, ok := numericDate(v); ok {
			r.kv("Issued At", at.Format(time.RFC3339)+" ("+ago(now.Sub(at))+")")
		} else {
			r.kv("Issued At", claimString(v)+" (not a NumericDate)")
		}
	}
	if v, ok := tok.claims["exp"]; ok {
		if at, ok := numericDate(v); ok {
			if !now.Before(at) {
				r.kv("Expires", at.Format(time.RFC3339)+" (EXPIRED "+seconds(now.Sub(at))+" ago!)")
			} else {
				r.kv("Expires", at.Format(time.RFC3339)+" (in "+seconds(at.Sub(now))+")")
			}
		} else {
			r.kv("Expires", claimString(v)+" (not a NumericDate)")
		}
	}
	if v, ok := tok.claims["nbf"]; ok {
		if at, ok := numericDate(v); ok {
			if now.Before(at) {
				r.kv("Not Before", at.Format(time.RFC3339)+" (NOT YET VALID - "+seconds(at.Sub(now))+")")
			} else {
				r.kv("Not Before", at.Format(time.RFC3339)+" (valid)")
			}
		} else {
			r.kv("Not Before", claimString(v)+" (not a NumericDate)")
		}
	}

	var custom []string
	for k := range tok.claims {
		if !registeredClaim(k) {
			custom = append(custom, k)
		}
	}
	if len(custom) > 0 {
		sort.Strings(custom)
		r.section("Custom Claims")
		for _, k := range custom {
			r.kv(printable(truncate(k, 64)), claimJSON(tok.claims[k]))
		}
	}

	r.blank()
	if tok.parts[2] != "" {
		r.linef("Signature: Present (not verified)")
	} else {
		r.linef("Signature: Missing (an unsecured token: never accept it)")
	}
	if includeRaw {
		r.section("Raw Parts")
		r.kv("Header", tok.parts[0])
		r.kv("Payload", tok.parts[1])
		r.kv("Signature", redact(tok.parts[2]))
	}
}

func claimOr(m map[string]any, key, fallback string) string {
	if v, ok := m[key]; ok {
		return claimString(v)
	}
	return fallback
}

// claimJSON renders a custom claim as JSON, cut at 200 characters.
func claimJSON(v any) string {
	if s, ok := v.(string); ok {
		return truncate(quote(s), 200)
	}
	return claimString(v)
}

func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20:
			b.WriteString("\\u00")
			b.WriteByte("0123456789abcdef"[r>>4])
			b.WriteByte("0123456789abcdef"[r&0xf])
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// seconds renders a duration as whole seconds, as the original reports do.
func seconds(d time.Duration) string { return fmt.Sprintf("%ds", int64(d/time.Second)) }

func ago(d time.Duration) string {
	if d < 0 {
		return "in the future: " + seconds(-d) + " from now"
	}
	return seconds(d) + " ago"
}

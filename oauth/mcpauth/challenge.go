package mcpauth

import (
	"net/http"
	"strings"
)

// Challenge is a Bearer challenge of a WWW-Authenticate header (RFC 6750
// §3, RFC 9728 §5.1).
type Challenge struct {
	// ResourceMetadata is the resource_metadata URL, if any.
	ResourceMetadata string
	// Scope is the space-separated scope the resource asks for, if any.
	Scope string
	// Error is the error code (invalid_token, insufficient_scope, ...).
	Error string
	// Description is the error_description.
	Description string
}

// Scopes returns the challenge's scopes.
func (c *Challenge) Scopes() []string { return strings.Fields(c.Scope) }

// BearerChallenge returns the first Bearer challenge of the response's
// WWW-Authenticate headers, and false when there is none.
func BearerChallenge(h http.Header) (*Challenge, bool) {
	for _, v := range h.Values("Www-Authenticate") {
		for _, c := range parseChallenges(v) {
			if !strings.EqualFold(c.scheme, "bearer") {
				continue
			}
			return &Challenge{
				ResourceMetadata: c.params["resource_metadata"],
				Scope:            c.params["scope"],
				Error:            c.params["error"],
				Description:      c.params["error_description"],
			}, true
		}
	}
	return nil, false
}

type challenge struct {
	scheme string
	params map[string]string
}

// parseChallenges reads the challenges of one WWW-Authenticate header value
// (RFC 9110 §11.6.1): scheme, then auth-params (name=token or
// name="quoted string") separated by commas; a new scheme starts a new
// challenge. token68 forms are skipped. Malformed input ends the parse
// with what was read so far.
func parseChallenges(s string) []challenge {
	var out []challenge
	i := 0
	for {
		i = skipSep(s, i)
		if i >= len(s) {
			return out
		}
		name, j := readToken(s, i)
		if name == "" {
			return out
		}
		k := skipOWS(s, j)
		if k < len(s) && s[k] == '=' && len(out) > 0 {
			// An auth-param of the current challenge.
			v, next, ok := readValue(s, skipOWS(s, k+1))
			if !ok {
				return out
			}
			key := strings.ToLower(name)
			if _, dup := out[len(out)-1].params[key]; !dup {
				out[len(out)-1].params[key] = v
			}
			i = next
			continue
		}
		// A new scheme.
		out = append(out, challenge{scheme: name, params: map[string]string{}})
		i = j
		// A token68 after the scheme: skip it.
		k = skipOWS(s, i)
		if t, e := readToken68(s, k); t != "" {
			after := skipOWS(s, e)
			if after >= len(s) || s[after] == ',' {
				i = e
			}
		}
	}
}

func skipOWS(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	return i
}

func skipSep(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == ',') {
		i++
	}
	return i
}

func isTChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

func readToken(s string, i int) (string, int) {
	j := i
	for j < len(s) && isTChar(s[j]) {
		j++
	}
	return s[i:j], j
}

func readToken68(s string, i int) (string, int) {
	j := i
	for j < len(s) && (isTChar(s[j]) || s[j] == '/') && s[j] != '=' {
		j++
	}
	for j < len(s) && s[j] == '=' {
		j++
	}
	// A token68 is followed by end or comma, never by "=value".
	return s[i:j], j
}

// readValue reads a token or a quoted string.
func readValue(s string, i int) (string, int, bool) {
	if i < len(s) && s[i] == '"' {
		var b strings.Builder
		for j := i + 1; j < len(s); j++ {
			switch s[j] {
			case '\\':
				if j+1 < len(s) {
					j++
					b.WriteByte(s[j])
				}
			case '"':
				return b.String(), j + 1, true
			default:
				b.WriteByte(s[j])
			}
		}
		return "", len(s), false
	}
	v, j := readToken(s, i)
	return v, j, true
}

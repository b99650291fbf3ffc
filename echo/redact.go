package echo

import (
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"
)

// revealMin is the shortest secret whose first and last 4 characters may be
// shown: at most half of it is then given away.
const revealMin = 16

// redact shows a secret safely: its length and, when it is at least 16
// characters long, its first and last 4 characters.
func redact(s string) string {
	n := utf8.RuneCountInString(s)
	if n == 0 {
		return "(empty)"
	}
	if n < revealMin {
		return fmt.Sprintf("*** [redacted, %d chars]", n)
	}
	r := []rune(s)
	return fmt.Sprintf("%s...%s [redacted, %d chars]", string(r[:4]), string(r[n-4:]), n)
}

// mask hides a secret entirely but for its length.
func mask(s string) string {
	if s == "" {
		return "(empty)"
	}
	return fmt.Sprintf("*** [redacted, %d chars]", utf8.RuneCountInString(s))
}

// redactAuthorization keeps the scheme of an Authorization value and
// redacts its credentials.
func redactAuthorization(v string) string {
	scheme, cred, ok := strings.Cut(strings.TrimSpace(v), " ")
	if !ok {
		return redact(v)
	}
	return scheme + " " + redact(strings.TrimSpace(cred))
}

// cookieNames returns the names of the cookies in a Cookie header value.
func cookieNames(v string) []string {
	var names []string
	for _, part := range strings.Split(v, ";") {
		name, _, _ := strings.Cut(strings.TrimSpace(part), "=")
		if name = strings.TrimSpace(name); name != "" {
			names = append(names, name)
		}
	}
	return names
}

// redactCookies keeps the names of cookies and redacts their values.
func redactCookies(v string) string {
	names := cookieNames(v)
	for i, n := range names {
		names[i] = n + "=***"
	}
	return strings.Join(names, "; ")
}

// secretName reports whether a header or variable name suggests its value
// is a secret.
func secretName(name string) bool {
	n := strings.ToLower(name)
	for _, w := range []string{"secret", "token", "password", "passwd", "credential", "private", "key", "cookie", "signature"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// redactHeader shows a header value with any secret in it redacted.
func redactHeader(name, value string) string {
	switch strings.ToLower(name) {
	case "authorization", "proxy-authorization":
		return redactAuthorization(value)
	case "cookie", "set-cookie":
		return redactCookies(value)
	case "mcp-session-id":
		return shortSession(value)
	}
	if secretName(name) {
		return redact(value)
	}
	return redactURLPassword(value)
}

// redactURLPassword hides the password of a URL with credentials
// (scheme://user:password@host); other values are returned unchanged.
func redactURLPassword(v string) string {
	if !strings.Contains(v, "://") || !strings.Contains(v, "@") {
		return v
	}
	u, err := url.Parse(strings.TrimSpace(v))
	if err != nil || u.User == nil {
		return v
	}
	if _, has := u.User.Password(); !has {
		return v
	}
	u.User = url.UserPassword(u.User.Username(), "***")
	return strings.Replace(u.String(), "%2A%2A%2A", "***", 1)
}

// stripQuery drops the query and fragment of a URL, where codes and tokens
// travel.
func stripQuery(v string) string {
	u, err := url.Parse(v)
	if err != nil {
		return "(unparsable, not shown)"
	}
	if u.RawQuery == "" && u.Fragment == "" && u.User == nil {
		return v
	}
	u.RawQuery, u.Fragment, u.User = "", "", nil
	return u.String() + " [query redacted]"
}

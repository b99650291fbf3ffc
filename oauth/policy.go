package oauth

import (
	"strings"
)

// Policy decides which users may obtain tokens. The zero Policy denies
// everyone: an operator who configured nothing gets a server that lets
// nobody in (and a warning at start), never one that lets everyone in.
type Policy struct {
	// Everyone lets every user the identity provider authenticates in.
	Everyone bool
	// Logins are allowed user logins, compared case-insensitively after
	// trimming spaces.
	Logins []string
	// Orgs are organizations (GitHub) whose members are allowed, compared
	// case-insensitively. The identity provider must report memberships
	// (Identity.Orgs); the GitHub provider does when Orgs is not empty.
	Orgs []string
}

// ParsePolicy reads the ALLOWED_GITHUB_USERS syntax: a comma- or
// space-separated list of logins, "*" for everyone, and "org:NAME" for the
// members of an organization. Empty entries are ignored, so "" gives the
// deny-all policy.
func ParsePolicy(s string) Policy {
	var p Policy
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' }) {
		f = strings.TrimSpace(f)
		switch {
		case f == "":
		case f == "*":
			p.Everyone = true
		case strings.HasPrefix(strings.ToLower(f), "org:"):
			if org := strings.TrimSpace(f[len("org:"):]); org != "" {
				p.Orgs = append(p.Orgs, org)
			}
		default:
			p.Logins = append(p.Logins, f)
		}
	}
	return p
}

// Empty reports whether the policy lets nobody in.
func (p Policy) Empty() bool {
	if p.Everyone {
		return false
	}
	for _, l := range p.Logins {
		if strings.TrimSpace(l) != "" {
			return false
		}
	}
	for _, o := range p.Orgs {
		if strings.TrimSpace(o) != "" {
			return false
		}
	}
	return true
}

// Allows reports whether the user who logged in may obtain tokens.
func (p Policy) Allows(id *Identity) bool {
	if id == nil {
		return false
	}
	if p.Everyone {
		return true
	}
	login := strings.TrimSpace(id.User.Login)
	if login != "" {
		for _, l := range p.Logins {
			if strings.EqualFold(strings.TrimSpace(l), login) {
				return true
			}
		}
	}
	for _, o := range p.Orgs {
		o = strings.TrimSpace(o)
		if o == "" {
			continue
		}
		for _, m := range id.Orgs {
			if strings.EqualFold(m, o) {
				return true
			}
		}
	}
	return false
}

// String is the policy in ParsePolicy syntax.
func (p Policy) String() string {
	var parts []string
	if p.Everyone {
		parts = append(parts, "*")
	}
	parts = append(parts, p.Logins...)
	for _, o := range p.Orgs {
		parts = append(parts, "org:"+o)
	}
	return strings.Join(parts, ",")
}

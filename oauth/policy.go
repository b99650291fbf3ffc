package oauth

import (
	"strings"
)

// Policy decides which users may obtain tokens. The zero Policy denies
// everyone: an operator who configured nothing gets a server that lets
// nobody in (and a warning at start), never one that lets everyone in.
//
// The authorization server asks it when a user logs in and again at every
// refresh, on the identity as currently known (see
// Options.IdentityCheckInterval), so removing a user from a policy ends
// their refreshes.
type Policy struct {
	// Everyone lets every user the identity provider authenticates in.
	Everyone bool
	// Logins are allowed user logins, compared case-insensitively after
	// trimming spaces. A GitHub login is not a stable identity: after a
	// rename or an account deletion anyone may register the old login, and
	// would be let in. Prefer IDs.
	Logins []string
	// IDs are allowed user ids (User.Subject: GitHub's numeric account id,
	// which is never reused), compared exactly after trimming spaces.
	IDs []string
	// Orgs are organizations (GitHub) whose members are allowed, compared
	// case-insensitively. The identity provider must report memberships
	// (Identity.Orgs); the GitHub provider does when Orgs is not empty.
	Orgs []string
}

// ParsePolicy reads the ALLOWED_GITHUB_USERS syntax: a comma- or
// space-separated list of logins, "id:NUMBER" for a GitHub account id,
// "org:NAME" for the members of an organization, and "*" for everyone.
// Empty entries are ignored, so "" gives the deny-all policy.
func ParsePolicy(s string) Policy {
	var p Policy
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' }) {
		f = strings.TrimSpace(f)
		switch {
		case f == "":
		case f == "*":
			p.Everyone = true
		case hasPrefixFold(f, "org:"):
			if org := strings.TrimSpace(f[len("org:"):]); org != "" {
				p.Orgs = append(p.Orgs, org)
			}
		case hasPrefixFold(f, "id:"):
			if id := strings.TrimSpace(f[len("id:"):]); id != "" {
				p.IDs = append(p.IDs, id)
			}
		default:
			p.Logins = append(p.Logins, f)
		}
	}
	return p
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// Empty reports whether the policy lets nobody in.
func (p Policy) Empty() bool {
	if p.Everyone {
		return false
	}
	for _, list := range [][]string{p.Logins, p.IDs, p.Orgs} {
		for _, v := range list {
			if strings.TrimSpace(v) != "" {
				return false
			}
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
	if sub := id.Subject; sub != "" {
		for _, v := range p.IDs {
			if strings.TrimSpace(v) == sub {
				return true
			}
		}
	}
	login := strings.TrimSpace(id.Login)
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
	for _, id := range p.IDs {
		parts = append(parts, "id:"+id)
	}
	for _, o := range p.Orgs {
		parts = append(parts, "org:"+o)
	}
	return strings.Join(parts, ",")
}

package oauth

import (
	"slices"
	"strings"
)

// Policy decides which users may obtain tokens. The zero Policy denies
// everyone: an operator who configured nothing gets a server that lets
// nobody in (and a warning at start), never one that lets everyone in.
//
// The authorization server asks it when a user logs in and again at every
// refresh, on the identity as currently known (see
// Options.IdentityCheckInterval), so removing a user from a policy ends
// their refreshes. A user is let in when any one rule admits them.
type Policy struct {
	// Everyone lets every user the identity providers authenticate in.
	Everyone bool
	// Logins are allowed GitHub logins (and names of the development
	// login), compared case-insensitively after trimming spaces. They never
	// match a user of another provider, whatever its preferred_username.
	// A GitHub login is not a stable identity: after a rename or an account
	// deletion anyone may register the old login, and would be let in.
	// Prefer IDs.
	Logins []string
	// IDs are allowed subjects (Identity.Subject: GitHub's numeric account
	// id, which is never reused; "oidc:NAME:SUB" for the user SUB of the
	// OpenID provider NAME), compared exactly after trimming spaces.
	IDs []string
	// Orgs are organizations (GitHub) whose members are allowed, compared
	// case-insensitively. The identity provider must report memberships
	// (Identity.Orgs); the GitHub provider does when FetchOrgs is set.
	Orgs []string
	// Emails are allowed email addresses, compared case-insensitively.
	// They admit only an address the provider verified
	// (Identity.EmailVerified).
	Emails []string
	// Domains are email domains whose users are allowed ("example.com",
	// not its subdomains; a leading "@" is ignored), compared
	// case-insensitively. Like Emails, they
	// admit only a verified address.
	Domains []string
	// Groups are the provider's groups (Identity.Groups, from an OpenID
	// provider's groups claim) whose members are allowed, compared
	// exactly: group names are case-sensitive at most providers. A group
	// name admits members of that group at every configured provider.
	Groups []string
}

// ParsePolicy reads the ALLOWED_GITHUB_USERS syntax: a comma- or
// space-separated list of GitHub logins, "id:SUBJECT" for a user id
// (GitHub's account id, or a subject such as "oidc:corp:248289761001"),
// "org:NAME" for the members of a GitHub organization, "email:ADDRESS"
// and "domain:DOMAIN" for verified email addresses, "group:NAME" for the
// members of a provider's group, and "*" for everyone. Prefixes are
// case-insensitive; empty entries are ignored, so "" gives the deny-all
// policy.
func ParsePolicy(s string) Policy {
	var p Policy
	rules := []struct {
		prefix string
		list   *[]string
	}{
		{"org:", &p.Orgs}, {"id:", &p.IDs}, {"email:", &p.Emails},
		{"domain:", &p.Domains}, {"group:", &p.Groups},
	}
entries:
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' }) {
		f = strings.TrimSpace(f)
		switch {
		case f == "":
			continue
		case f == "*":
			p.Everyone = true
			continue
		}
		for _, r := range rules {
			if hasPrefixFold(f, r.prefix) {
				if v := strings.TrimSpace(f[len(r.prefix):]); v != "" {
					*r.list = append(*r.list, v)
				}
				continue entries
			}
		}
		p.Logins = append(p.Logins, f)
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
	for _, list := range [][]string{p.Logins, p.IDs, p.Orgs, p.Emails, p.Domains, p.Groups} {
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
	if sub := id.Subject; sub != "" && slices.ContainsFunc(p.IDs, func(v string) bool { return strings.TrimSpace(v) == sub }) {
		return true
	}
	if login := strings.TrimSpace(id.Login); login != "" && loginProvider(id.Provider) && containsFold(p.Logins, login) {
		return true
	}
	for _, m := range id.Orgs {
		if containsFold(p.Orgs, m) {
			return true
		}
	}
	if id.EmailVerified && id.Email != "" {
		email := strings.TrimSpace(id.Email)
		if containsFold(p.Emails, email) {
			return true
		}
		if at := strings.LastIndexByte(email, '@'); at >= 0 && email[at+1:] != "" {
			domain := email[at+1:]
			if slices.ContainsFunc(p.Domains, func(d string) bool {
				return strings.EqualFold(strings.TrimPrefix(strings.TrimSpace(d), "@"), domain)
			}) {
				return true
			}
		}
	}
	for _, g := range id.Groups {
		if g != "" && slices.ContainsFunc(p.Groups, func(v string) bool { return strings.TrimSpace(v) == g }) {
			return true
		}
	}
	return false
}

// loginProvider reports whether logins of the provider are what bare
// policy entries name: GitHub's (also GitHub Enterprise configured beside
// it) and the development login's. Records without a provider are from
// before providers were recorded, when only those two existed.
func loginProvider(provider string) bool {
	kind, _, _ := strings.Cut(provider, ":")
	return kind == "" || kind == ProviderGitHub || kind == ProviderDev
}

// containsFold reports whether list holds v, compared case-insensitively
// after trimming spaces; empty entries match nothing.
func containsFold(list []string, v string) bool {
	v = strings.TrimSpace(v)
	if v == "" {
		return false
	}
	return slices.ContainsFunc(list, func(e string) bool { return strings.EqualFold(strings.TrimSpace(e), v) })
}

// String is the policy in ParsePolicy syntax.
func (p Policy) String() string {
	var parts []string
	if p.Everyone {
		parts = append(parts, "*")
	}
	parts = append(parts, p.Logins...)
	for _, r := range []struct {
		prefix string
		list   []string
	}{{"id:", p.IDs}, {"org:", p.Orgs}, {"email:", p.Emails}, {"domain:", p.Domains}, {"group:", p.Groups}} {
		for _, v := range r.list {
			parts = append(parts, r.prefix+v)
		}
	}
	return strings.Join(parts, ",")
}

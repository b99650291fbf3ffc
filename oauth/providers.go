package oauth

import (
	"errors"
	"fmt"
	"strings"
)

// The server's identity providers: which one a login chose, which one
// vouched for a recorded identity, and the subjects namespaced by
// provider (see IdentityProvider).

// setProviders checks and keeps the providers: one at least, each ID
// valid and unique.
func (s *Server) setProviders(idp IdentityProvider, more []IdentityProvider) error {
	var list []IdentityProvider
	if idp != nil {
		list = append(list, idp)
	}
	list = append(list, more...)
	if len(list) == 0 {
		return errors.New("oauth: NewServer needs an identity provider")
	}
	s.byID = make(map[string]IdentityProvider, len(list))
	for _, p := range list {
		if p == nil {
			return errors.New("oauth: NewServer: an identity provider is nil")
		}
		id := p.ID()
		if !validProviderID(id) {
			return fmt.Errorf("oauth: identity provider %q: its ID %q is not lowercase letters, digits and hyphens in parts separated by colons", p.Name(), id)
		}
		if _, dup := s.byID[id]; dup {
			return fmt.Errorf("oauth: two identity providers have the ID %q", id)
		}
		s.byID[id] = p
		if _, ok := p.(IdentityRefresher); ok {
			s.refreshers = true
		}
	}
	s.providers = list
	return nil
}

// validProviderID accepts "github", "oidc:corp": parts of lowercase
// letters, digits and inner hyphens, separated by colons, at most 64.
func validProviderID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, part := range strings.Split(id, ":") {
		if !validProviderName(part) {
			return false
		}
	}
	return true
}

// chosen is the provider a pending authorization's user chose on the
// consent page, or nil when none (not consented yet, or a provider no
// longer configured). A record from before providers had IDs names the
// provider by its display name; with one provider, that is the one.
func (s *Server) chosen(p *PendingAuthorization) IdentityProvider {
	if p == nil || p.Provider == "" {
		return nil
	}
	if idp, ok := s.byID[p.Provider]; ok {
		return idp
	}
	if len(s.providers) == 1 && p.Provider == s.providers[0].Name() {
		return s.providers[0]
	}
	return nil
}

// providerOf is the provider that vouched for a recorded identity, or nil
// when it is no longer configured. Records from before providers were
// recorded are GitHub's, or the development login's ("dev:" subjects).
func (s *Server) providerOf(id Identity) IdentityProvider {
	name := id.Provider
	if name == "" {
		name = ProviderGitHub
		if strings.HasPrefix(id.Subject, ProviderDev+":") {
			name = ProviderDev
		}
	}
	return s.byID[name]
}

// qualify makes a provider's identity the server's: its subject
// namespaced ("ID:SUBJECT", bare for "github", whose account ids are
// digits) and its provider recorded.
func qualify(idp IdentityProvider, id *Identity) error {
	if id == nil || id.Subject == "" {
		return fmt.Errorf("oauth: identity provider %s named no user", idp.ID())
	}
	id.Provider = idp.ID()
	if id.Provider != ProviderGitHub {
		id.Subject = id.Provider + ":" + id.Subject
		return nil
	}
	if strings.Trim(id.Subject, "0123456789") != "" {
		return fmt.Errorf("oauth: GitHub named the account %q, which is not a number", truncate(id.Subject, 40))
	}
	return nil
}

// localSubject is the provider's own subject of a namespaced one.
func localSubject(providerID, subject string) string {
	if providerID == ProviderGitHub {
		return subject
	}
	return strings.TrimPrefix(subject, providerID+":")
}

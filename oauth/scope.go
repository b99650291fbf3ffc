package oauth

import (
	"errors"
	"net/url"
	"slices"
	"strings"
)

// Scopes (RFC 6749 §3.3) and resource indicators (RFC 8707).

// maxResources bounds the resource parameters of one request.
const maxResources = 10

// validScopeToken reports whether s is a scope-token: 1*( %x21 / %x23-5B /
// %x5D-7E ).
func validScopeToken(s string) bool {
	if s == "" || len(s) > 200 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c == 0x22 || c == 0x5c || c > 0x7e {
			return false
		}
	}
	return true
}

// parseScope splits a scope parameter into its distinct tokens, in order.
// Separators are single spaces, but runs of spaces are tolerated.
func parseScope(s string) ([]string, error) {
	if len(s) > 2000 {
		return nil, newError(ErrorInvalidScope, "scope too long")
	}
	var out []string
	for _, t := range strings.Split(s, " ") {
		if t == "" {
			continue
		}
		if !validScopeToken(t) {
			return nil, newError(ErrorInvalidScope, "malformed scope")
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out, nil
}

// DefaultScopes is the scope granted, advertised and challenged for when
// nothing more specific is known, among the scopes a server offers
// (Options.Scopes; empty for the default): DefaultScope ("mcp") when it is
// offered, else the first one. Never every scope: a client that asks for
// nothing gets the least it can work with.
func DefaultScopes(offered []string) []string {
	if len(offered) == 0 || slices.Contains(offered, DefaultScope) {
		return []string{DefaultScope}
	}
	return offered[:1]
}

// grantScope decides the scope of an authorization request: the requested
// scopes when every one is supported and within the client's registered
// scope; when none was asked for, the client's registered scope, or the
// server's default scope (DefaultScopes) for a client that registered none.
func (s *Server) grantScope(requested string, client *Client) (string, error) {
	want, err := parseScope(requested)
	if err != nil {
		return "", err
	}
	allowed := s.scopes
	registered := client != nil && client.Metadata.Scope != ""
	if registered {
		// The client's registered scope, less what the server no longer
		// offers.
		reg, _ := parseScope(client.Metadata.Scope)
		allowed = slices.DeleteFunc(reg, func(sc string) bool { return !slices.Contains(s.scopes, sc) })
	}
	if len(want) == 0 {
		if !registered {
			return strings.Join(DefaultScopes(s.scopes), " "), nil
		}
		return strings.Join(allowed, " "), nil
	}
	for _, sc := range want {
		if !slices.Contains(allowed, sc) || !slices.Contains(s.scopes, sc) {
			return "", newError(ErrorInvalidScope, "scope %q is not available to this client", sc)
		}
	}
	return strings.Join(want, " "), nil
}

// narrowScope checks that requested is within granted (a refresh or token
// request may narrow the scope, never widen it) and returns it; an empty
// request keeps granted.
func narrowScope(requested, granted string) (string, error) {
	want, err := parseScope(requested)
	if err != nil {
		return "", err
	}
	if len(want) == 0 {
		return granted, nil
	}
	have, _ := parseScope(granted)
	for _, sc := range want {
		if !slices.Contains(have, sc) {
			return "", newError(ErrorInvalidScope, "scope %q exceeds the granted scope", sc)
		}
	}
	return strings.Join(want, " "), nil
}

// validateResource checks a resource indicator: an absolute URI without
// fragment (RFC 8707 §2).
func validateResource(r string) error {
	if r == "" {
		return errors.New("empty resource")
	}
	if len(r) > 2000 {
		return errors.New("resource too long")
	}
	if strings.Contains(r, "#") {
		return errors.New("resource must not contain a fragment")
	}
	u, err := url.Parse(r)
	if err != nil {
		return errors.New("resource is not a URI")
	}
	if u.Scheme == "" {
		return errors.New("resource must be an absolute URI")
	}
	if (u.Scheme == "https" || u.Scheme == "http") && u.Host == "" {
		return errors.New("resource URL needs a host")
	}
	for _, c := range r {
		if c <= ' ' || c == 0x7f {
			return errors.New("resource contains spaces or control characters")
		}
	}
	return nil
}

// checkResources validates the resource parameters of a request against
// the server's allowed resources.
func (s *Server) checkResources(rs []string) ([]string, error) {
	if len(rs) > maxResources {
		return nil, newError(ErrorInvalidTarget, "too many resource parameters")
	}
	var out []string
	for _, r := range rs {
		if err := validateResource(r); err != nil {
			return nil, newError(ErrorInvalidTarget, "%v", err)
		}
		if u, _ := url.Parse(r); len(s.resources) == 0 && u.Scheme != "https" && u.Scheme != "http" {
			return nil, newError(ErrorInvalidTarget, "resource must be an http(s) URL")
		}
		if !s.resourceAllowed(r) {
			return nil, newError(ErrorInvalidTarget, "resource %q is not served by this authorization server", r)
		}
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out, nil
}

func (s *Server) resourceAllowed(r string) bool {
	if len(s.resources) == 0 {
		return true
	}
	for _, a := range s.resources {
		if r == a || strings.HasSuffix(a, "/") && strings.HasPrefix(r, a) {
			return true
		}
	}
	return false
}

// narrowResources checks that requested resources are among the granted
// ones (RFC 8707 §2.2) and returns the audience: the requested subset, or
// all granted when none is requested.
func narrowResources(requested, granted []string) ([]string, error) {
	if len(requested) == 0 {
		return granted, nil
	}
	var out []string
	for _, r := range requested {
		if !slices.Contains(granted, r) {
			return nil, newError(ErrorInvalidTarget, "resource %q was not granted", r)
		}
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out, nil
}

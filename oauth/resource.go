package oauth

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// Protected resources: their identifiers (RFC 8707, in the canonical form
// MCP asks for), their configuration and their RFC 9728 metadata.

// WellKnownResourceMetadata is the well-known path prefix of RFC 9728
// protected-resource metadata.
const WellKnownResourceMetadata = "/.well-known/oauth-protected-resource"

// CanonicalResource returns the canonical form of a resource identifier:
// an absolute http(s) URL with a lowercase scheme and host, no default
// port, no user info, query or fragment, and no trailing slash
// ("https://MCP.example.com:443/mcp/" becomes "https://mcp.example.com/mcp").
// Tokens and resources are compared in this form.
func CanonicalResource(raw string) (string, error) {
	if raw == "" {
		return "", errors.New("oauth: empty resource")
	}
	if len(raw) > 2000 {
		return "", errors.New("oauth: resource longer than 2000 characters")
	}
	for i := 0; i < len(raw); i++ {
		if c := raw[i]; c <= ' ' || c == 0x7f || c == '\\' {
			return "", fmt.Errorf("oauth: resource %q contains a space, a control character or a backslash", raw)
		}
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("oauth: resource %q: %v", raw, err)
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "https" && scheme != "http" || u.Host == "" || u.Opaque != "" {
		return "", fmt.Errorf("oauth: resource %q must be an absolute http(s) URL", raw)
	}
	if u.User != nil {
		return "", fmt.Errorf("oauth: resource %q must not contain user info", raw)
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.ContainsAny(raw, "?#") {
		return "", fmt.Errorf("oauth: resource %q must not have a query or fragment", raw)
	}
	host, err := canonicalHost(u.Host, scheme)
	if err != nil {
		return "", fmt.Errorf("oauth: resource %q: %v", raw, err)
	}
	path := strings.TrimRight(u.EscapedPath(), "/")
	for _, seg := range strings.Split(path, "/") {
		if seg == "." || seg == ".." {
			return "", fmt.Errorf("oauth: resource %q must not contain . or .. path segments", raw)
		}
	}
	return scheme + "://" + host + path, nil
}

// canonicalHost lowercases a URL host and drops the scheme's default port.
func canonicalHost(hostport, scheme string) (string, error) {
	host, port := hostport, ""
	if h, p, err := net.SplitHostPort(hostport); err == nil {
		host, port = h, p
	} else if strings.HasPrefix(hostport, "[") && strings.HasSuffix(hostport, "]") {
		host = hostport[1 : len(hostport)-1]
	} else if strings.Contains(hostport, ":") {
		return "", fmt.Errorf("bad host %q", hostport)
	}
	if host == "" {
		return "", errors.New("empty host")
	}
	host = strings.ToLower(host)
	if port != "" && !validPort(port) {
		return "", fmt.Errorf("bad port %q", port)
	}
	if port == "443" && scheme == "https" || port == "80" && scheme == "http" {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		return host + ":" + port, nil
	}
	return host, nil
}

// ResourceMetadataURL returns where the RFC 9728 metadata of a resource
// (in canonical form) lives: the well-known path inserted between its host
// and its path, "https://mcp.example.com/.well-known/oauth-protected-resource/mcp"
// for "https://mcp.example.com/mcp", and the bare well-known URL for a
// resource at the root.
func ResourceMetadataURL(resource string) string {
	origin, path := splitOrigin(resource)
	return origin + WellKnownResourceMetadata + path
}

// splitOrigin splits a canonical resource into scheme://host and path.
func splitOrigin(resource string) (origin, path string) {
	rest := resource
	if i := strings.Index(rest, "://"); i >= 0 {
		rest = rest[i+3:]
	}
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		cut := len(resource) - len(rest) + i
		return resource[:cut], resource[cut:]
	}
	return resource, ""
}

// resourceCovers reports whether the canonical resource r equals
// candidate or is a path prefix of it on a segment boundary:
// "https://h/a" covers "https://h/a" and "https://h/a/b", not "https://h/ab".
func resourceCovers(r, candidate string) bool {
	return r == candidate || strings.HasPrefix(candidate, r) && candidate[len(r)] == '/'
}

// ResourceMetadata is the RFC 9728 protected-resource metadata document.
type ResourceMetadata struct {
	// Resource is the resource identifier, in canonical form.
	Resource string `json:"resource"`
	// AuthorizationServers are the issuers of the authorization servers
	// whose tokens the resource accepts.
	AuthorizationServers []string `json:"authorization_servers"`
	// ScopesSupported are the scopes a client may ask for to use the
	// resource.
	ScopesSupported []string `json:"scopes_supported,omitempty"`
	// BearerMethodsSupported is always ["header"]: tokens in a query string
	// or a form body are refused.
	BearerMethodsSupported []string `json:"bearer_methods_supported"`
	// ResourceName is the human-readable name of the resource.
	ResourceName string `json:"resource_name,omitempty"`
	// ResourceDocumentation is a page about the resource for developers.
	ResourceDocumentation string `json:"resource_documentation,omitempty"`
}

// Resource describes one protected resource (an MCP endpoint) and who may
// use it. Only URL is required.
type Resource struct {
	// URL identifies the resource: the absolute URL clients connect to,
	// e.g. "https://mcp.example.com/mcp". A token is accepted only when its
	// audience names it (compared in canonical form; see
	// CanonicalResource). Required.
	URL string
	// Name is the human-readable resource_name of the metadata. Zero: none.
	Name string
	// AuthorizationServers are the issuers listed in the metadata. Zero:
	// the verifier's issuer.
	AuthorizationServers []string
	// Scopes are the scopes_supported of the metadata: what a client
	// should ask for. Zero: RequiredScopes.
	Scopes []string
	// RequiredScopes must all be granted to a token; a token without them
	// gets 403 with error="insufficient_scope" and the scopes to ask for.
	// Zero: no scope is required.
	RequiredScopes []string
	// Allow, when set, admits only the users it allows (logins, GitHub
	// account ids, organizations), checked on every request, so removing a
	// user takes effect at their next request. An authorization server
	// given the resource's policies (Server.SetResourcePolicies) asks it
	// too at every login and refresh for the resource, and revokes the
	// tokens of a user it no longer admits. A non-nil empty Policy admits
	// nobody. Zero (nil): every user the authorization server issued a
	// token to.
	Allow *Policy
	// DocumentationURL is resource_documentation of the metadata. Zero:
	// none.
	DocumentationURL string
}

// resource is a validated Resource with its documents and challenges
// built once.
type resource struct {
	url         string // canonical
	metadataURL string
	metadata    ResourceMetadata
	doc         []byte // metadata JSON
	required    []string
	allow       *Policy
	// Challenges, as WWW-Authenticate values.
	challengeNoToken string
	challengeScope   string // insufficient_scope
}

// compile validates r; issuer is the default authorization server.
func (r *Resource) compile(issuer string) (*resource, error) {
	canon, err := CanonicalResource(r.URL)
	if err != nil {
		return nil, err
	}
	res := &resource{url: canon, metadataURL: ResourceMetadataURL(canon), allow: r.Allow}
	for _, sc := range r.RequiredScopes {
		if !validScopeToken(sc) {
			return nil, fmt.Errorf("oauth: resource %s: required scope %q is not a valid scope token", canon, sc)
		}
	}
	for _, sc := range r.Scopes {
		if !validScopeToken(sc) {
			return nil, fmt.Errorf("oauth: resource %s: scope %q is not a valid scope token", canon, sc)
		}
	}
	res.required = dedupe(r.RequiredScopes)
	scopes := dedupe(r.Scopes)
	if len(scopes) == 0 {
		scopes = res.required
	}
	servers := r.AuthorizationServers
	if len(servers) == 0 {
		servers = []string{issuer}
	}
	for _, s := range servers {
		if _, err := parseIssuer(s, true); err != nil {
			return nil, fmt.Errorf("oauth: resource %s: authorization server: %w", canon, err)
		}
	}
	if r.DocumentationURL != "" {
		if err := validateWebURL(r.DocumentationURL); err != nil {
			return nil, fmt.Errorf("oauth: resource %s: DocumentationURL: %v", canon, err)
		}
	}
	if len(r.Name) > maxTextField || !printable(r.Name) {
		return nil, fmt.Errorf("oauth: resource %s: Name must be printable text of at most %d characters", canon, maxTextField)
	}
	res.metadata = ResourceMetadata{
		Resource:               canon,
		AuthorizationServers:   slices.Clone(servers),
		ScopesSupported:        slices.Clone(scopes),
		BearerMethodsSupported: []string{"header"},
		ResourceName:           r.Name,
		ResourceDocumentation:  r.DocumentationURL,
	}
	if res.doc, err = json.Marshal(res.metadata); err != nil {
		return nil, fmt.Errorf("oauth: resource metadata: %w", err)
	}
	// The 401 challenge names the scopes to ask for (MCP 2025-11-25): the
	// required ones, or else what the metadata advertises.
	ask := res.required
	if len(ask) == 0 {
		ask = scopes
	}
	res.challengeNoToken = challenge("", "", res.metadataURL, ask)
	res.challengeScope = challenge("insufficient_scope", "the access token lacks a scope this resource requires", res.metadataURL, res.required)
	return res, nil
}

// challenge builds a Bearer WWW-Authenticate value (RFC 6750 §3, RFC 9728
// §5.1). Every value is a fixed string or a checked scope token or URL, so
// none needs escaping beyond what quoteParam does.
func challenge(code, description, metadataURL string, scopes []string) string {
	var b strings.Builder
	b.WriteString("Bearer ")
	sep := ""
	param := func(name, value string) {
		b.WriteString(sep)
		b.WriteString(name)
		b.WriteString(`="`)
		b.WriteString(quoteParam(value))
		b.WriteByte('"')
		sep = ", "
	}
	if code != "" {
		param("error", code)
	}
	if description != "" {
		param("error_description", description)
	}
	if metadataURL != "" {
		param("resource_metadata", metadataURL)
	}
	if len(scopes) > 0 {
		param("scope", strings.Join(scopes, " "))
	}
	return b.String()
}

// quoteParam drops what RFC 6750 §3 does not allow inside a quoted
// challenge parameter (", \ and control characters).
func quoteParam(s string) string {
	if !strings.ContainsFunc(s, badParamRune) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if badParamRune(r) {
			return -1
		}
		return r
	}, s)
}

func badParamRune(r rune) bool { return r < 0x20 || r == '"' || r == '\\' || r >= 0x7f }

// serveResourceMetadata writes a metadata document (GET, HEAD) or answers
// a CORS preflight. Browser clients (MCP Inspector, claude.ai) read it from
// other origins; it is public, so any origin may.
func serveResourceMetadata(w http.ResponseWriter, r *http.Request, doc []byte) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		h.Set("Content-Type", "application/json")
		h.Set("Cache-Control", "public, max-age=3600")
		h.Set("X-Content-Type-Options", "nosniff")
		if r.Method == http.MethodHead {
			return
		}
		_, _ = w.Write(doc)
	case http.MethodOptions:
		h.Set("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
		h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, MCP-Protocol-Version")
		h.Set("Access-Control-Max-Age", "86400")
		w.WriteHeader(http.StatusNoContent)
	default:
		h.Set("Allow", "GET, HEAD, OPTIONS")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

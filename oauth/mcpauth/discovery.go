package mcpauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// ResourceMetadata is an RFC 9728 protected resource metadata document.
type ResourceMetadata struct {
	Resource             string   `json:"resource"`
	AuthorizationServers []string `json:"authorization_servers,omitempty"`
	ScopesSupported      []string `json:"scopes_supported,omitempty"`
	ResourceName         string   `json:"resource_name,omitempty"`
}

// ServerMetadata is an RFC 8414 authorization server metadata document
// (or the OpenID Connect discovery document, which has the same members).
type ServerMetadata struct {
	Issuer                                     string   `json:"issuer"`
	AuthorizationEndpoint                      string   `json:"authorization_endpoint,omitempty"`
	TokenEndpoint                              string   `json:"token_endpoint,omitempty"`
	RegistrationEndpoint                       string   `json:"registration_endpoint,omitempty"`
	DeviceAuthorizationEndpoint                string   `json:"device_authorization_endpoint,omitempty"`
	RevocationEndpoint                         string   `json:"revocation_endpoint,omitempty"`
	ScopesSupported                            []string `json:"scopes_supported,omitempty"`
	GrantTypesSupported                        []string `json:"grant_types_supported,omitempty"`
	CodeChallengeMethodsSupported              []string `json:"code_challenge_methods_supported,omitempty"`
	TokenEndpointAuthMethodsSupported          []string `json:"token_endpoint_auth_methods_supported,omitempty"`
	ClientIDMetadataDocumentSupported          bool     `json:"client_id_metadata_document_supported,omitempty"`
	AuthorizationResponseIssParameterSupported bool     `json:"authorization_response_iss_parameter_supported,omitempty"`
}

// supportsDevice reports whether the server offers RFC 8628.
func (m *ServerMetadata) supportsDevice() bool { return m.DeviceAuthorizationEndpoint != "" }

// maxMetadata bounds a metadata document.
const maxMetadata = 1 << 20

// errAbsent is a document that is not there (4xx): discovery tries the
// next location.
var errAbsent = errors.New("absent")

// getJSON fetches a JSON document.
func getJSON(ctx context.Context, hc *http.Client, u string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxMetadata+1))
	if err != nil {
		return err
	}
	switch {
	case resp.StatusCode >= 400 && resp.StatusCode < 500:
		return fmt.Errorf("GET %s: HTTP %d: %w", u, resp.StatusCode, errAbsent)
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("GET %s: HTTP %d", u, resp.StatusCode)
	case len(body) > maxMetadata:
		return fmt.Errorf("GET %s: document larger than %d bytes", u, maxMetadata)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("GET %s: %w: %w", u, errAbsent, err)
	}
	return nil
}

// resourceMetadataURLs returns where RFC 9728 metadata of the resource at
// server may be, in the order the MCP specification gives: the path
// inserted after the well-known prefix, then the root.
func resourceMetadataURLs(server *url.URL) []string {
	const wk = "/.well-known/oauth-protected-resource"
	origin := server.Scheme + "://" + server.Host
	p := strings.TrimSuffix(server.EscapedPath(), "/")
	if p == "" {
		return []string{origin + wk}
	}
	return []string{origin + wk + p, origin + wk}
}

// serverMetadataURLs returns where RFC 8414 or OpenID discovery metadata
// of issuer may be, in the order the MCP specification gives.
func serverMetadataURLs(issuer *url.URL) []string {
	origin := issuer.Scheme + "://" + issuer.Host
	p := strings.TrimSuffix(issuer.EscapedPath(), "/")
	if p == "" {
		return []string{origin + "/.well-known/oauth-authorization-server", origin + "/.well-known/openid-configuration"}
	}
	return []string{
		origin + "/.well-known/oauth-authorization-server" + p,
		origin + "/.well-known/openid-configuration" + p,
		origin + p + "/.well-known/openid-configuration",
	}
}

// discoverResource finds the protected resource metadata of server: at the
// challenge's resource_metadata URL when there is one, else at the
// well-known locations. It returns nil and no error when there is none (a
// server of the 2025-03-26 revision).
func discoverResource(ctx context.Context, hc *http.Client, server *url.URL, ch *Challenge) (*ResourceMetadata, string, error) {
	var urls []string
	if ch != nil && ch.ResourceMetadata != "" {
		u, err := url.Parse(ch.ResourceMetadata)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, "", fmt.Errorf("mcpauth: bad resource_metadata URL %q in the challenge", ch.ResourceMetadata)
		}
		urls = []string{u.String()}
	} else {
		urls = resourceMetadataURLs(server)
	}
	var firstErr error
	for _, u := range urls {
		var md ResourceMetadata
		err := getJSON(ctx, hc, u, &md)
		if errors.Is(err, errAbsent) && (ch == nil || ch.ResourceMetadata == "") {
			continue
		}
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		if md.Resource == "" {
			return nil, "", fmt.Errorf("mcpauth: resource metadata at %s has no resource", u)
		}
		if !resourceCovers(md.Resource, server) {
			return nil, "", fmt.Errorf("%w: %s names %q, the server is %s", ErrResourceMismatch, u, md.Resource, server)
		}
		return &md, u, nil
	}
	if firstErr != nil {
		return nil, "", fmt.Errorf("mcpauth: resource metadata: %w", firstErr)
	}
	return nil, "", nil
}

// resourceCovers reports whether the resource identifier covers the server
// URL: same scheme, host and port, and the resource's path is the server's
// or a parent of it, segment by segment.
func resourceCovers(resource string, server *url.URL) bool {
	r, err := url.Parse(resource)
	if err != nil || r.Fragment != "" {
		return false
	}
	if !strings.EqualFold(r.Scheme, server.Scheme) || !strings.EqualFold(hostPort(r), hostPort(server)) {
		return false
	}
	rp := strings.TrimSuffix(r.EscapedPath(), "/")
	sp := strings.TrimSuffix(server.EscapedPath(), "/")
	return rp == "" || sp == rp || strings.HasPrefix(sp, rp+"/")
}

// hostPort returns host:port with the scheme's default port made explicit.
func hostPort(u *url.URL) string {
	port := u.Port()
	if port == "" {
		switch strings.ToLower(u.Scheme) {
		case "https":
			port = "443"
		case "http":
			port = "80"
		}
	}
	return strings.ToLower(u.Hostname()) + ":" + port
}

// discoverServer fetches the metadata of the authorization server issuer
// and checks it: the issuer it names is issuer (RFC 8414 §3.3, unless
// legacy), and it offers S256.
func discoverServer(ctx context.Context, hc *http.Client, issuer string, legacy bool) (*ServerMetadata, error) {
	iu, err := url.Parse(issuer)
	if err != nil || (iu.Scheme != "https" && iu.Scheme != "http") || iu.Host == "" || iu.RawQuery != "" || iu.Fragment != "" {
		return nil, fmt.Errorf("mcpauth: bad authorization server issuer %q", issuer)
	}
	urls := serverMetadataURLs(iu)
	var firstErr error
	for _, u := range urls {
		var md ServerMetadata
		err := getJSON(ctx, hc, u, &md)
		if errors.Is(err, errAbsent) {
			continue
		}
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		if !legacy && md.Issuer != issuer {
			return nil, fmt.Errorf("%w: %s names %q, expected %q", ErrIssuerMismatch, u, md.Issuer, issuer)
		}
		if legacy && md.Issuer == "" {
			md.Issuer = issuer
		}
		if md.AuthorizationEndpoint == "" || md.TokenEndpoint == "" {
			return nil, fmt.Errorf("mcpauth: authorization server metadata at %s lacks an authorization or token endpoint", u)
		}
		if !slices.Contains(md.CodeChallengeMethodsSupported, "S256") {
			return nil, fmt.Errorf("%w (%s lists %q)", ErrNoPKCE, u, md.CodeChallengeMethodsSupported)
		}
		return &md, nil
	}
	if firstErr != nil {
		return nil, fmt.Errorf("mcpauth: authorization server metadata: %w", firstErr)
	}
	if legacy {
		// 2025-03-26: no metadata means the default endpoints at the
		// server's origin.
		base := strings.TrimSuffix(issuer, "/")
		return &ServerMetadata{
			Issuer:                        issuer,
			AuthorizationEndpoint:         base + "/authorize",
			TokenEndpoint:                 base + "/token",
			RegistrationEndpoint:          base + "/register",
			CodeChallengeMethodsSupported: []string{"S256"},
		}, nil
	}
	return nil, fmt.Errorf("%w: no metadata for %s at %s", ErrNoAuthorizationServer, issuer, strings.Join(urls, ", "))
}

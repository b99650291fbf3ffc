package authcmd

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/mcp-oauth-gateway/gateway/oauth"
)

// The --resource-config file: the MCP services behind the proxy and who
// may use each. Example:
//
//	{
//	  "resources": [
//	    {"url": "https://echo.example.com/mcp", "name": "Echo", "allowed_users": "alice, org:acme"},
//	    {"url": "https://admin.example.com/mcp", "required_scopes": ["mcp", "admin"]}
//	  ],
//	  "default": {"name": "MCP gateway"}
//	}
//
// Without "resources" every request's own URL is its resource, with the
// settings of "default".

// resourceFile is the document.
type resourceFile struct {
	Resources []resourceEntry `json:"resources"`
	Default   *resourceEntry  `json:"default"`
}

// resourceEntry is one resource (or the default's settings; its url is
// then not allowed).
type resourceEntry struct {
	URL  string `json:"url"`
	Name string `json:"name"`
	// AllowedUsers uses the ALLOWED_GITHUB_USERS syntax; absent: every
	// user the server lets in; "": nobody.
	AllowedUsers     *string  `json:"allowed_users"`
	RequiredScopes   []string `json:"required_scopes"`
	Scopes           []string `json:"scopes"`
	DocumentationURL string   `json:"documentation_url"`
}

// resource is the entry as ForwardAuth takes it; def is the server's
// default scope, which a resource without scopes of its own advertises and
// asks for (never every scope the server offers: clients ask for what the
// challenge names).
func (e *resourceEntry) resource(def []string) oauth.Resource {
	return ConfiguredResource(oauth.Resource{URL: e.URL, Name: e.Name, RequiredScopes: e.RequiredScopes, Scopes: e.Scopes,
		DocumentationURL: e.DocumentationURL}, e.AllowedUsers, def)
}

// ConfiguredResource completes a resource from a configuration file: a
// resource without scopes of its own advertises and asks for def (the
// server's default scope, see DefaultScope), and allowedUsers, when set,
// is its policy in the ALLOWED_GITHUB_USERS syntax ("" admits nobody).
func ConfiguredResource(r oauth.Resource, allowedUsers *string, def []string) oauth.Resource {
	if len(r.Scopes) == 0 && len(r.RequiredScopes) == 0 {
		r.Scopes = def
	}
	if allowedUsers != nil {
		p := oauth.ParsePolicy(*allowedUsers)
		r.Allow = &p
	}
	return r
}

// ResourceConfig is what ForwardAuth is configured with.
type ResourceConfig struct {
	Resources []oauth.Resource
	Default   oauth.Resource
	// Orgs: some policy names GitHub organizations.
	Orgs bool
}

// DefaultScope is the server's default scope among the scopes it offers
// (Options.Scopes, empty for the default): "mcp" when it is offered, else
// the first one.
func DefaultScope(offered []string) []string {
	if len(offered) == 0 || slices.Contains(offered, oauth.DefaultScope) {
		return []string{oauth.DefaultScope}
	}
	return offered[:1]
}

// LoadResources reads the file at path ("" for none); def is the server's
// default scope (DefaultScope), advertised by resources that name none.
func LoadResources(path string, def []string) (*ResourceConfig, error) {
	rc := &ResourceConfig{Default: oauth.Resource{Scopes: def}}
	if path == "" {
		return rc, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--resource-config: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var f resourceFile
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("--resource-config %s: %v", path, err)
	}
	for i := range f.Resources {
		e := &f.Resources[i]
		if e.URL == "" {
			return nil, fmt.Errorf("--resource-config %s: resource %d has no url", path, i+1)
		}
		rc.Resources = append(rc.Resources, e.resource(def))
		rc.Orgs = rc.Orgs || e.AllowedUsers != nil && strings.Contains(strings.ToLower(*e.AllowedUsers), "org:")
	}
	if f.Default != nil {
		if f.Default.URL != "" {
			return nil, fmt.Errorf("--resource-config %s: the default has no url (each request's URL is its resource)", path)
		}
		rc.Default = f.Default.resource(def)
		rc.Orgs = rc.Orgs || f.Default.AllowedUsers != nil && strings.Contains(strings.ToLower(*f.Default.AllowedUsers), "org:")
	}
	if len(f.Resources) == 0 && f.Default == nil {
		return nil, errors.New("--resource-config " + path + `: neither "resources" nor "default"`)
	}
	return rc, nil
}

package authcmd

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mcp-oauth-gateway/gateway/internal/cli"
	"github.com/mcp-oauth-gateway/gateway/oauth"
)

func TestDefaultScope(t *testing.T) {
	for _, tc := range []struct {
		offered []string
		want    string
	}{
		{nil, "mcp"},
		{[]string{"mcp"}, "mcp"},
		{[]string{"mcp", "admin"}, "mcp"},
		{[]string{"admin", "mcp"}, "mcp"},
		{[]string{"read", "write"}, "read"},
	} {
		if got := DefaultScope(tc.offered); !slices.Equal(got, []string{tc.want}) {
			t.Errorf("DefaultScope(%v) = %v, want [%s]", tc.offered, got, tc.want)
		}
	}
}

// parse runs the settings of b over args and env.
func parse(t *testing.T, b Binary, args []string, env map[string]string) (*Config, error) {
	t.Helper()
	cfg, _, err := parseMore(t, b, args, env)
	return cfg, err
}

// parseMore is parse with OpenID providers of the binary's own; it returns
// OIDCName too.
func parseMore(t *testing.T, b Binary, args []string, env map[string]string, more ...*OIDCProvider) (*Config, string, error) {
	t.Helper()
	c := cli.New(b.Name, "")
	get := func(k string) string { return env[k] }
	s := Register(c, b, get)
	if err := c.Parse(args, get, io.Discard); err != nil {
		return nil, "", err
	}
	cfg, err := s.Config(more...)
	return cfg, s.OIDCName(), err
}

// TestMoreOIDCProviders: the OpenID providers a binary adds (the
// gateway's --config providers:) follow OIDC_ISSUER's, are providers
// enough for the gateway not to fall back to the development login, must
// not take OIDC_ISSUER's name, and exclude --dev-login as it does.
func TestMoreOIDCProviders(t *testing.T) {
	gateway := Binary{Name: "mcp-oauth-gateway", Port: 8080, DevLoginWithoutGitHub: true}
	oidc := map[string]string{"OIDC_ISSUER": "https://login.example.com", "OIDC_CLIENT_ID": "id"}
	google := func() *OIDCProvider {
		return &OIDCProvider{Name: "google", Issuer: "https://accounts.google.com", ClientID: "g", Source: "--config g.yaml:3 (provider google)"}
	}

	cfg, name, err := parseMore(t, gateway, nil, nil, google())
	if err != nil || cfg.DevLogin || len(cfg.OIDC) != 1 || cfg.OIDC[0].Name != "google" || name != "" {
		t.Fatalf("a provider of the file alone: %+v %q %v", cfg, name, err)
	}
	cfg, name, err = parseMore(t, gateway, nil, oidc, google())
	if err != nil || len(cfg.OIDC) != 2 || cfg.OIDC[0].Name != "sso" || cfg.OIDC[1].Name != "google" || name != "sso" {
		t.Fatalf("OIDC_ISSUER's and the file's: %+v %q %v", cfg, name, err)
	}
	if _, name, _ := parseMore(t, gateway, nil, map[string]string{"OIDC_ISSUER": "https://login.example.com", "OIDC_CLIENT_ID": "id", "OIDC_NAME": "corp"}); name != "corp" {
		t.Fatalf("OIDCName with OIDC_NAME=corp: %q", name)
	}

	taken := google()
	taken.Name = "sso"
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		more []*OIDCProvider
		want string
	}{
		{"OIDC_ISSUER's name", nil, oidc, []*OIDCProvider{taken}, `--config g.yaml:3 (provider google): the OpenID provider name "sso" is taken by OIDC_ISSUER`},
		{"a name twice", nil, nil, []*OIDCProvider{google(), google()}, `the OpenID provider name "google" is taken by --config g.yaml:3`},
		{"--dev-login", []string{"--dev-login"}, nil, []*OIDCProvider{google()}, "--dev-login and --config g.yaml:3 (provider google) exclude each other"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := parseMore(t, gateway, tc.args, tc.env, tc.more...)
			if err == nil || !strings.Contains(err.Error(), tc.want) || cli.Status(err) != 2 {
				t.Fatalf("error %v, want status 2 and %q", err, tc.want)
			}
		})
	}
}

// TestGitHubOrDevLogin: without a GitHub app or an OpenID provider,
// mcp-oauth-server refuses to start while a binary with
// DevLoginWithoutGitHub (the gateway) uses the development login, on
// loopback only; half a GitHub app is an error in both; an OpenID provider
// alone is enough.
func TestGitHubOrDevLogin(t *testing.T) {
	server := Binary{Name: "mcp-oauth-server", Port: 8000}
	gateway := Binary{Name: "mcp-oauth-gateway", Port: 8080, DevLoginWithoutGitHub: true}
	github := map[string]string{"GITHUB_CLIENT_ID": "id", "GITHUB_CLIENT_SECRET": "secret"}
	oidc := map[string]string{"OIDC_ISSUER": "https://login.example.com", "OIDC_CLIENT_ID": "id", "OIDC_CLIENT_SECRET": "secret"}
	cases := []struct {
		name     string
		b        Binary
		args     []string
		env      map[string]string
		devLogin bool
		chosen   bool
		err      string
	}{
		{"server without GitHub", server, nil, nil, false, false, "no identity provider: set GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET, or OIDC_ISSUER"},
		{"server with an OpenID provider", server, nil, oidc, false, false, ""},
		{"gateway with an OpenID provider", gateway, nil, oidc, false, false, ""},
		{"OpenID provider and --dev-login", gateway, []string{"--dev-login"}, oidc, false, false, "exclude each other"},
		{"server with GitHub", server, nil, github, false, false, ""},
		{"server --dev-login", server, []string{"--dev-login"}, nil, true, true, ""},
		{"gateway without GitHub", gateway, nil, nil, true, false, ""},
		{"gateway with GitHub", gateway, nil, github, false, false, ""},
		{"gateway half a GitHub app", gateway, nil, map[string]string{"GITHUB_CLIENT_ID": "id"}, false, false, "GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET go together"},
		{"gateway without GitHub on the network", gateway, []string{"--host", "0.0.0.0"}, nil, false, false, "--dev-login-on-network"},
		{"gateway --dev-user", gateway, []string{"--dev-user", "robot"}, github, true, true, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := parse(t, tc.b, tc.args, tc.env)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || cli.Status(err) != 2 {
					t.Fatalf("error %v, want status 2 and %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.DevLogin != tc.devLogin || cfg.DevLoginChosen != tc.chosen {
				t.Fatalf("dev login %v (chosen %v), want %v (%v)", cfg.DevLogin, cfg.DevLoginChosen, tc.devLogin, tc.chosen)
			}
		})
	}
}

// TestDefaultStorePath: the embedded store of each binary lives in a
// directory of its own name.
func TestDefaultStorePath(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"XDG_STATE_HOME": "/s", "HOME": "/h"}, "/s/mcp-oauth-gateway/oauth.db"},
		{map[string]string{"HOME": "/h"}, "/h/.local/state/mcp-oauth-gateway/oauth.db"},
		{nil, "mcp-oauth.db"},
	} {
		cfg, err := parse(t, Binary{Name: "mcp-oauth-gateway", DevLoginWithoutGitHub: true}, nil, tc.env)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Store != tc.want {
			t.Errorf("env %v: store %q, want %q", tc.env, cfg.Store, tc.want)
		}
	}
}

func TestLoadResources(t *testing.T) {
	dir := t.TempDir()
	write := func(doc string) string {
		p := filepath.Join(dir, "r.json")
		if err := os.WriteFile(p, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	rc, err := LoadResources(write(`{"resources": [{"url": "https://a.example/mcp", "allowed_users": "org:acme"},
		{"url": "https://b.example/mcp", "required_scopes": ["admin"]}], "default": {"name": "x"}}`), []string{"mcp"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rc.Resources) != 2 || !rc.Orgs || !slices.Equal(rc.Resources[0].Scopes, []string{"mcp"}) ||
		rc.Resources[1].Scopes != nil || rc.Default.Name != "x" || rc.Resources[0].Allow == nil {
		t.Fatalf("%+v", rc)
	}
	if ResourcesLabel(rc) != "https://a.example/mcp https://b.example/mcp" {
		t.Errorf("label %q", ResourcesLabel(rc))
	}
	for doc, want := range map[string]string{
		`{"resources": [{"url": "https://a.example/mcp", "alowed_users": "x"}]}`: "alowed_users",
		`{"resources": [{"name": "x"}]}`:                                         "has no url",
		`{"default": {"url": "https://a.example/mcp"}}`:                          "the default has no url",
		`{}`: "neither",
	} {
		if _, err := LoadResources(write(doc), nil); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", doc, err, want)
		}
	}
	if _, err := LoadResources(filepath.Join(dir, "missing.json"), nil); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

// TestDevLoginPolicy: the development login without ALLOWED_GITHUB_USERS
// admits every name (an allow list keeps nobody out of a form that
// believes any name, and an empty one refused every login); with a list,
// the list; --dev-user alone admits that user; GitHub without a list
// admits nobody.
func TestDevLoginPolicy(t *testing.T) {
	server := Binary{Name: "mcp-oauth-server", Port: 8000}
	github := map[string]string{"GITHUB_CLIENT_ID": "id", "GITHUB_CLIENT_SECRET": "secret"}
	for _, tc := range []struct {
		args   []string
		env    map[string]string
		policy string
	}{
		{[]string{"--dev-login"}, nil, "*"},
		{[]string{"--dev-login"}, map[string]string{"ALLOWED_GITHUB_USERS": "alice"}, "alice"},
		{[]string{"--dev-user", "robot"}, nil, "robot"},
		{nil, github, ""},
	} {
		cfg, err := parse(t, server, tc.args, tc.env)
		if err != nil {
			t.Fatal(err)
		}
		if got := cfg.Options.Policy.String(); got != oauth.ParsePolicy(tc.policy).String() {
			t.Errorf("%v %v: policy %q, want %q", tc.args, tc.env, got, tc.policy)
		}
	}
}

package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/mcp-oauth-gateway/gateway/internal/testenv"
)

// TestResourcesAskForTheDefaultScope: with --scopes "mcp admin", a
// resource that names no scopes of its own advertises and challenges for
// the default scope only, so a client following the challenge gets a token
// without admin; a resource that requires admin still asks for it.
func TestResourcesAskForTheDefaultScope(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "resources.json")
	doc := `{"resources": [
		{"url": "https://echo.example.com/mcp"},
		{"url": "https://admin.example.com/mcp", "required_scopes": ["mcp", "admin"]}
	]}`
	if err := os.WriteFile(conf, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		// what the echo resource and the admin one challenge for
		echo, admin string
	}{
		{"resource config", []string{"--resource-config", conf}, "mcp", "mcp admin"},
		{"derived resources", nil, "mcp", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := start(t, testenv.Port(t), append([]string{"--dev-user", "robot", "--store", "memory", "--scopes", "mcp,admin"}, tc.args...)...)
			challenged := func(resource string) string {
				resp := verify(t, s.issuer, resource, "")
				m := regexp.MustCompile(`scope="([^"]*)"`).FindStringSubmatch(resp.Header.Get("WWW-Authenticate"))
				if resp.StatusCode != http.StatusUnauthorized || m == nil {
					t.Fatalf("%s without token: %d %q", resource, resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
				}
				return m[1]
			}
			scope := challenged("https://echo.example.com/mcp")
			if scope != tc.echo {
				t.Fatalf("echo challenges for scope %q, want %q", scope, tc.echo)
			}
			if tc.admin != "" {
				if got := challenged("https://admin.example.com/mcp"); got != tc.admin {
					t.Fatalf("admin challenges for scope %q, want %q", got, tc.admin)
				}
			}

			// The metadata advertises the same.
			if got := fmt.Sprint(resourceMetadata(t, s.issuer, "echo.example.com", "/mcp")["scopes_supported"]); got != "[mcp]" {
				t.Fatalf("echo metadata scopes_supported %s, want [mcp]", got)
			}

			// A client following the challenge gets what it names.
			_, tok := loginScope(t, s.issuer, "https://echo.example.com/mcp", scope)
			if tok["scope"] != "mcp" {
				t.Fatalf("token scope %v, want mcp", tok["scope"])
			}
			if r := verify(t, s.issuer, "https://echo.example.com/mcp", tok["access_token"].(string)); r.StatusCode != 200 {
				t.Fatalf("the token of the challenged scope at echo: %d", r.StatusCode)
			}
			s.stop(t)
		})
	}
}

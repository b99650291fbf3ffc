package oauth_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestResourceServerLinksLittle: what a resource server imports to verify
// tokens (oauth, the caller identity, the stores for the revocation feed)
// and the SSRF guard links no HTML parser, no charset tables and no MCP
// server: a program that only verifies tokens stays small, and a defect in
// those parts cannot reach it.
func TestResourceServerLinksLittle(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to list dependencies: %v", err)
	}
	forbidden := []struct{ path, what string }{
		{"github.com/PuerkitoBio/goquery", "goquery (HTML queries)"},
		{"github.com/JohannesKaufmann/", "html-to-markdown"},
		{"golang.org/x/net/html", "the HTML parser and its charset detection"},
		{"golang.org/x/text/encoding", "x/text's charsets"},
		{"github.com/mark3labs/mcp-go", "mcp-go"},
		{"github.com/mcp-oauth-gateway/gateway/mcpserver", "mcpserver"},
		{"github.com/mcp-oauth-gateway/gateway/fetch", "the fetch tools (safehttp is allowed)"},
	}
	const module = "github.com/mcp-oauth-gateway/gateway/"
	for _, pkg := range []string{"oauth", "caller", "fetch/safehttp", "oauth/redisstore", "oauth/filestore"} {
		t.Run(pkg, func(t *testing.T) {
			out, err := exec.Command(goTool, "list", "-deps", module+pkg).Output()
			if err != nil {
				var stderr string
				if ee, ok := err.(*exec.ExitError); ok {
					stderr = string(ee.Stderr)
				}
				t.Fatalf("go list -deps %s: %v\n%s", pkg, err, stderr)
			}
			deps := strings.Fields(string(out))
			if len(deps) == 0 || deps[len(deps)-1] != module+pkg {
				t.Fatalf("go list -deps %s listed %d packages, not ending with the package itself", pkg, len(deps))
			}
			for _, dep := range deps {
				if dep == module+"fetch/safehttp" {
					continue
				}
				for _, f := range forbidden {
					if dep == f.path || strings.HasPrefix(dep, strings.TrimSuffix(f.path, "/")+"/") {
						t.Errorf("%s links %s (%s)", pkg, dep, f.what)
					}
				}
			}
		})
	}
}

// TestAPINamesNoJOSE: no exported declaration of oauth names a go-jose
// type, so a KeySource or a reader of claims needs no go-jose, and a new
// go-jose major version changes nothing for users.
func TestAPINamesNoJOSE(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to read the API: %v", err)
	}
	out, err := exec.Command(goTool, "doc", "-all", "github.com/mcp-oauth-gateway/gateway/oauth").Output()
	if err != nil {
		t.Fatalf("go doc: %v", err)
	}
	if len(out) < 1000 || !strings.Contains(string(out), "type KeySource interface") {
		t.Fatalf("go doc printed %d bytes without KeySource", len(out))
	}
	for i, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "jose.") || strings.Contains(line, "jwt.") {
			t.Errorf("line %d of the API names go-jose: %s", i+1, strings.TrimSpace(line))
		}
	}
}

package guardflags_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/mcp-oauth-gateway/gateway/internal/cli"
	"github.com/mcp-oauth-gateway/gateway/internal/cli/guardflags"
	"github.com/mcp-oauth-gateway/gateway/mcpserver"
)

func TestCheck(t *testing.T) {
	cases := []struct {
		args []string
		want string // in the error; "" for none
	}{
		{nil, ""},
		{[]string{"--host", "::1"}, ""},
		{[]string{"--host", "0.0.0.0"}, "the listen address 0.0.0.0 (--host / HOST) is not loopback"},
		{[]string{"--host", "0.0.0.0", "--allowed-hosts", "mcp.example.com"}, ""},
		{[]string{"--host", "::", "--allow-any-host"}, ""},
		{[]string{"--host", "::", "--allow-any-host=off"}, "--allowed-hosts / MCP_ALLOWED_HOSTS"},
		{[]string{"--allowed-origins", "claude.ai"}, `bad value "claude.ai" for --allowed-origins / MCP_CORS_ORIGINS`},
		{[]string{"--allowed-hosts", "*"}, "--allow-any-host / MCP_ALLOW_ANY_HOST accepts every Host"},
	}
	for _, tc := range cases {
		c := cli.New("t", "")
		l := c.Listen(3000, "HOST", "PORT")
		g := guardflags.Register(c, []string{"MCP_CORS_ORIGINS"}, []string{"MCP_ALLOWED_HOSTS"})
		if err := c.Parse(tc.args, func(string) string { return "" }, nil); err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		err := g.Check(context.Background(), l)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%v: %v", tc.args, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || cli.Status(err) != 2):
			t.Errorf("%v: %v, want status 2 and %q", tc.args, err, tc.want)
		}
	}
}

func TestApply(t *testing.T) {
	c := cli.New("t", "")
	g := guardflags.Register(c, nil, []string{"MCP_ALLOWED_HOSTS"})
	env := map[string]string{"MCP_ALLOWED_HOSTS": "a.example, b.example:8443", "MCP_ALLOW_ANY_HOST": "yes"}
	if err := c.Parse([]string{"--allowed-origins", "https://claude.ai"}, func(k string) string { return env[k] }, nil); err != nil {
		t.Fatal(err)
	}
	var o mcpserver.Options
	g.Apply(&o)
	if !slices.Equal(o.AllowedHosts, []string{"a.example", "b.example:8443"}) || !o.AllowAnyHost || !slices.Equal(o.AllowedOrigins, []string{"https://claude.ai"}) {
		t.Errorf("options %+v", o)
	}
}

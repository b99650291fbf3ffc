package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mcp-oauth-gateway/gateway/internal/testenv"
)

// TestConfigErrors: every mistake in the file is refused with the file,
// its line and what is wrong; a secret written inline is refused; the
// binary exits with status 2 and a one-line message.
func TestConfigErrors(t *testing.T) {
	secretFile := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(secretFile, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	emptyFile := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(emptyFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, doc, want string
	}{
		{"unknown key", "routing:\n  mode: path\n  moed: host\n", `:3:3: unknown field "moed"`},
		{"unknown top-level key", "services: []\nprovider: []\n", `:2:1: unknown field "provider"`},
		{"unknown service key", "services:\n  - name: a\n    builtin: fetch\n    alowed_users: x\n", `:4:5: unknown field "alowed_users"`},
		{"duplicate key", "routing:\n  mode: path\n  mode: host\n", `:3:3: mapping key "mode" already defined`},
		{"not YAML", "services: [\n", ":1:"},
		{"wrong type", "shutdown_timeout: [1]\n", ":1:"},
		{"not a mapping", "- a\n- b\n", ":1:1: want a mapping"},
		{"bad mode", "routing:\n  mode: hosts\n", `:2:9: routing mode "hosts": want path or host`},
		{"no name", "services:\n  - builtin: fetch\n", ":2:5: service 1 has no name"},
		{"bad name", "services:\n  - name: My_Service\n    builtin: fetch\n", `:2:11: service name "My_Service"`},
		{"reserved name", "services:\n  - name: token\n    builtin: fetch\n", `:2:11: service name "token" is a path of the authorization server`},
		{"duplicate name", "services:\n  - {name: a, builtin: fetch}\n  - {name: a, builtin: echo-stateless}\n", `:3:12: service name "a" is used by service 1 too`},
		{"two kinds", "services:\n  - name: a\n    builtin: fetch\n    upstream: {url: \"http://127.0.0.1:9/mcp\"}\n", "give exactly one of builtin, stdio and upstream"},
		{"no kind", "services:\n  - name: a\n", "give exactly one of builtin, stdio and upstream"},
		{"bad builtin", "services:\n  - name: a\n    builtin: echo\n", `:3:14: builtin "echo": want echo-stateful, echo-stateless, fetch`},
		{"stdio without command", "services:\n  - name: a\n    stdio: {args: [x]}\n", `:3:13: service "a": stdio.command is required`},
		{"bad upstream", "services:\n  - name: a\n    upstream: {url: \"127.0.0.1:9/mcp\"}\n", `upstream url "127.0.0.1:9/mcp"`},
		{"inline secret header", "services:\n  - name: a\n    upstream:\n      url: http://127.0.0.1:9/mcp\n      headers:\n        Authorization: Bearer abc\n",
			":6:24: the header Authorization holds a secret, which the file must not contain: write {env: VARIABLE} or {file: PATH}"},
		{"inline secret env", "services:\n  - name: a\n    stdio:\n      command: x\n      env:\n        GITHUB_TOKEN: ghp_abc\n",
			":6:23: the environment variable GITHUB_TOKEN holds a secret"},
		{"unset variable", "services:\n  - name: a\n    stdio:\n      command: x\n      env:\n        API_KEY: {env: GATEWAY_TEST_UNSET}\n",
			":6:18: the environment variable GATEWAY_TEST_UNSET is not set (environment variable API_KEY)"},
		{"missing file", "services:\n  - name: a\n    stdio:\n      command: x\n      env:\n        API_KEY: {file: /nonexistent/key}\n",
			":6:18: open /nonexistent/key: no such file or directory"},
		{"bad reference", "services:\n  - name: a\n    stdio:\n      command: x\n      env:\n        API_KEY: {vault: x}\n", "want a value, {env: VARIABLE} or {file: PATH}"},
		{"identity header", "services:\n  - name: a\n    upstream:\n      url: http://127.0.0.1:9/mcp\n      headers:\n        X-User-Id: {env: HOME}\n",
			"header X-User-Id is the gateway's to set"},
		{"tls half", "tls:\n  cert_file: a.pem\n", ":2:3: tls: give cert_file and key_file, or acme"},
		{"acme without tos", "tls:\n  acme: {email: a@example.com}\n", "accept_tos: true"},
		{"bad path", "services:\n  - name: a\n    builtin: fetch\n    path: mcp\n", `:4:11: path "mcp"`},
		{"user credential of a builtin", "services:\n  - name: a\n    builtin: fetch\n    upstream_credential: {env: T}\n", "a built-in service cannot act as the user"},
		{"stdio user credential in a header", "services:\n  - name: a\n    stdio: {command: x}\n    upstream_credential: {header: Authorization}\n",
			"a stdio service gets the user's token in an environment variable"},
		{"upstream user credential in the environment", "services:\n  - name: a\n    upstream: {url: \"http://127.0.0.1:9/mcp\"}\n    upstream_credential: {env: TOKEN}\n",
			"an upstream service gets the user's token in a request header"},
		{"shared process with user credentials", "services:\n  - name: a\n    stdio: {command: x, shared: true}\n    upstream_credential: {env: TOKEN}\n",
			"a shared process cannot hold each user's own token"},
		{"bad provider", "services:\n  - name: a\n    stdio: {command: x}\n    upstream_credential: {env: TOKEN, provider: google}\n", `provider "google": want github or oidc:NAME`},
		{"user credential over an identity header", "services:\n  - name: a\n    upstream: {url: \"http://127.0.0.1:9/mcp\"}\n    upstream_credential: {header: X-User-Id}\n",
			"header X-User-Id is the gateway's to set"},
		{"user credential in a configured header", "services:\n  - name: a\n    upstream:\n      url: http://127.0.0.1:9/mcp\n      headers: {X-Token: {env: HOME}}\n    upstream_credential: {header: X-Token}\n",
			"the header X-Token is in upstream.headers too"},

		// OpenID providers. OIDC_ISSUER's is named sso in these cases.
		{"unknown provider key", "providers:\n  - name: corp\n    issuer: https://login.example.com\n    client_id: gw\n    client_secert: {env: X}\n",
			`:5:5: unknown field "client_secert"`},
		{"provider source is not a key", "providers:\n  - name: corp\n    issuer: https://login.example.com\n    client_id: gw\n    source: x\n",
			`:5:5: unknown field "source"`},
		{"provider without name", "providers:\n  - issuer: https://login.example.com\n    client_id: gw\n", ":2:5: provider 1 has no name"},
		{"bad provider name", "providers:\n  - name: Corp_SSO\n    issuer: https://login.example.com\n    client_id: gw\n",
			`:2:11: provider name "Corp_SSO": use lowercase letters, digits and inner -, at most 32`},
		{"provider name with a colon", "providers:\n  - {name: \"oidc:corp\", issuer: \"https://login.example.com\", client_id: gw}\n", `provider name "oidc:corp"`},
		{"duplicate provider name", "providers:\n  - {name: corp, issuer: \"https://a.example.com\", client_id: a}\n  - {name: corp, issuer: \"https://b.example.com\", client_id: b}\n",
			`:3:12: provider name "corp" is used by provider 1 too`},
		{"provider named like OIDC_ISSUER's", "providers:\n  - name: sso\n    issuer: https://login.example.com\n    client_id: gw\n",
			`:2:11: provider name "sso" is the name of OIDC_ISSUER's provider (OIDC_NAME, default sso)`},
		{"provider without issuer", "providers:\n  - name: corp\n    client_id: gw\n", `:2:5: provider "corp": issuer is required`},
		{"provider without client id", "providers:\n  - name: corp\n    issuer: https://login.example.com\n", `:2:5: provider "corp": client_id is required`},
		{"provider issuer over http", "providers:\n  - name: corp\n    issuer: http://login.example.com\n    client_id: gw\n",
			`:3:13: provider "corp": OpenID issuer "http://login.example.com" must be an https URL`},
		{"inline client secret", "providers:\n  - name: corp\n    issuer: https://login.example.com\n    client_id: gw\n    client_secret: s3cr3t-inline\n",
			`:5:20: provider "corp": client_secret is a secret, which the file must not contain: write {env: VARIABLE} or {file: PATH}`},
		{"client secret of an unset variable", "providers:\n  - name: corp\n    issuer: https://login.example.com\n    client_id: gw\n    client_secret: {env: GATEWAY_TEST_UNSET}\n",
			`:5:20: the environment variable GATEWAY_TEST_UNSET is not set (provider "corp": client_secret)`},
		{"client secret of an empty file", "providers:\n  - name: corp\n    issuer: https://login.example.com\n    client_id: gw\n    client_secret: {file: " + emptyFile + "}\n",
			`:5:20: the file ` + emptyFile + ` is empty (provider "corp": client_secret)`},
		{"bad provider scope", "providers:\n  - name: corp\n    issuer: https://login.example.com\n    client_id: gw\n    scopes: [openid, \"a b\"]\n",
			`:5:13: scope "a b" is not a scope token`},
		{"provider parameters not a map", "providers:\n  - name: corp\n    issuer: https://login.example.com\n    client_id: gw\n    auth_params: [prompt=consent]\n", ":5:"},
		{"user credential of a provider not configured", "providers:\n  - {name: corp, issuer: \"https://login.example.com\", client_id: gw}\n" +
			"services:\n  - name: a\n    stdio: {command: x}\n    upstream_credential: {env: TOKEN, provider: \"oidc:google\"}\n",
			`:6:49: provider "oidc:google": no OpenID provider of that name is configured (OpenID providers: oidc:sso, oidc:corp`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := writeConfig(t, tc.doc)
			_, err := loadConfig(path, func(k string) string {
				return map[string]string{"HOME": "/home/x"}[k]
			}, "sso")
			if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "s3cr3t-inline") {
				t.Fatalf("the error shows the secret: %v", err)
			}
		})
	}
	t.Run("references resolve", func(t *testing.T) {
		path := writeConfig(t, "services:\n  - name: a\n    stdio:\n      command: x\n      env:\n        API_KEY: {file: "+secretFile+"}\n"+
			"        TOKEN: {env: MY_TOKEN}\n        LOG_LEVEL: debug\n        PORT: 8080\n")
		fc, err := loadConfig(path, func(k string) string { return map[string]string{"MY_TOKEN": "tok"}[k] }, "")
		if err != nil {
			t.Fatal(err)
		}
		env := (*fc.Services)[0].Stdio.Env
		if env["API_KEY"].resolved != "s3cret" || env["TOKEN"].resolved != "tok" || env["LOG_LEVEL"].resolved != "debug" || env["PORT"].resolved != "8080" {
			t.Fatalf("resolved %+v", env)
		}
	})
	t.Run("providers", func(t *testing.T) {
		path := writeConfig(t, `providers:
  - name: google
    display_name: Google (contractors)
    issuer: https://accounts.google.com
    client_id: 123.apps.googleusercontent.com
    client_secret: {file: `+secretFile+`}
    scopes: [openid, email]
    auth_params: {access_type: offline, prompt: consent}
    require_claims: {hd: example.com}
  - name: okta
    issuer: https://acme.okta.com
    client_id: gw
    client_secret: {env: OKTA_SECRET}
    groups_claim: realm_access.roles
    login_claim: nickname
    name_claim: given_name
    email_verified_claim: xms_edov
    userinfo: true
  - name: dex
    issuer: http://127.0.0.1:5556/dex
    client_id: public
services:
  - name: drive
    upstream: {url: "http://127.0.0.1:9/mcp"}
    upstream_credential: {provider: "oidc:google", header: Authorization}
`)
		fc, err := loadConfig(path, func(k string) string { return map[string]string{"OKTA_SECRET": "okta-s"}[k] }, "sso")
		if err != nil {
			t.Fatal(err)
		}
		ps := fc.oidcProviders()
		if len(ps) != 3 {
			t.Fatalf("providers %+v", ps)
		}
		g, o, d := ps[0], ps[1], ps[2]
		if g.Name != "google" || g.Issuer != "https://accounts.google.com" || g.ClientID != "123.apps.googleusercontent.com" || g.ClientSecret != "s3cret" ||
			g.Options.DisplayName != "Google (contractors)" || strings.Join(g.Options.Scopes, " ") != "openid email" ||
			g.Options.AuthParams["access_type"] != "offline" || g.Options.AuthParams["prompt"] != "consent" || g.Options.RequireClaims["hd"] != "example.com" ||
			g.Source != "--config "+path+":2 (provider google)" {
			t.Fatalf("google: %+v", g)
		}
		if o.Name != "okta" || o.ClientSecret != "okta-s" || o.Options.GroupsClaim != "realm_access.roles" || o.Options.LoginClaim != "nickname" ||
			o.Options.NameClaim != "given_name" || o.Options.EmailVerifiedClaim != "xms_edov" || !o.Options.UserInfo || o.Source != "--config "+path+":10 (provider okta)" {
			t.Fatalf("okta: %+v", o)
		}
		if d.Name != "dex" || d.ClientSecret != "" || d.Options.UserInfo {
			t.Fatalf("dex (a public client on loopback): %+v", d)
		}
	})
	t.Run("the example file loads", func(t *testing.T) {
		fc, err := loadConfig("gateway.example.yaml", func(k string) string { return "x" }, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(*fc.Services) < 5 {
			t.Fatalf("services %+v", *fc.Services)
		}
		if len(fc.Providers) < 2 {
			t.Fatalf("providers %+v", fc.Providers)
		}
	})
	t.Run("through the binary", func(t *testing.T) {
		path := writeConfig(t, "services:\n  - name: a\n    upstream:\n      url: http://127.0.0.1:9/mcp\n      headers: {X-Api-Key: abc}\n")
		cmd := command(t, nil, "--config", path, "--port", testenv.Port(t))
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() != 2 {
			t.Fatalf("exit %v; stderr %s", err, stderr.String())
		}
		msg := strings.TrimSpace(stderr.String())
		if strings.Count(msg, "\n") > 0 || !strings.Contains(msg, path+":5:28: the header X-Api-Key holds a secret") || strings.Contains(msg, "abc") {
			t.Fatalf("message %q", msg)
		}
	})
}

// TestBadSettings: the gateway's own settings are checked like the
// others', naming the flag and its variable.
func TestBadSettings(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--allowed-hosts", "a/b"}, `bad value "a/b" for --allowed-hosts / MCP_ALLOWED_HOSTS`},
		{[]string{"--allowed-origins", "claude.ai"}, `bad value "claude.ai" for --allowed-origins / MCP_ALLOWED_ORIGINS / MCP_CORS_ORIGINS`},
		{[]string{"--config", "/nonexistent.yaml"}, "--config: open /nonexistent.yaml"},
		{[]string{"--host", "0.0.0.0", "--store", "memory"}, "--dev-login-on-network / MCP_DEV_LOGIN_ON_NETWORK"},
	} {
		cmd := command(t, nil, tc.args...)
		out, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || !strings.Contains(string(out), tc.want) {
			t.Errorf("%v: %v %s, want status 2 and %q", tc.args, err, out, tc.want)
		}
	}
}

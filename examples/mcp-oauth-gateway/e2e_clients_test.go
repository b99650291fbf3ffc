package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mcp-oauth-gateway/gateway/internal/testenv"
)

// TestTypeScriptSDK: the official TypeScript SDK's OAuth client flow,
// unchanged, against every kind of service the gateway mounts. From the
// 401 the SDK discovers the protected-resource and authorization-server
// metadata, registers, authorizes with PKCE S256 and the resource
// indicator (the gateway approves at once, --dev-user), exchanges the
// code, lists and calls tools; when its token goes bad it refreshes by
// itself and repeats the call.
func TestTypeScriptSDK(t *testing.T) {
	n := node(t)
	up := everythingHTTP(t, n)
	conf := writeConfig(t, "services:\n"+
		"  - {name: echo-stateful, builtin: echo-stateful}\n"+
		"  - {name: echo-stateless, builtin: echo-stateless}\n"+
		"  - {name: fetch, builtin: fetch}\n"+
		stdioService("memory")+
		fmt.Sprintf("  - name: everything\n    stdio:\n      command: %q\n      args: [%q, stdio]\n", n.node, filepath.Join(n.everything, "dist", "index.js"))+
		"  - name: everything-http\n    upstream:\n      url: "+up+"\n")
	g := start(t, nil, "--dev-user", "robot", "--config", conf, "--store", "memory")

	type step struct {
		Name string         `json:"name"`
		URL  string         `json:"url"`
		Tool string         `json:"tool"`
		Args map[string]any `json:"args"`
		want string
	}
	plan := []step{
		{Name: "echo-stateful", Tool: "echo", Args: map[string]any{"message": "hello stateful"}, want: "hello stateful"},
		{Name: "echo-stateless", Tool: "echo", Args: map[string]any{"message": "hello stateless"}, want: "hello stateless"},
		{Name: "fetch", Tool: "fetch", Args: map[string]any{"url": "http://127.0.0.1:8080/"}, want: "Refused to fetch http://127.0.0.1:8080/"},
		{Name: "memory", Tool: "echo", Args: map[string]any{"text": "hello stdio"}, want: "hello stdio"},
		{Name: "everything", Tool: "echo", Args: map[string]any{"message": "hello everything"}, want: "Echo: hello everything"},
		{Name: "everything-http", Tool: "echo", Args: map[string]any{"message": "hello upstream"}, want: "Echo: hello upstream"},
	}
	for i := range plan {
		plan[i].URL = g.base + "/" + plan[i].Name + "/mcp"
	}
	planJSON, _ := json.Marshal(plan)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, n.node, script("sdk-client.mjs"), n.sdk(), string(planJSON))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	t.Logf("the SDK client: %v\n%s%s", err, stdout.String(), stderr.String())

	type result struct {
		Name, Error, First, AfterRefresh, ClientID, Iss string
		Authorization                                   map[string]string
		Tools, Steps, Tokens                            []string
		Rotated                                         bool
		SessionID                                       *string
	}
	got := map[string]result{}
	for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		var r result
		if json.Unmarshal([]byte(line), &r) == nil && r.Name != "" {
			got[r.Name] = r
		}
	}
	for _, s := range plan {
		t.Run(s.Name, func(t *testing.T) {
			r, ok := got[s.Name]
			switch {
			case !ok:
				t.Fatalf("no result; output:\n%s", stdout.String())
			case r.Error != "":
				t.Fatalf("the SDK failed: %s", r.Error)
			}
			// The SDK took every step of the flow, in order, by itself.
			if want := "discovery register authorize token refresh"; strings.Join(r.Steps, " ") != want {
				t.Errorf("steps %v, want %s", r.Steps, want)
			}
			a := r.Authorization
			if a["code_challenge_method"] != "S256" || a["code_challenge"] == "" || a["resource"] != s.URL || a["client_id"] != r.ClientID || a["scope"] != "mcp" {
				t.Errorf("authorization request %v", a)
			}
			if r.Iss != g.base {
				t.Errorf("iss %q in the redirect, want %q", r.Iss, g.base)
			}
			if !strings.Contains(r.First, s.want) || !strings.Contains(r.AfterRefresh, s.want) {
				t.Errorf("%s answered %q, then after the refresh %q; want %q", s.Tool, r.First, r.AfterRefresh, s.want)
			}
			if !r.Rotated {
				t.Errorf("the refresh did not rotate the tokens")
			}
			found := false
			for _, name := range r.Tools {
				found = found || name == s.Tool
			}
			if !found {
				t.Errorf("tools/list %v has no %s", r.Tools, s.Tool)
			}
			if s.Name == "echo-stateful" && (r.SessionID == nil || *r.SessionID == "") {
				t.Errorf("no session with the stateful echo")
			}
		})
	}
	if err != nil && !t.Failed() {
		t.Fatalf("the SDK client exited with %v", err)
	}

	// Every token the SDK got is good for its own service only: it asked
	// for each with the service's resource.
	for _, s := range plan {
		toks := got[s.Name].Tokens
		if len(toks) == 0 {
			continue
		}
		for _, tok := range toks[len(toks)-1:] {
			c := newClient(t)
			c.access = tok
			m := &mcp{c: c, url: g.base + "/echo-stateless/mcp"}
			_, _, status := m.try("tools/list", nil)
			if (s.Name == "echo-stateless") != (status == 200) {
				t.Errorf("the %s token at echo-stateless: status %d", s.Name, status)
			}
		}
	}
}

// everythingHTTP runs @modelcontextprotocol/server-everything as a
// StreamableHTTP server on a free loopback port and returns its MCP URL.
func everythingHTTP(t *testing.T, n nodeTools) string {
	t.Helper()
	port := testenv.Port(t)
	cmd := exec.Command(n.node, filepath.Join(n.everything, "dist", "index.js"), "streamableHttp")
	cmd.Env = []string{"PORT=" + port, "PATH=" + n.pathWithNode(), "HOME=" + t.TempDir()}
	var out testenv.Output
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	waitFor(t, "server-everything to listen", func() bool { return strings.Contains(out.String(), "listening on port") })
	return "http://127.0.0.1:" + port + "/mcp"
}

// TestInspectorCLI: MCP Inspector's CLI lists and calls tools through the
// gateway with a bearer token given as a header, as the README shows, and
// is refused without one.
func TestInspectorCLI(t *testing.T) {
	n := node(t)
	conf := writeConfig(t, "services:\n  - {name: echo-stateful, builtin: echo-stateful}\n  - {name: echo-stateless, builtin: echo-stateless}\n"+stdioService("memory"))
	g := start(t, nil, "--dev-user", "robot", "--config", conf, "--store", "memory")
	inspector := func(t *testing.T, args ...string) (string, error) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, n.node, append([]string{n.inspector(), "--cli"}, args...)...)
		// Its build/index.js finds its package.json by a path relative to
		// the working directory.
		cmd.Dir = filepath.Dir(n.inspector())
		cmd.Env = []string{"PATH=" + n.pathWithNode(), "HOME=" + t.TempDir()}
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		return out.String(), err
	}
	for _, tc := range []struct {
		service, tool string
		args          []string
		want          string
	}{
		{"echo-stateful", "echo", []string{"message=hello inspector"}, "hello inspector"},
		{"echo-stateless", "echo", []string{"message=hello inspector"}, "hello inspector"},
		{"memory", "echo", []string{"text=hello inspector"}, "hello inspector"},
	} {
		t.Run(tc.service, func(t *testing.T) {
			u := g.base + "/" + tc.service + "/mcp"
			c := newClient(t)
			c.login(u, false)
			bearer := "Authorization: Bearer " + c.access
			out, err := inspector(t, u, "--transport", "http", "--method", "tools/list", "--header", bearer)
			if err != nil || !strings.Contains(out, `"name": "`+tc.tool+`"`) {
				t.Fatalf("tools/list: %v\n%s", err, out)
			}
			out, err = inspector(t, append([]string{u, "--transport", "http", "--method", "tools/call", "--tool-name", tc.tool, "--header", bearer, "--tool-arg"}, tc.args...)...)
			if err != nil || !strings.Contains(out, tc.want) {
				t.Fatalf("tools/call: %v\n%s", err, out)
			}
			out, err = inspector(t, u, "--transport", "http", "--method", "tools/list")
			if err == nil || strings.Contains(out, `"name": "`+tc.tool+`"`) {
				t.Fatalf("without a token: %v\n%s", err, out)
			}
		})
	}
}

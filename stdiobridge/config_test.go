package stdiobridge

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestParseConfig(t *testing.T) {
	t.Parallel()
	c, err := ParseConfig([]byte(`{"mcpServers":{
		"memory": {"command":"npx","args":["-y","@modelcontextprotocol/server-memory"],"env":{"B":"2","A":"1"}},
		"time":   {"type":"stdio","command":"uvx","args":["mcp-server-time"],"shared":true,"path":"/clock","idleTimeout":"30m","startupTimeout":90},
		"off":    {"command":"x","disabled":true}
	}}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Names(); strings.Join(got, ",") != "memory,time" {
		t.Fatalf("names %v", got)
	}
	if c.Route("memory") != "/memory/mcp" || c.Route("time") != "/clock" {
		t.Fatalf("routes %s %s", c.Route("memory"), c.Route("time"))
	}
	cmd := c.Servers["memory"].ToCommand()
	if cmd.Path != "npx" || strings.Join(cmd.Env, ",") != "A=1,B=2" {
		t.Fatalf("command %+v", cmd)
	}
	o := c.Servers["time"].Options("time", ProxyOptions{MaxChildren: 7})
	if !o.Shared || o.IdleTimeout != 30*time.Minute || o.StartupTimeout != 90*time.Second || o.MaxChildren != 7 || o.Name != "time" {
		t.Fatalf("options %+v", o)
	}
}

func TestParseConfigErrors(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"not JSON":       `{`,
		"no servers":     `{"mcpServers":{}}`,
		"no command":     `{"mcpServers":{"a":{"args":["x"]}}}`,
		"typo":           `{"mcpServers":{"a":{"command":"x","arg":["y"]}}}`,
		"http transport": `{"mcpServers":{"a":{"type":"http","command":"x"}}}`,
		"bad name":       `{"mcpServers":{"a/b":{"command":"x"}}}`,
		"same path":      `{"mcpServers":{"a":{"command":"x","path":"/p"},"b":{"command":"y","path":"p/"}}}`,
		"health path":    `{"mcpServers":{"a":{"command":"x","path":"/health"}}}`,
		"bad duration":   `{"mcpServers":{"a":{"command":"x","idleTimeout":"soon"}}}`,
		"bad mode":       `{"mcpServers":{"a":{"command":"x","modern":"sometimes"}}}`,
		"trailing data":  `{"mcpServers":{"a":{"command":"x"}}} {}`,
		"negative pool":  `{"mcpServers":{"a":{"command":"x","poolSize":-1}}}`,
	}
	for name, in := range cases {
		if _, err := ParseConfig([]byte(in)); err == nil {
			t.Errorf("%s: no error for %s", name, in)
		}
	}
}

func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(`{"mcpServers":{"a":{"command":"x","args":["-y"],"env":{"K":"V"},"idleTimeout":"1m"}}}`))
	f.Add([]byte(`{"mcpServers":{"a":{"command":"x","startupTimeout":1.5,"path":"/a"}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig(data)
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, n := range c.Names() {
			r := c.Route(n)
			if !strings.HasPrefix(r, "/") || seen[r] {
				t.Fatalf("route %q of %q", r, n)
			}
			seen[r] = true
			if c.Servers[n].ToCommand().Path == "" {
				t.Fatal("empty command accepted")
			}
		}
	})
}

func TestMuxServesSeveralServersAndTheirHealth(t *testing.T) {
	t.Parallel()
	cfg, err := ParseConfig([]byte(`{"mcpServers":{"good":{"command":"x"},"bad":{"command":"x"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	mux := NewMux()
	defer mux.Close()
	for _, name := range cfg.Names() {
		flags := []string{"-name", name}
		if name == "bad" {
			flags = append(flags, "-fail-start")
		}
		px, err := NewProxy(testCommand(flags...), cfg.Servers[name].Options(name, ProxyOptions{Logger: quietLogger(t), StopGrace: 200 * time.Millisecond}))
		if err != nil {
			t.Fatal(err)
		}
		if err := mux.Handle(cfg.Route(name), px); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(mux)
	defer srv.Close()

	health := func() (int, map[string]any) {
		resp, err := http.Get(srv.URL + "/health")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var h map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&h)
		return resp.StatusCode, h
	}
	if code, h := health(); code != 200 || h["status"] != "healthy" {
		t.Fatalf("health before any start: %d %v", code, h)
	}
	good := newClient(t, srv.URL+"/good/mcp")
	init := good.initialize()
	if !strings.Contains(string(init.Result), `"name":"good"`) {
		t.Fatalf("/good/mcp answered as %s", init.Result)
	}
	slash := newClient(t, srv.URL+"/good/mcp/")
	slash.initialize()
	bad := newClient(t, srv.URL+"/bad/mcp")
	resp := bad.do("POST", `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"c","version":"1"}}}`, nil)
	resp.Body.Close()
	code, h := health()
	if code != http.StatusServiceUnavailable || h["status"] != "unhealthy" || h["active_sessions"].(float64) != 2 {
		t.Fatalf("health with a failing server: %d %v", code, h)
	}
	servers := h["servers"].([]any)
	byName := map[string]map[string]any{}
	for _, s := range servers {
		m := s.(map[string]any)
		byName[m["name"].(string)] = m
	}
	if byName["good"]["status"] != "ok" || byName["good"]["children"].(float64) != 2 || byName["bad"]["status"] != "failing" ||
		byName["bad"]["path"] != "/bad/mcp" || !strings.Contains(byName["bad"]["lastError"].(string), "exit status 3") {
		t.Fatalf("servers: %v", servers)
	}
	if r, _ := http.Get(srv.URL + "/nowhere"); r.StatusCode != 404 {
		t.Fatalf("unknown path: %d", r.StatusCode)
	}
	px, _ := NewProxy(testCommand(), nil)
	defer px.Close()
	for _, p := range []string{"/good/mcp/", "/health", "relative", "/a b"} {
		if err := mux.Handle(p, px); err == nil {
			t.Errorf("Handle(%q) succeeded", p)
		}
	}
}

package stdiobridge

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// everything returns how to start the npm package
// @modelcontextprotocol/server-everything over stdio, as scripts/setup.sh
// installs it (MCP_NODE22, MCP_SERVER_EVERYTHING). The test is skipped only
// where Node is absent.
func everything(t testing.TB) Command {
	t.Helper()
	node := os.Getenv("MCP_NODE22")
	pkg := os.Getenv("MCP_SERVER_EVERYTHING")
	home, _ := os.UserHomeDir()
	cache := filepath.Join(home, ".cache", "mcp-oauth-gateway", "servers")
	if node == "" {
		if p := filepath.Join(cache, "node_modules", ".bin", "node"); fileExists(p) {
			node = p
		} else if p, err := exec.LookPath("node"); err == nil {
			node = p
		}
	}
	if node == "" {
		t.Skip("Node is not installed; run scripts/setup.sh (the test command does) to test with @modelcontextprotocol/server-everything")
	}
	if pkg == "" {
		pkg = filepath.Join(cache, "node_modules", "@modelcontextprotocol", "server-everything")
	}
	script := filepath.Join(pkg, "dist", "index.js")
	if !fileExists(script) {
		t.Fatalf("@modelcontextprotocol/server-everything is not installed at %s: run scripts/setup.sh", pkg)
	}
	return Command{Path: node, Args: []string{script, "stdio"}}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func TestServerEverythingThroughTheProxy(t *testing.T) {
	t.Parallel()
	px, err := NewProxy(everything(t), &ProxyOptions{Logger: quietLogger(t), StartupTimeout: 30 * time.Second, StopGrace: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { px.Close() })
	url := newServer(t, px)

	c := newClient(t, url)
	c.onRequest = func(m rpc) any {
		return map[string]any{"role": "assistant", "model": "test", "content": map[string]any{"type": "text", "text": "sampled by the test"}}
	}
	init := c.initialize()
	if !strings.Contains(string(init.Result), "everything") {
		t.Fatalf("initialize: %s", init.Result)
	}
	list, _ := c.call("tools/list", map[string]any{})
	var tools struct {
		Tools []struct{ Name string } `json:"tools"`
	}
	_ = json.Unmarshal(list.Result, &tools)
	names := map[string]bool{}
	for _, tl := range tools.Tools {
		names[tl.Name] = true
	}
	for _, want := range []string{"echo", "get-sum", "trigger-long-running-operation", "trigger-sampling-request"} {
		if !names[want] {
			t.Fatalf("tools/list lacks %s: %v", want, names)
		}
	}
	r, _ := c.call("tools/call", map[string]any{"name": "echo", "arguments": map[string]any{"message": "through the proxy"}})
	if got := toolText(t, r); !strings.Contains(got, "through the proxy") {
		t.Fatalf("echo = %q", got)
	}
	r, _ = c.call("tools/call", map[string]any{"name": "get-sum", "arguments": map[string]any{"a": 2, "b": 40}})
	if got := toolText(t, r); !strings.Contains(got, "42") {
		t.Fatalf("get-sum = %q", got)
	}
	r, before := c.call("tools/call", map[string]any{"name": "trigger-long-running-operation",
		"arguments": map[string]any{"duration": 0.3, "steps": 3}, "_meta": map[string]any{"progressToken": "e2e"}})
	progress := 0
	for _, m := range before {
		if m.Method == "notifications/progress" && strings.Contains(string(m.Params), `"progressToken":"e2e"`) {
			progress++
		}
	}
	if progress != 3 || r.Error != nil {
		t.Fatalf("long running operation: %d progress notifications, %+v", progress, r.Error)
	}
	r, _ = c.call("tools/call", map[string]any{"name": "trigger-sampling-request", "arguments": map[string]any{"prompt": "hi"}})
	if got := toolText(t, r); !strings.Contains(got, "sampled by the test") {
		t.Fatalf("sampling = %q", got)
	}

	// A 2026-07-28 client reaches the same server through translation.
	m := newClient(t, url)
	_, msgs := m.modern(1, "server/discover", nil, nil, nil)
	if !strings.Contains(string(last(msgs).Result), `"io.modelcontextprotocol/serverInfo"`) {
		t.Fatalf("discover: %s", last(msgs).Result)
	}
	_, msgs = m.modern(2, "tools/call", map[string]any{"name": "echo", "arguments": map[string]any{"message": "modern"}}, nil, nil)
	if got := toolText(t, last(msgs)); !strings.Contains(got, "modern") {
		t.Fatalf("modern echo = %q", got)
	}
	// Its sampling request becomes an input_required result, and the retry
	// with the answer completes the call.
	caps := map[string]any{"sampling": map[string]any{}}
	call := map[string]any{"name": "trigger-sampling-request", "arguments": map[string]any{"prompt": "hi"}}
	_, msgs = m.modern(3, "tools/call", call, caps, nil)
	var ir struct {
		ResultType    string                     `json:"resultType"`
		InputRequests map[string]json.RawMessage `json:"inputRequests"`
		RequestState  string                     `json:"requestState"`
	}
	if err := json.Unmarshal(last(msgs).Result, &ir); err != nil || ir.ResultType != "input_required" || len(ir.InputRequests) != 1 {
		t.Fatalf("modern sampling: %s", last(msgs).Result)
	}
	answers := map[string]any{}
	for k := range ir.InputRequests {
		answers[k] = map[string]any{"role": "assistant", "model": "test", "content": map[string]any{"type": "text", "text": "answered in round two"}}
	}
	call["requestState"], call["inputResponses"] = ir.RequestState, answers
	_, msgs = m.modern(4, "tools/call", call, caps, nil)
	if got := toolText(t, last(msgs)); !strings.Contains(got, "answered in round two") {
		t.Fatalf("modern sampling retry = %q", got)
	}
}

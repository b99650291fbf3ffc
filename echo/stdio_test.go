package echo_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/mcp-oauth-gateway/gateway/echo"
	"github.com/mcp-oauth-gateway/gateway/mcpserver"
)

// Over stdio there is no HTTP request: the tools say so instead of failing.
func TestToolsOverStdio(t *testing.T) {
	srv, err := mcpserver.New("echo-stdio", "1", &mcpserver.Options{Sessions: mcpserver.Stateless})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if err := echo.RegisterStateless(srv, nil); err != nil {
		t.Fatal(err)
	}
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	go func() {
		srv.ServeStdio(ctx, inR, outW)
		outW.Close()
	}()
	lines := bufio.NewScanner(outR)
	lines.Buffer(nil, 1<<20)
	send := func(id int, method string, params any) map[string]any {
		t.Helper()
		b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "method": method, "params": params})
		if _, err := inW.Write(append(b, '\n')); err != nil {
			t.Fatal(err)
		}
		for lines.Scan() {
			var m map[string]any
			if json.Unmarshal(lines.Bytes(), &m) == nil && m["id"] == float64(id) {
				return m
			}
		}
		t.Fatalf("no answer to %s: %v", method, lines.Err())
		return nil
	}
	send(1, "initialize", map[string]any{"protocolVersion": "2025-11-25", "capabilities": map[string]any{}, "clientInfo": map[string]any{"name": "stdio", "version": "1"}})
	text := func(m map[string]any) string {
		content, _ := m["result"].(map[string]any)["content"].([]any)
		if len(content) != 1 {
			t.Fatalf("answer %v", m)
		}
		return content[0].(map[string]any)["text"].(string)
	}
	if got := text(send(2, "tools/call", map[string]any{"name": "echo", "arguments": map[string]any{"message": "over stdio"}})); got != "over stdio" {
		t.Errorf("echo = %q", got)
	}
	if got := text(send(3, "tools/call", map[string]any{"name": "printHeader"})); !strings.Contains(got, "No headers available (this call did not come over HTTP)") {
		t.Errorf("printHeader over stdio:\n%s", got)
	}
	if got := text(send(4, "tools/call", map[string]any{"name": "requestTiming"})); !strings.Contains(got, "Transport: not HTTP") {
		t.Errorf("requestTiming over stdio:\n%s", got)
	}
	for i, tool := range []string{"bearerDecode", "authContext", "corsAnalysis", "protocolNegotiation", "environmentDump", "healthProbe", "whoIStheGOAT"} {
		m := send(10+i, "tools/call", map[string]any{"name": tool})
		if isErr, _ := m["result"].(map[string]any)["isError"].(bool); isErr || text(m) == "" {
			t.Errorf("%s over stdio: %v", tool, m)
		}
	}
	inW.Close()
}

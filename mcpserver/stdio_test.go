package mcpserver_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcp-oauth-gateway/gateway/mcpserver"
)

func TestServeStdio(t *testing.T) {
	s, err := mcpserver.New("stdio-test", "1.0.0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	burstTools(s)
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- s.ServeStdio(context.Background(), inR, outW); outW.Close() }()
	lines := bufio.NewScanner(outR)
	lines.Buffer(nil, 16<<20)
	send := func(msg string) { fmt.Fprintln(inW, msg) }
	read := func() map[string]any {
		if !lines.Scan() {
			t.Fatalf("stdout ended: %v", lines.Err())
		}
		var m map[string]any
		if err := json.Unmarshal(lines.Bytes(), &m); err != nil {
			t.Fatalf("not JSON: %q", lines.Text())
		}
		return m
	}
	send(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`)
	if r := read(); r["result"] == nil {
		t.Fatalf("initialize: %v", r)
	}
	send(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	send("not json")
	if r := read(); r["error"] == nil {
		t.Fatalf("junk line: %v", r)
	}
	send(`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"progress_burst","_meta":{"progressToken":"p"}}}`)
	for i := 1; i <= burst; i++ {
		m := read()
		if m["method"] != "notifications/progress" || fmt.Sprint(m["params"].(map[string]any)["progress"]) != fmt.Sprint(i) {
			t.Fatalf("message %d: %v", i, m)
		}
	}
	if r := read(); r["id"] != float64(2) || !strings.Contains(fmt.Sprint(r["result"]), "done") {
		t.Fatalf("response: %v", r)
	}
	// What the server broadcasts reaches the stdio client too.
	s.AddTool(mcp.NewTool("late"), func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) { return nil, nil })
	if m := read(); m["method"] != "notifications/tools/list_changed" {
		t.Fatalf("after AddTool: %v", m)
	}
	inW.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("ServeStdio: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ServeStdio did not return after stdin closed")
	}
}

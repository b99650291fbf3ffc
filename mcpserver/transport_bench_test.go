package mcpserver_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/mcp-oauth-gateway/gateway/mcpserver"
)

// The benchmarks serve the same echo tool through bare mcp-go
// (server.StreamableHTTPServer, the baseline) and through mcpserver, in one
// run. Compare with benchstat or read the ratio of ns/op and allocs/op:
//
//	go test -run '^$' -bench 'Echo' -benchmem ./mcpserver
//
// "Handler" benchmarks call ServeHTTP directly, so allocations are the
// server's alone; "Loopback" benchmarks go through real HTTP on 127.0.0.1
// with parallel clients, so ns/op is the throughput a client sees.

func echoHandler(_ context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	return mcp.NewToolResultText(req.GetString("message", "")), nil
}

var echoDef = mcp.NewTool("echo", mcp.WithDescription("Echoes a message"), mcp.WithString("message", mcp.Required()))

func bareMCPGo(stateful bool) http.Handler {
	s := server.NewMCPServer("bench", "1.0.0", server.WithToolCapabilities(true))
	s.AddTool(echoDef, echoHandler)
	return server.NewStreamableHTTPServer(s, server.WithStateful(stateful))
}

func ours(b *testing.B, mode mcpserver.SessionMode) http.Handler {
	s, err := mcpserver.New("bench", "1.0.0", &mcpserver.Options{Sessions: mode})
	if err != nil {
		b.Fatal(err)
	}
	s.AddTool(echoDef, echoHandler)
	b.Cleanup(func() { s.Close() })
	return s.Handler()
}

const (
	initBody = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}`
	callBody = `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"message":"hello, benchmark"}}}`
)

func newPost(url, body, session string) *http.Request {
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("MCP-Protocol-Version", "2025-11-25")
	if session != "" {
		req.Header.Set("Mcp-Session-Id", session)
	}
	return req
}

func initSession(b *testing.B, h http.Handler) string {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, newPost("http://localhost/mcp", initBody, ""))
	if rec.Code != http.StatusOK {
		b.Fatalf("initialize: %d %s", rec.Code, rec.Body)
	}
	sid := rec.Header().Get("Mcp-Session-Id")
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, newPost("http://localhost/mcp", `{"jsonrpc":"2.0","method":"notifications/initialized"}`, sid))
	return sid
}

func benchHandler(b *testing.B, h http.Handler) {
	sid := initSession(b, h)
	body := []byte(callBody)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		req, _ := http.NewRequest(http.MethodPost, "http://localhost/mcp", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("MCP-Protocol-Version", "2025-11-25")
		if sid != "" {
			req.Header.Set("Mcp-Session-Id", sid)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || !bytes.Contains(rec.Body.Bytes(), []byte("hello, benchmark")) {
			b.Fatalf("tools/call: %d %s", rec.Code, rec.Body)
		}
	}
}

func benchLoopback(b *testing.B, h http.Handler) {
	hs := httptest.NewServer(h)
	defer hs.Close()
	client := hs.Client()
	client.Transport.(*http.Transport).MaxIdleConnsPerHost = 64
	url := hs.URL + "/mcp"
	sid := initSession(b, h)
	b.ReportAllocs()
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := client.Do(newPost(url, callBody, sid))
			if err != nil {
				b.Error(err)
				return
			}
			data, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || !bytes.Contains(data, []byte("hello, benchmark")) {
				b.Errorf("tools/call: %d %s", resp.StatusCode, data)
				return
			}
		}
	})
}

func BenchmarkEcho(b *testing.B) {
	for _, mode := range []struct {
		name     string
		stateful bool
		ours     mcpserver.SessionMode
	}{{"stateful", true, mcpserver.Stateful}, {"stateless", false, mcpserver.Stateless}} {
		b.Run(fmt.Sprintf("Handler/%s/bare-mcp-go", mode.name), func(b *testing.B) { benchHandler(b, bareMCPGo(mode.stateful)) })
		b.Run(fmt.Sprintf("Handler/%s/mcpserver", mode.name), func(b *testing.B) { benchHandler(b, ours(b, mode.ours)) })
		b.Run(fmt.Sprintf("Loopback/%s/bare-mcp-go", mode.name), func(b *testing.B) { benchLoopback(b, bareMCPGo(mode.stateful)) })
		b.Run(fmt.Sprintf("Loopback/%s/mcpserver", mode.name), func(b *testing.B) { benchLoopback(b, ours(b, mode.ours)) })
	}
}

package stdiobridge_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/mcp-oauth-gateway/gateway/echo"
	"github.com/mcp-oauth-gateway/gateway/mcpserver"
	"github.com/mcp-oauth-gateway/gateway/stdiobridge"
	"github.com/mcp-oauth-gateway/gateway/stdiobridge/stdiotest"
)

// A stdio server behind the proxy, and a client's first request. A real
// program names its server instead, for example
// stdiobridge.Command{Path: "npx", Args: []string{"-y", "@modelcontextprotocol/server-memory"}}.
func ExampleNewProxy() {
	path, args, env := stdiotest.Command() // this test binary as a stdio MCP server
	px, err := stdiobridge.NewProxy(stdiobridge.Command{Path: path, Args: args, Env: env},
		&stdiobridge.ProxyOptions{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer px.Close()
	mux := stdiobridge.NewMux()
	if err := mux.Handle("/mcp", px); err != nil {
		fmt.Println(err)
		return
	}
	srv := httptest.NewServer(mux)
	defer srv.Close()

	req, _ := http.NewRequest("POST", srv.URL+"/mcp", strings.NewReader(
		`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"example","version":"1"}}}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, resp.Header.Get("Mcp-Session-Id") != "", strings.Contains(string(body), `"serverInfo":{"name":"stdiotest"`))
	fmt.Println(px.Health().Sessions, "session,", px.Health().Children, "process")
	// Output:
	// 200 true true
	// 1 session, 1 process
}

func ExampleParseConfig() {
	cfg, err := stdiobridge.ParseConfig([]byte(`{
	  "mcpServers": {
	    "memory": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-memory"]},
	    "time":   {"command": "uvx", "args": ["mcp-server-time"], "shared": true, "path": "/time"}
	  }
	}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, name := range cfg.Names() {
		s := cfg.Servers[name]
		fmt.Println(name, cfg.Route(name), s.ToCommand().String(), "shared:", s.Shared)
	}
	// Output:
	// memory /memory/mcp npx -y @modelcontextprotocol/server-memory shared: false
	// time /time uvx mcp-server-time shared: true
}

// The client direction: newline-delimited JSON-RPC on the input, relayed
// to a remote StreamableHTTP server, its answers on the output. A program
// passes os.Stdin and os.Stdout, and for a protected server an HTTPClient
// from oauth/mcpauth.
func ExampleNewClient() {
	srv, _ := mcpserver.New("echo", "1.0.0", &mcpserver.Options{Sessions: mcpserver.Stateful, AllowedHosts: []string{"127.0.0.1"},
		Logger: slog.New(slog.DiscardHandler)})
	defer srv.Close()
	_ = echo.RegisterStateful(srv, nil)
	remote := httptest.NewServer(srv.Handler())
	defer remote.Close()

	c, err := stdiobridge.NewClient(remote.URL+"/mcp", &stdiobridge.ClientOptions{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		fmt.Println(err)
		return
	}
	in := strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"example","version":"1"}}}
{"jsonrpc":"2.0","method":"notifications/initialized"}
{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"message":"hello"}}}
`)
	var out strings.Builder
	if err := c.Run(context.Background(), in, &out); err != nil { // returns when the input ends
		fmt.Println(err)
		return
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	fmt.Println(len(lines), "answers;", strings.Contains(lines[1], "] hello\""))
	// Output: 2 answers; true
}

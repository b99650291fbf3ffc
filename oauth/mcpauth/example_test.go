package mcpauth_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcp-oauth-gateway/gateway/internal/authtest"
	"github.com/mcp-oauth-gateway/gateway/oauth/mcpauth"
)

// mcp-go's StreamableHTTP client on a protected server: the Transport's
// *http.Client discovers the authorization server, registers, logs in
// (here a test browser approves at once) and sends the token.
func ExampleTransport() {
	env := authtest.Start(&testing.T{}, nil) // an authorization server and a protected MCP server on loopback

	auth, err := mcpauth.NewTransport(env.MCP, &mcpauth.Options{
		Store:  mcpauth.NewMemoryStore(), // or mcpauth.NewFileStore(path)
		Login:  &mcpauth.Browser{Open: authtest.Browser, Out: io.Discard},
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		panic(err)
	}
	tr, err := transport.NewStreamableHTTP(env.MCP, transport.WithHTTPBasicClient(auth.Client()))
	if err != nil {
		panic(err)
	}
	c := client.NewClient(tr)
	ctx := context.Background()
	if err := c.Start(ctx); err != nil {
		panic(err)
	}
	defer c.Close()
	if _, err := c.Initialize(ctx, mcp.InitializeRequest{Params: mcp.InitializeParams{
		ProtocolVersion: "2025-11-25", ClientInfo: mcp.Implementation{Name: "example", Version: "1"},
	}}); err != nil {
		panic(err)
	}
	res, err := c.CallTool(ctx, mcp.CallToolRequest{Params: mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"message": "hello"}}})
	if err != nil {
		panic(err)
	}
	fmt.Println(res.Content[0].(mcp.TextContent).Text)
	// Output: hello
}

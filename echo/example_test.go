package echo_test

import (
	"context"
	"fmt"
	"log"
	"net/http/httptest"
	"strings"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcp-oauth-gateway/gateway/echo"
	"github.com/mcp-oauth-gateway/gateway/mcpserver"
)

// Serve the stateless tool set and call its echo tool with an MCP client.
func ExampleRegisterStateless() {
	opts := &mcpserver.Options{Sessions: mcpserver.Stateless}
	srv, err := mcpserver.New("mcp-echo-streamablehttp-server-stateless", "1.0.0", opts)
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	if err := echo.RegisterStateless(srv, nil); err != nil {
		log.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler()) // in production: an http.Server
	defer hs.Close()

	ctx := context.Background()
	c, err := client.NewStreamableHttpClient(hs.URL + "/mcp")
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	if err := c.Start(ctx); err != nil {
		log.Fatal(err)
	}
	if _, err := c.Initialize(ctx, mcp.InitializeRequest{}); err != nil {
		log.Fatal(err)
	}
	req := mcp.CallToolRequest{}
	req.Params.Name = "echo"
	req.Params.Arguments = map[string]any{"message": "Hello, MCP!"}
	res, err := c.CallTool(ctx, req)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Content[0].(mcp.TextContent).Text)
	// Output: Hello, MCP!
}

// Serve the stateful tool set: echo answers with the session it came from
// and replayLastEcho repeats it. With TrustGatewayHeaders the tools see the
// caller the gateway vouched for in X-User-Id and X-User-Name.
func ExampleRegisterStateful() {
	opts := &mcpserver.Options{TrustGatewayHeaders: true}
	srv, err := mcpserver.New("mcp-echo-streamablehttp-server-stateful", "1.0.0", opts)
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	if err := echo.RegisterStateful(srv, nil); err != nil {
		log.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()

	ctx := context.Background()
	c, err := client.NewStreamableHttpClient(hs.URL+"/mcp", transport.WithHTTPHeaders(map[string]string{"X-User-Id": "42", "X-User-Name": "Ada"}))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	if err := c.Start(ctx); err != nil {
		log.Fatal(err)
	}
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = mcp.ProtocolVersion20251125 // sessions end with this version
	init.Params.ClientInfo = mcp.Implementation{Name: "example", Version: "1"}
	if _, err := c.Initialize(ctx, init); err != nil {
		log.Fatal(err)
	}
	callTool := func(name string, args map[string]any) string {
		req := mcp.CallToolRequest{}
		req.Params.Name = name
		req.Params.Arguments = args
		res, err := c.CallTool(ctx, req)
		if err != nil {
			log.Fatal(err)
		}
		return res.Content[0].(mcp.TextContent).Text
	}
	session := c.GetSessionId()[:8]
	fmt.Println(callTool("echo", map[string]any{"message": "hi"}) == "[Session "+session+"... from example] hi")
	fmt.Println(callTool("replayLastEcho", nil) == "[REPLAY - Session "+session+"... from example] hi")
	for _, line := range strings.Split(callTool("whoIStheGOAT", nil), "\n") {
		if strings.HasPrefix(line, "Subject:") || strings.HasPrefix(line, "Identifier:") {
			fmt.Println(line)
		}
	}
	// Output:
	// true
	// true
	// Subject: Ada
	// Identifier: 42
}

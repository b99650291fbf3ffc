package mcpserver_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcp-oauth-gateway/gateway/mcpserver"
)

func Example() {
	s, err := mcpserver.New("greeter", "1.0.0", &mcpserver.Options{Sessions: mcpserver.Stateless})
	if err != nil {
		panic(err)
	}
	defer s.Close()
	s.AddTool(mcp.NewTool("greet", mcp.WithString("name", mcp.Required())),
		func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return mcp.NewToolResultText("Hello, " + req.GetString("name", "stranger") + "!"), nil
		})

	hs := httptest.NewServer(s.Handler())
	defer hs.Close()
	req, _ := http.NewRequest("POST", hs.URL+"/mcp", strings.NewReader(
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"greet","arguments":{"name":"Ada"}}}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("MCP-Protocol-Version", "2025-11-25")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.Status, strings.Contains(string(body), "Hello, Ada!"))
	// Output: 200 OK true
}

func ExampleIdentityFromContext() {
	s, _ := mcpserver.New("whoami", "1.0.0", &mcpserver.Options{
		Sessions: mcpserver.Stateless,
		// Behind the gateway, which verified the caller and set X-User-*.
		TrustGatewayHeaders: true,
	})
	defer s.Close()
	s.AddTool(mcp.NewTool("whoami"), func(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		if id := mcpserver.IdentityFromContext(ctx); id != nil {
			return mcp.NewToolResultText("you are " + id.Name), nil
		}
		return mcp.NewToolResultText("you are anonymous"), nil
	})
	hs := httptest.NewServer(s.Handler())
	defer hs.Close()
	req, _ := http.NewRequest("POST", hs.URL+"/mcp", strings.NewReader(
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami"}}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-User-Id", "583231")
	req.Header.Set("X-User-Name", "octocat")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(strings.Contains(string(body), "you are octocat"))
	// Output: true
}

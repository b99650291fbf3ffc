package fetch

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcp-oauth-gateway/gateway/mcpserver"
)

// TestEndToEnd registers the tool on an mcpserver.Server and calls it with
// mcp-go's StreamableHTTP client over loopback HTTP.
func TestEndToEnd(t *testing.T) {
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/robots.txt" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, "<html><head><title>Hello page</title></head><body><main><h1>Hello</h1><p>World <a href='/next'>next</a></p></main></body></html>")
	}))
	defer web.Close()

	srv, err := mcpserver.New("fetch-test", "1.0.0", &mcpserver.Options{Sessions: mcpserver.Stateful})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	tools := testTools(t, nil)
	tools.Register(srv)
	mcpHTTP := httptest.NewServer(srv.Handler())
	defer mcpHTTP.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := client.NewStreamableHttpClient(mcpHTTP.URL + "/mcp")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = "2025-11-25"
	init.Params.ClientInfo = mcp.Implementation{Name: "e2e", Version: "1"}
	if _, err := c.Initialize(ctx, init); err != nil {
		t.Fatalf("initialize: %v", err)
	}
	list, err := c.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Tools) != 1 || list.Tools[0].Name != "fetch" {
		t.Fatalf("tools/list: %+v", list.Tools)
	}
	req := mcp.CallToolRequest{}
	req.Params.Name = "fetch"
	req.Params.Arguments = map[string]any{"url": web.URL + "/page"}
	res, err := c.CallTool(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if res.IsError || len(res.Content) == 0 {
		t.Fatalf("tools/call: %+v", res)
	}
	got := res.Content[0].(mcp.TextContent).Text
	if !strings.Contains(got, "# Hello\n\nWorld [next]("+web.URL+"/next)") {
		t.Errorf("text: %q", got)
	}
	sc, ok := res.StructuredContent.(map[string]any)
	if !ok || sc["title"] != "Hello page" || sc["status"] != float64(200) || sc["url"] != web.URL+"/page" {
		t.Errorf("structuredContent: %#v", res.StructuredContent)
	}

	// A refused URL is a tool error the model can read, not a protocol error.
	req.Params.Arguments = map[string]any{"url": "http://169.254.169.254/latest/meta-data/"}
	res, err = c.CallTool(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if !res.IsError || !strings.Contains(res.Content[0].(mcp.TextContent).Text, "cloud metadata") {
		t.Errorf("refusal: %+v", res)
	}
}

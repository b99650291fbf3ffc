package mcpserver_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcp-oauth-gateway/gateway/mcpserver"
)

const burst = 100

// burstTools registers tools that send 100 progress notifications, or 100
// log messages, as fast as they can, then answer.
func burstTools(s *mcpserver.Server) {
	s.AddTool(mcp.NewTool("progress_burst"), func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		for i := 1; i <= burst; i++ {
			if err := mcpserver.Progress(ctx, req, float64(i), burst, fmt.Sprintf("step %d", i)); err != nil {
				return nil, err
			}
		}
		return mcp.NewToolResultText("done"), nil
	})
	s.AddTool(mcp.NewTool("log_burst"), func(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		for i := 1; i <= burst; i++ {
			if err := mcpserver.Log(ctx, mcp.LoggingLevelInfo, "burst", fmt.Sprintf("line %d", i)); err != nil {
				return nil, err
			}
		}
		return mcp.NewToolResultText("done"), nil
	})
}

// checkBurst asserts that the call's stream carried every notification, in
// order, and then the response.
func checkBurst(t *testing.T, r *reply, method string) {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	msgs := messages(t, r.events)
	if len(msgs) != burst+1 {
		t.Fatalf("the call's stream carried %d messages, want %d notifications and the response", len(msgs), burst)
	}
	for i, m := range msgs[:burst] {
		if m["method"] != method {
			t.Fatalf("message %d is %v, want %s", i, m["method"], method)
		}
		p := m["params"].(map[string]any)
		var n string
		if method == "notifications/progress" {
			n = fmt.Sprint(p["progress"])
		} else {
			n = fmt.Sprint(p["data"])[len("line "):]
		}
		if n != fmt.Sprint(i+1) {
			t.Fatalf("notification %d carries %s: out of order", i+1, n)
		}
	}
	if textOf(t, msgs[burst]) != "done" {
		t.Fatalf("last message is not the response: %v", msgs[burst])
	}
}

// TestNotificationsStayOnTheirCall is the regression test for mcp-go
// v1.2.1's lost and misrouted notifications: 100 progress notifications (and
// 100 log messages) from one call all arrive, in order, on that call's own
// stream, with and without an open GET stream, 50 times.
func TestNotificationsStayOnTheirCall(t *testing.T) {
	for _, withGET := range []bool{false, true} {
		t.Run(fmt.Sprintf("GET stream open=%v", withGET), func(t *testing.T) {
			_, c := testServer(t, nil, burstTools)
			c.initialize("2025-11-25")
			c.call("logging/setLevel", map[string]any{"level": "debug"}, nil)

			var getEvents []sseEvent
			var wg sync.WaitGroup
			if withGET {
				ctx, cancel := context.WithCancel(context.Background())
				req := c.newRequest(http.MethodGet, "", map[string]string{"Accept": "text/event-stream"}).WithContext(ctx)
				resp, err := c.http.Do(req)
				if err != nil || resp.StatusCode != http.StatusOK {
					t.Fatalf("GET stream: %v %v", err, resp)
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					getEvents = readEvents(t, resp.Body, 0)
				}()
				defer func() {
					cancel()
					wg.Wait()
					if msgs := messages(t, getEvents); len(msgs) != 0 {
						t.Errorf("the GET stream carried %d messages that belong to calls, first %v", len(msgs), msgs[0])
					}
				}()
			}
			for run := 0; run < 50; run++ {
				r := c.call("tools/call", map[string]any{"name": "progress_burst",
					"_meta": map[string]any{"progressToken": fmt.Sprintf("run-%d", run)}}, nil)
				checkBurst(t, r, "notifications/progress")
				r = c.call("tools/call", map[string]any{"name": "log_burst"}, nil)
				checkBurst(t, r, "notifications/message")
			}
		})
	}
}

func TestNotificationsStatelessAndModern(t *testing.T) {
	t.Run("stateless", func(t *testing.T) {
		_, c := testServer(t, &mcpserver.Options{Sessions: mcpserver.Stateless}, burstTools)
		c.version = "2025-11-25"
		for run := 0; run < 20; run++ {
			r := c.call("tools/call", map[string]any{"name": "progress_burst", "_meta": map[string]any{"progressToken": run}}, nil)
			checkBurst(t, r, "notifications/progress")
		}
	})
	t.Run("2026-07-28", func(t *testing.T) {
		_, c := testServer(t, nil, burstTools)
		for run := 0; run < 20; run++ {
			r := c.modernWithMeta("tools/call", map[string]any{"name": "progress_burst"}, map[string]any{"progressToken": run})
			checkBurst(t, r, "notifications/progress")
		}
	})
}

func (c *client) modernWithMeta(method string, params map[string]any, meta map[string]any) *reply {
	c.t.Helper()
	m := map[string]any{
		"io.modelcontextprotocol/protocolVersion":    "2026-07-28",
		"io.modelcontextprotocol/clientInfo":         map[string]any{"name": "raw-test-client", "version": "0.1"},
		"io.modelcontextprotocol/clientCapabilities": map[string]any{},
	}
	for k, v := range meta {
		m[k] = v
	}
	params["_meta"] = m
	h := map[string]string{"MCP-Protocol-Version": "2026-07-28", "Mcp-Method": method, "Mcp-Session-Id": ""}
	if name, ok := params["name"].(string); ok {
		h["Mcp-Name"] = name
	}
	return c.post(c.request(method, params), h)
}

// TestBroadcastsGoToTheGETStream checks the other direction: what is not
// tied to a call (a list change) reaches the session's GET stream.
func TestBroadcastsGoToTheGETStream(t *testing.T) {
	s, c := testServer(t, nil, echoTool)
	c.initialize("2025-11-25")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req := c.newRequest(http.MethodGet, "", map[string]string{"Accept": "text/event-stream"}).WithContext(ctx)
	resp, err := c.http.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET: %v", err)
	}
	defer resp.Body.Close()
	// A second GET takes the stream over (the client reconnected): the
	// first connection's response ends, and the change goes to the second.
	second := c.openGet(nil)
	if !ended(resp.Body, 10*time.Second) {
		t.Fatal("the first GET stream stayed open after a second one took over")
	}
	s.AddTool(mcp.NewTool("late"), func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) { return nil, nil })
	events := messages(t, readEvents(t, second.Body, 2)) // the priming event, then the change
	if len(events) != 1 || events[0]["method"] != "notifications/tools/list_changed" {
		t.Fatalf("GET stream carried %v", events)
	}
}

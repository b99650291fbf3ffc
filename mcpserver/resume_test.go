package mcpserver_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/mcp-oauth-gateway/gateway/mcpserver"
)

// TestResumeAfterCloseStream: a tool ends its HTTP response mid-call
// (SEP-1699 polling); the client comes back with GET and Last-Event-ID and
// gets what followed, then the result.
func TestResumeAfterCloseStream(t *testing.T) {
	release := make(chan struct{})
	_, c := testServer(t, nil, func(s *mcpserver.Server) {
		s.AddLongRunningTool(mcp.NewTool("slow"), func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			_ = mcpserver.Progress(ctx, req, 1, 3, "before")
			if !mcpserver.CloseStream(ctx) {
				return mcp.NewToolResultError("stream not resumable"), nil
			}
			<-release
			_ = mcpserver.Progress(ctx, req, 2, 3, "after")
			return mcp.NewToolResultText("finished"), nil
		})
	})
	c.initialize("2025-11-25")
	first := c.call("tools/call", map[string]any{"name": "slow", "_meta": map[string]any{"progressToken": "t"}}, nil)
	if len(first.events) < 2 || first.events[0].data != "" || first.events[0].retry == "" {
		t.Fatalf("want a priming event with retry, then the first progress; got %+v", first.events)
	}
	msgs := messages(t, first.events)
	if len(msgs) != 1 || msgs[0]["method"] != "notifications/progress" {
		t.Fatalf("before the close the stream carried %v", msgs)
	}
	last := first.events[len(first.events)-1].id
	close(release)
	r := c.do(c.newRequest(http.MethodGet, "", map[string]string{"Accept": "text/event-stream", "Last-Event-ID": last}))
	resumed := messages(t, r.events)
	if len(resumed) != 2 || resumed[0]["method"] != "notifications/progress" || textOf(t, resumed[1]) != "finished" {
		t.Fatalf("resumed stream carried %v", resumed)
	}
}

// TestCloseStreamNeedsLongRunningTool: an ordinary tool runs on its
// request's goroutine and cannot end its response early.
func TestCloseStreamNeedsLongRunningTool(t *testing.T) {
	_, c := testServer(t, nil, func(s *mcpserver.Server) {
		s.AddTool(mcp.NewTool("quick"), func(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			if mcpserver.CloseStream(ctx) {
				return mcp.NewToolResultError("an ordinary tool closed its stream"), nil
			}
			return mcp.NewToolResultText("stayed"), nil
		})
	})
	c.initialize("2025-11-25")
	if got := textOf(t, c.call("tools/call", map[string]any{"name": "quick"}, nil).message(t)); got != "stayed" {
		t.Fatalf("got %q", got)
	}
}

// TestResumeAfterBrokenConnection: the client's connection breaks mid-call;
// the call goes on, and a GET with Last-Event-ID delivers the rest.
func TestResumeAfterBrokenConnection(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	_, c := testServer(t, nil, func(s *mcpserver.Server) {
		s.AddTool(mcp.NewTool("slow"), func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			_ = mcpserver.Progress(ctx, req, 1, 2, "")
			close(started)
			<-release
			return mcp.NewToolResultText("survived"), nil
		})
	})
	c.initialize("2025-11-25")
	ctx, cancel := context.WithCancel(context.Background())
	req := c.newRequest(http.MethodPost, c.request("tools/call", map[string]any{"name": "slow", "_meta": map[string]any{"progressToken": 1}}), nil).WithContext(ctx)
	resp, err := c.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	<-started
	events := readEvents(t, resp.Body, 2) // priming + progress
	cancel()
	resp.Body.Close()
	close(release)
	time.Sleep(50 * time.Millisecond)
	r := c.do(c.newRequest(http.MethodGet, "", map[string]string{"Accept": "text/event-stream", "Last-Event-ID": events[len(events)-1].id}))
	msgs := messages(t, r.events)
	if len(msgs) != 1 || textOf(t, msgs[0]) != "survived" {
		t.Fatalf("after reconnecting got %v", msgs)
	}
}

// TestServerRequestsRideTheCallStream: sampling and elicitation requests a
// tool makes go out on its call's stream and the client's answers, posted
// back, reach the tool.
func TestServerRequestsRideTheCallStream(t *testing.T) {
	_, c := testServer(t, nil, func(s *mcpserver.Server) {
		s.AddTool(mcp.NewTool("ask"), func(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			res, err := server.ServerFromContext(ctx).RequestSampling(ctx, mcp.CreateMessageRequest{CreateMessageParams: mcp.CreateMessageParams{
				Messages: []mcp.SamplingMessage{{Role: mcp.RoleUser, Content: mcp.NewTextContent("2+2?")}}, MaxTokens: 5}})
			if err != nil {
				return mcp.NewToolResultError(err.Error()), nil
			}
			t, _ := mcp.AsTextContent(res.Content)
			return mcp.NewToolResultText("model said " + t.Text), nil
		})
	})
	c.initialize("2025-11-25")
	req := c.newRequest(http.MethodPost, c.request("tools/call", map[string]any{"name": "ask"}), nil)
	resp, err := c.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	events := readEvents(t, resp.Body, 2) // priming, then the sampling request
	var sampling map[string]any
	if err := json.Unmarshal([]byte(events[1].data), &sampling); err != nil || sampling["method"] != "sampling/createMessage" {
		t.Fatalf("expected a sampling request on the call stream, got %q", events[1].data)
	}
	if !strings.Contains(events[1].data, `"2+2?"`) {
		t.Errorf("sampling request lost its messages: %s", events[1].data)
	}
	answer, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": sampling["id"], "result": map[string]any{
		"role": "assistant", "content": map[string]any{"type": "text", "text": "4"}, "model": "test"}})
	if r := c.post(string(answer), map[string]string{"Mcp-Session-Id": "someone-else"}); r.status != http.StatusNotFound {
		t.Errorf("answer from an unknown session: status %d, want 404", r.status)
	}
	if r := c.post(string(answer), nil); r.status != http.StatusAccepted {
		t.Fatalf("posting the answer: status %d", r.status)
	}
	rest := messages(t, readEvents(t, resp.Body, 0))
	if len(rest) != 1 || textOf(t, rest[0]) != "model said 4" {
		t.Fatalf("result after sampling: %v", rest)
	}
}

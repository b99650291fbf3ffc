package mcpserver_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
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

// resumeGet reconnects with Last-Event-ID. The server may not have noticed
// yet that the client dropped the connection it resumes; a 409 then means
// "not yet", and the client tries again.
func (c *client) resumeGet(last string) *reply {
	c.t.Helper()
	var r *reply
	waitUntil(10*time.Second, func() bool {
		r = c.do(c.newRequest(http.MethodGet, "", map[string]string{"Accept": "text/event-stream", "Last-Event-ID": last}))
		return r.status != http.StatusConflict
	})
	return r
}

// progressValues returns the progress numbers of the progress notifications
// among msgs, and whether the last message is the response with want.
func progressValues(t *testing.T, msgs []map[string]any, want string) ([]float64, bool) {
	t.Helper()
	var out []float64
	for _, m := range msgs {
		if m["method"] == "notifications/progress" {
			out = append(out, m["params"].(map[string]any)["progress"].(float64))
		}
	}
	return out, len(msgs) > 0 && msgs[len(msgs)-1]["result"] != nil && textOf(t, msgs[len(msgs)-1]) == want
}

// TestReplayIsBounded: what a call sends while nobody reads its stream is
// kept only within the replay window: a client that resumes late gets the
// newest events and the response, not everything.
func TestReplayIsBounded(t *testing.T) {
	const replay, sent = 5, 40
	closed, finished := make(chan struct{}), make(chan struct{})
	_, c := testServer(t, &mcpserver.Options{ReplayEvents: replay}, func(s *mcpserver.Server) {
		s.AddLongRunningTool(mcp.NewTool("chatty"), func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			defer close(finished)
			_ = mcpserver.Progress(ctx, req, 0, sent, "")
			mcpserver.CloseStream(ctx)
			<-closed
			for i := 1; i <= sent; i++ {
				_ = mcpserver.Progress(ctx, req, float64(i), sent, "")
			}
			return mcp.NewToolResultText("chatted"), nil
		})
	})
	c.initialize("2025-11-25")
	first := c.call("tools/call", map[string]any{"name": "chatty", "_meta": map[string]any{"progressToken": "p"}}, nil)
	if len(first.events) == 0 {
		t.Fatal("no events before the stream closed")
	}
	last := first.events[len(first.events)-1].id
	close(closed)
	<-finished
	r := c.resumeGet(last)
	if r.status != http.StatusOK {
		t.Fatalf("resume: status %d: %s", r.status, r.body)
	}
	progress, ok := progressValues(t, messages(t, r.events), "chatted")
	if !ok {
		t.Fatalf("the replay did not end with the response: %v", messages(t, r.events))
	}
	if len(progress) == 0 || len(progress) > 2*replay || progress[len(progress)-1] != sent {
		t.Fatalf("replayed progress %v: want at most %d of the newest, ending with %d", progress, 2*replay, sent)
	}
	for i := 1; i < len(progress); i++ {
		if progress[i] != progress[i-1]+1 {
			t.Fatalf("replayed progress %v is not consecutive", progress)
		}
	}
}

// TestResumeACompletedStream: a client that lost the end of a stream the
// server finished writing (the response was written just as the connection
// broke) can still resume it, as often as it needs to, and gets the same.
func TestResumeACompletedStream(t *testing.T) {
	_, c := testServer(t, nil, func(s *mcpserver.Server) {
		s.AddTool(mcp.NewTool("two_steps"), func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			_ = mcpserver.Progress(ctx, req, 1, 2, "")
			_ = mcpserver.Progress(ctx, req, 2, 2, "")
			return mcp.NewToolResultText("complete"), nil
		})
	})
	c.initialize("2025-11-25")
	r := c.call("tools/call", map[string]any{"name": "two_steps", "_meta": map[string]any{"progressToken": 9}}, nil)
	if len(r.events) != 4 || r.events[0].data != "" {
		t.Fatalf("want priming, two progress and the response; got %+v", r.events)
	}
	for round := 0; round < 2; round++ {
		again := c.resumeGet(r.events[1].id)
		msgs := messages(t, again.events)
		if progress, ok := progressValues(t, msgs, "complete"); !ok || len(progress) != 1 || progress[0] != 2 {
			t.Fatalf("round %d: resuming after the first progress gave %v", round, msgs)
		}
	}
}

// TestResumeTheGETStream: what the server sends on the GET stream while the
// client is away waits for it; reconnecting with Last-Event-ID, or without
// it, delivers what the client did not get.
func TestResumeTheGETStream(t *testing.T) {
	s, c := testServer(t, nil, echoTool)
	c.initialize("2025-11-25")
	noop := func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) { return nil, nil }
	ctx, cancel := context.WithCancel(context.Background())
	resp := c.open(c.newRequest(http.MethodGet, "", map[string]string{"Accept": "text/event-stream"}).WithContext(ctx))
	s.AddTool(mcp.NewTool("one"), noop)
	events := readEvents(t, resp.Body, 2) // priming, then tools/list_changed
	if len(events) != 2 || events[1].id == "" {
		t.Fatalf("GET stream: %+v", events)
	}
	cancel()
	resp.Body.Close()
	// While the client is away the server adds a tool and a prompt.
	s.AddTool(mcp.NewTool("two"), noop)
	s.AddPrompt(mcp.NewPrompt("p"), func(context.Context, mcp.GetPromptRequest) (*mcp.GetPromptResult, error) { return nil, nil })

	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	var back *http.Response
	waitUntil(10*time.Second, func() bool {
		back = c.open(c.newRequest(http.MethodGet, "", map[string]string{"Accept": "text/event-stream", "Last-Event-ID": events[1].id}).WithContext(ctx))
		return back.StatusCode != http.StatusConflict
	})
	if back.StatusCode != http.StatusOK {
		t.Fatalf("resuming the GET stream: %d", back.StatusCode)
	}
	var got []string
	for _, m := range messages(t, readEventsUntil(t, back.Body, "prompts/list_changed")) {
		got = append(got, m["method"].(string))
	}
	want := []string{"notifications/tools/list_changed", "notifications/prompts/list_changed"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("after reconnecting: %v, want %v", got, want)
	}
}

// TestQueuedBroadcastsAreBounded: list changes for a client that never
// opens its GET stream are kept within the replay window, not forever.
func TestQueuedBroadcastsAreBounded(t *testing.T) {
	const replay = 3
	s, c := testServer(t, &mcpserver.Options{ReplayEvents: replay}, echoTool)
	c.initialize("2025-11-25")
	noop := func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) { return nil, nil }
	for i := 0; i < 20; i++ {
		s.AddTool(mcp.NewTool(fmt.Sprintf("t%d", i)), noop)
	}
	get := c.openGet(nil)
	s.AddPrompt(mcp.NewPrompt("marker"), func(context.Context, mcp.GetPromptRequest) (*mcp.GetPromptResult, error) { return nil, nil })
	tools := 0
	for _, ev := range readEventsUntil(t, get.Body, "notifications/prompts/list_changed") {
		if strings.Contains(ev.data, "notifications/tools/list_changed") {
			tools++
		}
	}
	if tools == 0 || tools > 2*replay {
		t.Fatalf("the GET stream replayed %d of 20 queued list changes; want between 1 and %d", tools, 2*replay)
	}
}

// readEventsUntil reads SSE events up to and including the first whose data
// contains marker.
func readEventsUntil(t *testing.T, r io.Reader, marker string) []sseEvent {
	t.Helper()
	var out []sseEvent
	var ev sseEvent
	br := bufio.NewReader(r)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("the stream ended before %q; got %+v", marker, out)
		}
		line = strings.TrimRight(line, "\r\n")
		switch {
		case line == "":
			if ev.data != "" || ev.id != "" {
				out = append(out, ev)
				if strings.Contains(ev.data, marker) {
					return out
				}
			}
			ev = sseEvent{}
		case strings.HasPrefix(line, "id:"):
			ev.id = strings.TrimSpace(line[3:])
		case strings.HasPrefix(line, "data:"):
			ev.data += strings.TrimPrefix(line[5:], " ")
		}
	}
}

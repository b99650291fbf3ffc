package mcpserver_test

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/mcp-oauth-gateway/gateway/mcpserver"
)

// open starts a request and returns the response as it arrives, for streams
// the test reads while they are open.
func (c *client) open(req *http.Request) *http.Response {
	c.t.Helper()
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	c.t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// openGet opens the session's GET stream.
func (c *client) openGet(header map[string]string) *http.Response {
	c.t.Helper()
	h := map[string]string{"Accept": "text/event-stream"}
	for k, v := range header {
		h[k] = v
	}
	resp := c.open(c.newRequest(http.MethodGet, "", h))
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		c.t.Fatalf("GET: status %d: %s", resp.StatusCode, body)
	}
	return resp
}

// ended reports whether body ends (EOF or a broken read) within d.
func ended(body io.Reader, d time.Duration) bool {
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, body)
		close(done)
	}()
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}

// waitUntil polls cond until it holds or d passes.
func waitUntil(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

// TestSessionBelongsToSubjectAndClient: a session is bound to the user and
// to the OAuth client it was created with; another client of the same user
// cannot use, read or end it.
func TestSessionBelongsToSubjectAndClient(t *testing.T) {
	auth := func(w http.ResponseWriter, r *http.Request) (*mcpserver.Identity, bool) {
		return &mcpserver.Identity{Subject: "alice", ClientID: r.Header.Get("X-Client")}, true
	}
	s, c := testServer(t, &mcpserver.Options{Authenticate: auth}, echoTool)
	c.call("initialize", map[string]any{"protocolVersion": "2025-11-25", "capabilities": map[string]any{},
		"clientInfo": map[string]any{"name": "x", "version": "1"}}, map[string]string{"X-Client": "desktop-app"})
	if s.ActiveSessions() != 1 {
		t.Fatalf("ActiveSessions = %d", s.ActiveSessions())
	}
	c.session = ""
	r := c.call("initialize", map[string]any{"protocolVersion": "2025-11-25", "capabilities": map[string]any{},
		"clientInfo": map[string]any{"name": "x", "version": "1"}}, map[string]string{"X-Client": "desktop-app"})
	c.session, c.version = r.header.Get("Mcp-Session-Id"), "2025-11-25"
	other := map[string]string{"X-Client": "web-app"}
	if r := c.call("ping", nil, other); r.status != http.StatusNotFound {
		t.Errorf("POST by another client of the same user: status %d, want 404", r.status)
	}
	if r := c.do(c.newRequest(http.MethodGet, "", map[string]string{"X-Client": "web-app", "Accept": "text/event-stream"})); r.status != http.StatusNotFound {
		t.Errorf("GET by another client of the same user: status %d, want 404", r.status)
	}
	if r := c.do(c.newRequest(http.MethodDelete, "", other)); r.status != http.StatusNotFound {
		t.Errorf("DELETE by another client of the same user: status %d, want 404", r.status)
	}
	if r := c.call("ping", nil, map[string]string{"X-Client": "desktop-app"}); r.status != http.StatusOK {
		t.Errorf("the creating client: status %d", r.status)
	}
	if s.ActiveSessions() != 2 {
		t.Errorf("ActiveSessions = %d after the refused DELETE, want 2", s.ActiveSessions())
	}
}

// TestSessionCapFreesOnDeleteAndExpiry: a slot under MaxSessions comes back
// when a session is deleted or expires.
func TestSessionCapFreesOnDeleteAndExpiry(t *testing.T) {
	s, c := testServer(t, &mcpserver.Options{MaxSessions: 1, SessionIdleTimeout: 100 * time.Millisecond}, echoTool)
	initialize := func() *reply {
		c.session = ""
		return c.call("initialize", map[string]any{"protocolVersion": "2025-11-25", "capabilities": map[string]any{},
			"clientInfo": map[string]any{"name": "x", "version": "1"}}, nil)
	}
	first := initialize()
	if first.status != http.StatusOK {
		t.Fatalf("first initialize: %d", first.status)
	}
	if r := initialize(); r.status != http.StatusServiceUnavailable || r.errorCode(t) != -32000 {
		t.Fatalf("initialize over the cap: status %d: %s", r.status, r.body)
	}
	c.session = first.header.Get("Mcp-Session-Id")
	if r := c.do(c.newRequest(http.MethodDelete, "", nil)); r.status != http.StatusNoContent {
		t.Fatalf("DELETE: %d", r.status)
	}
	if r := initialize(); r.status != http.StatusOK {
		t.Fatalf("initialize after DELETE freed the slot: %d %s", r.status, r.body)
	}
	if !waitUntil(10*time.Second, func() bool { return s.ActiveSessions() == 0 }) {
		t.Fatal("the idle session never expired")
	}
	if r := initialize(); r.status != http.StatusOK {
		t.Fatalf("initialize after expiry freed the slot: %d %s", r.status, r.body)
	}
}

// TestOpenStreamKeepsSessionAlive: a session whose client holds its GET
// stream open is not idle, however long no request comes; once the stream
// closes, the session expires.
func TestOpenStreamKeepsSessionAlive(t *testing.T) {
	s, c := testServer(t, &mcpserver.Options{SessionIdleTimeout: 50 * time.Millisecond}, echoTool)
	c.initialize("2025-11-25")
	ctx, cancel := context.WithCancel(context.Background())
	resp := c.open(c.newRequest(http.MethodGet, "", map[string]string{"Accept": "text/event-stream"}).WithContext(ctx))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET: %d", resp.StatusCode)
	}
	time.Sleep(500 * time.Millisecond) // ten idle timeouts
	if s.ActiveSessions() != 1 {
		t.Fatal("a session with an open GET stream expired")
	}
	cancel()
	if !waitUntil(10*time.Second, func() bool { return s.ActiveSessions() == 0 }) {
		t.Fatal("the session outlived its closed stream by far")
	}
	if r := c.call("ping", nil, nil); r.status != http.StatusNotFound {
		t.Errorf("ping on the expired session: %d, want 404", r.status)
	}
}

// TestDeleteEndsStreamsAndWaits: DELETE closes the session's open streams
// and fails the server requests a tool still waits for.
func TestDeleteEndsStreamsAndWaits(t *testing.T) {
	asked := make(chan error, 1)
	_, c := testServer(t, nil, func(s *mcpserver.Server) {
		s.AddTool(mcp.NewTool("ask"), func(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			_, err := server.ServerFromContext(ctx).RequestSampling(ctx, mcp.CreateMessageRequest{CreateMessageParams: mcp.CreateMessageParams{
				Messages: []mcp.SamplingMessage{{Role: mcp.RoleUser, Content: mcp.NewTextContent("?")}}, MaxTokens: 5}})
			asked <- err
			return mcp.NewToolResultText("done"), nil
		})
	})
	c.initialize("2025-11-25")
	get := c.openGet(nil)
	post := c.open(c.newRequest(http.MethodPost, c.request("tools/call", map[string]any{"name": "ask"}), nil))
	if events := readEvents(t, post.Body, 2); len(events) != 2 || events[1].data == "" {
		t.Fatalf("want the priming event and the sampling request, got %+v", events)
	}
	if r := c.do(c.newRequest(http.MethodDelete, "", nil)); r.status != http.StatusNoContent {
		t.Fatalf("DELETE: %d", r.status)
	}
	select {
	case err := <-asked:
		if err == nil {
			t.Error("the sampling request succeeded after DELETE")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the tool still waits for an answer after DELETE")
	}
	if !ended(get.Body, 10*time.Second) {
		t.Error("the GET stream stayed open after DELETE")
	}
	if !ended(post.Body, 10*time.Second) {
		t.Error("the POST stream stayed open after DELETE")
	}
	if r := c.call("ping", nil, nil); r.status != http.StatusNotFound {
		t.Errorf("ping after DELETE: %d", r.status)
	}
}

// TestCloseEndsEverything: Close ends every session and its streams.
func TestCloseEndsEverything(t *testing.T) {
	s, c := testServer(t, nil, echoTool)
	c.initialize("2025-11-25")
	get := c.openGet(nil)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if !ended(get.Body, 10*time.Second) {
		t.Fatal("the GET stream stayed open after Close")
	}
	if s.ActiveSessions() != 0 {
		t.Errorf("ActiveSessions = %d after Close", s.ActiveSessions())
	}
	if r := c.call("ping", nil, nil); r.status != http.StatusNotFound {
		t.Errorf("ping after Close: %d", r.status)
	}
}

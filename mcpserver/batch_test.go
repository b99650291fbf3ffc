package mcpserver_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcp-oauth-gateway/gateway/mcpserver"
)

// batchReplies decodes the JSON array a batch is answered with.
func batchReplies(t *testing.T, r *reply) []map[string]any {
	t.Helper()
	if r.status != http.StatusOK || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("batch: status %d, Content-Type %q: %s", r.status, r.header.Get("Content-Type"), r.body)
	}
	var out []map[string]any
	if err := json.Unmarshal(r.body, &out); err != nil {
		t.Fatalf("batch reply is not a JSON array: %v: %s", err, r.body)
	}
	return out
}

// TestBatches: a 2025-03-26 client may send several messages in one JSON
// array; each request gets its response, in order, in one JSON array, and
// what is wrong with one message fails that message alone.
func TestBatches(t *testing.T) {
	_, c := testServer(t, nil, echoTool)
	c.initialize("2025-03-26")
	r := c.post(`[
		{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"message":"first"}}},
		{"jsonrpc":"2.0","method":"notifications/roots/list_changed"},
		{"jsonrpc":"2.0","id":"two","method":"ping"},
		{"jsonrpc":"2.0","id":3,"method":"initialize","params":{"protocolVersion":"2025-03-26","capabilities":{},"clientInfo":{"name":"x","version":"1"}}},
		{"jsonrpc":"1.0","id":4,"method":"ping"},
		{"jsonrpc":"2.0","id":5,"method":"no/such/method"},
		{"jsonrpc":"2.0","id":6,"result":{}}
	]`, nil)
	got := batchReplies(t, r)
	want := []struct {
		id   any
		code int // 0: a result
	}{{float64(1), 0}, {"two", 0}, {float64(3), mcp.INVALID_REQUEST}, {float64(4), mcp.INVALID_REQUEST}, {float64(5), mcp.METHOD_NOT_FOUND}}
	if len(got) != len(want) {
		t.Fatalf("%d replies, want %d (one per request, none for the notification and the response): %s", len(got), len(want), r.body)
	}
	for i, w := range want {
		if got[i]["id"] != w.id || got[i]["jsonrpc"] != "2.0" {
			t.Errorf("reply %d: id %v, want %v", i, got[i]["id"], w.id)
		}
		e, isErr := got[i]["error"].(map[string]any)
		switch {
		case w.code == 0 && isErr:
			t.Errorf("reply %d: error %v, want a result", i, e)
		case w.code != 0 && (!isErr || int(e["code"].(float64)) != w.code):
			t.Errorf("reply %d: %v, want error %d", i, got[i], w.code)
		}
	}
	if text := textOf(t, got[0]); text != "first" {
		t.Errorf("echo in a batch = %q", text)
	}
}

func TestBatchEdges(t *testing.T) {
	_, c := testServer(t, nil, echoTool)
	c.initialize("2025-03-26")
	sid := c.session

	t.Run("notifications only", func(t *testing.T) {
		c.session = sid
		r := c.post(`[{"jsonrpc":"2.0","method":"notifications/roots/list_changed"},{"jsonrpc":"2.0","method":"notifications/roots/list_changed"}]`, nil)
		if r.status != http.StatusAccepted || len(r.body) != 0 {
			t.Fatalf("status %d, body %q; want 202 and no body", r.status, r.body)
		}
	})
	for _, tc := range []struct {
		name, body string
		header     map[string]string
		status     int
		code       int
	}{
		{"empty batch", `[]`, nil, 400, mcp.INVALID_REQUEST},
		{"broken JSON", `[{"jsonrpc":"2.0","id":1,`, nil, 400, mcp.PARSE_ERROR},
		{"no session id", `[{"jsonrpc":"2.0","id":1,"method":"ping"}]`, map[string]string{"Mcp-Session-Id": ""}, 400, mcp.INVALID_REQUEST},
		{"unknown session", `[{"jsonrpc":"2.0","id":1,"method":"ping"}]`, map[string]string{"Mcp-Session-Id": "nope"}, 404, mcp.INVALID_REQUEST},
		{"2025-11-25 has no batches", `[{"jsonrpc":"2.0","id":1,"method":"ping"}]`, map[string]string{"MCP-Protocol-Version": "2025-11-25"}, 400, mcp.INVALID_REQUEST},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c.session = sid
			r := c.post(tc.body, tc.header)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if got := r.errorCode(t); got != tc.code {
				t.Errorf("code %d, want %d", got, tc.code)
			}
		})
	}
	t.Run("without a version header", func(t *testing.T) {
		c.session = sid
		r := c.post(`[{"jsonrpc":"2.0","id":7,"method":"ping"}]`, map[string]string{"MCP-Protocol-Version": ""})
		if got := batchReplies(t, r); len(got) != 1 || got[0]["id"] != float64(7) || got[0]["result"] == nil {
			t.Fatalf("got %v", got)
		}
	})
}

func TestBatchOnAStatelessServer(t *testing.T) {
	_, c := testServer(t, &mcpserver.Options{Sessions: mcpserver.Stateless}, echoTool)
	c.version = "2025-03-26"
	r := c.post(`[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"message":"no session"}}}]`, nil)
	got := batchReplies(t, r)
	if len(got) != 1 || textOf(t, got[0]) != "no session" {
		t.Fatalf("got %v", got)
	}
}

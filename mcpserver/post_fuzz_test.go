package mcpserver_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcp-oauth-gateway/gateway/mcpserver"
)

// FuzzPost sends any body with any of the headers the POST path reads, on a
// fresh session, a live one or none, and checks that the answer is a
// well-formed one: 202 with no body, a JSON-RPC message (or a batch of
// them) as application/json, or an SSE stream of JSON-RPC messages, with an
// HTTP status the transport uses, and never a panic. Its seed corpus is in
// testdata/fuzz/FuzzPost.
func FuzzPost(f *testing.F) {
	s, err := mcpserver.New("fuzz", "1.0.0", &mcpserver.Options{
		MaxSessions:  64,
		MaxBodyBytes: 64 << 10,
		Logger:       slog.New(slog.DiscardHandler),
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	echoTool(s)
	s.AddTool(mcp.NewToolWithRawSchema("regional", "Takes its region in a header too",
		json.RawMessage(`{"type":"object","properties":{"region":{"type":"string","x-mcp-header":"Region"}}}`)),
		func(_ context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return mcp.NewToolResultText(req.GetString("region", "")), nil
		})
	h := s.Handler()
	live := fuzzInitialize(f, h)

	f.Add(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"message":"x"}}}`,
		"application/json", "application/json, text/event-stream", "2025-11-25", uint8(1), "", "", "")
	f.Add(`[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","method":"notifications/initialized"}]`,
		"application/json", "", "2025-03-26", uint8(1), "", "", "")
	f.Add(`{"jsonrpc":"2.0","id":"a","method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"f","version":"1"}}}`,
		"application/json; charset=utf-8", "*/*", "", uint8(0), "", "", "")
	f.Add(`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"regional","arguments":{"region":"eu"},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}`,
		"application/json", "text/event-stream", "2026-07-28", uint8(2), "", "tools/call", "regional")
	f.Add(`{"jsonrpc":"2.0","id":3,"result":{}}`, "application/json", "application/json", "2025-11-25", uint8(1), "1_1", "", "")
	f.Add(`{"jsonrpc":"2.0","id":null,"method":"ping"}`, "text/plain", "text/html", "1999-01-01", uint8(3), "x", "ping", "")
	f.Add("\xff\xfe{", "application/json", "application/json;q=0", "", uint8(1), "", "", "")

	f.Fuzz(func(t *testing.T, body, contentType, accept, version string, session uint8, lastEventID, mcpMethod, mcpName string) {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		req := httptest.NewRequestWithContext(ctx, http.MethodPost, "http://localhost/mcp", strings.NewReader(body))
		for name, v := range map[string]string{
			"Content-Type": contentType, "Accept": accept, "MCP-Protocol-Version": version,
			"Last-Event-ID": lastEventID, "Mcp-Method": mcpMethod, "Mcp-Name": mcpName,
		} {
			if v != "" {
				req.Header.Set(name, v)
			}
		}
		switch session % 4 {
		case 1:
			req.Header.Set("Mcp-Session-Id", live)
		case 2:
			req.Header.Set("Mcp-Session-Id", "not-a-session")
		case 3:
			req.Header.Set("Mcp-Session-Id", fuzzInitialize(t, h))
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		checkAnswer(t, rec)
	})
}

// fuzzInitialize opens a session on h and returns its id.
func fuzzInitialize(t testing.TB, h http.Handler) string {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, newPost("http://localhost/mcp", initBody, ""))
	return rec.Header().Get("Mcp-Session-Id")
}

// checkAnswer fails t unless rec holds a well-formed answer.
func checkAnswer(t *testing.T, rec *httptest.ResponseRecorder) {
	t.Helper()
	switch rec.Code {
	case 200, 202, 400, 404, 406, 413, 415, 503:
	default:
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	body := rec.Body.Bytes()
	ct := rec.Header().Get("Content-Type")
	switch {
	case rec.Code == http.StatusAccepted:
		if len(body) != 0 {
			t.Fatalf("202 with a body: %q", body)
		}
	case ct == "application/json":
		checkJSONRPC(t, rec.Code, body)
	case ct == "text/event-stream":
		if rec.Code != http.StatusOK {
			t.Fatalf("SSE with status %d", rec.Code)
		}
		sc := bufio.NewScanner(bytes.NewReader(body))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok && data != "" { // "" is a priming event
				checkJSONRPC(t, 200, []byte(data))
			}
		}
	default:
		t.Fatalf("status %d with Content-Type %q: %q", rec.Code, ct, body)
	}
}

// checkJSONRPC fails t unless data is a JSON-RPC 2.0 message, or an array
// of them, and an error status carries a JSON-RPC error.
func checkJSONRPC(t *testing.T, status int, data []byte) {
	t.Helper()
	type message struct {
		JSONRPC string          `json:"jsonrpc"`
		ID      json.RawMessage `json:"id"`
		Method  string          `json:"method"`
		Result  json.RawMessage `json:"result"`
		Error   *struct {
			Code    *int    `json:"code"`
			Message *string `json:"message"`
		} `json:"error"`
	}
	var msgs []message
	if trimmed := bytes.TrimSpace(data); len(trimmed) > 0 && trimmed[0] == '[' {
		if err := json.Unmarshal(trimmed, &msgs); err != nil || len(msgs) == 0 {
			t.Fatalf("not a batch of JSON-RPC messages: %v: %s", err, data)
		}
	} else {
		var m message
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatalf("not a JSON-RPC message: %v: %s", err, data)
		}
		msgs = append(msgs, m)
	}
	for _, m := range msgs {
		if m.JSONRPC != "2.0" {
			t.Fatalf("jsonrpc member %q in %s", m.JSONRPC, data)
		}
		if m.Error != nil && (m.Error.Code == nil || m.Error.Message == nil) {
			t.Fatalf("error without code or message: %s", data)
		}
		if m.Method == "" && m.Error == nil && m.Result == nil {
			t.Fatalf("neither a request, a result nor an error: %s", data)
		}
		if status >= 400 && m.Error == nil {
			t.Fatalf("status %d without a JSON-RPC error: %s", status, data)
		}
	}
}

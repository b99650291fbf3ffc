package mcpauth_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcp-oauth-gateway/gateway/internal/authtest"
	"github.com/mcp-oauth-gateway/gateway/oauth/mcpauth"
)

// newTransport returns a Transport on env's MCP server with a test browser
// login and the given store.
func newTransport(t *testing.T, env *authtest.Env, store mcpauth.Store, mod func(*mcpauth.Options)) *mcpauth.Transport {
	t.Helper()
	o := &mcpauth.Options{
		Store:  store,
		Login:  &mcpauth.Browser{Open: authtest.Browser, Out: io.Discard},
		Logger: slog.New(slog.DiscardHandler),
	}
	if mod != nil {
		mod(o)
	}
	tr, err := mcpauth.NewTransport(env.MCP, o)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// echoCall calls the echo tool over plain HTTP (a stateless server) and
// returns its text.
func echoCall(t *testing.T, hc *http.Client, url, msg string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": "tools/call",
		"params": map[string]any{"name": "echo", "arguments": map[string]any{"message": msg}}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Mcp-Protocol-Version", "2025-06-18")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("tools/call: HTTP %d: %s", resp.StatusCode, b)
	}
	s := string(b)
	if i := strings.Index(s, "data: "); i >= 0 {
		s = s[i+6:]
	}
	var m struct {
		Result struct {
			Content []struct{ Text string } `json:"content"`
		} `json:"result"`
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(s)), &m); err != nil || len(m.Result.Content) == 0 {
		t.Fatalf("tools/call: %s", b)
	}
	return m.Result.Content[0].Text
}

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	d  time.Duration
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.d)
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.d += d
	c.mu.Unlock()
}

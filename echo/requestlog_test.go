package echo_test

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mcp-oauth-gateway/gateway/echo"
)

func TestLogRequests(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	// A streaming handler: the wrapper must let it flush.
	h := echo.LogRequests(logger, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusTeapot)
		io.WriteString(w, "data: one\n\n")
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("flush through the wrapper: %v", err)
		}
	}))
	hs := httptest.NewServer(h)
	defer hs.Close()
	req, _ := http.NewRequest(http.MethodPost, hs.URL+"/mcp", nil)
	req.Header.Set("Authorization", "Bearer secret-token-value")
	req.Header.Set("Cookie", "sid=cookie-value")
	req.Header.Set("Mcp-Session-Id", "0123456789abcdefghijklmnopqrstuv")
	req.Header.Set("X-Forwarded-For", "203.0.113.9")
	req.Header.Set("X-User-Name", "alice")
	resp, err := hs.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusTeapot || string(body) != "data: one\n\n" {
		t.Fatalf("response %d %q", resp.StatusCode, body)
	}
	out := logs.String()
	for _, want := range []string{`msg="http request"`, "method=POST", "path=/mcp", "status=418", "forwarded_for=203.0.113.9",
		"user=alice", "session=01234567...", "authorization=true", "duration="} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q: %s", want, out)
		}
	}
	for _, secret := range []string{"secret-token-value", "cookie-value", "0123456789abcdefghij"} {
		if strings.Contains(out, secret) {
			t.Errorf("log shows %q: %s", secret, out)
		}
	}
}

func TestLogRequestsQuietAboveDebug(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	h := echo.LogRequests(logger, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/health", nil))
	if logs.Len() != 0 {
		t.Errorf("logged at info level: %s", logs.String())
	}
}

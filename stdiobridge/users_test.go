package stdiobridge

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcp-oauth-gateway/gateway/stdiobridge/stdiotest"
)

// TestUsers: each caller gets processes of its own, started with its own
// credential; a caller whose credential changes gets new processes with
// the new one (its old session is unknown, so the client starts a new
// one), and the old processes stop. Legacy sessions and 2026-07-28
// requests alike.
func TestUsers(t *testing.T) {
	var mu sync.Mutex
	tokens := map[string]string{"alice": "alice-token-1", "bob": "bob-token-1"}
	env := func(w http.ResponseWriter, r *http.Request) (string, []string, bool) {
		caller := r.Header.Get("X-Test-Caller")
		mu.Lock()
		tok, ok := tokens[caller]
		mu.Unlock()
		if !ok {
			http.Error(w, "who?", http.StatusUnauthorized)
			return "", nil, false
		}
		return caller, []string{"UPSTREAM_TOKEN=" + tok}, true
	}
	u, err := NewUsers(testCommand(), env, &UsersOptions{
		Proxy:       ProxyOptions{Logger: quietLogger(t), StopGrace: 300 * time.Millisecond},
		RetireAfter: time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(u)
	t.Cleanup(func() { srv.Close(); _ = u.Close() })

	session := func(caller string) *client {
		c := newClient(t, srv.URL)
		c.header.Set("X-Test-Caller", caller)
		c.initialize()
		return c
	}
	credential := func(c *client) string {
		t.Helper()
		r, _ := c.call("tools/call", map[string]any{"name": "credential", "arguments": map[string]any{"name": "UPSTREAM_TOKEN"}})
		return toolText(t, r)
	}
	pid := func(report string) string { return report[strings.LastIndex(report, " ")+1:] }
	want := func(token string) string { return strings.TrimSuffix(stdiotest.CredentialReport(token, 0), " pid 0") }

	alice, bob := session("alice"), session("bob")
	ra, rb := credential(alice), credential(bob)
	if !strings.HasPrefix(ra, want("alice-token-1")+" ") || !strings.HasPrefix(rb, want("bob-token-1")+" ") || pid(ra) == pid(rb) {
		t.Fatalf("alice's process: %q, bob's: %q", ra, rb)
	}
	// 2026-07-28 requests: each caller's own pooled process.
	modern := func(caller string) string {
		t.Helper()
		c := newClient(t, srv.URL)
		c.header.Set("X-Test-Caller", caller)
		resp, msgs := c.modern(1, "tools/call", map[string]any{"name": "credential", "arguments": map[string]any{"name": "UPSTREAM_TOKEN"}}, nil, nil)
		if resp.StatusCode != http.StatusOK || len(msgs) == 0 {
			t.Fatalf("2026-07-28 tools/call: HTTP %d %v", resp.StatusCode, msgs)
		}
		return toolText(t, msgs[len(msgs)-1])
	}
	if ma, mb := modern("alice"), modern("bob"); !strings.HasPrefix(ma, want("alice-token-1")+" ") || !strings.HasPrefix(mb, want("bob-token-1")+" ") {
		t.Fatalf("2026-07-28: alice %q, bob %q", ma, mb)
	}
	if n := u.Callers(); n != 2 {
		t.Fatalf("%d callers", n)
	}
	before := u.Children()

	// Alice's token is renewed: her old session is unknown now, a new one
	// runs with the new token in another process; bob's is untouched.
	mu.Lock()
	tokens["alice"] = "alice-token-2"
	mu.Unlock()
	resp := alice.do("POST", `{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"credential","arguments":{"name":"UPSTREAM_TOKEN"}}}`, nil)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("alice's old session after the renewal: HTTP %d, want 404", resp.StatusCode)
	}
	alice2 := session("alice")
	ra2 := credential(alice2)
	if !strings.HasPrefix(ra2, want("alice-token-2")+" ") || pid(ra2) == pid(ra) {
		t.Fatalf("alice's new session: %q (before %q)", ra2, ra)
	}
	if got := credential(bob); got != rb {
		t.Fatalf("bob's session after alice's renewal: %q, was %q", got, rb)
	}
	if ma := modern("alice"); !strings.HasPrefix(ma, want("alice-token-2")+" ") {
		t.Fatalf("alice's 2026-07-28 request after the renewal: %q", ma)
	}

	// The retired processes (alice's first session's and pool's) stop.
	u.sweep(time.Now())
	deadline := time.Now().Add(20 * time.Second)
	for u.Children() >= before+1 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := u.Children(); n > before {
		t.Fatalf("%d processes after the retirement, %d before the renewal", n, before)
	}

	// An unknown caller is answered by the function.
	c := newClient(t, srv.URL)
	c.header.Set("X-Test-Caller", "mallory")
	resp = c.do("POST", `{"jsonrpc":"2.0","id":1,"method":"ping"}`, nil)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("unknown caller: HTTP %d", resp.StatusCode)
	}
}

func TestNewUsersRefusesShared(t *testing.T) {
	if _, err := NewUsers(testCommand(), func(http.ResponseWriter, *http.Request) (string, []string, bool) { return "", nil, true },
		&UsersOptions{Proxy: ProxyOptions{Shared: true}}); err == nil {
		t.Fatal("a shared process for per-caller environments was accepted")
	}
}

package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/mcp-oauth-gateway/gateway/internal/testenv"
)

// redisProc is a redis-server of the fault tests' own, which they stop
// and start again on the same port; its data is kept in an append-only
// file (fsync on every write), as a production Redis keeps it.
type redisProc struct {
	t        *testing.T
	bin, dir string
	port     string
	cmd      *exec.Cmd
	done     chan struct{}
}

func startRedis(t *testing.T) *redisProc {
	t.Helper()
	bin := os.Getenv("REDIS_SERVER")
	if bin == "" {
		bin = "redis-server"
	}
	if _, err := exec.LookPath(bin); err != nil {
		t.Fatalf("redis-server is not installed (apt-get install redis-server; scripts/setup.sh does it): %v", err)
	}
	r := &redisProc{t: t, bin: bin, dir: t.TempDir(), port: testenv.Port(t)}
	r.start()
	t.Cleanup(r.stop)
	return r
}

func (r *redisProc) url() string { return "redis://127.0.0.1:" + r.port + "/0" }

func (r *redisProc) start() {
	r.t.Helper()
	r.cmd = exec.Command(r.bin, "--port", r.port, "--bind", "127.0.0.1", "--dir", r.dir, "--appendonly", "yes",
		"--appendfsync", "always", "--save", "", "--daemonize", "no", "--protected-mode", "yes")
	if err := r.cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	done := make(chan struct{})
	r.done = done
	go func(c *exec.Cmd) { _ = c.Wait(); close(done) }(r.cmd)
	waitFor(r.t, "redis-server to answer", func() bool {
		c, err := net.Dial("tcp", "127.0.0.1:"+r.port)
		if err != nil {
			return false
		}
		defer c.Close()
		_, _ = c.Write([]byte("PING\r\n"))
		b := make([]byte, 7)
		n, _ := c.Read(b)
		return strings.HasPrefix(string(b[:n]), "+PONG")
	})
}

func (r *redisProc) stop() {
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	<-r.done
	r.cmd = nil
}

// TestRedisOutage: Redis stops while clients call tools through the
// gateway. Requests fail fast with 503 and a reason, /ready says the
// store is unavailable, nothing panics; when Redis returns, service comes
// back by itself with the same clients and tokens.
func TestRedisOutage(t *testing.T) {
	rd := startRedis(t)
	g := start(t, []string{"REDIS_URL=" + rd.url()}, "--dev-user", "robot")
	u := g.base + "/echo-stateless/mcp"
	c := newClient(t)
	c.login(u, false)

	var (
		ok, unavailable, other atomic.Int64
		slowest                atomic.Int64 // ns, of the requests answered while Redis is down
		down                   atomic.Bool
		firstOther             atomic.Value
		stop                   = make(chan struct{})
		wg                     sync.WaitGroup
	)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := &mcp{c: newClient(t), url: u}
			s.c.access = c.access
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				wasDown := down.Load()
				begin := time.Now()
				res, e, status := s.try("tools/call", map[string]any{"name": "echo", "arguments": map[string]any{"message": fmt.Sprintf("w%d-%d", w, i)}})
				d := time.Since(begin)
				switch {
				case status == 200 && e == nil && res != nil:
					ok.Add(1)
				case status == http.StatusServiceUnavailable:
					unavailable.Add(1)
					if wasDown && int64(d) > slowest.Load() {
						slowest.Store(int64(d))
					}
				default:
					other.Add(1)
					firstOther.CompareAndSwap(nil, fmt.Sprintf("status %d error %v", status, e))
				}
				time.Sleep(5 * time.Millisecond)
			}
		}()
	}
	defer func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		wg.Wait()
	}()
	waitFor(t, "calls to succeed", func() bool { return ok.Load() > 50 })

	rd.stop()
	down.Store(true)
	waitFor(t, "calls to be refused with 503", func() bool { return unavailable.Load() > 20 })
	status, body := get(t, g.base+"/ready")
	if status != http.StatusServiceUnavailable || !strings.Contains(body, "unavailable") {
		t.Errorf("/ready with Redis down: %d %s", status, body)
	}
	// The refusal says why, in OAuth's words.
	req, _ := http.NewRequest("POST", u, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
	req.Header.Set("Authorization", "Bearer "+c.access)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" && !strings.Contains(resp.Header.Get("WWW-Authenticate"), "temporarily_unavailable") {
		t.Errorf("a call with Redis down: %d, Retry-After %q, WWW-Authenticate %q", resp.StatusCode, resp.Header.Get("Retry-After"), resp.Header.Get("WWW-Authenticate"))
	}

	before := ok.Load()
	rd.start()
	down.Store(false)
	waitFor(t, "calls to succeed again after Redis returned", func() bool { return ok.Load() > before+50 })
	close(stop)
	wg.Wait()
	if n := other.Load(); n != 0 {
		t.Errorf("%d calls got neither success nor 503; first: %v", n, firstOther.Load())
	}
	t.Logf("calls: %d succeeded, %d refused with 503 while Redis was down (the slowest refusal took %v)", ok.Load(), unavailable.Load(), time.Duration(slowest.Load()))
	if d := time.Duration(slowest.Load()); d > 10*time.Second {
		t.Errorf("a refusal took %v: requests wait for Redis instead of failing fast", d)
	}
	if status, body := get(t, g.base+"/ready"); status != 200 {
		t.Errorf("/ready after Redis returned: %d %s", status, body)
	}
	// The same client and its tokens, from before the outage.
	c.refreshTokens()
	if text, _ := (&mcp{c: c, url: u}).callTool("echo", map[string]any{"message": "after the outage"}); !strings.Contains(text, "after the outage") {
		t.Errorf("after the outage: %q", text)
	}
	if strings.Contains(g.stderr.String(), "panic") {
		t.Errorf("the gateway panicked:\n%s", g.stderr)
	}
	g.stop(t)
}

// TestKilledAndRestarted: the gateway dies (SIGKILL, no shutdown) and
// starts again on the same store; its clients' registrations, refresh
// tokens and access tokens (the signing key is in the store) survive, on
// the embedded file store and on Redis.
func TestKilledAndRestarted(t *testing.T) {
	rd := startRedis(t)
	stores := []struct {
		name string
		env  []string
		args []string
	}{
		{"embedded file", nil, []string{"--store", t.TempDir() + "/gateway.db"}},
		{"redis", []string{"REDIS_URL=" + rd.url()}, nil},
	}
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			port := testenv.Port(t)
			args := append([]string{"--dev-user", "robot"}, st.args...)
			g := startOn(t, port, st.env, args...)
			u := g.base + "/echo-stateful/mcp"
			c := newClient(t)
			c.login(u, false)
			c.refreshTokens() // a rotated refresh token, the newest of its family
			access := c.access

			_ = g.cmd.Process.Kill()
			<-g.done
			g.done <- nil
			g2 := startOn(t, port, st.env, args...)

			s := &mcp{c: c, url: u}
			s.initialize()
			if text, _ := s.callTool("echo", map[string]any{"message": "same token"}); !strings.Contains(text, "same token") {
				t.Fatalf("the access token from before the kill: %q", text)
			}
			c.refreshTokens()
			if c.access == access {
				t.Fatal("the refresh gave the old access token")
			}
			s2 := &mcp{c: c, url: u}
			s2.initialize()
			if text, _ := s2.callTool("echo", map[string]any{"message": "refreshed"}); !strings.Contains(text, "refreshed") {
				t.Fatalf("after the refresh: %q", text)
			}
			// The registration survived too: the client can log in again.
			c.login(u, false)
			g2.stop(t)
		})
	}
}

// TestStdioChildKilled: a stdio server's process dies in the middle of a
// call. That call gets an error at once, the session's next request says
// the session is gone, and every other session of the service goes on.
func TestStdioChildKilled(t *testing.T) {
	conf := writeConfig(t, "services:\n"+stdioService("memory"))
	g := start(t, nil, "--dev-user", "robot", "--config", conf, "--store", "memory")
	u := g.base + "/memory/mcp"
	c := newClient(t)
	c.login(u, false)
	victim, other := &mcp{c: c, url: u}, &mcp{c: c, url: u}
	victim.initialize()
	other.initialize()
	pidText, _ := victim.callTool("pid", nil)
	otherPid, _ := other.callTool("pid", nil)
	pid, err := strconv.Atoi(strings.Fields(pidText)[0])
	if err != nil || pidText == otherPid {
		t.Fatalf("pids %q and %q", pidText, otherPid)
	}

	type outcome struct {
		res, rpcErr map[string]any
		status      int
		took        time.Duration
	}
	done := make(chan outcome, 1)
	go func() {
		begin := time.Now()
		r, e, status := victim.try("tools/call", map[string]any{"name": "sleep", "arguments": map[string]any{"ms": 60000}})
		done <- outcome{r, e, status, time.Since(begin)}
	}()
	// Once the call is in flight (the other session keeps working
	// meanwhile), the victim's process is killed.
	for range 5 {
		if text, _ := other.callTool("echo", map[string]any{"text": "meanwhile"}); text != "meanwhile" {
			t.Fatalf("the other session: %q", text)
		}
	}
	time.Sleep(200 * time.Millisecond)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var o outcome
	select {
	case o = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the call in flight never ended after its server died")
	}
	if o.status == 200 && o.rpcErr == nil {
		t.Fatalf("the call of the killed server succeeded: %v", o.res)
	}
	t.Logf("the call in flight ended after %v with status %d, error %v", o.took, o.status, o.rpcErr)
	_, e, status := victim.try("tools/call", map[string]any{"name": "echo", "arguments": map[string]any{"text": "again"}})
	if status == 200 && e == nil {
		t.Errorf("the dead session answered")
	}
	t.Logf("the dead session's next call: status %d, error %v", status, e)
	if text, _ := other.callTool("echo", map[string]any{"text": "still here"}); text != "still here" {
		t.Errorf("the other session after the kill: %q", text)
	}
	fresh := &mcp{c: c, url: u}
	fresh.initialize()
	if text, _ := fresh.callTool("echo", map[string]any{"text": "new session"}); text != "new session" {
		t.Errorf("a new session after the kill: %q", text)
	}
	if strings.Contains(g.stderr.String(), "panic") {
		t.Errorf("the gateway panicked:\n%s", g.stderr)
	}
	g.stop(t)
}

package stdiobridge

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestLoad opens 100 sessions at once, each with a process of its own,
// makes 50 calls in each concurrently, and ends them all: no call may fail
// and no process may be left. It reports the memory an idle session costs
// (proxy heap, and the resident size of its process). It takes about ten
// seconds, so it runs only with STDIOBRIDGE_LOAD=1 (stdiobridge/bench/run.sh
// sets it).
func TestLoad(t *testing.T) {
	if os.Getenv("STDIOBRIDGE_LOAD") == "" || testing.Short() {
		t.Skip("set STDIOBRIDGE_LOAD=1 to run the load test (100 sessions x 50 calls); stdiobridge/bench/run.sh does")
	}
	const sessions, calls = 100, 50
	px, srv := newTestProxy(t, &ProxyOptions{MaxChildren: sessions, RequestTimeout: time.Minute, StartupTimeout: time.Minute})
	tr := &http.Transport{MaxIdleConnsPerHost: sessions, MaxConnsPerHost: sessions}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 2 * time.Minute}

	post := func(sid, body string) (*http.Response, []byte, error) {
		req, _ := http.NewRequest("POST", srv.URL, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("MCP-Protocol-Version", "2025-11-25")
		if sid != "" {
			req.Header.Set("Mcp-Session-Id", sid)
		}
		resp, err := hc.Do(req)
		if err != nil {
			return nil, nil, err
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, b, err
	}

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)

	ids := make([]string, sessions)
	pids := make([]int, sessions)
	var failed atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for i := range sessions {
		wg.Go(func() {
			resp, body, err := post("", `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"load","version":"1"}}}`)
			if err != nil || resp.StatusCode != 200 {
				t.Errorf("initialize %d: %v %s", i, err, body)
				failed.Add(1)
				return
			}
			ids[i] = resp.Header.Get("Mcp-Session-Id")
			if _, _, err := post(ids[i], `{"jsonrpc":"2.0","method":"notifications/initialized"}`); err != nil {
				failed.Add(1)
				return
			}
			_, body, err = post(ids[i], `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"pid"}}`)
			if err != nil {
				failed.Add(1)
				return
			}
			j := bytes.Index(body, []byte(`"text":"`))
			if j < 0 {
				failed.Add(1)
				return
			}
			rest := body[j+8:]
			pids[i], _ = strconv.Atoi(string(rest[:bytes.IndexByte(rest, '"')]))
		})
	}
	wg.Wait()
	if failed.Load() > 0 {
		t.Fatalf("%d sessions failed to start", failed.Load())
	}
	startup := time.Since(start)

	tr.CloseIdleConnections() // count the sessions, not the test's connections
	time.Sleep(100 * time.Millisecond)
	runtime.GC()
	var idle runtime.MemStats
	runtime.ReadMemStats(&idle)
	heapPerSession := (int64(idle.HeapInuse) - int64(before.HeapInuse)) / sessions
	var rss int64
	for _, pid := range pids {
		rss += residentKiB(pid)
	}

	start = time.Now()
	for i := range sessions {
		wg.Go(func() {
			for n := range calls {
				text := fmt.Sprintf("s%d-c%d", i, n)
				_, body, err := post(ids[i], fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"echo","arguments":{"text":%q}}}`, 10+n, text))
				if err != nil || !bytes.Contains(body, []byte(`"text":"`+text+`"`)) {
					failed.Add(1)
					t.Errorf("session %d call %d: %v %s", i, n, err, body)
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if failed.Load() > 0 {
		t.Fatalf("%d of %d calls failed", failed.Load(), sessions*calls)
	}

	for i := range sessions {
		wg.Go(func() {
			req, _ := http.NewRequest("DELETE", srv.URL, nil)
			req.Header.Set("Mcp-Session-Id", ids[i])
			if resp, err := hc.Do(req); err == nil {
				resp.Body.Close()
			}
		})
	}
	wg.Wait()
	waitFor(t, "every process to end", 10*time.Second, func() bool { return px.Children() == 0 })
	for _, pid := range pids {
		if alive(pid) {
			t.Fatalf("process %d outlived its session", pid)
		}
	}
	summary := fmt.Sprintf("load: %d sessions x %d calls: %d calls in %s (%.0f calls/s), 0 errors; %d sessions started in %s; "+
		"idle session: %.1f KiB proxy heap, %.1f MiB resident per server process; no process left",
		sessions, calls, sessions*calls, elapsed.Round(time.Millisecond), float64(sessions*calls)/elapsed.Seconds(),
		sessions, startup.Round(time.Millisecond), float64(heapPerSession)/1024, float64(rss)/sessions/1024)
	t.Log(summary)
	fmt.Println(summary)
}

// residentKiB reads a process's resident set size.
func residentKiB(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
			return n
		}
	}
	return 0
}

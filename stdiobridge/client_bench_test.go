package stdiobridge

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime/metrics"
	"runtime/pprof"
	"strconv"
	"sync"
	"testing"

	"github.com/mcp-oauth-gateway/gateway/echo"
	"github.com/mcp-oauth-gateway/gateway/mcpserver"
)

// BenchmarkClientToolCall measures tools/call per second against the
// stateless echo server over loopback: called directly with an HTTP client
// (the baseline), through the Client (stdin line in, stdout line out), and
// through a minimal stdin-to-HTTP relay (the floor: read a line, POST it in
// a goroutine of its own, write the body; no parsing, no streams, no
// sessions). One call at a time ("seq") and 16 in flight ("par"). The
// relays run in the benchmark's process, on pipes, and ("process/...") in
// a process of their own on real stdin and stdout, as a client such as
// Claude Desktop runs the bridge; those report the relay process's CPU time
// per call too.
func BenchmarkClientToolCall(b *testing.B) {
	srv, err := mcpserver.New("echo", "1", &mcpserver.Options{Sessions: mcpserver.Stateless, AllowedHosts: []string{"127.0.0.1"}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	if err := echo.RegisterStateless(srv, nil); err != nil {
		b.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	url := hs.URL + "/mcp"
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	hc := &http.Client{Transport: tr}
	body := func(id int) []byte {
		return []byte(`{"jsonrpc":"2.0","id":` + strconv.Itoa(id) + `,"method":"tools/call","params":{"name":"echo","arguments":{"message":"hello"}}}`)
	}
	direct := func(id int) {
		req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body(id)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("Mcp-Protocol-Version", "2025-11-25")
		resp, err := hc.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	for _, par := range []int{1, 16} {
		mode := "seq"
		if par > 1 {
			mode = "par"
		}
		b.Run("direct/"+mode, func(b *testing.B) { runParallelCalls(b, par, direct) })
		b.Run("bridge/"+mode, func(b *testing.B) {
			c, _ := NewClient(url, &ClientOptions{HTTPClient: hc, Logger: slog.New(slog.DiscardHandler)})
			lc := startLineClient(b, func(ctx context.Context, in io.Reader, out io.Writer) { _ = c.Run(ctx, in, out) })
			lc.roundTrip([]byte(`{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"b","version":"1"}}}`), 0)
			runParallelCalls(b, par, func(id int) { lc.roundTrip(body(id), id) })
			lc.close()
		})
		b.Run("minimal/"+mode, func(b *testing.B) {
			lc := startLineClient(b, func(ctx context.Context, in io.Reader, out io.Writer) { minimalStdinRelay(ctx, hc, url, in, out) })
			runParallelCalls(b, par, func(id int) { lc.roundTrip(body(id), id) })
			lc.close()
		})
		for _, relay := range []string{"bridge", "minimal"} {
			b.Run("process/"+relay+"/"+mode, func(b *testing.B) {
				lc, pid := startRelayProcess(b, relay, url)
				if relay == "bridge" {
					lc.roundTrip([]byte(`{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"b","version":"1"}}}`), 0)
				}
				cpu0 := cpuTime(pid)
				runParallelCalls(b, par, func(id int) { lc.roundTrip(body(id), id) })
				b.ReportMetric(float64((cpuTime(pid)-cpu0).Microseconds())/float64(b.N), "relay-cpu-µs/call")
				lc.close()
			})
		}
	}
}

// clientHelperEnv makes the test binary a relay on its stdin and stdout:
// "bridge" (the Client) or "minimal", to the URL in clientHelperURLEnv.
const (
	clientHelperEnv    = "STDIOBRIDGE_TEST_CLIENT"
	clientHelperURLEnv = "STDIOBRIDGE_TEST_CLIENT_URL"
)

func runClientHelper() int {
	url := os.Getenv(clientHelperURLEnv)
	if path := os.Getenv(clientHelperEnv + "_CPUPROFILE"); path != "" {
		// A CPU profile of the relay process, written when its input ends.
		f, err := os.Create(path)
		if err == nil && pprof.StartCPUProfile(f) == nil {
			defer func() { pprof.StopCPUProfile(); f.Close() }()
		}
	}
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	if os.Getenv(clientHelperEnv) == "minimal" {
		minimalStdinRelay(context.Background(), hc, url, os.Stdin, os.Stdout)
		return 0
	}
	return runBridge(hc, url)
}

func runBridge(hc *http.Client, url string) int {
	c, err := NewClient(url, &ClientOptions{HTTPClient: hc, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := c.Run(context.Background(), os.Stdin, os.Stdout); err != nil {
		return 1
	}
	return 0
}

// startRelayProcess runs this test binary as the relay (see
// runClientHelper); it ends with the benchmark.
func startRelayProcess(b *testing.B, relay, url string) (*lineClient, int) {
	exe, _ := os.Executable()
	in, out, pid := startChildProcess(b, Command{Path: exe, Env: []string{clientHelperEnv + "=" + relay, clientHelperURLEnv + "=" + url}})
	return newLineClient(b, in, out, func() { in.Close() }), pid
}

// runParallelCalls runs b.N calls with par in flight. Besides calls/s it
// reports the goroutines started per call and an estimate of the
// goroutine wake-ups per call (the runtime samples one scheduling in 8 for
// /sched/latencies), counted over the whole process: the caller, the relay
// and the server.
func runParallelCalls(b *testing.B, par int, call func(id int)) {
	b.ReportAllocs()
	samples := []metrics.Sample{{Name: "/sched/goroutines-created:goroutines"}, {Name: "/sched/latencies:seconds"}}
	read := func() (created, scheduled float64) {
		metrics.Read(samples)
		if samples[0].Value.Kind() == metrics.KindUint64 {
			created = float64(samples[0].Value.Uint64())
		}
		if samples[1].Value.Kind() == metrics.KindFloat64Histogram {
			for _, n := range samples[1].Value.Float64Histogram().Counts {
				scheduled += float64(n)
			}
		}
		return created, scheduled
	}
	var next, wg = make(chan int), sync.WaitGroup{}
	for range par {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range next {
				call(id)
			}
		}()
	}
	b.ResetTimer()
	created0, sched0 := read()
	for i := 1; i <= b.N; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	created1, sched1 := read()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
	b.ReportMetric((created1-created0)/float64(b.N), "goroutines/call")
	b.ReportMetric(8*(sched1-sched0)/float64(b.N), "wakeups/call")
}

// minimalStdinRelay is the floor: each line is POSTed in a goroutine of
// its own and the response body written as a line, JSON only.
func minimalStdinRelay(ctx context.Context, hc *http.Client, url string, in io.Reader, out io.Writer) {
	var mu sync.Mutex
	sc := bufio.NewScanner(in)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := bytes.Clone(sc.Bytes())
		go func() {
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(line))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json, text/event-stream")
			req.Header.Set("Mcp-Protocol-Version", "2025-11-25")
			resp, err := hc.Do(req)
			if err != nil {
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			mu.Lock()
			out.Write(append(bytes.TrimSpace(b), '\n'))
			mu.Unlock()
		}()
	}
}

// lineClient writes lines to a relay's input and matches answers by id.
type lineClient struct {
	in      io.Writer
	mu      sync.Mutex
	waiting map[int]chan struct{}
	stop    func()
	done    chan struct{}
}

// startLineClient runs relay in this process, on pipes.
func startLineClient(b *testing.B, relay func(ctx context.Context, in io.Reader, out io.Writer)) *lineClient {
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	go func() { relay(ctx, inR, outW); outW.Close() }()
	return newLineClient(b, inW, outR, func() { inW.Close(); cancel() })
}

// newLineClient talks to a relay whose input is in and output out; stop
// ends it.
func newLineClient(b *testing.B, in io.Writer, outR io.Reader, stop func()) *lineClient {
	lc := &lineClient{in: in, waiting: map[int]chan struct{}{}, stop: stop, done: make(chan struct{})}
	go func() {
		defer close(lc.done)
		br := bufio.NewReaderSize(outR, 64<<10)
		for {
			l, err := br.ReadSlice('\n')
			if err != nil {
				return
			}
			m, err := parseMessage(bytes.TrimSpace(l))
			if err != nil {
				b.Errorf("bad line %s", l)
				continue
			}
			id, _ := strconv.Atoi(string(m.idBytes()))
			lc.mu.Lock()
			ch := lc.waiting[id]
			delete(lc.waiting, id)
			lc.mu.Unlock()
			if ch != nil {
				close(ch)
			}
		}
	}()
	return lc
}

func (lc *lineClient) roundTrip(line []byte, id int) {
	ch := make(chan struct{})
	lc.mu.Lock()
	lc.waiting[id] = ch
	_, err := lc.in.Write(append(line, '\n'))
	lc.mu.Unlock()
	if err != nil {
		panic(fmt.Sprint("write: ", err))
	}
	<-ch
}

func (lc *lineClient) close() {
	lc.stop()
	<-lc.done
}

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
	"strconv"
	"sync"
	"testing"

	"github.com/mcp-oauth-gateway/gateway/echo"
	"github.com/mcp-oauth-gateway/gateway/mcpserver"
)

// BenchmarkClientToolCall measures tools/call per second against the
// stateless echo server over loopback: called directly with an HTTP client
// (the baseline), through the Client (stdin line in, stdout line out), and
// through a minimal stdin-to-HTTP relay (the floor: read a line, POST it,
// write the body; no parsing, no streams, no sessions). One call at a time
// ("seq") and 16 in flight ("par").
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
	}
}

// runParallelCalls runs b.N calls with par in flight.
func runParallelCalls(b *testing.B, par int, call func(id int)) {
	b.ReportAllocs()
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
	for i := 1; i <= b.N; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
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
	in      *io.PipeWriter
	mu      sync.Mutex
	waiting map[int]chan struct{}
	cancel  context.CancelFunc
	done    chan struct{}
}

func startLineClient(b *testing.B, relay func(ctx context.Context, in io.Reader, out io.Writer)) *lineClient {
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	lc := &lineClient{in: inW, waiting: map[int]chan struct{}{}, cancel: cancel, done: make(chan struct{})}
	go func() { relay(ctx, inR, outW); outW.Close() }()
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
	lc.in.Close()
	lc.cancel()
	<-lc.done
}

package stdiobridge

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// The benchmarks call the echo tool of the same stdio server (stdiotest)
// several ways in one run:
//
//	direct          a JSON-RPC client on the server's stdin and stdout: the baseline
//	proxy           the same calls over HTTP through the proxy, in one session
//	proxy-process/p1, /p2
//	                the same with the proxy in a process of its own with
//	                GOMAXPROCS=1 or 2, which also reports the CPU time per call
//	                of the proxy and of the server
//	lean            the floor: the leanest relay net/http allows (leanRelay),
//	                what the HTTP hop alone costs on this machine
//	raw             the same relay on a bare TCP loop instead of net/http's server
//	supergateway    the npm supergateway (stateful Streamable HTTP) in front of the
//	                same server, when STDIOBRIDGE_SUPERGATEWAY names its bin script
//	                (stdiobridge/bench/run.sh installs it)
//
// and the same direct/proxy pair with @modelcontextprotocol/server-everything
// (Node) as the server. Each reports calls/s; the goals are proxy >= 0.9 x
// lean and proxy >= 2 x supergateway. "seq" makes one call at a time, "par"
// keeps 16 in flight. Client, proxy and server share the machine's cores,
// so the figures are only comparable within one run.

const echoCall = `{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hello, bench"}}}`

func BenchmarkToolCall(b *testing.B) {
	for _, mode := range []string{"seq", "par"} {
		b.Run("direct/"+mode, func(b *testing.B) {
			sc := startStdioClient(b)
			runCalls(b, mode, func(id int64) error { return sc.call(id) })
		})
		b.Run("proxy/"+mode, func(b *testing.B) {
			_, srv := newTestProxy(b, &ProxyOptions{Logger: quietLogger(b)})
			hc := newHTTPCaller(b, srv.URL)
			runCalls(b, mode, hc.call)
		})
		b.Run("lean/"+mode, func(b *testing.B) {
			hc := newHTTPCaller(b, leanRelayURL(b, false))
			runCalls(b, mode, hc.call)
		})
		b.Run("raw/"+mode, func(b *testing.B) {
			hc := newHTTPCaller(b, leanRelayURL(b, true))
			runCalls(b, mode, hc.call)
		})
		b.Run("everything-direct/"+mode, func(b *testing.B) {
			sc := startStdioClientOf(b, everything(b))
			runCalls(b, mode, func(id int64) error { return sc.callEverything(id) })
		})
		b.Run("everything-proxy/"+mode, func(b *testing.B) {
			px, err := NewProxy(everything(b), &ProxyOptions{Logger: quietLogger(b), StopGrace: 500 * time.Millisecond})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { px.Close() })
			srv := httptest.NewServer(px)
			b.Cleanup(srv.Close)
			hc := newHTTPCaller(b, srv.URL)
			runCalls(b, mode, hc.callEverything)
		})
		for _, procs := range []int{1, 2} {
			b.Run(fmt.Sprintf("proxy-process/p%d/%s", procs, mode), func(b *testing.B) {
				// The proxy in a process of its own, to measure its CPU
				// time per call apart from the load generator's.
				pid, url := startProxyProcess(b, procs)
				hc := newHTTPCaller(b, url)
				child := childPID(b, hc)
				p0, c0 := cpuTime(pid), cpuTime(child)
				runCalls(b, mode, hc.call)
				b.ReportMetric(float64((cpuTime(pid)-p0).Microseconds())/float64(b.N), "proxy-cpu-µs/call")
				b.ReportMetric(float64((cpuTime(child)-c0).Microseconds())/float64(b.N), "server-cpu-µs/call")
			})
		}
		b.Run("supergateway/"+mode, func(b *testing.B) {
			url := startSupergateway(b)
			hc := newHTTPCaller(b, url)
			runCalls(b, mode, hc.call)
		})
	}
}

func runCalls(b *testing.B, mode string, call func(id int64) error) {
	b.ReportAllocs()
	var next atomic.Int64
	start := time.Now()
	b.ResetTimer()
	if mode == "seq" {
		for range b.N {
			if err := call(next.Add(1)); err != nil {
				b.Fatal(err)
			}
		}
	} else {
		b.SetParallelism(8)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := call(next.Add(1)); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "calls/s")
}

// stdioClient is a minimal JSON-RPC client of a stdio server.
type stdioClient struct {
	in      io.WriteCloser
	wmu     sync.Mutex
	mu      sync.Mutex
	pending map[int64]chan []byte
}

func startStdioClient(b *testing.B) *stdioClient { return startStdioClientOf(b, testCommand()) }

// startChild starts cmd with pipes on its stdin and stdout; it ends with
// the benchmark.
func startChild(b *testing.B, cmd Command) (io.WriteCloser, io.Reader) {
	c := exec.Command(cmd.Path, cmd.Args...)
	c.Env = append(os.Environ(), cmd.Env...)
	in, _ := c.StdinPipe()
	out, _ := c.StdoutPipe()
	if err := c.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		in.Close()
		_ = c.Wait()
	})
	return in, out
}

func startStdioClientOf(b *testing.B, cmd Command) *stdioClient {
	in, out := startChild(b, cmd)
	sc := &stdioClient{in: in, pending: map[int64]chan []byte{}}
	go func() {
		br := bufio.NewReaderSize(out, 64<<10)
		for {
			line, err := br.ReadBytes('\n')
			if err != nil {
				return
			}
			var m struct {
				ID json.RawMessage `json:"id"`
			}
			if json.Unmarshal(line, &m) != nil {
				continue
			}
			id, err := strconv.ParseInt(string(m.ID), 10, 64)
			if err != nil {
				continue
			}
			sc.mu.Lock()
			ch := sc.pending[id]
			delete(sc.pending, id)
			sc.mu.Unlock()
			if ch != nil {
				ch <- line
			}
		}
	}()
	sc.send(`{"jsonrpc":"2.0","id":-1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}`, -1)
	sc.write(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	return sc
}

func (sc *stdioClient) write(s string) {
	sc.wmu.Lock()
	_, _ = io.WriteString(sc.in, s+"\n")
	sc.wmu.Unlock()
}

func (sc *stdioClient) send(s string, id int64) []byte {
	ch := make(chan []byte, 1)
	sc.mu.Lock()
	sc.pending[id] = ch
	sc.mu.Unlock()
	sc.write(s)
	return <-ch
}

// everythingCall calls the echo tool of @modelcontextprotocol/server-everything.
const everythingCall = `{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"echo","arguments":{"message":"hello, bench"}}}`

func (sc *stdioClient) callEverything(id int64) error {
	resp := sc.send(fmt.Sprintf(everythingCall, id), id)
	if !bytes.Contains(resp, []byte("hello, bench")) {
		return fmt.Errorf("unexpected answer %s", resp)
	}
	return nil
}

func (sc *stdioClient) call(id int64) error {
	resp := sc.send(fmt.Sprintf(echoCall, id), id)
	if !bytes.Contains(resp, []byte("hello, bench")) {
		return fmt.Errorf("unexpected answer %s", resp)
	}
	return nil
}

// httpCaller calls through a StreamableHTTP endpoint in one session. Its
// calls go over raw keep-alive HTTP/1.1 connections, one per goroutine, so
// that the load generator costs about as little as the direct stdio client
// (net/http's client adds two goroutine hand-offs per request).
type httpCaller struct {
	url     string
	hc      *http.Client
	session string
	host    string
	path    string
	conns   chan *rawConn
}

type rawConn struct {
	c  net.Conn
	br *bufio.Reader
	b  []byte
}

func newHTTPCaller(b *testing.B, url string) *httpCaller {
	tr := &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64}
	b.Cleanup(tr.CloseIdleConnections)
	h := &httpCaller{url: url, hc: &http.Client{Transport: tr, Timeout: time.Minute}, conns: make(chan *rawConn, 64)}
	rest := strings.TrimPrefix(url, "http://")
	h.host, h.path, _ = strings.Cut(rest, "/")
	h.path = "/" + h.path
	b.Cleanup(func() {
		for {
			select {
			case c := <-h.conns:
				c.c.Close()
			default:
				return
			}
		}
	})
	resp, err := h.post(`{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}`)
	if err != nil {
		b.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	h.session = resp.Header.Get("Mcp-Session-Id")
	resp, err = h.post(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	return h
}

func (h *httpCaller) post(body string) (*http.Response, error) {
	req, _ := http.NewRequest("POST", h.url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("MCP-Protocol-Version", "2025-11-25")
	if h.session != "" {
		req.Header.Set("Mcp-Session-Id", h.session)
	}
	return h.hc.Do(req)
}

func (h *httpCaller) call(id int64) error { return h.do(fmt.Sprintf(echoCall, id)) }

func (h *httpCaller) callEverything(id int64) error {
	return h.do(fmt.Sprintf(everythingCall, id))
}

func (h *httpCaller) do(body string) error {
	var rc *rawConn
	select {
	case rc = <-h.conns:
	default:
		c, err := net.Dial("tcp", h.host)
		if err != nil {
			return err
		}
		rc = &rawConn{c: c, br: bufio.NewReaderSize(c, 16<<10)}
	}
	rc.b = fmt.Appendf(rc.b[:0], "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"+
		"Accept: application/json, text/event-stream\r\nMCP-Protocol-Version: 2025-11-25\r\nMcp-Session-Id: %s\r\n"+
		"Content-Length: %d\r\n\r\n%s", h.path, h.host, h.session, len(body), body)
	if _, err := rc.c.Write(rc.b); err != nil {
		rc.c.Close()
		return err
	}
	resp, err := http.ReadResponse(rc.br, nil)
	if err != nil {
		rc.c.Close()
		return err
	}
	out, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		rc.c.Close()
		return err
	}
	if resp.StatusCode != 200 || !bytes.Contains(out, []byte("hello, bench")) {
		rc.c.Close()
		return fmt.Errorf("HTTP %d: %s", resp.StatusCode, out)
	}
	select {
	case h.conns <- rc:
	default:
		rc.c.Close()
	}
	return nil
}

// startSupergateway runs the npm supergateway in stateful Streamable HTTP
// mode in front of the stdiotest server.
func startSupergateway(b *testing.B) string {
	script := os.Getenv("STDIOBRIDGE_SUPERGATEWAY")
	if script == "" {
		b.Skip("STDIOBRIDGE_SUPERGATEWAY is not set; stdiobridge/bench/run.sh installs supergateway and sets it")
	}
	node := os.Getenv("MCP_NODE22")
	if node == "" {
		node = "node"
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := testCommand()
	child := strings.Join(append([]string{cmd.Path}, cmd.Args...), " ")
	c := exec.Command(node, script, "--stdio", child, "--outputTransport", "streamableHttp", "--stateful",
		"--port", strconv.Itoa(port), "--streamableHttpPath", "/mcp", "--logLevel", "none")
	c.Env = append(os.Environ(), cmd.Env...)
	c.SysProcAttr = sysProcAttr()
	if err := c.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		killGroup(c.Process.Pid, true)
		_ = c.Wait()
	})
	for i := 0; ; i++ {
		conn, err := net.Dial("tcp", ln.Addr().String())
		if err == nil {
			conn.Close()
			break
		}
		if i > 300 {
			b.Fatal("supergateway did not listen")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Sprintf("http://127.0.0.1:%d/mcp", port)
}

// startProxyProcess runs this test binary as a proxy in front of the
// stdiotest server (see runProxyHelper), with GOMAXPROCS=procs, and returns
// its pid and URL.
func startProxyProcess(b *testing.B, procs int) (int, string) {
	exe, _ := os.Executable()
	c := exec.Command(exe)
	c.Env = append(os.Environ(), proxyHelperEnv+"=1", fmt.Sprintf("GOMAXPROCS=%d", procs))
	out, _ := c.StdoutPipe()
	if err := c.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = c.Process.Signal(syscall.SIGKILL)
		_ = c.Wait()
	})
	addr, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		b.Fatal(err)
	}
	return c.Process.Pid, "http://" + strings.TrimSpace(addr)
}

// childPID asks the stdiotest server behind a caller's session for its pid.
func childPID(b *testing.B, h *httpCaller) int {
	resp, err := h.post(`{"jsonrpc":"2.0","id":"pid","method":"tools/call","params":{"name":"pid"}}`)
	if err != nil {
		b.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var r struct {
		Result struct {
			Content []struct{ Text string } `json:"content"`
		} `json:"result"`
	}
	if json.Unmarshal(body, &r) != nil || len(r.Result.Content) == 0 {
		b.Fatalf("pid: %s", body)
	}
	pid, _ := strconv.Atoi(strings.Fields(r.Result.Content[0].Text)[0])
	return pid
}

// cpuTime is the user and system CPU time a process has used so far.
func cpuTime(pid int) time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(data)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / 100 // clock ticks of 10 ms
}

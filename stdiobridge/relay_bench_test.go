package stdiobridge

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
)

// leanRelay is the floor of the benchmarks: the least an HTTP front of a
// stdio server has to do, done as cheaply as net/http allows. It writes each
// posted body verbatim, with a newline, to one child's stdin; it matches the
// child's answers to the waiting requests by the raw bytes of their
// top-level "id", found by a scan that skips nested values and stops at the
// id; it answers with Content-Length on a keep-alive connection. No
// sessions, no id remapping, no streams, no checks, no timeouts, no JSON
// decoding. It is not a usable proxy.
//
// It is served two ways: as an http.Handler on net/http's server ("lean"),
// and on a bare loop over a TCP connection that reads requests with
// http.ReadRequest and writes the response bytes itself ("raw"), which
// leaves out what net/http's server does per request (a goroutine that
// watches the connection while the handler runs, the response writer).
type leanRelay struct {
	in  io.Writer
	wmu sync.Mutex

	mu      sync.Mutex
	pending map[string]chan []byte // by the raw id
	bufs    sync.Pool
}

// startLeanRelay starts the stdiotest server behind a lean relay; the
// server is initialized once, as a client's own initialize would.
func startLeanRelay(b *testing.B) *leanRelay {
	in, out := startChild(b, testCommand())
	r := &leanRelay{in: in, pending: map[string]chan []byte{}}
	r.bufs.New = func() any { return new([]byte) }
	go r.readAnswers(out)
	r.relay([]byte(`{"jsonrpc":"2.0","id":-1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}`))
	r.relay([]byte(`{"jsonrpc":"2.0","method":"notifications/initialized"}`))
	return r
}

func (r *leanRelay) readAnswers(out io.Reader) {
	br := bufio.NewReaderSize(out, 64<<10)
	for {
		line, err := br.ReadBytes('\n')
		if err != nil {
			return
		}
		id := topLevelID(line)
		if id == nil {
			continue
		}
		r.mu.Lock()
		ch := r.pending[string(id)]
		delete(r.pending, string(id))
		r.mu.Unlock()
		if ch != nil {
			ch <- line
		}
	}
}

// relay writes one message to the child and returns its answer (the line,
// with its newline), or nil for a notification.
func (r *leanRelay) relay(body []byte) []byte {
	id := topLevelID(body)
	var ch chan []byte
	if id != nil {
		ch = make(chan []byte, 1)
		r.mu.Lock()
		r.pending[string(id)] = ch
		r.mu.Unlock()
	}
	bp := r.bufs.Get().(*[]byte)
	msg := append(append((*bp)[:0], body...), '\n')
	r.wmu.Lock()
	_, _ = r.in.Write(msg)
	r.wmu.Unlock()
	*bp = msg
	r.bufs.Put(bp)
	if ch == nil {
		return nil
	}
	return <-ch
}

func (r *leanRelay) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := readBodyOf(req)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	h := w.Header()
	h["Mcp-Session-Id"] = []string{"lean"}
	answer := r.relay(body)
	if answer == nil {
		w.WriteHeader(http.StatusAccepted)
		return
	}
	h["Content-Type"] = []string{"application/json"}
	h["Content-Length"] = []string{strconv.Itoa(len(answer))}
	_, _ = w.Write(answer)
}

// readBodyOf reads a body in one allocation when its length is known.
func readBodyOf(req *http.Request) ([]byte, error) {
	if n := req.ContentLength; n > 0 && n < 1<<30 {
		b := make([]byte, n)
		_, err := io.ReadFull(req.Body, b)
		return b, err
	}
	return io.ReadAll(req.Body)
}

// topLevelID returns the raw value of the top-level "id" member of a JSON
// object, or nil: a scan that skips nested values and stops at the id.
func topLevelID(b []byte) []byte {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return nil
	}
	i = skipSpace(b, i+1)
	for i < len(b) && b[i] == '"' {
		kend := skipString(b, i)
		if kend < 0 {
			return nil
		}
		key := b[i+1 : kend-1]
		i = skipSpace(b, kend)
		if i >= len(b) || b[i] != ':' {
			return nil
		}
		i = skipSpace(b, i+1)
		vend := skipValue(b, i)
		if vend < 0 {
			return nil
		}
		if string(key) == "id" {
			return b[i:vend]
		}
		i = skipSpace(b, vend)
		if i >= len(b) || b[i] != ',' {
			return nil
		}
		i = skipSpace(b, i+1)
	}
	return nil
}

// serveRaw serves the relay on ln without net/http's server.
func (r *leanRelay) serveRaw(ln net.Listener) {
	for {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer conn.Close()
			br := bufio.NewReader(conn)
			var out []byte
			for {
				req, err := http.ReadRequest(br)
				if err != nil {
					return
				}
				body, _ := readBodyOf(req)
				answer := r.relay(body)
				if answer == nil {
					out = append(out[:0], "HTTP/1.1 202 Accepted\r\nMcp-Session-Id: lean\r\nContent-Length: 0\r\n\r\n"...)
				} else {
					out = append(out[:0], "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nMcp-Session-Id: lean\r\nContent-Length: "...)
					out = strconv.AppendInt(out, int64(len(answer)), 10)
					out = append(out, "\r\n\r\n"...)
					out = append(out, answer...)
				}
				if _, err := conn.Write(out); err != nil {
					return
				}
			}
		}()
	}
}

// leanRelayURL serves a lean relay on loopback, on net/http's server or
// raw, and returns its URL.
func leanRelayURL(b *testing.B, raw bool) string {
	r := startLeanRelay(b)
	if !raw {
		srv := httptest.NewServer(r)
		b.Cleanup(srv.Close)
		return srv.URL + "/mcp"
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	go r.serveRaw(ln)
	return "http://" + ln.Addr().String() + "/mcp"
}

func TestTopLevelID(t *testing.T) {
	for in, want := range map[string]string{
		`{"jsonrpc":"2.0","id":12,"result":{"id":"nested"}}`:          "12",
		`{"result":{"id":"nested"},"id":"a\"b"}`:                      `"a\"b"`,
		` { "method" : "x" , "params":[{"id":1}], "id" : -3 }` + "\n": "-3",
		`{"jsonrpc":"2.0","method":"notifications/initialized"}`:      "",
		`[1]`:    "",
		`{"id":`: "",
	} {
		if got := string(topLevelID([]byte(in))); got != want {
			t.Errorf("topLevelID(%s) = %q, want %q", in, got, want)
		}
	}
}

package stdiobridge

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
)

// minimalRelay is the least any HTTP front of a stdio server has to do, and
// the benchmarks' measure of what the HTTP hop itself costs on the machine
// they run on: it writes each posted message to one child's stdin and answers
// with the line of the same id from its stdout. No sessions, no id
// remapping, no streams, no checks, no timeouts. It is not a usable proxy.
//
// It is served two ways: as an http.Handler on net/http's server
// ("minimal"), and on a bare loop over a TCP connection that reads requests
// with http.ReadRequest and writes the response bytes itself ("raw"), which
// leaves out what net/http's server does per request (a goroutine that
// watches the connection while the handler runs, the response writer).
type minimalRelay struct {
	sc *stdioClient
}

func startMinimalRelay(b *testing.B) *minimalRelay {
	return &minimalRelay{sc: startStdioClient(b)}
}

// relay sends one message to the child and returns its answer, or nil for a
// notification. The child was initialized when it started; the client's own
// initialize goes to it as well.
func (r *minimalRelay) relay(body []byte) []byte {
	m, _ := parseMessage(body)
	if m.kind != kindRequest {
		r.sc.write(string(body))
		return nil
	}
	id, _ := strconv.ParseInt(string(m.idBytes()), 10, 64)
	return r.sc.send(string(body), id)
}

func (r *minimalRelay) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	w.Header().Set("Mcp-Session-Id", "minimal")
	answer := r.relay(body)
	if answer == nil {
		w.WriteHeader(http.StatusAccepted)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(answer)
}

// serveRaw serves the relay on ln without net/http's server.
func (r *minimalRelay) serveRaw(ln net.Listener) {
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
				body, _ := io.ReadAll(req.Body)
				answer := r.relay(body)
				if answer == nil {
					out = append(out[:0], "HTTP/1.1 202 Accepted\r\nMcp-Session-Id: minimal\r\nContent-Length: 0\r\n\r\n"...)
				} else {
					out = append(out[:0], "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nMcp-Session-Id: minimal\r\nContent-Length: "...)
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

// minimalRelayURL serves a minimal relay on loopback, on net/http's server
// or raw, and returns its URL.
func minimalRelayURL(b *testing.B, raw bool) string {
	r := startMinimalRelay(b)
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

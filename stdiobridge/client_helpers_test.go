package stdiobridge

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// remoteServer is a scripted StreamableHTTP server for the client's relay
// tests: sessions (404 once expired), JSON and SSE answers, server
// requests, broken streams that resume with Last-Event-ID, a GET stream.
type remoteServer struct {
	t   *testing.T
	srv *httptest.Server

	mu        sync.Mutex
	gen       int
	session   string
	inits     int
	deleted   []string
	headers   []http.Header // of every POST
	answers   map[string]chan json.RawMessage
	getStream chan string // messages for the GET stream
	resumed   map[string]chan string
}

func newRemoteServer(t *testing.T) *remoteServer {
	rs := &remoteServer{t: t, answers: map[string]chan json.RawMessage{}, getStream: make(chan string, 16), resumed: map[string]chan string{}}
	rs.srv = httptest.NewServer(http.HandlerFunc(rs.serve))
	t.Cleanup(rs.srv.Close)
	return rs
}

func (rs *remoteServer) url() string { return rs.srv.URL + "/mcp" }

// expire forgets the current session.
func (rs *remoteServer) expire() {
	rs.mu.Lock()
	rs.session = ""
	rs.mu.Unlock()
}

func (rs *remoteServer) stats() (inits int, deleted []string) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return rs.inits, append([]string(nil), rs.deleted...)
}

type rpcMsg struct {
	ID     json.RawMessage `json:"id,omitempty"`
	Method string          `json:"method,omitempty"`
	Params json.RawMessage `json:"params,omitempty"`
	Result json.RawMessage `json:"result,omitempty"`
	Error  json.RawMessage `json:"error,omitempty"`
}

func sseWrite(w http.ResponseWriter, id, data string) {
	if id != "" {
		fmt.Fprintf(w, "id: %s\n", id)
	}
	fmt.Fprintf(w, "data: %s\n\n", data)
	w.(http.Flusher).Flush()
}

func (rs *remoteServer) serve(w http.ResponseWriter, r *http.Request) {
	sid := r.Header.Get("Mcp-Session-Id")
	rs.mu.Lock()
	current := rs.session
	rs.mu.Unlock()
	switch r.Method {
	case http.MethodDelete:
		rs.mu.Lock()
		rs.deleted = append(rs.deleted, sid)
		rs.mu.Unlock()
		w.WriteHeader(http.StatusOK)
		return
	case http.MethodGet:
		if sid == "" || sid != current {
			http.Error(w, "no session", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		if last := r.Header.Get("Last-Event-ID"); last != "" {
			rs.mu.Lock()
			ch := rs.resumed[last]
			rs.mu.Unlock()
			if ch != nil {
				sseWrite(w, last+"-2", <-ch)
				return
			}
		}
		for {
			select {
			case m := <-rs.getStream:
				sseWrite(w, "", m)
			case <-r.Context().Done():
				return
			}
		}
	}
	body, _ := io.ReadAll(r.Body)
	var m rpcMsg
	if err := json.Unmarshal(body, &m); err != nil {
		http.Error(w, "bad json", http.StatusBadRequest)
		return
	}
	rs.mu.Lock()
	rs.headers = append(rs.headers, r.Header.Clone())
	rs.mu.Unlock()
	if m.Method == "initialize" {
		rs.mu.Lock()
		rs.gen++
		rs.inits++
		rs.session = fmt.Sprintf("s%d", rs.gen)
		sess := rs.session
		rs.mu.Unlock()
		w.Header().Set("Mcp-Session-Id", sess)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"result":{"protocolVersion":"2025-11-25","capabilities":{"tools":{}},"serverInfo":{"name":"remote","version":"1"}}}`, m.ID)
		return
	}
	if sid != current || sid == "" {
		http.Error(w, "unknown session", http.StatusNotFound)
		return
	}
	if m.Method == "" { // a response to a server request
		rs.mu.Lock()
		ch := rs.answers[string(m.ID)]
		rs.mu.Unlock()
		if ch != nil {
			ch <- m.Result
		}
		w.WriteHeader(http.StatusAccepted)
		return
	}
	if m.ID == nil {
		w.WriteHeader(http.StatusAccepted)
		return
	}
	var p struct {
		Name      string         `json:"name"`
		Arguments map[string]any `json:"arguments"`
	}
	_ = json.Unmarshal(m.Params, &p)
	result := func(text string) string {
		b, _ := json.Marshal(text)
		return fmt.Sprintf(`{"jsonrpc":"2.0","id":%s,"result":{"content":[{"type":"text","text":%s}]}}`, m.ID, b)
	}
	switch p.Name {
	case "echo":
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, result(fmt.Sprint(p.Arguments["message"])))
	case "big":
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, result(strings.Repeat("b", 10<<20)))
	case "progress":
		w.Header().Set("Content-Type", "text/event-stream")
		for i := range 20 {
			sseWrite(w, fmt.Sprint(i), fmt.Sprintf(`{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"p","progress":%d}}`, i))
		}
		sseWrite(w, "20", result("done"))
	case "ask":
		ch := make(chan json.RawMessage, 1)
		rs.mu.Lock()
		rs.answers[`"srv-1"`] = ch
		rs.mu.Unlock()
		w.Header().Set("Content-Type", "text/event-stream")
		sseWrite(w, "", `{"jsonrpc":"2.0","id":"srv-1","method":"elicitation/create","params":{"message":"name?","requestedSchema":{"type":"object","properties":{}}}}`)
		select {
		case a := <-ch:
			sseWrite(w, "", result("answer "+string(a)))
		case <-time.After(20 * time.Second):
		}
	case "drop":
		// One event, then the connection breaks; the answer comes on the
		// GET that resumes after event "d1".
		ch := make(chan string, 1)
		ch <- result("resumed")
		rs.mu.Lock()
		rs.resumed["d1"] = ch
		rs.mu.Unlock()
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "retry: 50\n\n")
		sseWrite(w, "d1", `{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"d","progress":1}}`)
		hj, ok := w.(http.Hijacker)
		if !ok {
			return
		}
		conn, _, err := hj.Hijack()
		if err == nil {
			conn.Close()
		}
	default:
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"result":{}}`, m.ID)
	}
}

// bridge is a Client running on pipes.
type bridge struct {
	t     *testing.T
	in    *io.PipeWriter
	lines chan string
	done  chan error
	c     *Client
}

func startBridge(t *testing.T, url string, opts *ClientOptions) *bridge {
	t.Helper()
	if opts == nil {
		opts = &ClientOptions{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	c, err := NewClient(url, opts)
	if err != nil {
		t.Fatal(err)
	}
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	b := &bridge{t: t, in: inW, lines: make(chan string, 1024), done: make(chan error, 1), c: c}
	go func() {
		b.done <- c.Run(context.Background(), inR, outW)
		outW.Close()
	}()
	go func() {
		sc := bufio.NewScanner(outR)
		sc.Buffer(nil, 64<<20)
		for sc.Scan() {
			b.lines <- sc.Text()
		}
		close(b.lines)
	}()
	t.Cleanup(func() { inW.Close() })
	return b
}

func (b *bridge) send(s string) {
	b.t.Helper()
	if _, err := io.WriteString(b.in, s+"\n"); err != nil {
		b.t.Fatal(err)
	}
}

// next returns the next line written by the bridge.
func (b *bridge) next() string {
	b.t.Helper()
	select {
	case l, ok := <-b.lines:
		if !ok {
			b.t.Fatal("bridge output closed")
		}
		return l
	case <-time.After(30 * time.Second):
		b.t.Fatal("no output from the bridge")
	}
	return ""
}

// close ends the input and waits for Run.
func (b *bridge) close() {
	b.t.Helper()
	b.in.Close()
	select {
	case err := <-b.done:
		if err != nil {
			b.t.Fatalf("Run: %v", err)
		}
	case <-time.After(30 * time.Second):
		b.t.Fatal("Run did not return after EOF")
	}
}

func (b *bridge) initialize() {
	b.t.Helper()
	b.send(`{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`)
	if l := b.next(); !strings.Contains(l, `"protocolVersion":"2025-11-25"`) {
		b.t.Fatalf("initialize: %s", l)
	}
	b.send(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)
}

func toolCallLine(id int, tool string, args string) string {
	return fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":%q,"arguments":%s}}`, id, tool, args)
}

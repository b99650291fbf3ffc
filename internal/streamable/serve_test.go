package streamable

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func serveRecorded(st *Stream, o Reply) (*httptest.ResponseRecorder, Outcome) {
	rec := httptest.NewRecorder()
	out := Serve(context.Background(), rec, st, &o)
	return rec, out
}

func TestServeALoneResponseAsJSON(t *testing.T) {
	st := NewStream(1, Window{})
	st.Push([]byte(`{"jsonrpc":"2.0","id":1,"result":{}}`), true)
	rec, out := serveRecorded(st, Reply{JSON: true, SSE: true})
	if !out.Complete || out.SSE || rec.Header().Get("Content-Type") != "application/json" || rec.Body.String() != `{"jsonrpc":"2.0","id":1,"result":{}}`+"\n" {
		t.Fatalf("outcome %+v, %q %q", out, rec.Header().Get("Content-Type"), rec.Body)
	}
	if rec.Header().Get("Content-Length") != "37" {
		t.Errorf("Content-Length %q", rec.Header().Get("Content-Length"))
	}
}

func TestServeStreamsWhatComesFirst(t *testing.T) {
	st := NewStream(4, Window{})
	st.Push([]byte(`{"jsonrpc":"2.0","method":"notifications/progress"}`), false)
	st.Push([]byte(`{"jsonrpc":"2.0","id":1,"result":{}}`), true)
	rec, out := serveRecorded(st, Reply{JSON: true, SSE: true, Priming: true})
	want := "id: 4-0\nretry: 1000\ndata: \n\n" +
		"id: 4-1\nevent: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\"}\n\n" +
		"id: 4-2\nevent: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n\n"
	if !out.Complete || !out.SSE || rec.Header().Get("Content-Type") != "text/event-stream" || rec.Body.String() != want {
		t.Fatalf("outcome %+v:\n%s", out, rec.Body)
	}
	if !st.Complete() {
		t.Error("the stream does not know it was written out")
	}
}

func TestServeToAClientOfOneType(t *testing.T) {
	t.Run("SSE only", func(t *testing.T) {
		st := NewStream(0, Window{})
		st.Push([]byte(`{"id":1,"result":{}}`), true)
		rec, out := serveRecorded(st, Reply{SSE: true})
		if !out.SSE || rec.Body.String() != "event: message\ndata: {\"id\":1,\"result\":{}}\n\n" {
			t.Fatalf("%+v %q", out, rec.Body)
		}
	})
	t.Run("JSON only", func(t *testing.T) {
		st := NewStream(0, Window{})
		st.Push([]byte(`{"method":"notifications/message"}`), false)
		st.Push([]byte(`{"id":1,"result":{}}`), true)
		rec, out := serveRecorded(st, Reply{JSON: true})
		if out.SSE || !out.Complete || rec.Body.String() != "{\"id\":1,\"result\":{}}\n" {
			t.Fatalf("%+v %q", out, rec.Body)
		}
	})
}

func TestServeModernStatus(t *testing.T) {
	st := NewStream(0, Window{})
	st.Push([]byte(`{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"no"}}`), true)
	if rec, _ := serveRecorded(st, Reply{JSON: true, Modern: true}); rec.Code != http.StatusNotFound {
		t.Fatalf("status %d, want 404 for -32601", rec.Code)
	}
}

func TestServeSaysEventsWereDropped(t *testing.T) {
	st := NewStream(2, Window{Events: 2})
	for range 5 {
		st.Push([]byte(`{}`), false)
	}
	st.End()
	rec, out := serveRecorded(st, Reply{SSE: true, Stream: true, After: 1})
	if out.Complete || !strings.Contains(rec.Body.String(), ": events before this one were dropped") || strings.Count(rec.Body.String(), "event: message") != 2 {
		t.Fatalf("%+v %q", out, rec.Body)
	}
}

func TestServeTakeover(t *testing.T) {
	st := NewStream(1, Window{})
	rec := httptest.NewRecorder()
	done := make(chan Outcome)
	a := st.Attach()
	go func() { done <- Serve(context.Background(), rec, st, &Reply{SSE: true, Stream: true, Attachment: a}) }()
	st.Attach()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the older reader kept the stream after a newer one took it over")
	}
}

func TestServeKeepAlive(t *testing.T) {
	st := NewStream(1, Window{})
	rec := httptest.NewRecorder()
	done := make(chan struct{})
	go func() {
		Serve(context.Background(), rec, st, &Reply{SSE: true, Stream: true, KeepAlive: 10 * time.Millisecond})
		close(done)
	}()
	time.Sleep(100 * time.Millisecond)
	st.End()
	<-done
	if !strings.Contains(rec.Body.String(), ": keep-alive\n\n") {
		t.Fatalf("no keep-alive comment on an idle stream: %q", rec.Body)
	}
}

// TestServeStalledReader: a client that stops reading an SSE stream loses
// its connection once a write takes longer than the write timeout, and the
// handler returns.
func TestServeStalledReader(t *testing.T) {
	st := NewStream(1, Window{})
	returned := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(returned)
		Serve(r.Context(), w, st, &Reply{SSE: true, Stream: true, WriteTimeout: 200 * time.Millisecond})
	}))
	defer srv.Close()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, _ = conn.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
	if line, err := bufio.NewReader(conn).ReadString('\n'); err != nil || !strings.Contains(line, "200") {
		t.Fatalf("status line %q %v", line, err)
	}
	// The client reads no more; the server has plenty to say.
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		big := []byte(`"` + strings.Repeat("x", 256<<10) + `"`)
		for {
			select {
			case <-stop:
				return
			case <-returned:
				return
			case <-time.After(time.Millisecond):
				st.Push(big, false)
			}
		}
	}()
	select {
	case <-returned:
	case <-time.After(60 * time.Second):
		t.Fatal("the handler is still held by a client that stopped reading")
	}
}

package cli_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/mcp-oauth-gateway/gateway/internal/cli"
	"github.com/mcp-oauth-gateway/gateway/internal/testenv"
)

func loopbackListener(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

func within(t *testing.T, what string, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(20 * time.Second):
		t.Fatalf("%s did not happen within 20 s", what)
	}
}

// A shutdown lets the request in flight finish and answer, then runs
// OnShutdown, which ends the open GET stream, and returns.
func TestServeGracefulShutdown(t *testing.T) {
	var logs testenv.Output
	var shutdownRan atomic.Int32
	postEntered, release, streamEntered, endStreams := make(chan struct{}), make(chan struct{}), make(chan struct{}), make(chan struct{})
	var postSawShutdown atomic.Bool
	mux := http.NewServeMux()
	mux.HandleFunc("POST /call", func(w http.ResponseWriter, r *http.Request) {
		close(postEntered)
		<-release
		postSawShutdown.Store(shutdownRan.Load() != 0)
		io.WriteString(w, "finished")
	})
	mux.HandleFunc("GET /stream", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, ": open\n\n")
		w.(http.Flusher).Flush()
		close(streamEntered)
		select {
		case <-endStreams:
		case <-r.Context().Done():
		}
	})
	ln := loopbackListener(t)
	addr := ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() {
		served <- cli.Serve(ctx, ln, mux, &cli.ServeOptions{
			Logger:     slog.New(slog.NewTextHandler(&logs, nil)),
			LogAttrs:   []any{"mcp", "/mcp"},
			OnShutdown: func() { shutdownRan.Add(1); close(endStreams) },
		})
	}()

	stream, err := http.Get("http://" + addr + "/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Body.Close()
	within(t, "the GET stream", streamEntered)
	type result struct {
		body string
		err  error
	}
	post := make(chan result, 1)
	go func() {
		resp, err := http.Post("http://"+addr+"/call", "text/plain", strings.NewReader("x"))
		if err != nil {
			post <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		post <- result{string(b), err}
	}()
	within(t, "the POST", postEntered)

	cancel()
	// The server stops accepting: wait for that, then let the call finish.
	gone := make(chan struct{})
	go func() {
		for {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				close(gone)
				return
			}
			c.Close()
			time.Sleep(10 * time.Millisecond)
		}
	}()
	within(t, "the listener's close", gone)
	close(release)
	r := <-post
	if r.err != nil || r.body != "finished" {
		t.Fatalf("the call in flight: %q, %v", r.body, r.err)
	}
	if postSawShutdown.Load() {
		t.Error("OnShutdown ran before the call in flight finished")
	}
	// The stream ends once OnShutdown ran.
	streamEnded := make(chan struct{})
	go func() { io.Copy(io.Discard, bufio.NewReader(stream.Body)); close(streamEnded) }()
	within(t, "the end of the stream", streamEnded)
	done := make(chan struct{})
	go func() {
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
		close(done)
	}()
	within(t, "Serve's return", done)
	if n := shutdownRan.Load(); n != 1 {
		t.Errorf("OnShutdown ran %d times", n)
	}
	for _, want := range []string{"msg=listening addr=" + addr + " mcp=/mcp", `msg="shutting down" reason="context done"`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs lack %q:\n%s", want, logs.String())
		}
	}
}

// A request that never ends does not keep the server: after the timeout
// its connection is closed and Serve returns.
func TestServeShutdownTimeout(t *testing.T) {
	var logs testenv.Output
	entered, unblock := make(chan struct{}), make(chan struct{})
	defer close(unblock)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-unblock
	})
	ln := loopbackListener(t)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() {
		served <- cli.Serve(ctx, ln, h, &cli.ServeOptions{Logger: slog.New(slog.NewTextHandler(&logs, nil)), ShutdownTimeout: 50 * time.Millisecond})
	}()
	failed := make(chan struct{})
	go func() {
		resp, err := http.Post("http://"+ln.Addr().String()+"/", "text/plain", nil)
		if err == nil {
			resp.Body.Close()
			t.Errorf("the stuck request got an answer")
		}
		close(failed)
	}()
	within(t, "the request", entered)
	cancel()
	done := make(chan struct{})
	go func() {
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
		close(done)
	}()
	within(t, "Serve's return", done)
	within(t, "the client's error", failed)
	if !strings.Contains(logs.String(), "shutdown timeout") {
		t.Errorf("logs:\n%s", logs.String())
	}
}

func TestServeReturnsServeError(t *testing.T) {
	ln := loopbackListener(t)
	ln.Close()
	ran := false
	err := cli.Serve(context.Background(), ln, http.NotFoundHandler(), &cli.ServeOptions{
		Logger: slog.New(slog.DiscardHandler), OnShutdown: func() { ran = true },
	})
	if err == nil || errors.Is(err, http.ErrServerClosed) || !ran {
		t.Errorf("Serve on a closed listener: %v (cleanup ran: %v)", err, ran)
	}
}

// SIGTERM ends the context with a cause naming the signal.
func TestSignalContext(t *testing.T) {
	ctx, stop := cli.SignalContext(context.Background())
	defer stop()
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ctx.Done():
	case <-time.After(20 * time.Second):
		t.Fatal("no end after SIGTERM")
	}
	if cause := context.Cause(ctx); !errors.Is(cause, cli.ErrSignal) || !strings.Contains(cause.Error(), "terminated") {
		t.Errorf("cause %v", cause)
	}
}

func TestListenDefaultsToLoopback(t *testing.T) {
	c := cli.New("t", "")
	l := c.Listen(3000, "HOST", "PORT")
	if err := c.Parse([]string{"--port", "0"}, envOf(), nil); err != nil {
		t.Fatal(err)
	}
	if l.Addr() != "127.0.0.1:0" {
		t.Fatalf("address %s", l.Addr())
	}
	ln, err := l.Listen(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if ip := ln.Addr().(*net.TCPAddr).IP; !ip.IsLoopback() {
		t.Errorf("listening on %v", ip)
	}
}

// Which hosts are loopback, decided without listening (and, for these,
// without a DNS query).
func TestListenLoopback(t *testing.T) {
	for host, want := range map[string]bool{
		"127.0.0.1": true, "127.0.0.2": true, "::1": true, "[::1]": true, "localhost": true, "LOCALHOST.": true, "mcp.localhost": true,
		"0.0.0.0": false, "::": false, "[::]": false, "192.0.2.10": false, "fd00::1": false,
	} {
		c := cli.New("t", "")
		l := c.Listen(3000, "HOST", "PORT")
		if err := c.Parse(nil, envOf("HOST", host), nil); err != nil {
			t.Errorf("%s: %v", host, err)
			continue
		}
		if got, err := l.Loopback(context.Background()); err != nil || got != want {
			t.Errorf("%s: loopback %v, %v; want %v", host, got, err, want)
		}
	}
	for _, host := range []string{"bad host", "-x.example", "a..b", "exa_mple.com", "http://x", "[::1"} {
		c := cli.New("t", "")
		c.Listen(3000, "HOST", "PORT")
		err := c.Parse([]string{"--host", host}, envOf(), nil)
		if cli.Status(err) != 2 || !strings.Contains(err.Error(), "--host / HOST") {
			t.Errorf("%q: %v", host, err)
		}
	}
}

func TestLoopbackName(t *testing.T) {
	for host, want := range map[string]bool{"localhost": true, "a.localhost.": true, "127.1.2.3": true, "[::1]": true,
		"localhost.example": false, "0.0.0.0": false, "example.com": false, "": false} {
		if got := cli.LoopbackName(host); got != want {
			t.Errorf("LoopbackName(%q) = %v", host, got)
		}
	}
}

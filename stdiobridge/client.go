package stdiobridge

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcp-oauth-gateway/gateway/internal/streamable"
)

// Defaults of ClientOptions.
const (
	DefaultClientMaxMessageBytes = 64 << 20
	DefaultClientRetryDelay      = time.Second
	DefaultClientShutdownGrace   = 10 * time.Second
	// DefaultClientIdleConns is how many idle connections to the server
	// the default HTTPClient keeps (net/http's default keeps 2 per host,
	// so that requests in flight beyond two would dial again).
	DefaultClientIdleConns = 64
)

// ClientOptions configure a Client. Nil means the defaults.
type ClientOptions struct {
	// HTTPClient sends the requests; give it an OAuth transport
	// (oauth/mcpauth) for a protected server, on a transport that keeps
	// enough idle connections for the requests in flight. Nil: a client
	// without a timeout (streams are long-lived) on a copy of
	// http.DefaultTransport that keeps DefaultClientIdleConns.
	HTTPClient *http.Client
	// Header is added to every request (e.g. an API key). Nil: none.
	Header http.Header
	// MaxMessageBytes bounds one message in either direction. Zero:
	// DefaultClientMaxMessageBytes.
	MaxMessageBytes int
	// RetryDelay is the wait before reconnecting a broken stream when the
	// server sent no retry field. Zero: DefaultClientRetryDelay.
	RetryDelay time.Duration
	// ShutdownGrace is how long requests in flight may still finish after
	// standard input ends. Zero: DefaultClientShutdownGrace.
	ShutdownGrace time.Duration
	// Logger receives the log; it never sees a message's content or a
	// token. Nil: slog.Default().
	Logger *slog.Logger
}

// Client is the client direction of the bridge: it relays a local stdio
// MCP endpoint (newline-delimited JSON-RPC, as Claude Desktop and other
// local clients speak it) to a remote StreamableHTTP server.
//
// Each message from the input is sent in a request of its own, as soon as
// it is read, so requests are relayed concurrently; whatever the server
// sends (responses, notifications, and its own requests on the response
// streams and on the session's GET stream) is written to the output, one
// message per line, as the server sent it. The client's answers to server
// requests are posted back. Broken streams are resumed with Last-Event-ID
// after the server's retry delay. A session the server forgets (404) is
// re-created by replaying the client's initialize and
// notifications/initialized, invisibly to the client. The negotiated
// protocol version goes into every request's MCP-Protocol-Version header;
// 2026-07-28 requests (no session) carry their own version from _meta and
// the Mcp-Method, Mcp-Name and Mcp-Param-* headers. When the input ends
// (or Run's context does) the session is deleted.
type Client struct {
	url    string
	hc     *http.Client
	header http.Header
	max    int
	retry  time.Duration
	grace  time.Duration
	log    *slog.Logger

	out       io.Writer
	outMu     sync.Mutex
	outBuf    []byte // the line being written, under outMu
	outClosed bool   // Run returned: nothing more is written, under outMu
	listening sync.WaitGroup

	mu          sync.Mutex
	session     string
	version     string
	initRaw     []byte
	initialized []byte
	reinit      *reinitCall
	tools       map[string]*mcp.Tool
	badTools    map[string]string // tools with invalid x-mcp-header annotations: why
	getRunning  bool
	getStop     context.CancelFunc
	closed      bool

	hdrValues sync.Map // header value -> []string{value}; see hdr
	hdrCount  atomic.Int32
	ran       atomic.Bool
}

// ErrClientRan is the error of a second Run of a Client.
var ErrClientRan = errors.New("stdiobridge: the client ran already; make a new one")

type reinitCall struct {
	done chan struct{}
	err  error
}

// NewClient returns a Client for the MCP endpoint at serverURL.
func NewClient(serverURL string, opts *ClientOptions) (*Client, error) {
	u, err := url.Parse(serverURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("stdiobridge: server URL %q is not an http(s) URL", serverURL)
	}
	c := &Client{url: u.String(), tools: map[string]*mcp.Tool{}, badTools: map[string]string{}}
	var o ClientOptions
	if opts != nil {
		o = *opts
	}
	c.hc = o.HTTPClient
	if c.hc == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = DefaultClientIdleConns
		c.hc = &http.Client{Transport: tr}
	}
	c.header = o.Header.Clone()
	c.max = o.MaxMessageBytes
	if c.max <= 0 {
		c.max = DefaultClientMaxMessageBytes
	}
	c.retry = o.RetryDelay
	if c.retry <= 0 {
		c.retry = DefaultClientRetryDelay
	}
	c.grace = o.ShutdownGrace
	if c.grace <= 0 {
		c.grace = DefaultClientShutdownGrace
	}
	c.log = o.Logger
	if c.log == nil {
		c.log = slog.Default()
	}
	return c, nil
}

// Session returns the current session id ("" when there is none).
func (c *Client) Session() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.session
}

// Run relays between in and out until in ends or ctx is done, then deletes
// the session. A client that closes its input has its requests in flight
// finished (within ShutdownGrace) first. Nothing is written to out after
// Run returns. A Client runs once (ErrClientRan after that).
func (c *Client) Run(ctx context.Context, in io.Reader, out io.Writer) error {
	if c.ran.Swap(true) {
		return ErrClientRan
	}
	c.out = out
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	inp := &input{br: bufio.NewReaderSize(in, 64<<10), max: c.max, log: c.log,
		baton: make(chan struct{}), stop: make(chan struct{}), done: make(chan error, 1)}
	var wg sync.WaitGroup
	go c.read(ctx, inp, &wg)

	var err error
	select {
	case <-ctx.Done():
		err = ctx.Err()
	case err = <-inp.done:
	}
	relays := make(chan struct{})
	go func() { wg.Wait(); close(relays) }()
	if ctx.Err() == nil {
		// Input ended: let the requests in flight finish.
		select {
		case <-relays:
		case <-time.After(c.grace):
			c.log.Warn("stdiobridge: requests still in flight at exit", "grace", c.grace)
		case <-ctx.Done():
		}
	}
	cancel()
	inp.end(nil)
	c.mu.Lock()
	c.closed = true
	if c.getStop != nil {
		c.getStop()
	}
	c.mu.Unlock()
	// The canceled requests and the GET stream end at once; then nothing
	// more reaches out (a reader still blocked on in drops what it reads).
	select {
	case <-relays:
	case <-time.After(5 * time.Second):
		c.log.Warn("stdiobridge: requests did not end with the bridge")
	}
	c.listening.Wait()
	c.outMu.Lock()
	c.outClosed = true
	c.outMu.Unlock()
	c.deleteSession()
	if errors.Is(err, io.EOF) || errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
}

// maxIdleReaders bounds the goroutines that wait for their turn to read
// after relaying a request.
const maxIdleReaders = 32

// input is the client's side of the bridge. One goroutine at a time reads
// it (the one holding the turn); the goroutine that reads a request relays
// it itself and passes the turn to an idle goroutine, or a new one, so that
// nothing stands between reading a message and posting it, and requests
// still run concurrently. Goroutines that finished a request wait for the
// turn (at most maxIdleReaders of them), keeping their grown stacks.
type input struct {
	br  *bufio.Reader
	max int
	log *slog.Logger
	buf []byte // the line being read; only the turn's holder touches it

	baton chan struct{} // the turn, passed to an idle goroutine
	idle  atomic.Int32  // goroutines waiting for the turn
	stop  chan struct{} // closed when the input ended or Run returned
	once  sync.Once
	done  chan error // why the input ended (io.EOF at its end)
}

// next returns the next non-empty line (a copy), skipping lines longer
// than max.
func (in *input) next() ([]byte, error) {
	for {
		chunk, err := in.br.ReadSlice('\n')
		in.buf = append(in.buf, chunk...)
		if errors.Is(err, bufio.ErrBufferFull) {
			if len(in.buf) > in.max {
				in.log.Error("stdiobridge: message from the client too large; skipped", "limit", in.max)
				for errors.Is(err, bufio.ErrBufferFull) {
					_, err = in.br.ReadSlice('\n')
				}
				in.buf = in.buf[:0]
				if err != nil {
					return nil, err
				}
			}
			continue
		}
		l := bytes.TrimSpace(in.buf)
		var out []byte
		if len(l) > 0 {
			out = bytes.Clone(l)
		}
		if cap(in.buf) > 1<<20 {
			in.buf = nil // do not keep a large message's buffer
		} else {
			in.buf = in.buf[:0]
		}
		if out != nil {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// end records why the input ended (the first reason counts) and releases
// the idle goroutines.
func (in *input) end(err error) {
	in.once.Do(func() {
		in.done <- err
		close(in.stop)
	})
}

// pass gives the turn to an idle goroutine, or to a new one.
func (c *Client) pass(ctx context.Context, in *input, wg *sync.WaitGroup) {
	select {
	case in.baton <- struct{}{}:
	default:
		go c.read(ctx, in, wg)
	}
}

// await waits for the turn after a request; false: the goroutine is not
// needed (enough wait already, or the input ended).
func (in *input) await() bool {
	if in.idle.Add(1) > maxIdleReaders {
		in.idle.Add(-1)
		return false
	}
	defer in.idle.Add(-1)
	select {
	case <-in.baton:
		return true
	case <-in.stop:
		return false
	}
}

// read reads and relays messages while it holds the turn.
func (c *Client) read(ctx context.Context, in *input, wg *sync.WaitGroup) {
	for {
		raw, err := in.next()
		if err != nil {
			in.end(err)
			return
		}
		if ctx.Err() != nil {
			in.end(ctx.Err())
			return
		}
		m, concurrent := c.dispatch(ctx, raw)
		if !concurrent {
			continue
		}
		wg.Add(1)
		c.pass(ctx, in, wg)
		c.relay(ctx, m, raw)
		wg.Done()
		if !in.await() {
			return
		}
	}
}

// write writes one message to the output.
func (c *Client) write(raw []byte) {
	c.outMu.Lock()
	defer c.outMu.Unlock()
	if c.outClosed {
		return
	}
	c.outBuf = appendLine(c.outBuf[:0], raw)
	if _, err := c.out.Write(c.outBuf); err != nil {
		c.log.Debug("stdiobridge: writing to the client", "err", err)
	}
	if cap(c.outBuf) > 1<<20 {
		c.outBuf = nil
	}
}

// dispatch handles one message read from the input: what must be relayed
// in order (initialize, notifications) or answered locally (a parse error,
// a tool that may not be called) is done here; for the rest (requests,
// answers to the server's requests, batches) it returns the message and
// true, and the caller relays it concurrently with what follows (m is nil
// for a batch).
func (c *Client) dispatch(ctx context.Context, raw []byte) (*message, bool) {
	if raw[0] == '[' {
		return nil, true
	}
	m, err := parseMessage(raw)
	if err != nil {
		code := streamable.CodeParseError
		var inv invalidError
		if errors.As(err, &inv) {
			code = streamable.CodeInvalidRequest
		}
		var id []byte
		if m.id.ok() {
			id = m.idBytes()
		}
		c.write(streamable.ErrorResponse(id, code, err.Error(), nil))
		return nil, false
	}
	switch {
	case m.kind == kindRequest && m.method == string(mcp.MethodInitialize):
		// The client waits for this answer before anything else: relay it
		// before reading on, so its session is known to what follows.
		c.mu.Lock()
		c.initRaw = raw
		c.mu.Unlock()
		c.relay(ctx, &m, raw)
	case m.kind == kindNotification && m.method == "notifications/initialized":
		c.mu.Lock()
		c.initialized = raw
		c.mu.Unlock()
		c.relay(ctx, &m, raw)
		// Open the GET stream before relaying what follows: a server may
		// send its requests there as soon as the client calls a tool.
		select {
		case <-c.startListening(ctx):
		case <-time.After(5 * time.Second):
		case <-ctx.Done():
		}
	case m.kind == kindNotification:
		// In order with what follows (a cancellation after its request).
		c.relay(ctx, &m, raw)
	case m.kind == kindRequest && m.method == string(mcp.MethodToolsCall) && c.refuseTool(&m):
	default:
		return &m, true
	}
	return nil, false
}

// refuseTool answers a call of a tool whose x-mcp-header annotations are
// invalid (2026-07-28: clients must not call such tools) and reports
// whether it did.
func (c *Client) refuseTool(m *message) bool {
	c.mu.Lock()
	none := len(c.badTools) == 0
	c.mu.Unlock()
	if none {
		return false
	}
	name, ok := headerName(m)
	if !ok {
		return false
	}
	c.mu.Lock()
	why, bad := c.badTools[name]
	c.mu.Unlock()
	if bad {
		c.write(streamable.ErrorResponse(m.idBytes(), streamable.CodeInvalidParams, fmt.Sprintf("stdiobridge: tool %q is not callable: %s", name, why), nil))
	}
	return bad
}

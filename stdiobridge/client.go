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
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcp-oauth-gateway/gateway/internal/streamable"
)

// Defaults of ClientOptions.
const (
	DefaultClientMaxMessageBytes = 64 << 20
	DefaultClientRetryDelay      = time.Second
	DefaultClientShutdownGrace   = 10 * time.Second
)

// ClientOptions configure a Client. Nil means the defaults.
type ClientOptions struct {
	// HTTPClient sends the requests; give it an OAuth transport
	// (oauth/mcpauth) for a protected server. Nil: a client on
	// http.DefaultTransport without a timeout (streams are long-lived).
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

	out   io.Writer
	outMu sync.Mutex

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
}

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
		c.hc = &http.Client{}
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
// finished (within ShutdownGrace) first.
func (c *Client) Run(ctx context.Context, in io.Reader, out io.Writer) error {
	c.out = out
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	lines := make(chan []byte)
	readErr := make(chan error, 1)
	go func() { readErr <- c.readLines(ctx, in, lines) }()

	var err error
loop:
	for {
		select {
		case <-ctx.Done():
			err = ctx.Err()
			break loop
		case l, ok := <-lines:
			if !ok {
				err = <-readErr
				break loop
			}
			c.dispatch(ctx, l, &wg)
		}
	}
	if ctx.Err() == nil {
		// Input ended: let the requests in flight finish.
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(c.grace):
			c.log.Warn("stdiobridge: requests still in flight at exit", "grace", c.grace)
		case <-ctx.Done():
		}
	}
	cancel()
	c.mu.Lock()
	c.closed = true
	if c.getStop != nil {
		c.getStop()
	}
	c.mu.Unlock()
	c.deleteSession()
	if errors.Is(err, io.EOF) || errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
}

// readLines sends each non-empty line of in (a copy) to lines.
func (c *Client) readLines(ctx context.Context, in io.Reader, lines chan<- []byte) error {
	defer close(lines)
	br := bufio.NewReaderSize(in, 64<<10)
	var buf []byte
	for {
		chunk, err := br.ReadSlice('\n')
		buf = append(buf, chunk...)
		if errors.Is(err, bufio.ErrBufferFull) {
			if len(buf) > c.max {
				c.log.Error("stdiobridge: message from the client too large; skipped", "limit", c.max)
				// Skip to the end of the line.
				for errors.Is(err, bufio.ErrBufferFull) {
					_, err = br.ReadSlice('\n')
				}
				buf = buf[:0]
				if err != nil {
					return err
				}
			}
			continue
		}
		if l := bytes.TrimSpace(buf); len(l) > 0 {
			select {
			case lines <- bytes.Clone(l):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		buf = buf[:0]
		if err != nil {
			return err
		}
	}
}

// write writes one message to the output.
func (c *Client) write(raw []byte) {
	c.outMu.Lock()
	defer c.outMu.Unlock()
	if _, err := c.out.Write(line(raw)); err != nil {
		c.log.Debug("stdiobridge: writing to the client", "err", err)
	}
}

// dispatch relays one message read from the input.
func (c *Client) dispatch(ctx context.Context, raw []byte, wg *sync.WaitGroup) {
	if raw[0] == '[' {
		wg.Add(1)
		go func() { defer wg.Done(); c.relay(ctx, nil, raw) }()
		return
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
		return
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
		wg.Add(1)
		go func() { defer wg.Done(); c.relay(ctx, &m, raw) }()
	}
}

// refuseTool answers a call of a tool whose x-mcp-header annotations are
// invalid (2026-07-28: clients must not call such tools) and reports
// whether it did.
func (c *Client) refuseTool(m *message) bool {
	name, ok := mcp.ExtractHeaderName(mcp.MethodToolsCall, m.paramsBytes())
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

package stdiobridge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mcp-oauth-gateway/gateway/internal/streamable"
	"github.com/mcp-oauth-gateway/gateway/mcpserver"
)

// Proxy serves one stdio MCP server over StreamableHTTP. It is an
// http.Handler for the MCP endpoint (mount it at any path), behind the
// Origin, Host and CORS guard. It is safe for concurrent use; Close stops
// every server process it started.
type Proxy struct {
	cfg     *config
	log     *slog.Logger
	handler http.Handler

	sessions *streamable.Table[*session]
	window   streamable.Window // of streams that are not resumable
	health   health
	childSeq atomic.Int64
	live     atomic.Int64 // children alive or starting, for MaxChildren

	mu       sync.Mutex
	children map[*child]struct{}
	pools    map[string][]*child
	closed   bool

	// parkMu guards parked; it is taken after any other lock.
	parkMu sync.Mutex
	parked map[string]*parked

	stopping sync.WaitGroup // background process stops
	cancel   context.CancelFunc
	swept    chan struct{}
}

// NewProxy returns a Proxy that starts cmd for its clients. It fails on an
// invalid Command or ProxyOptions; it starts no process until a client
// arrives (see Check for a start-up probe).
func NewProxy(cmd Command, opts *ProxyOptions) (*Proxy, error) {
	cfg, err := resolve(cmd, opts)
	if err != nil {
		return nil, err
	}
	guard, err := mcpserver.NewGuard(&mcpserver.GuardOptions{
		AllowedOrigins: cfg.AllowedOrigins,
		AllowedHosts:   cfg.AllowedHosts,
		AllowAnyHost:   cfg.AllowAnyHost,
		Logger:         cfg.Logger,
	})
	if err != nil {
		return nil, fmt.Errorf("stdiobridge: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	px := &Proxy{
		cfg:      cfg,
		log:      cfg.Logger.With("server", cfg.Name),
		sessions: streamable.NewTable[*session](cfg.MaxSessions),
		window:   streamable.WindowOf(cfg.ReplayEvents),
		children: map[*child]struct{}{},
		pools:    map[string][]*child{},
		parked:   map[string]*parked{},
		cancel:   cancel,
		swept:    make(chan struct{}),
	}
	px.handler = guard.Wrap(streamable.Methods{Post: px.post, Get: px.get, Delete: px.delete})
	go px.sweep(ctx)
	return px, nil
}

// Name is the server's name in logs and health reports.
func (px *Proxy) Name() string { return px.cfg.Name }

// ServeHTTP serves the MCP endpoint, whatever the request path.
func (px *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	px.handler.ServeHTTP(w, r)
}

// Sessions is the number of live sessions.
func (px *Proxy) Sessions() int { return px.sessions.Len() }

// Children is the number of live server processes.
func (px *Proxy) Children() int {
	px.mu.Lock()
	defer px.mu.Unlock()
	return len(px.children)
}

// Close ends every session, stops every server process (closing its input,
// then SIGTERM, then SIGKILL after the grace period) and waits for them to
// be gone. Later requests get 503.
func (px *Proxy) Close() error {
	px.mu.Lock()
	if px.closed {
		px.mu.Unlock()
		px.stopping.Wait()
		return nil
	}
	px.closed = true
	px.mu.Unlock()
	px.cancel()
	<-px.swept
	for _, s := range px.sessions.All() {
		px.endSession(s, "the proxy is shutting down")
	}
	px.mu.Lock()
	children := make([]*child, 0, len(px.children))
	for ch := range px.children {
		children = append(children, ch)
	}
	px.mu.Unlock()
	px.parkMu.Lock()
	for _, p := range px.parked {
		p.timer.Stop()
	}
	px.parked = map[string]*parked{}
	px.parkMu.Unlock()
	for _, ch := range children {
		px.stopChild(ch)
	}
	px.stopping.Wait()
	return nil
}

func (px *Proxy) isClosed() bool {
	px.mu.Lock()
	defer px.mu.Unlock()
	return px.closed
}

// reserve takes a slot under MaxChildren.
func (px *Proxy) reserve() bool {
	if px.cfg.MaxChildren < 0 {
		px.live.Add(1)
		return true
	}
	for {
		n := px.live.Load()
		if n >= int64(px.cfg.MaxChildren) {
			return false
		}
		if px.live.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

func (px *Proxy) release() { px.live.Add(-1) }

// errBusy means the MaxChildren cap is reached.
var errBusy = errors.New("too many stdio server processes are running")

// writeUnavailable answers a request no process could be found for: 503
// when the proxy is at its cap or shutting down, 502 when the process
// failed.
func writeUnavailable(w http.ResponseWriter, id []byte, err error) {
	status := http.StatusBadGateway
	if errors.Is(err, errBusy) || errors.Is(err, errClosed) {
		status = http.StatusServiceUnavailable
	}
	writeError(w, status, id, streamable.CodeServerError, "the MCP server is not available: "+err.Error())
}

// track registers a started child; untrack forgets an exited one.
func (px *Proxy) track(ch *child) {
	px.mu.Lock()
	px.children[ch] = struct{}{}
	px.mu.Unlock()
}

func (px *Proxy) untrack(ch *child) {
	px.mu.Lock()
	if _, ok := px.children[ch]; ok {
		delete(px.children, ch)
		px.release()
	}
	if list := px.pools[ch.key]; ch.role != roleSession && len(list) > 0 {
		out := list[:0]
		for _, o := range list {
			if o != ch {
				out = append(out, o)
			}
		}
		if len(out) == 0 {
			delete(px.pools, ch.key)
		} else {
			px.pools[ch.key] = out
		}
	}
	px.mu.Unlock()
}

// stopChild stops a child's process in the background; Close waits for it.
func (px *Proxy) stopChild(ch *child) {
	px.stopping.Add(1)
	go func() {
		defer px.stopping.Done()
		ch.stop()
	}()
}

// endSession ends a session: its streams close, requests in flight get an
// error, later requests with its id get 404, and a process of its own is
// stopped.
func (px *Proxy) endSession(s *session, reason string) {
	px.sessions.Remove(&s.core)
	if !s.close() {
		return
	}
	s.ch.mu.Lock()
	delete(s.ch.sessions, s)
	s.ch.mu.Unlock()
	px.log.Debug("session ended", "session", streamable.ShortID(s.id()), "reason", reason)
	if s.ch.role == roleSession {
		px.stopChild(s.ch)
	}
}

// sweep ends idle sessions, stops idle pooled processes and forgets old
// streams, until ctx ends.
func (px *Proxy) sweep(ctx context.Context) {
	defer close(px.swept)
	idle := px.cfg.IdleTimeout
	streamable.Every(ctx, streamable.SweepEvery(idle), func(now time.Time) {
		px.sessions.Sweep(now)
		if idle <= 0 {
			return
		}
		for _, s := range px.sessions.Idle(now, idle) {
			px.endSession(s, "idle timeout")
		}
		px.stopIdleChildren(now.Add(-idle))
	})
}

// stopIdleChildren stops pooled and shared processes that serve nobody and
// were last used before t.
func (px *Proxy) stopIdleChildren(t time.Time) {
	px.mu.Lock()
	var idle []*child
	for _, list := range px.pools {
		for _, ch := range list {
			ch.mu.Lock()
			if len(ch.calls) == 0 && len(ch.sessions) == 0 && len(ch.listens) == 0 && ch.lastUsed.Before(t) && ch.isReady() {
				idle = append(idle, ch)
			}
			ch.mu.Unlock()
		}
	}
	px.mu.Unlock()
	for _, ch := range idle {
		ch.log.Debug("stopping idle stdio server")
		px.untrack(ch)
		px.stopChild(ch)
	}
}

// initializeParams is what the proxy says when it initializes a process
// itself (shared and pooled processes). It offers sampling and elicitation
// so that the server may ask for them; the proxy routes those requests to
// the client that caused them.
const initializeParams = `{"protocolVersion":"2025-11-25","capabilities":{"sampling":{},"elicitation":{"form":{},"url":{}}},"clientInfo":{"name":"mcp-streamablehttp-proxy","version":"1.0.0"}}`

const discoverParams = `{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/clientInfo":{"name":"mcp-streamablehttp-proxy","version":"1.0.0"}}}`

// handshake initializes a process the proxy shares or pools, and learns
// whether it serves 2026-07-28 requests itself.
func (ch *child) handshake() {
	px := ch.px
	ctx, cancel := context.WithTimeout(context.Background(), px.cfg.StartupTimeout)
	defer cancel()
	r, err := ch.request(ctx, "initialize", initializeParams, px.cfg.StartupTimeout)
	if err != nil {
		err = fmt.Errorf("initialize: %w", err)
		ch.log.Error("stdio server did not initialize", "err", err)
		px.health.startFailed(err)
		ch.fail(err)
		px.untrack(ch)
		px.stopChild(ch)
		return
	}
	ch.initResult = append([]byte(nil), r.raw[r.result.start:r.result.end]...)
	if v, ok := member(ch.initResult, span{0, len(ch.initResult)}, "protocolVersion"); ok {
		_ = jsonString(ch.initResult[v.start:v.end], &ch.version)
	}
	if err := ch.notify([]byte(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)); err != nil {
		ch.fail(err)
		return
	}
	if px.cfg.Modern == ModernAuto {
		pctx, pcancel := context.WithTimeout(ctx, min(5*time.Second, px.cfg.StartupTimeout))
		r, err := ch.request(pctx, "server/discover", discoverParams, min(5*time.Second, px.cfg.StartupTimeout))
		pcancel()
		if err == nil {
			var res struct {
				SupportedVersions []string `json:"supportedVersions"`
			}
			if jsonUnmarshal(r.raw[r.result.start:r.result.end], &res) == nil {
				for _, v := range res.SupportedVersions {
					if mcp.IsModernProtocol(v) && mcp.IsValidProtocolVersion(v) {
						ch.native = true
					}
				}
			}
		}
	}
	px.health.startOK()
	ch.log.Debug("stdio server initialized", "version", ch.version, "native2026", ch.native)
	ch.mu.Lock()
	ch.readyOK = true
	close(ch.ready)
	ch.mu.Unlock()
}

// pooled returns a ready process for a caller's 2026-07-28 requests, or the
// shared process: the least busy of the caller's pool, starting another
// while the pool is not full and every process is busy.
func (px *Proxy) pooled(ctx context.Context, key string) (*child, error) {
	r, size := rolePool, px.cfg.PoolSize
	if px.cfg.Shared {
		r, key, size = roleShared, "", 1
	}
	px.mu.Lock()
	if px.closed {
		px.mu.Unlock()
		return nil, errClosed
	}
	var best *child
	bestLoad := 0
	for _, ch := range px.pools[key] {
		ch.mu.Lock()
		load, dead := len(ch.calls), ch.dead
		ch.mu.Unlock()
		if dead {
			continue
		}
		if best == nil || load < bestLoad {
			best, bestLoad = ch, load
		}
	}
	if best == nil || (bestLoad > 0 && len(px.pools[key]) < size) {
		if !px.reserve() {
			if best == nil {
				px.mu.Unlock()
				return nil, errBusy
			}
		} else {
			ch, err := px.spawn(r, key)
			if err != nil {
				px.mu.Unlock()
				return nil, err
			}
			px.children[ch] = struct{}{}
			px.pools[key] = append(px.pools[key], ch)
			go ch.handshake()
			best = ch
		}
	}
	px.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, px.cfg.StartupTimeout)
	defer cancel()
	if err := best.wait(ctx); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("the stdio server did not start within %s", px.cfg.StartupTimeout)
		}
		return nil, err
	}
	return best, nil
}

var errClosed = errors.New("the proxy is shutting down")

// Check starts the server once, initializes it and stops it again, to find
// out early whether it can run at all. Its outcome shows in Health.
func (px *Proxy) Check(ctx context.Context) error {
	if !px.reserve() {
		return errBusy
	}
	ch, err := px.spawn(rolePool, "\x00check")
	if err != nil {
		return err
	}
	px.track(ch)
	defer func() {
		px.untrack(ch)
		ch.stop()
	}()
	go ch.handshake()
	return ch.wait(ctx)
}

// jsonString decodes a JSON string.
func jsonString(b []byte, s *string) error { return jsonUnmarshal(b, s) }

// versionKnown reports whether v is a protocol version the proxy serves.
func versionKnown(v string) bool { return mcp.IsValidProtocolVersion(v) }

// legacyVersions lists the session-based versions, newest first.
func legacyVersions() []string { return mcp.LegacyProtocolVersions() }

// supportedVersions lists every version the proxy serves, newest first.
func (px *Proxy) supportedVersions() []string {
	if px.cfg.Modern == ModernOff {
		return legacyVersions()
	}
	return mcp.ValidProtocolVersions
}

package cli

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

// ErrSignal is the cause of a SignalContext's end.
var ErrSignal = errors.New("cli: signal")

// signalCause is the cause of a SignalContext's end.
type signalCause struct{ sig os.Signal }

func (c signalCause) Error() string        { return "cli: signal " + c.sig.String() }
func (c signalCause) Is(target error) bool { return target == ErrSignal }

// SignalContext returns a context that ends at the first SIGINT or
// SIGTERM (its cause wraps ErrSignal and names the signal). After that
// first signal the default handling is back, so a second one stops a
// shutdown that takes too long. stop releases the signals.
func SignalContext(parent context.Context) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancelCause(parent)
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		defer close(done)
		select {
		case s := <-ch:
			signal.Stop(ch)
			cancel(signalCause{s})
		case <-ctx.Done():
		}
	}()
	return ctx, func() {
		signal.Stop(ch)
		cancel(context.Canceled)
		<-done
	}
}

// ServeOptions configure Serve. A nil *ServeOptions means all defaults.
type ServeOptions struct {
	// Logger receives the "listening" and "shutting down" lines and the
	// HTTP server's own errors (at warning level). Zero: slog.Default().
	Logger *slog.Logger
	// LogAttrs are added to the "listening" line (key, value pairs).
	LogAttrs []any
	// ShutdownTimeout bounds the graceful shutdown: after it, connections
	// still open are closed. Zero: 10 s.
	ShutdownTimeout time.Duration
	// OnShutdown, when set, runs once during the shutdown, after every
	// request in flight other than a GET finished (or the timeout passed):
	// it ends what would keep the shutdown waiting, such as SSE streams
	// (mcpserver.Server.Close, stdiobridge.Mux.Close), and releases what
	// the handler holds. Zero: nothing.
	OnShutdown func()
	// The http.Server's timeouts. Zero: ReadHeaderTimeout 10 s, IdleTimeout
	// 2 min, no ReadTimeout or WriteTimeout (which would cut SSE streams).
	ReadHeaderTimeout, ReadTimeout, WriteTimeout, IdleTimeout time.Duration
}

// ListenAndServe listens on l and serves h until ctx ends (see Serve).
func ListenAndServe(ctx context.Context, l *Listen, h http.Handler, opts *ServeOptions) error {
	ln, err := l.Listen(ctx)
	if err != nil {
		return err
	}
	return Serve(ctx, ln, h, opts)
}

// Serve serves h on ln until ctx ends, then shuts down gracefully: it
// stops accepting connections, lets the requests in flight finish, runs
// OnShutdown, and waits for the rest up to ShutdownTimeout before it
// closes them. It returns nil after a shutdown (graceful or not) and the
// error that stopped serving otherwise. It logs "listening" with the
// address actually bound (addr=127.0.0.1:PORT), useful with port 0.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, opts *ServeOptions) error {
	var o ServeOptions
	if opts != nil {
		o = *opts
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = 10 * time.Second
	}
	if o.ReadHeaderTimeout == 0 {
		o.ReadHeaderTimeout = 10 * time.Second
	}
	if o.IdleTimeout == 0 {
		o.IdleTimeout = 2 * time.Minute
	}
	var flight inflight
	hs := &http.Server{
		Handler:           flight.wrap(h),
		ReadHeaderTimeout: o.ReadHeaderTimeout,
		ReadTimeout:       o.ReadTimeout,
		WriteTimeout:      o.WriteTimeout,
		IdleTimeout:       o.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(o.Logger.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	o.Logger.Info("listening", append([]any{"addr", ln.Addr().String()}, o.LogAttrs...)...)

	select {
	case err := <-served:
		if o.OnShutdown != nil {
			o.OnShutdown()
		}
		return err
	case <-ctx.Done():
	}
	reason := "context done"
	var sig signalCause
	if errors.As(context.Cause(ctx), &sig) {
		reason = sig.sig.String()
	}
	o.Logger.Info("shutting down", "reason", reason, "timeout", o.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), o.ShutdownTimeout)
	defer cancel()
	shut := make(chan error, 1)
	go func() { shut <- hs.Shutdown(sctx) }()
	if o.OnShutdown != nil {
		select {
		case <-flight.drained():
		case <-sctx.Done():
		}
		o.OnShutdown()
	}
	if err := <-shut; err != nil {
		o.Logger.Warn("shutdown timeout: closing the connections still open", "timeout", o.ShutdownTimeout)
		hs.Close()
	}
	<-served // http.ErrServerClosed
	return nil
}

// inflight counts the requests being served that are not GETs: those a
// graceful shutdown lets finish before OnShutdown ends the long-lived GET
// streams.
type inflight struct {
	mu       sync.Mutex
	n        int
	draining chan struct{} // closed when n is 0 after drained was called
}

func (f *inflight) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			f.add(1)
			defer f.add(-1)
		}
		h.ServeHTTP(w, r)
	})
}

func (f *inflight) add(d int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n += d
	if f.n == 0 && f.draining != nil {
		select {
		case <-f.draining:
		default:
			close(f.draining)
		}
	}
}

// drained returns a channel closed once no request counted is in flight.
func (f *inflight) drained() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.draining == nil {
		f.draining = make(chan struct{})
		if f.n == 0 {
			close(f.draining)
		}
	}
	return f.draining
}

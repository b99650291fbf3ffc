package echocmd

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/mcp-oauth-gateway/gateway/echo"
	"github.com/mcp-oauth-gateway/gateway/mcpserver"
)

// Main runs the echo server named name, stateful or stateless, until SIGINT
// or SIGTERM, and returns the exit status: 2 for a bad setting, 1 when the
// server cannot run.
func Main(name string, stateful bool, args []string, getenv func(string) string, stderr io.Writer) int {
	cfg, err := parseConfig(name, stateful, args, getenv, stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage): // the flag package has said why
		return 2
	case err != nil:
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 2
	}
	logger, closeLog, err := newLogger(cfg, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "%s: LOG_FILE: %v\n", name, err)
		return 2
	}
	defer closeLog()
	cfg.server.Logger = logger

	srv, err := mcpserver.New(name, version(), &cfg.server)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 2
	}
	register := echo.RegisterStateless
	if stateful {
		register = echo.RegisterStateful
	}
	if err := register(srv, nil); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 2
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		logger.Error("cannot listen", "addr", cfg.addr, "err", err)
		return 1
	}
	hs := &http.Server{Handler: echo.LogRequests(logger, srv.Handler()), ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-ctx.Done()
		logger.Info("shutting down")
		srv.Close() // ends sessions and their open streams first
		sctx, cancel := context.WithTimeout(context.Background(), cfg.shutdown)
		defer cancel()
		_ = hs.Shutdown(sctx)
	}()
	attrs := []any{"url", "http://" + ln.Addr().String() + "/mcp", "sessions", cfg.server.Sessions.String(),
		"trust_gateway_headers", cfg.server.TrustGatewayHeaders}
	if stateful {
		attrs = append(attrs, "session_timeout", cfg.server.SessionIdleTimeout)
	}
	logger.Info("listening", attrs...)
	if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		logger.Error("serve", "err", err)
		return 1
	}
	<-done
	return 0
}

// newLogger logs text to stderr and, when LOG_FILE is set, appends the same
// to that file (its directory is created).
func newLogger(cfg *config, stderr io.Writer) (*slog.Logger, func(), error) {
	w, closeLog := stderr, func() {}
	if cfg.logFile != "" {
		if dir := filepath.Dir(cfg.logFile); dir != "." {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return nil, nil, err
			}
		}
		f, err := os.OpenFile(cfg.logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, nil, err
		}
		w, closeLog = io.MultiWriter(stderr, f), func() { f.Close() }
	}
	level := slog.LevelInfo
	if cfg.debug {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level})), closeLog, nil
}

// version is the module version the binary was built from, or "0.0.0-dev".
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return strings.TrimPrefix(bi.Main.Version, "v")
	}
	return "0.0.0-dev"
}

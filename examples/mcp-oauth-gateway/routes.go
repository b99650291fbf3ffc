package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/mcp-oauth-gateway/gateway/internal/authcmd"
	"github.com/mcp-oauth-gateway/gateway/mcpserver"
	"github.com/mcp-oauth-gateway/gateway/oauth"
)

// gateway is the one handler: the authorization server, the services, and
// /health, /ready, /metrics.
type gateway struct {
	auth     *authcmd.Auth
	services []*service
	metrics  *metrics
	log      *slog.Logger
	access   bool // access log
	// labels name the service of each mux pattern, for metrics and logs.
	labels map[string]string
	mux    *http.ServeMux
}

// routes builds the mux. With host routing each service answers on its
// host only and the authorization server on the issuer's host.
func (g *gateway) routes(guard *mcpserver.Guard, hostRouting, metricsHere bool) error {
	g.mux = http.NewServeMux()
	g.labels = map[string]string{}
	issuerHost := ""
	if hostRouting {
		u, _ := url.Parse(g.auth.Server.Issuer())
		issuerHost = u.Hostname()
	}
	// The authorization server, /verify and the metadata of
	// --resource-config.
	g.mux.Handle(issuerHost+g.auth.VerifyPath(), g.auth.ForwardAuth)
	meta := g.auth.ForwardAuth.MetadataHandler()
	g.mux.Handle(issuerHost+oauth.WellKnownResourceMetadata, meta)
	g.mux.Handle(issuerHost+oauth.WellKnownResourceMetadata+"/", meta)
	g.mux.Handle(issuerHost+"/", g.auth.Server)
	for _, p := range []string{issuerHost + g.auth.VerifyPath(), issuerHost + oauth.WellKnownResourceMetadata,
		issuerHost + oauth.WellKnownResourceMetadata + "/", issuerHost + "/"} {
		g.labels[p] = "auth"
	}
	asOnHost := map[string]bool{issuerHost: true}
	for _, s := range g.services {
		opts := &oauth.MountOptions{Guard: guard.Wrap, MatchHost: hostRouting}
		if hostRouting && !asOnHost[s.host] {
			opts.AuthorizationServer = g.auth.Server
			asOnHost[s.host] = true
		}
		if err := s.pr.Mount(g.mux, s.h, opts); err != nil {
			return err
		}
		u, _ := url.Parse(s.url)
		g.labels[s.host+u.EscapedPath()] = s.name
		g.labels[s.host+s.pr.MetadataPath()] = s.name
	}
	g.mux.HandleFunc("GET /health", g.serveHealth)
	g.mux.HandleFunc("GET /ready", g.serveReady)
	g.labels["GET /health"], g.labels["GET /ready"] = "health", "health"
	if metricsHere {
		g.mux.Handle("GET /metrics", g.metrics.handler(true))
		g.labels["GET /metrics"] = "metrics"
	}
	return nil
}

// ServeHTTP serves a request, counts it and logs it (never its query,
// headers or body: they may carry codes and tokens).
func (g *gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	// The pattern before serving: the authorization server's own mux
	// replaces r.Pattern with its patterns.
	_, pattern := g.mux.Handler(r)
	label, ok := g.labels[pattern]
	if !ok {
		label = "other"
	}
	rec := &statusRecorder{ResponseWriter: w}
	g.mux.ServeHTTP(rec, r)
	status := rec.status
	if status == 0 {
		status = http.StatusOK
	}
	d := time.Since(start)
	if label != "metrics" {
		g.metrics.request(label, status, d.Seconds())
	}
	if g.access {
		g.log.LogAttrs(r.Context(), slog.LevelInfo, "request",
			slog.String("method", r.Method), slog.String("host", r.Host), slog.String("path", r.URL.Path),
			slog.Int("status", status), slog.Int64("bytes", rec.bytes), slog.Duration("duration", d),
			slog.String("service", label), slog.String("remote", r.RemoteAddr), slog.String("user_agent", truncated(r.UserAgent(), 120)))
	}
}

func truncated(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// serveHealth answers while the process serves (liveness).
func (g *gateway) serveHealth(w http.ResponseWriter, r *http.Request) {
	writeStatus(w, http.StatusOK, map[string]any{"status": "ok"})
}

// serveReady answers 200 only when the store answers (readiness), with
// the state of the stdio services.
func (g *gateway) serveReady(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	body := map[string]any{"status": "ready"}
	status := http.StatusOK
	if _, err := g.auth.Store.ListKeys(ctx); err != nil {
		status = http.StatusServiceUnavailable
		body["status"] = "unavailable"
		body["store"] = "the store does not answer"
		g.log.Warn("ready: the store does not answer", "error", err)
		w.Header().Set("Retry-After", "1")
	}
	stdio := map[string]string{}
	for _, s := range g.services {
		if s.stdio != nil {
			stdio[s.name] = s.stdio.Health().Status
		}
	}
	if len(stdio) > 0 {
		body["stdio"] = stdio
	}
	writeStatus(w, status, body)
}

func writeStatus(w http.ResponseWriter, status int, body any) {
	b, _ := json.Marshal(body)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// statusRecorder notes the status and size of a response. It keeps
// streaming working: Flush reaches the connection, and Unwrap lets
// http.ResponseController find the connection's deadlines.
type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

func (r *statusRecorder) Flush() {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	http.NewResponseController(r.ResponseWriter).Flush()
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

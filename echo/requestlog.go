package echo

import (
	"log/slog"
	"net/http"
	"time"
)

// LogRequests wraps next so that every HTTP request is logged at Debug
// level once answered: method, path, status, duration, and the headers a
// proxy or gateway sets (X-Real-IP, X-Forwarded-For, X-Forwarded-Host,
// X-Forwarded-Proto, X-User-Name), the session (shortened) and the user
// agent. Tokens and cookies are never logged. When logger is not enabled for
// Debug, next is returned unwrapped.
func LogRequests(logger *slog.Logger, next http.Handler) http.Handler {
	if logger == nil {
		logger = slog.Default()
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if !logger.Enabled(ctx, slog.LevelDebug) {
			next.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		h := r.Header
		attrs := []slog.Attr{
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Int("status", sw.statusCode()),
			slog.Duration("duration", time.Since(start)),
			slog.String("remote", r.RemoteAddr),
		}
		for _, f := range []struct{ key, header string }{
			{"real_ip", "X-Real-IP"}, {"forwarded_for", "X-Forwarded-For"}, {"forwarded_host", "X-Forwarded-Host"},
			{"forwarded_proto", "X-Forwarded-Proto"}, {"user", "X-User-Name"}, {"user_agent", "User-Agent"},
		} {
			if v := h.Get(f.header); v != "" {
				attrs = append(attrs, slog.String(f.key, v))
			}
		}
		if sid := h.Get("Mcp-Session-Id"); sid != "" {
			attrs = append(attrs, slog.String("session", shortSession(sid)))
		}
		if h.Get("Authorization") != "" {
			attrs = append(attrs, slog.Bool("authorization", true))
		}
		logger.LogAttrs(ctx, slog.LevelDebug, "http request", attrs...)
	})
}

// statusWriter remembers the status of a response. Unwrap lets
// http.ResponseController reach the underlying writer's Flush and deadlines,
// which streamed (SSE) responses need.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

func (w *statusWriter) Flush() {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	http.NewResponseController(w.ResponseWriter).Flush()
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) statusCode() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

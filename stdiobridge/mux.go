package stdiobridge

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
)

// Mux serves several proxies, each at its own path, and their health at
// GET /health. It is an http.Handler; build it before serving.
type Mux struct {
	mux    *http.ServeMux
	mu     sync.Mutex
	routes []route
}

type route struct {
	path string
	px   *Proxy
}

// NewMux returns an empty Mux.
func NewMux() *Mux {
	m := &Mux{mux: http.NewServeMux()}
	m.mux.HandleFunc("GET /health", m.serveHealth)
	return m
}

// Handle serves px at path (with or without a trailing slash). It fails
// for a path that is taken, is /health, or is not a plain absolute path.
func (m *Mux) Handle(path string, px *Proxy) error {
	if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, " {}") {
		return fmt.Errorf("stdiobridge: bad path %q", path)
	}
	path = "/" + strings.Trim(path, "/")
	if path == "/health" {
		return errors.New("stdiobridge: /health is the health report's path")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range m.routes {
		if r.path == path {
			return fmt.Errorf("stdiobridge: path %s is already served", path)
		}
	}
	m.mux.Handle(path, px)
	if path != "/" {
		m.mux.Handle(path+"/{$}", px)
	}
	m.routes = append(m.routes, route{path, px})
	return nil
}

// ServeHTTP routes a request to its server, or answers /health.
func (m *Mux) ServeHTTP(w http.ResponseWriter, r *http.Request) { m.mux.ServeHTTP(w, r) }

// Health reports the state of every server, in the order they were added.
func (m *Mux) Health() []Health {
	m.mu.Lock()
	routes := append([]route(nil), m.routes...)
	m.mu.Unlock()
	out := make([]Health, 0, len(routes))
	for _, r := range routes {
		h := r.px.Health()
		h.Path = r.path
		out = append(out, h)
	}
	return out
}

// serveHealth answers 200 with "status":"healthy" while every server is ok,
// and 503 with "status":"unhealthy" when one is failing.
func (m *Mux) serveHealth(w http.ResponseWriter, r *http.Request) {
	servers := m.Health()
	status, code, sessions := "healthy", http.StatusOK, 0
	for _, h := range servers {
		sessions += h.Sessions
		if h.Status != "ok" {
			status, code = "unhealthy", http.StatusServiceUnavailable
		}
	}
	body, _ := json.Marshal(struct {
		Status         string   `json:"status"`
		ActiveSessions int      `json:"active_sessions"`
		Servers        []Health `json:"servers"`
	}{status, sessions, servers})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = w.Write(append(body, '\n'))
}

// Close closes every proxy, in parallel, and waits for their processes to
// be gone.
func (m *Mux) Close() error {
	m.mu.Lock()
	routes := append([]route(nil), m.routes...)
	m.mu.Unlock()
	var wg sync.WaitGroup
	for _, r := range routes {
		wg.Go(func() { r.px.Close() })
	}
	wg.Wait()
	return nil
}

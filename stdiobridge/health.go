package stdiobridge

import (
	"sync"
	"time"
)

// Health is a server's state as /health reports it.
type Health struct {
	// Name and Path identify the server; Path is empty for a Proxy not
	// mounted in a Mux.
	Name string `json:"name"`
	Path string `json:"path,omitempty"`
	// Status is "ok", or "failing" when the last attempt to start the
	// server failed (it could not be spawned, exited or did not answer
	// initialize in time).
	Status string `json:"status"`
	// Mode is "per-session" or "shared".
	Mode string `json:"mode"`
	// Sessions and Children count live sessions and server processes.
	Sessions int `json:"sessions"`
	Children int `json:"children"`
	// Started, Crashes and StartFailures count processes started, processes
	// that exited without being asked to, and starts that failed.
	Started       int64 `json:"started"`
	Crashes       int64 `json:"crashes"`
	StartFailures int64 `json:"startFailures"`
	// LastError is the latest failure, with its time.
	LastError   string     `json:"lastError,omitempty"`
	LastErrorAt *time.Time `json:"lastErrorAt,omitempty"`
}

// health keeps a server's counters.
type health struct {
	mu            sync.Mutex
	started       int64
	crashes       int64
	startFailures int64
	failing       bool
	lastError     string
	lastErrorAt   time.Time
}

func (h *health) startOK() {
	h.mu.Lock()
	h.started++
	h.failing = false
	h.mu.Unlock()
}

func (h *health) startFailed(err error) {
	h.mu.Lock()
	h.startFailures++
	h.failing = true
	h.lastError, h.lastErrorAt = err.Error(), time.Now()
	h.mu.Unlock()
}

func (h *health) crashed(reason string) {
	h.mu.Lock()
	h.crashes++
	h.lastError, h.lastErrorAt = reason, time.Now()
	h.mu.Unlock()
}

// Health reports the server's current state.
func (px *Proxy) Health() Health {
	px.health.mu.Lock()
	h := Health{
		Name:          px.cfg.Name,
		Status:        "ok",
		Mode:          "per-session",
		Started:       px.health.started,
		Crashes:       px.health.crashes,
		StartFailures: px.health.startFailures,
		LastError:     px.health.lastError,
	}
	if px.health.failing {
		h.Status = "failing"
	}
	if !px.health.lastErrorAt.IsZero() {
		t := px.health.lastErrorAt.UTC()
		h.LastErrorAt = &t
	}
	px.health.mu.Unlock()
	if px.cfg.Shared {
		h.Mode = "shared"
	}
	h.Sessions = px.Sessions()
	h.Children = px.Children()
	return h
}

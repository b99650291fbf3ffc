package main

import (
	"net"
	"net/http"
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/mcp-oauth-gateway/gateway/oauth"
)

// metrics are the gateway's Prometheus metrics, in a registry of its own.
type metrics struct {
	reg             *prometheus.Registry
	requests        *prometheus.CounterVec
	latency         *prometheus.HistogramVec
	tokensIssued    *prometheus.CounterVec
	tokensRefused   *prometheus.CounterVec
	resourceRefused *prometheus.CounterVec

	mu       sync.RWMutex
	services []*service
	byURL    map[string]string // resource URL -> service name
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mcp_gateway_http_requests_total",
			Help: "HTTP requests answered, by service (auth: the authorization server) and status code.",
		}, []string{"service", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "mcp_gateway_http_request_duration_seconds",
			Help:    "Time to answer HTTP requests (to the end of a stream for SSE), by service and status code.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"service", "code"}),
		tokensIssued: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mcp_gateway_tokens_issued_total",
			Help: "Token responses of /token, by grant type.",
		}, []string{"grant_type"}),
		tokensRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mcp_gateway_token_requests_refused_total",
			Help: "Refused /token requests, by grant type and OAuth error code.",
		}, []string{"grant_type", "reason"}),
		resourceRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mcp_gateway_resource_requests_refused_total",
			Help: "Requests a service's token check refused, by service and reason (no_token, expired, revoked, wrong_audience, invalid_token, insufficient_scope, user_not_allowed, ...).",
		}, []string{"service", "reason"}),
		byURL: map[string]string{},
	}
	m.reg.MustRegister(m.requests, m.latency, m.tokensIssued, m.tokensRefused, m.resourceRefused,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		newStateCollector(m))
	return m
}

// track adds the services whose state the metrics report.
func (m *metrics) track(svcs []*service) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.services = svcs
	for _, s := range svcs {
		m.byURL[s.url] = s.name
	}
}

// observe counts the authorization server's and the services' events.
func (m *metrics) observe(e oauth.Event) {
	switch e.Step {
	case oauth.StepToken:
		if e.OK() {
			m.tokensIssued.WithLabelValues(e.GrantType).Inc()
		} else {
			m.tokensRefused.WithLabelValues(e.GrantType, e.Error).Inc()
		}
	case oauth.StepResource:
		if !e.OK() {
			m.mu.RLock()
			name := m.byURL[e.Resource]
			m.mu.RUnlock()
			m.resourceRefused.WithLabelValues(name, e.Error).Inc()
		}
	}
}

// request counts one answered request.
func (m *metrics) request(service string, status int, seconds float64) {
	code := strconv.Itoa(status)
	m.requests.WithLabelValues(service, code).Inc()
	m.latency.WithLabelValues(service, code).Observe(seconds)
}

// handler serves /metrics; with loopbackOnly, to loopback peers that came
// through no proxy only.
func (m *metrics) handler(loopbackOnly bool) http.Handler {
	h := promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
	if !loopbackOnly {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !localRequest(r) {
			http.Error(w, "metrics are served to loopback clients only; set metrics.listen in --config to serve them elsewhere", http.StatusForbidden)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// localRequest reports whether r came from a loopback address and not
// through a proxy (which would send a forwarding header).
func localRequest(r *http.Request) bool {
	if r.Header.Get("X-Forwarded-For") != "" || r.Header.Get("Forwarded") != "" || r.Header.Get("X-Real-Ip") != "" {
		return false
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// stateCollector reports the services' state at scrape time: sessions,
// stdio processes, their starts and crashes.
type stateCollector struct {
	m                                           *metrics
	sessions, children, started, crashes, fails *prometheus.Desc
}

func newStateCollector(m *metrics) *stateCollector {
	label := []string{"service"}
	return &stateCollector{m: m,
		sessions: prometheus.NewDesc("mcp_gateway_sessions_active", "MCP sessions open, by service.", label, nil),
		children: prometheus.NewDesc("mcp_gateway_stdio_processes", "Live processes of a stdio service.", label, nil),
		started: prometheus.NewDesc("mcp_gateway_stdio_process_starts_total",
			"Processes a stdio service started (one per session, or again after a crash).", label, nil),
		crashes: prometheus.NewDesc("mcp_gateway_stdio_process_crashes_total",
			"Processes of a stdio service that exited without being asked to.", label, nil),
		fails: prometheus.NewDesc("mcp_gateway_stdio_start_failures_total",
			"Starts of a stdio service that failed (could not spawn, exited, or did not answer initialize).", label, nil),
	}
}

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.sessions, c.children, c.started, c.crashes, c.fails} {
		ch <- d
	}
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	c.m.mu.RLock()
	svcs := c.m.services
	c.m.mu.RUnlock()
	for _, s := range svcs {
		if s.sessions != nil {
			ch <- prometheus.MustNewConstMetric(c.sessions, prometheus.GaugeValue, float64(s.sessions()), s.name)
		}
		if s.stdio == nil {
			continue
		}
		h := s.stdio.Health()
		ch <- prometheus.MustNewConstMetric(c.children, prometheus.GaugeValue, float64(h.Children), s.name)
		ch <- prometheus.MustNewConstMetric(c.started, prometheus.CounterValue, float64(h.Started), s.name)
		ch <- prometheus.MustNewConstMetric(c.crashes, prometheus.CounterValue, float64(h.Crashes), s.name)
		ch <- prometheus.MustNewConstMetric(c.fails, prometheus.CounterValue, float64(h.StartFailures), s.name)
	}
}

package streamable

import (
	"errors"
	"net/http"
	"time"
)

// Defaults of the transport settings both packages' options have.
const (
	DefaultMaxSessions  = 10000
	DefaultMaxBodyBytes = 4 << 20
)

// ResolveLimits applies the defaults of the transport settings (a zero
// value takes its default) and checks them: the session cap (negative: no
// cap), the body limit, the replay events of a stream (negative: no
// resumption), the keep-alive interval and the write timeout (negative:
// none).
func ResolveLimits(maxSessions *int, maxBodyBytes *int64, replayEvents *int, keepAlive, writeTimeout *time.Duration) error {
	if *maxSessions == 0 {
		*maxSessions = DefaultMaxSessions
	}
	if *maxBodyBytes == 0 {
		*maxBodyBytes = DefaultMaxBodyBytes
	}
	if *maxBodyBytes < 0 {
		return errors.New("MaxBodyBytes must not be negative")
	}
	if *replayEvents == 0 {
		*replayEvents = DefaultReplayEvents
	}
	if *keepAlive == 0 {
		*keepAlive = DefaultKeepAlive
	}
	if *writeTimeout == 0 {
		*writeTimeout = DefaultWriteTimeout
	}
	return nil
}

// Methods serves an MCP endpoint by HTTP method; any other method gets 405
// with Allow.
type Methods struct {
	Post, Get, Delete http.HandlerFunc
}

func (m Methods) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodPost:
		m.Post(w, r)
	case http.MethodGet:
		m.Get(w, r)
	case http.MethodDelete:
		m.Delete(w, r)
	default:
		WriteMethodNotAllowed(w, "GET, POST, DELETE, OPTIONS", "method "+r.Method+" is not allowed on an MCP endpoint")
	}
}

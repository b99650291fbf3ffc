package mcpserver

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/mcp-oauth-gateway/gateway/internal/streamable"
)

// conn is a Session as mcp-go sees it (a server.ClientSession). Each HTTP
// request gets its own conn bound to that request's stream, so what a tool
// sends during a call (progress, log messages, sampling or elicitation
// requests) goes out on the call's own SSE stream, in order; only the
// session's standing conn, with no call, sends to the GET stream.
type conn struct {
	*Session
	call     *callStream            // the POST stream; nil for the session's standing conn
	listenID atomic.Pointer[string] // set while the call serves a subscriptions/listen stream
}

var (
	_ server.ClientSession                    = (*conn)(nil)
	_ server.SessionWithLogging               = (*conn)(nil)
	_ server.SessionWithClientInfo            = (*conn)(nil)
	_ server.SessionWithResourceSubscriptions = (*conn)(nil)
	_ server.SessionWithSubscriptionFilter    = (*conn)(nil)
	_ server.SessionWithSampling              = (*conn)(nil)
	_ server.SessionWithElicitation           = (*conn)(nil)
	_ server.SessionWithRoots                 = (*conn)(nil)
)

func (c *conn) SessionID() string {
	if id := c.listenID.Load(); id != nil {
		return *id
	}
	return c.Session.ID()
}
func (c *conn) Initialize()                 { c.initialized.Store(true) }
func (c *conn) Initialized() bool           { return c.initialized.Load() }
func (c *conn) SetProtocolVersion(v string) { c.setProtocolVersion(v) }

// NotificationChannel gives mcp-go a channel for one notification: on the
// call's stream while the call runs, else on the session's GET stream.
func (c *conn) NotificationChannel() chan<- mcp.JSONRPCNotification {
	if c.call != nil {
		if ch, ok := c.call.notificationChannel(); ok {
			return ch
		}
	}
	if st := c.standaloneStream(); st != nil {
		if ch, ok := notificationChannel(st, nil); ok {
			return ch
		}
	}
	// Nowhere to deliver (a stateless call that has ended): accept and drop.
	return make(chan mcp.JSONRPCNotification, 1)
}

func (c *conn) SetLogLevel(level mcp.LoggingLevel) { c.logLevel.Store(level) }
func (c *conn) GetLogLevel() mcp.LoggingLevel      { return c.logLevel.Load().(mcp.LoggingLevel) }

func (c *conn) GetClientInfo() mcp.Implementation { return c.Client() }
func (c *conn) SetClientInfo(info mcp.Implementation) {
	c.mu.Lock()
	c.clientInfo = info
	c.mu.Unlock()
}
func (c *conn) GetClientCapabilities() mcp.ClientCapabilities {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.clientCaps
}
func (c *conn) SetClientCapabilities(caps mcp.ClientCapabilities) {
	c.mu.Lock()
	c.clientCaps = caps
	c.mu.Unlock()
}

func (c *conn) SubscribeToResource(uri string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.subscriptions == nil {
		c.subscriptions = map[string]struct{}{}
	}
	c.subscriptions[uri] = struct{}{}
}

func (c *conn) UnsubscribeFromResource(uri string) {
	c.mu.Lock()
	delete(c.subscriptions, uri)
	c.mu.Unlock()
}

func (c *conn) SubscribedResources() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, 0, len(c.subscriptions))
	for uri := range c.subscriptions {
		out = append(out, uri)
	}
	slices.Sort(out)
	return out
}

func (c *conn) IsSubscribedToResource(uri string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.subscriptions[uri]
	return ok
}

// SetSubscriptionFilter is called by mcp-go when a 2026-07-28
// subscriptions/listen stream opens (and with the zero filter when it
// closes). While it is open, the call's conn is registered with mcp-go so
// broadcasts reach it, tagged with the listen request's id.
func (c *conn) SetSubscriptionFilter(filter mcp.SubscriptionFilter) {
	c.mu.Lock()
	active := !filter.IsEmpty()
	if active {
		c.filter = &filter
	} else {
		c.filter = nil
	}
	c.mu.Unlock()
	if c.call == nil {
		return
	}
	// A listen stream is registered under an id of its own: its session
	// (over stdio) may be registered already, and must keep hearing
	// broadcasts after the stream ends.
	if active && c.listenID.Load() == nil {
		id := "listen-" + streamable.NewID(12)
		c.listenID.Store(&id)
		if err := c.srv.mcp.RegisterSession(c.Session.ctx, c); err != nil {
			c.srv.cfg.Logger.Warn("mcpserver: subscriptions/listen not registered", "err", err)
		}
	} else if id := c.listenID.Load(); !active && id != nil {
		c.srv.mcp.UnregisterSession(c.Session.ctx, *id)
	}
}

func (c *conn) SubscriptionFilter() (mcp.SubscriptionFilter, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.filter == nil {
		return mcp.SubscriptionFilter{}, false
	}
	return *c.filter, true
}

// errNoStream is returned when a server request cannot reach the client.
var errNoStream = errors.New("mcpserver: no stream to the client for a server request (the client does not accept text/event-stream, or the session ended)")

func (c *conn) RequestSampling(ctx context.Context, req mcp.CreateMessageRequest) (*mcp.CreateMessageResult, error) {
	var result mcp.CreateMessageResult
	if err := c.request(ctx, string(mcp.MethodSamplingCreateMessage), req.CreateMessageParams, &result); err != nil {
		return nil, err
	}
	content, err := mcp.ParseSamplingContent(result.Content)
	if err != nil {
		return nil, fmt.Errorf("mcpserver: sampling answer: %w", err)
	}
	result.Content = content
	return &result, nil
}

func (c *conn) RequestElicitation(ctx context.Context, req mcp.ElicitationRequest) (*mcp.ElicitationResult, error) {
	var result mcp.ElicitationResult
	if err := c.request(ctx, string(mcp.MethodElicitationCreate), req.Params, &result); err != nil {
		return nil, err
	}
	return &result, nil
}

func (c *conn) ListRoots(ctx context.Context, req mcp.ListRootsRequest) (*mcp.ListRootsResult, error) {
	var result mcp.ListRootsResult
	if err := c.request(ctx, string(mcp.MethodListRoots), nil, &result); err != nil {
		return nil, err
	}
	return &result, nil
}

// request sends a server request to the client, on the call's stream (or
// the GET stream outside a call), and waits for the client's response.
func (c *conn) request(ctx context.Context, method string, params any, result any) error {
	cs := c.call
	if cs != nil && cs.noSSE {
		return errNoStream
	}
	send := func(msg []byte) bool { return cs.send(msg, false) }
	if cs == nil || cs.Ended() {
		st := c.standaloneStream()
		if st == nil {
			return errNoStream
		}
		send = func(msg []byte) bool { return st.Push(msg, false) }
	}
	return c.srv.pending.roundTrip(ctx, c.Session, send, method, params, result)
}

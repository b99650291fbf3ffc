package stdiobridge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcp-oauth-gateway/gateway/internal/streamable"
)

// maxResumes bounds the reconnections of one response stream that bring
// no new event.
const maxResumes = 5

// relay posts one message (m nil: a batch) and writes what comes back.
func (c *Client) relay(ctx context.Context, m *message, raw []byte) {
	var id []byte
	if m != nil && m.kind == kindRequest {
		id = m.idBytes()
	}
	for attempt := 0; ; attempt++ {
		sess := c.Session()
		resp, err := c.post(ctx, m, raw, sess)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			c.log.Warn("stdiobridge: request failed", "method", methodOf(m), "err", err)
			if id != nil {
				c.write(streamable.ErrorResponse(id, streamable.CodeServerError, "stdiobridge: "+err.Error(), nil))
			}
			return
		}
		if resp.StatusCode == http.StatusNotFound && sess != "" && attempt == 0 && methodOf(m) != string(mcp.MethodInitialize) {
			drainBody(resp)
			c.log.Info("stdiobridge: the server ended the session; initializing again", "session", sess)
			if err := c.reinitialize(ctx, sess); err != nil {
				c.log.Warn("stdiobridge: re-initialization failed", "err", err)
				if id != nil {
					c.write(streamable.ErrorResponse(id, streamable.CodeServerError, "stdiobridge: the session expired and could not be re-created: "+err.Error(), nil))
				}
				return
			}
			continue
		}
		c.answer(ctx, m, id, resp, true)
		return
	}
}

func methodOf(m *message) string {
	if m == nil {
		return ""
	}
	return m.method
}

func drainBody(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}

// post sends raw in a POST with the headers of the session, the protocol
// version and (for 2026-07-28) the message.
func (c *Client) post(ctx context.Context, m *message, raw []byte, session string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	h := req.Header
	for k, vs := range c.header {
		h[k] = vs
	}
	h.Set("Content-Type", "application/json")
	h.Set("Accept", "application/json, text/event-stream")
	if session != "" {
		h.Set("Mcp-Session-Id", session)
	}
	if m != nil && m.method != "" {
		if v := c.versionFor(m); v != "" {
			h.Set("Mcp-Protocol-Version", v)
		}
		h.Set(mcp.HeaderMethod, m.method)
		c.nameHeaders(h, m)
	} else if v := c.currentVersion(); v != "" {
		h.Set("Mcp-Protocol-Version", v)
	}
	return c.hc.Do(req)
}

// versionFor is the protocol version of a message: its own (2026-07-28
// _meta) or the negotiated one. The initialize request has none.
func (c *Client) versionFor(m *message) string {
	if m.method == string(mcp.MethodInitialize) {
		return ""
	}
	if v := metaVersion(m); v != "" {
		return v
	}
	return c.currentVersion()
}

func (c *Client) currentVersion() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.version
}

// nameHeaders sets Mcp-Name and, for tools that declare them, the
// Mcp-Param-* headers.
func (c *Client) nameHeaders(h http.Header, m *message) {
	method := mcp.MCPMethod(m.method)
	if !mcp.MethodRequiresNameHeader(method) || !m.params.ok() {
		return
	}
	params := m.paramsBytes()
	name, ok := mcp.ExtractHeaderName(method, params)
	if !ok {
		return
	}
	if v, ok := mcp.EncodeHeaderValue(name); ok {
		h.Set(mcp.HeaderName, v)
	}
	if method != mcp.MethodToolsCall {
		return
	}
	c.mu.Lock()
	tool := c.tools[name]
	c.mu.Unlock()
	if tool == nil {
		return
	}
	for k, v := range mcp.GenerateParamHeaders(tool, params) {
		h.Set(k, v)
	}
}

// learnTools records the tools of a tools/list result that declare header
// parameters (x-mcp-header).
func (c *Client) learnTools(result []byte) {
	var page struct {
		Tools []mcp.Tool `json:"tools"`
	}
	if json.Unmarshal(result, &page) != nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range page.Tools {
		t := &page.Tools[i]
		delete(c.tools, t.Name)
		delete(c.badTools, t.Name)
		if err := mcp.ValidateParamHeaderAnnotations(t); err != nil {
			c.badTools[t.Name] = err.Error()
			continue
		}
		if len(mcp.ExtractParamHeaderBindings(t)) > 0 {
			c.tools[t.Name] = t
		}
	}
}

// seen looks at a message from the server before it is written: the
// answer to initialize gives the protocol version, a tools/list result the
// header parameters of tools.
func (c *Client) seen(req *message, id []byte, msg *message) {
	if req == nil || msg.kind != kindResponse || !msg.result.ok() || !bytes.Equal(msg.idBytes(), id) {
		return
	}
	result := msg.raw[msg.result.start:msg.result.end]
	switch req.method {
	case string(mcp.MethodInitialize):
		var r struct {
			ProtocolVersion string `json:"protocolVersion"`
		}
		if json.Unmarshal(result, &r) == nil && r.ProtocolVersion != "" {
			c.mu.Lock()
			c.version = r.ProtocolVersion
			c.mu.Unlock()
		}
	case string(mcp.MethodToolsList):
		c.learnTools(result)
	}
}

// answer reads the response to a POST and writes what it carries (emit
// false: only looks at it, for a replayed initialize).
func (c *Client) answer(ctx context.Context, m *message, id []byte, resp *http.Response, emit bool) {
	defer resp.Body.Close()
	if methodOf(m) == string(mcp.MethodInitialize) && resp.StatusCode == http.StatusOK {
		c.mu.Lock()
		c.session = resp.Header.Get("Mcp-Session-Id")
		c.mu.Unlock()
	}
	ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	switch {
	case resp.StatusCode == http.StatusAccepted || resp.StatusCode == http.StatusNoContent:
		return
	case resp.StatusCode == http.StatusOK && ct == "text/event-stream":
		c.readResponseStream(ctx, m, id, resp, emit)
		return
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, int64(c.max)+1))
	if err != nil || len(body) > c.max {
		if id != nil && emit {
			c.write(streamable.ErrorResponse(id, streamable.CodeServerError, "stdiobridge: reading the server's response failed or it was too large", nil))
		}
		return
	}
	body = bytes.TrimSpace(body)
	if ct == "application/json" && len(body) > 0 {
		if body[0] == '[' && json.Valid(body) {
			if emit {
				c.write(body)
			}
			return
		}
		if msg, err := parseMessage(body); err == nil {
			c.seen(m, id, &msg)
			if emit {
				c.write(body)
			}
			return
		}
	}
	if resp.StatusCode >= 300 {
		c.log.Warn("stdiobridge: server refused a message", "method", methodOf(m), "status", resp.StatusCode)
	}
	if id != nil && emit {
		c.write(streamable.ErrorResponse(id, streamable.CodeServerError, fmt.Sprintf("stdiobridge: the server answered HTTP %d: %s", resp.StatusCode, snippet(body)), nil))
	}
}

func snippet(b []byte) string {
	if len(b) > 200 {
		b = b[:200]
	}
	return string(bytes.ToValidUTF8(b, []byte("?")))
}

// streamState is where a stream stands for its resumption.
type streamState struct {
	lastID string
	retry  time.Duration
}

// readEvents relays the messages of one SSE body until it ends. It
// reports whether the answer to id came.
func (c *Client) readEvents(body io.Reader, req *message, id []byte, st *streamState, emit bool) (bool, error) {
	r := newStreamReader(body, c.max)
	for {
		ev, err := r.next()
		if err != nil {
			return false, err
		}
		if ev.hasID {
			st.lastID = ev.id
		}
		if ev.hasRetry {
			st.retry = ev.retry
		}
		if len(bytes.TrimSpace(ev.data)) == 0 {
			continue
		}
		msg, perr := parseMessage(ev.data)
		if perr != nil {
			c.log.Warn("stdiobridge: the server sent an event that is not JSON-RPC; skipped", "err", perr)
			continue
		}
		c.seen(req, id, &msg)
		if emit {
			c.write(ev.data)
		}
		if id != nil && msg.kind == kindResponse && bytes.Equal(msg.idBytes(), id) {
			return true, nil
		}
	}
}

// readResponseStream relays the SSE response of a request, resuming it
// with GET and Last-Event-ID when the server breaks it before the answer.
func (c *Client) readResponseStream(ctx context.Context, m *message, id []byte, resp *http.Response, emit bool) {
	st := &streamState{retry: c.retry}
	body := resp.Body
	resumes := 0
	modern := m != nil && mcp.IsModernProtocol(c.versionFor(m))
	for {
		before := st.lastID
		final, err := c.readEvents(body, m, id, st, emit)
		body.Close()
		if final || id == nil || ctx.Err() != nil {
			return
		}
		if st.lastID != before {
			resumes = 0
		}
		if modern || st.lastID == "" || resumes >= maxResumes {
			c.log.Warn("stdiobridge: the response stream ended before the answer", "method", methodOf(m), "err", err)
			if emit {
				c.write(streamable.ErrorResponse(id, streamable.CodeServerError, "stdiobridge: the server closed the stream before answering", nil))
			}
			return
		}
		resumes++
		if !sleepCtx(ctx, st.retry) {
			return
		}
		r, err := c.get(ctx, st.lastID)
		if err != nil || r.StatusCode != http.StatusOK {
			if err == nil {
				drainBody(r)
				err = fmt.Errorf("HTTP %d", r.StatusCode)
			}
			c.log.Warn("stdiobridge: resuming the response stream failed", "err", err)
			if resumes < maxResumes {
				body = io.NopCloser(bytes.NewReader(nil))
				continue
			}
			if emit {
				c.write(streamable.ErrorResponse(id, streamable.CodeServerError, "stdiobridge: the response stream broke and could not be resumed", nil))
			}
			return
		}
		c.log.Debug("stdiobridge: resumed a response stream", "last_event_id", st.lastID)
		body = r.Body
	}
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// get opens a GET stream (lastID set: resuming one).
func (c *Client) get(ctx context.Context, lastID string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url, nil)
	if err != nil {
		return nil, err
	}
	for k, vs := range c.header {
		req.Header[k] = vs
	}
	req.Header.Set("Accept", "text/event-stream")
	if s := c.Session(); s != "" {
		req.Header.Set("Mcp-Session-Id", s)
	}
	if v := c.currentVersion(); v != "" {
		req.Header.Set("Mcp-Protocol-Version", v)
	}
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	return c.hc.Do(req)
}

// startListening opens the session's GET stream once the session is
// initialized. The channel is closed when the server answered the first
// GET (whatever it said).
func (c *Client) startListening(ctx context.Context) <-chan struct{} {
	opened := make(chan struct{})
	c.mu.Lock()
	if c.getRunning || c.closed {
		c.mu.Unlock()
		close(opened)
		return opened
	}
	c.getRunning = true
	lctx, stop := context.WithCancel(ctx)
	c.getStop = stop
	c.mu.Unlock()
	go c.listen(lctx, opened)
	return opened
}

// listen relays the GET stream, reconnecting after the server's retry
// delay (with Last-Event-ID), until the server says it has none (405) or
// ctx ends.
func (c *Client) listen(ctx context.Context, opened chan struct{}) {
	var once sync.Once
	signal := func() { once.Do(func() { close(opened) }) }
	defer signal()
	st := &streamState{retry: c.retry}
	backoff := c.retry
	for ctx.Err() == nil {
		sess := c.Session()
		resp, err := c.get(ctx, st.lastID)
		signal()
		if ctx.Err() != nil {
			if err == nil {
				resp.Body.Close()
			}
			return
		}
		if err == nil {
			ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
			switch {
			case resp.StatusCode == http.StatusMethodNotAllowed || resp.StatusCode == http.StatusNotImplemented:
				drainBody(resp)
				c.log.Debug("stdiobridge: the server offers no GET stream")
				return
			case resp.StatusCode == http.StatusNotFound && sess != "":
				drainBody(resp)
				if err := c.reinitialize(ctx, sess); err != nil {
					c.log.Warn("stdiobridge: re-initialization failed", "err", err)
				}
				st.lastID = ""
				continue
			case resp.StatusCode == http.StatusOK && ct == "text/event-stream":
				backoff = c.retry
				_, err = c.readEvents(resp.Body, nil, nil, st, true)
				resp.Body.Close()
				c.log.Debug("stdiobridge: GET stream ended; reconnecting", "err", err, "retry", st.retry)
				if !sleepCtx(ctx, st.retry) {
					return
				}
				continue
			default:
				drainBody(resp)
				err = fmt.Errorf("HTTP %d", resp.StatusCode)
			}
		}
		c.log.Debug("stdiobridge: GET stream failed", "err", err, "retry_in", backoff)
		if !sleepCtx(ctx, backoff) {
			return
		}
		backoff = min(backoff*2, 30*time.Second)
	}
}

// reinitialize re-creates the session stale the server forgot, by
// replaying the client's initialize and notifications/initialized.
// Concurrent callers share one.
func (c *Client) reinitialize(ctx context.Context, stale string) error {
	c.mu.Lock()
	if c.session != stale {
		c.mu.Unlock()
		return nil
	}
	if rc := c.reinit; rc != nil {
		c.mu.Unlock()
		select {
		case <-rc.done:
			return rc.err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	rc := &reinitCall{done: make(chan struct{})}
	c.reinit = rc
	initRaw, initialized := c.initRaw, c.initialized
	c.mu.Unlock()

	rc.err = func() error {
		if initRaw == nil {
			return errors.New("no initialize to replay")
		}
		m, err := parseMessage(initRaw)
		if err != nil {
			return err
		}
		resp, err := c.post(ctx, &m, initRaw, "")
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			drainBody(resp)
			return fmt.Errorf("initialize: HTTP %d", resp.StatusCode)
		}
		c.answer(ctx, &m, m.idBytes(), resp, false)
		if initialized != nil {
			n, err := parseMessage(initialized)
			if err != nil {
				return err
			}
			r, err := c.post(ctx, &n, initialized, c.Session())
			if err != nil {
				return err
			}
			drainBody(r)
		}
		c.log.Info("stdiobridge: session re-created", "session", c.Session())
		return nil
	}()
	c.mu.Lock()
	c.reinit = nil
	c.mu.Unlock()
	close(rc.done)
	return rc.err
}

// deleteSession ends the session at the server (DELETE).
func (c *Client) deleteSession() {
	sess := c.Session()
	if sess == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, c.url, nil)
	if err != nil {
		return
	}
	for k, vs := range c.header {
		req.Header[k] = vs
	}
	req.Header.Set("Mcp-Session-Id", sess)
	if v := c.currentVersion(); v != "" {
		req.Header.Set("Mcp-Protocol-Version", v)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.log.Debug("stdiobridge: deleting the session", "err", err)
		return
	}
	drainBody(resp)
	c.log.Debug("stdiobridge: session deleted", "session", sess, "status", resp.StatusCode)
}

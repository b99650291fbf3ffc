package stdiobridge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcp-oauth-gateway/gateway/internal/streamable"
)

// role is what a child process serves.
type role uint8

const (
	roleSession role = iota // one legacy session; the client initializes it
	roleShared              // every session and caller; the proxy initializes it
	rolePool                // 2026-07-28 requests of one caller; the proxy initializes it
)

func (r role) String() string {
	switch r {
	case roleSession:
		return "session"
	case roleShared:
		return "shared"
	}
	return "pool"
}

// child is a stdio server process seen as a JSON-RPC peer: it remaps the ids
// of requests sent to it, routes what it writes back to the right stream,
// and fails everything pending when it exits.
type child struct {
	px   *Proxy
	role role
	key  string // pool key (the caller), for rolePool
	seq  int64
	proc *process
	log  *slog.Logger

	ready   chan struct{} // closed when usable (after the proxy's handshake for shared and pool children)
	readyOK bool          // set before ready is closed
	initErr error         // why the handshake failed

	// Set by the handshake, read-only afterwards.
	initResult []byte // raw initialize result object
	version    string // protocol version the server agreed to
	native     bool   // it serves 2026-07-28 requests itself

	mu        sync.Mutex
	nextID    int64
	calls     map[int64]*call
	tokens    map[string]*call // progress token (raw JSON) -> call
	asks      map[string]*ask  // the server's requests awaiting a client's answer, by raw id
	sessions  map[*session]struct{}
	listens   map[*listener]struct{}
	subs      map[string]int       // resource URI -> listeners subscribed (translated listen)
	tools     map[string]*mcp.Tool // tools with header parameters (2026-07-28)
	toolsOK   bool
	toolsGen  int
	tagsLists bool // it tags list changes for listen streams itself
	dead      bool
	lastUsed  time.Time
}

// ask is a request the server sent to a client (sampling, elicitation,
// roots), waiting for the answer.
type ask struct {
	sess *session
	st   *streamable.Stream
}

// call is a request relayed to a child.
type call struct {
	ch        *child
	id        int64  // the id the child knows
	clientID  []byte // the id the client used (raw JSON)
	method    string
	sess      *session           // nil for 2026-07-28 requests and the proxy's own
	st        *streamable.Stream // where the response and related messages go
	token     string             // progress token key in ch.tokens
	clientTk  []byte             // the client's own token, when it was rewritten
	timer     *time.Timer
	reply     chan message // the proxy's own requests: the response
	modern    *modernCall  // 2026-07-28 request state
	done      bool         // answered, failed or forgotten (under ch.mu)
	finishing bool         // its response came and is held (under ch.mu)
}

// spawn starts a child process for role. The caller has reserved a slot
// under MaxChildren, and registers the child (track) once it has it.
func (px *Proxy) spawn(r role, key string) (*child, error) {
	ch := &child{
		px:       px,
		role:     r,
		key:      key,
		seq:      px.childSeq.Add(1),
		ready:    make(chan struct{}),
		calls:    map[int64]*call{},
		tokens:   map[string]*call{},
		asks:     map[string]*ask{},
		sessions: map[*session]struct{}{},
		lastUsed: time.Now(),
	}
	ch.log = px.log.With("child", ch.seq)
	proc, err := startProcess(&px.cfg.cmd, px.cfg.MaxMessageBytes, ch.log, processHooks{
		line: ch.onLine,
		exit: ch.onExit,
	})
	if err != nil {
		px.release()
		px.health.startFailed(err)
		return nil, err
	}
	ch.proc = proc
	ch.log = proc.log
	ch.log.Debug("started stdio server", "role", r)
	return ch, nil
}

// onLine handles one line the server wrote to stdout.
func (ch *child) onLine(b []byte) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return
	}
	if b[0] == '[' && json.Valid(b) { // a batch: handle each message
		_ = eachElement(b, func(v span) { ch.onLine(bytes.Clone(b[v.start:v.end])) })
		return
	}
	m, err := parseMessage(b)
	if err != nil {
		ch.log.Warn("stdio server wrote a line that is not a JSON-RPC message; skipped", "err", err, "line", truncate(b, 200))
		return
	}
	switch m.kind {
	case kindResponse:
		ch.onResponse(&m)
	case kindRequest:
		ch.onRequest(&m)
	case kindNotification:
		ch.onNotification(&m)
	}
}

func truncate(b []byte, n int) string {
	if len(b) <= n {
		return string(b)
	}
	return string(b[:n]) + "..."
}

func eachElement(b []byte, fn func(span)) error {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '[' {
		return errBadJSON
	}
	i = skipSpace(b, i+1)
	for i < len(b) && b[i] != ']' {
		e := skipValue(b, i)
		if e < 0 {
			return errBadJSON
		}
		fn(span{i, e})
		i = skipSpace(b, e)
		if i < len(b) && b[i] == ',' {
			i = skipSpace(b, i+1)
		}
	}
	return nil
}

// send relays request m for c: it gives the request an id of the child's
// own (and, on a process several clients share, a progress token of its
// own), writes it out and arms the request timeout. On error nothing is
// left registered.
func (ch *child) send(c *call, m *message, timeout time.Duration) error {
	c.ch = ch
	var tokenSpan span
	if m.params.ok() {
		tokenSpan, _ = path(m.raw, m.params, "_meta", "progressToken")
	}
	ch.mu.Lock()
	if ch.dead {
		ch.mu.Unlock()
		return errExited
	}
	ch.nextID++
	c.id = ch.nextID
	ch.calls[c.id] = c
	var edits []edit
	edits = append(edits, edit{m.id, strconv.AppendInt(nil, c.id, 10)})
	if tokenSpan.ok() {
		if ch.role == roleSession {
			c.token = string(m.raw[tokenSpan.start:tokenSpan.end])
		} else {
			c.clientTk = m.raw[tokenSpan.start:tokenSpan.end]
			c.token = `"p` + strconv.FormatInt(c.id, 10) + `"`
			edits = append(edits, edit{tokenSpan, []byte(c.token)})
		}
		ch.tokens[c.token] = c
	}
	if c.sess != nil {
		c.sess.track(c)
	}
	ch.lastUsed = time.Now()
	if timeout > 0 {
		c.timer = time.AfterFunc(timeout, func() { ch.expire(c, timeout) })
	}
	ch.mu.Unlock()

	out := spliceAll(m.raw, edits, "\n")
	if err := ch.proc.write(out, writeDeadline(timeout)); err != nil {
		ch.forget(c)
		return err
	}
	return nil
}

func writeDeadline(timeout time.Duration) time.Time {
	if timeout <= 0 || timeout > time.Minute {
		timeout = time.Minute
	}
	return time.Now().Add(timeout)
}

// edit replaces one span of a message.
type edit struct {
	s    span
	repl []byte
}

// spliceAll applies non-overlapping edits to raw, adding tail.
func spliceAll(raw []byte, edits []edit, tail string) []byte {
	if len(edits) == 1 {
		return splice(raw, edits[0].s, edits[0].repl, tail)
	}
	if len(edits) == 2 && edits[0].s.start > edits[1].s.start {
		edits[0], edits[1] = edits[1], edits[0]
	}
	n := len(raw) + len(tail)
	for _, e := range edits {
		n += len(e.repl) - (e.s.end - e.s.start)
	}
	out := make([]byte, 0, n)
	at := 0
	for _, e := range edits {
		out = append(out, raw[at:e.s.start]...)
		out = append(out, e.repl...)
		at = e.s.end
	}
	out = append(out, raw[at:]...)
	return append(out, tail...)
}

// forget unregisters c without answering it. It reports whether c was still
// pending.
func (ch *child) forget(c *call) bool {
	ch.mu.Lock()
	pending := ch.drop(c)
	ch.mu.Unlock()
	return pending
}

// drop unregisters c; ch.mu is held.
func (ch *child) drop(c *call) bool {
	if c.done {
		return false
	}
	c.done = true
	if ch.calls[c.id] == c {
		delete(ch.calls, c.id)
	}
	if c.token != "" && ch.tokens[c.token] == c {
		delete(ch.tokens, c.token)
	}
	if c.timer != nil {
		c.timer.Stop()
	}
	if c.sess != nil {
		c.sess.untrack(c)
	}
	ch.lastUsed = time.Now()
	return true
}

// expire answers a request the server did not answer in time and tells the
// server to stop working on it.
func (ch *child) expire(c *call, timeout time.Duration) {
	if !ch.forget(c) {
		return
	}
	ch.log.Warn("request timed out", "method", c.method, "timeout", timeout)
	ch.cancel(c.id, "request timed out")
	c.fail(streamable.CodeRequestTimeout, fmt.Sprintf("the stdio server did not answer %s within %s", c.method, timeout))
}

// cancel tells the server that the proxy no longer waits for request id.
func (ch *child) cancel(id int64, reason string) {
	msg := fmt.Appendf(nil, `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":%d,"reason":%q}}`+"\n", id, reason)
	_ = ch.proc.write(msg, writeDeadline(0))
}

// fail answers c with a JSON-RPC error.
func (c *call) fail(code int, msg string) {
	if c.modern != nil {
		c.modern.fail(c, code, msg)
		return
	}
	if c.reply != nil {
		c.reply <- message{raw: streamable.ErrorResponse(nil, code, msg, nil), kind: kindResponse}
		return
	}
	if c.st != nil {
		c.st.Push(streamable.ErrorResponse(c.clientID, code, msg, nil), true)
	}
}

// onResponse routes the server's answer to the request it belongs to.
func (ch *child) onResponse(m *message) {
	id, ok := childID(m.idBytes())
	ch.mu.Lock()
	c := ch.calls[id]
	if !ok || c == nil || c.finishing {
		ch.mu.Unlock()
		ch.log.Debug("response to an unknown or expired request; dropped", "id", truncate(m.idBytes(), 40))
		return
	}
	if c.token != "" && c.reply == nil {
		// Many servers write notifications from another thread than
		// responses (mcp-go's stdio server does), so the last progress of a
		// request can trail its response by a moment. Hold the response of
		// a request that asked for progress that long, so that its
		// notifications still come first.
		c.finishing = true
		ch.mu.Unlock()
		time.AfterFunc(progressLinger, func() {
			if ch.forget(c) {
				ch.deliver(c, m)
			}
		})
		return
	}
	ch.drop(c)
	ch.mu.Unlock()
	ch.deliver(c, m)
}

// progressLinger is how long the response of a request with a progress token
// waits for notifications that trail it.
const progressLinger = 10 * time.Millisecond

// deliver hands a response to whoever waits for it.
func (ch *child) deliver(c *call, m *message) {
	if c.reply != nil {
		c.reply <- *m
		return
	}
	if c.modern != nil {
		c.modern.respond(c, m)
		return
	}
	c.st.Push(splice(m.raw, m.id, c.clientID, ""), true)
}

// related returns the request a message the server sent on its own most
// likely belongs to: the only client request in flight, or the newest one
// when all in flight belong to one session. Nil when there is none or it is
// ambiguous. ch.mu is held.
func (ch *child) related() *call {
	if c := ch.relatedAmong(false); c != nil {
		return c
	}
	return ch.relatedAmong(true)
}

// relatedAmong is related, counting requests whose client is away answering
// input requests only when away is set.
func (ch *child) relatedAmong(away bool) *call {
	var found *call
	for _, c := range ch.calls {
		if c.reply != nil || (!away && c.modern != nil && c.modern.away()) {
			continue
		}
		switch {
		case found == nil:
			found = c
		case found.sess == nil || found.sess != c.sess:
			return nil
		case c.id > found.id:
			found = c
		}
	}
	return found
}

// onRequest handles a request from the server to the client: sampling,
// elicitation, roots or ping.
func (ch *child) onRequest(m *message) {
	if m.method == "ping" {
		_ = ch.proc.write(append(streamable.ResultResponse(m.idBytes(), []byte("{}")), '\n'), writeDeadline(0))
		return
	}
	key := string(m.idBytes())
	ch.mu.Lock()
	c := ch.related()
	var sess *session
	var st *streamable.Stream
	switch {
	case c != nil && c.modern != nil:
		ch.mu.Unlock()
		c.modern.ask(c, m)
		return
	case c != nil:
		sess, st = c.sess, c.st
	case ch.role == roleSession:
		for s := range ch.sessions {
			sess = s
		}
	}
	if sess != nil && st == nil {
		st = sess.standaloneStream()
	}
	if st != nil {
		ch.asks[key] = &ask{sess: sess, st: st}
	}
	ch.mu.Unlock()
	if st == nil {
		ch.log.Warn("the stdio server sent a request no client can receive; refused it", "method", m.method)
		ch.reject(m, "no client stream is open to deliver "+m.method+" to; open a GET stream or retry during a request")
		return
	}
	st.Push(m.raw, false)
}

// reject answers a request of the server with an error.
func (ch *child) reject(m *message, msg string) {
	_ = ch.proc.write(append(streamable.ErrorResponse(m.idBytes(), streamable.CodeInternalError, msg, nil), '\n'), writeDeadline(0))
}

// answer relays a client's response to one of the server's requests.
func (ch *child) answer(sess *session, m *message) {
	key := string(m.idBytes())
	ch.mu.Lock()
	a := ch.asks[key]
	if a != nil && (a.sess == sess || sess == nil) {
		delete(ch.asks, key)
	} else {
		a = nil
	}
	ch.mu.Unlock()
	if a == nil {
		ch.log.Debug("client answered a request the server did not send to it; dropped", "id", truncate(m.idBytes(), 40))
		return
	}
	_ = ch.proc.write(line(m.raw), writeDeadline(0))
}

// onNotification routes a notification from the server.
func (ch *child) onNotification(m *message) {
	if ch.role == rolePool && ch.routeSubscription(m) {
		return
	}
	switch m.method {
	case "notifications/progress":
		tk, ok := path(m.raw, m.params, "progressToken")
		if ok {
			ch.mu.Lock()
			c := ch.tokens[string(m.raw[tk.start:tk.end])]
			ch.mu.Unlock()
			if c != nil {
				if c.timer != nil {
					c.timer.Reset(ch.px.cfg.RequestTimeout)
				}
				out := m.raw
				if c.clientTk != nil {
					out = splice(m.raw, tk, c.clientTk, "")
				}
				if c.modern != nil {
					c.modern.notify(c, out)
				} else {
					c.st.Push(out, false)
				}
				return
			}
		}
	case "notifications/cancelled":
		// The server gave up on one of its own requests to a client.
		if id, ok := path(m.raw, m.params, "requestId"); ok {
			ch.mu.Lock()
			a := ch.asks[string(m.raw[id.start:id.end])]
			delete(ch.asks, string(m.raw[id.start:id.end]))
			ch.mu.Unlock()
			if a != nil {
				a.st.Push(m.raw, false)
			}
			return
		}
	case "notifications/tools/list_changed":
		ch.toolsChanged()
		ch.broadcast(m)
		return
	case "notifications/prompts/list_changed",
		"notifications/resources/list_changed", "notifications/resources/updated":
		ch.broadcast(m)
		return
	}
	ch.mu.Lock()
	c := ch.related()
	var sess *session
	switch {
	case c != nil:
	case ch.role == roleSession:
		for s := range ch.sessions {
			sess = s
		}
	}
	ch.mu.Unlock()
	switch {
	case c != nil && c.modern != nil:
		c.modern.notify(c, m.raw)
	case c != nil:
		c.st.Push(m.raw, false)
	case sess != nil:
		if st := sess.standaloneStream(); st != nil {
			st.Push(m.raw, false)
		}
	default:
		ch.log.Debug("notification for no client; dropped", "method", m.method)
	}
}

// broadcast sends a session-wide notification to the standalone stream of
// every session the child serves and to the subscription streams of its
// 2026-07-28 callers.
func (ch *child) broadcast(m *message) {
	ch.mu.Lock()
	var streams []*streamable.Stream
	for s := range ch.sessions {
		if st := s.standaloneStream(); st != nil {
			streams = append(streams, st)
		}
	}
	var ls []*listener
	for l := range ch.listens {
		if !l.native || !ch.tagsLists {
			ls = append(ls, l)
		}
	}
	ch.mu.Unlock()
	for _, st := range streams {
		st.Push(m.raw, false)
	}
	for _, l := range ls {
		l.deliver(m)
	}
}

// onExit fails everything pending on a child whose process ended and ends
// the sessions it served.
func (ch *child) onExit(err error) {
	ch.mu.Lock()
	ch.dead = true
	calls := make([]*call, 0, len(ch.calls))
	for _, c := range ch.calls {
		calls = append(calls, c)
	}
	for _, c := range calls {
		ch.drop(c)
	}
	sessions := make([]*session, 0, len(ch.sessions))
	for s := range ch.sessions {
		sessions = append(sessions, s)
	}
	ls := make([]*listener, 0, len(ch.listens))
	for l := range ch.listens {
		ls = append(ls, l)
	}
	ch.mu.Unlock()

	expected := ch.proc.isStopping()
	reason := "the stdio server exited"
	if err != nil {
		reason += " (" + err.Error() + ")"
	}
	if !expected {
		ch.log.Error("stdio server exited unexpectedly", "err", err, "pending", len(calls))
		ch.px.health.crashed(reason)
	} else {
		ch.log.Debug("stdio server stopped", "err", err)
	}
	// The proxy forgets the child first, so that no new session is given
	// it and the health a client reads once it learns of the exit counts it
	// gone; then the sessions end, so a client that learns of the crash
	// from a failed request and tries again finds its session gone (404).
	ch.px.untrack(ch)
	for _, s := range sessions {
		s.px.endSession(s, reason)
	}
	for _, c := range calls {
		c.fail(streamable.CodeServerError, reason+"; the request was not answered")
	}
	for _, l := range ls {
		l.close()
	}
	if !ch.isReady() {
		ch.fail(errors.New(reason))
	}
}

// isReady reports whether the child finished its start-up.
func (ch *child) isReady() bool {
	select {
	case <-ch.ready:
		return true
	default:
		return false
	}
}

// fail ends a start-up that did not succeed.
func (ch *child) fail(err error) {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	if ch.isReady() {
		return
	}
	ch.initErr = err
	close(ch.ready)
}

// wait waits until the child is ready.
func (ch *child) wait(ctx context.Context) error {
	select {
	case <-ch.ready:
		if !ch.readyOK {
			return ch.initErr
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// stop ends the child's process; it returns once it was reaped.
func (ch *child) stop() {
	ch.proc.stop(ch.px.cfg.StopGrace)
}

// request sends the proxy's own request to the child and waits for its
// answer.
func (ch *child) request(ctx context.Context, method string, params string, timeout time.Duration) (message, error) {
	raw := []byte(`{"jsonrpc":"2.0","id":0,"method":"` + method + `","params":` + params + `}`)
	m, err := parseMessage(raw)
	if err != nil {
		return m, err
	}
	c := &call{method: method, reply: make(chan message, 1), clientID: []byte("0")}
	if err := ch.send(c, &m, timeout); err != nil {
		return m, err
	}
	select {
	case r := <-c.reply:
		if r.err.ok() {
			return r, fmt.Errorf("%s: %s", method, truncate(r.raw[r.err.start:r.err.end], 300))
		}
		return r, nil
	case <-ctx.Done():
		if ch.forget(c) {
			ch.cancel(c.id, "the proxy stopped waiting")
		}
		return m, ctx.Err()
	}
}

// notify sends a notification to the child.
func (ch *child) notify(raw []byte) error {
	return ch.proc.write(line(raw), writeDeadline(0))
}

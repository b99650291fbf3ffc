package stdiobridge

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcp-oauth-gateway/gateway/internal/streamable"
)

// Clients of protocol version 2026-07-28 send stateless requests: each
// carries its protocol version and the client's capabilities in _meta, and
// there is no initialize, no session, no GET stream. The proxy serves them
// from processes it initialized itself (a small pool per caller, or the
// shared process). A process that speaks 2026-07-28 gets the requests as they
// are; for any other the proxy translates what differs (see ModernAuto).

// methodsRemoved are legacy methods a 2026-07-28 request may not use.
var methodsRemoved = map[string]bool{
	"initialize": true, "ping": true, "logging/setLevel": true,
	"resources/subscribe": true, "resources/unsubscribe": true,
	"notifications/initialized": true,
}

func (px *Proxy) postModern(w http.ResponseWriter, r *http.Request, m *message, owner, hv, mv string, a accept) {
	id := idOf(m)
	if px.cfg.Modern == ModernOff {
		v := mv
		if v == "" {
			v = hv
		}
		streamable.WriteUnsupportedVersion(w, id, v, legacyVersions())
		return
	}
	var params []byte
	if m.params.ok() {
		params = m.paramsBytes()
	}
	check := streamable.Modern{HeaderVersion: hv, MetaVersion: mv, Response: m.kind == kindResponse, Method: m.method, Params: params}
	if !streamable.CheckModern(w, r, id, &check, px.supportedVersions()) {
		return
	}
	if m.kind == kindNotification {
		// Notifications have no effect here: a 2026-07-28 client cancels
		// a request by closing its stream.
		w.WriteHeader(http.StatusAccepted)
		return
	}
	meta, _ := path(m.raw, m.params, "_meta")
	caps, ok := member(m.raw, meta, mcp.MetaKeyClientCapabilities)
	if !ok || m.raw[caps.start] != '{' {
		writeError(w, http.StatusBadRequest, id, streamable.CodeInvalidParams, "missing or invalid _meta field "+mcp.MetaKeyClientCapabilities)
		return
	}
	if methodsRemoved[m.method] {
		writeError(w, http.StatusNotFound, id, streamable.CodeMethodNotFound, "method not found: "+m.method+" is not part of protocol version 2026-07-28")
		return
	}
	ch, err := px.pooled(r.Context(), owner)
	if err != nil {
		writeUnavailable(w, id, err)
		return
	}
	if m.method == "tools/call" && !ch.checkParamHeaders(w, r, m) {
		return
	}
	translate := !ch.native || px.cfg.Modern == ModernTranslate
	mc := &modernCall{px: px, translate: translate, owner: owner, level: -1}
	if translate {
		switch m.method {
		case "server/discover":
			streamable.WriteJSON(w, http.StatusOK, streamable.ResultResponse(id, ch.discoverResult(px)))
			return
		case "subscriptions/listen":
			px.listen(w, r, ch, m)
			return
		}
		if tok, ok := path(m.raw, m.params, "requestState"); ok && px.resume(w, r, m, owner, tok, a) {
			return
		}
		mc.caps = bytes.Clone(m.raw[caps.start:caps.end])
		if lv, ok := member(m.raw, meta, mcp.MetaKeyLogLevel); ok {
			var s string
			if jsonString(m.raw[lv.start:lv.end], &s) == nil {
				mc.level = logLevel(s)
			}
		}
	}
	st := streamable.NewStream(0, px.window)
	att := st.Attach() // before the server can answer: see answer
	c := &call{clientID: m.idBytes(), method: m.method, st: st, modern: mc}
	timeout := px.cfg.RequestTimeout
	if m.method == "subscriptions/listen" {
		// A process that speaks 2026-07-28 but sends its list changes
		// untagged still reaches the stream: the proxy tags them.
		l := newListener(ch, m, st)
		l.native = true
		ch.addListener(l)
		defer px.unlisten(l)
		timeout = -1 // a listen stream lasts as long as the client wants
	}
	if err := ch.send(c, m, timeout); err != nil {
		st.Release(att)
		writeError(w, http.StatusBadGateway, id, streamable.CodeServerError, "could not relay the request: "+err.Error())
		return
	}
	px.answer(w, r, nil, st, att, a, func() { mc.abandon(c) })
}

// newListener reads the filter of a subscriptions/listen request.
func newListener(ch *child, m *message, st *streamable.Stream) *listener {
	var want mcp.SubscriptionFilter
	if f, ok := path(m.raw, m.params, "notifications"); ok {
		_ = json.Unmarshal(m.raw[f.start:f.end], &want)
	}
	l := &listener{
		ch: ch, clientID: m.idBytes(), st: st,
		tools: want.ToolsListChanged, prompts: want.PromptsListChanged, res: want.ResourcesListChanged,
		uris: map[string]bool{},
	}
	for _, u := range want.ResourceSubscriptions {
		l.uris[u] = true
	}
	return l
}

// addListener registers a listen stream with the process; it returns the
// resources no other listener had subscribed to yet.
func (ch *child) addListener(l *listener) []string {
	var fresh []string
	ch.mu.Lock()
	defer ch.mu.Unlock()
	if ch.listens == nil {
		ch.listens = map[*listener]struct{}{}
		ch.subs = map[string]int{}
	}
	ch.listens[l] = struct{}{}
	if l.native {
		return nil
	}
	for u := range l.uris {
		ch.subs[u]++
		if ch.subs[u] == 1 {
			fresh = append(fresh, u)
		}
	}
	ch.lastUsed = time.Now()
	return fresh
}

// logLevels orders the MCP log levels.
var logLevels = []string{"debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"}

func logLevel(s string) int {
	for i, l := range logLevels {
		if l == s {
			return i
		}
	}
	return -1
}

// discoverResult answers server/discover for a process that does not know
// it, from its initialize result.
func (ch *child) discoverResult(px *Proxy) []byte {
	init := ch.initResult
	whole := span{0, len(init)}
	var b bytes.Buffer
	b.WriteString(`{"resultType":"complete","supportedVersions":`)
	vs, _ := json.Marshal(px.supportedVersions())
	b.Write(vs)
	b.WriteString(`,"capabilities":`)
	if c, ok := member(init, whole, "capabilities"); ok {
		b.Write(init[c.start:c.end])
	} else {
		b.WriteString("{}")
	}
	if in, ok := member(init, whole, "instructions"); ok {
		b.WriteString(`,"instructions":`)
		b.Write(init[in.start:in.end])
	}
	if si, ok := member(init, whole, "serverInfo"); ok {
		b.WriteString(`,"_meta":{"` + mcp.MetaKeyServerInfo + `":`)
		b.Write(init[si.start:si.end])
		b.WriteString("}")
	}
	b.WriteString("}")
	return b.Bytes()
}

// modernCall is the state of a 2026-07-28 request relayed to a process.
type modernCall struct {
	px        *Proxy
	translate bool
	owner     string
	caps      []byte // the client's capabilities (translated requests)
	level     int    // lowest log level the client asked for; -1: no logs

	mu   sync.Mutex // guards the call's st and clientID, and park
	park *parked
}

// away reports whether the client got an input_required result for the
// request and has not come back yet.
func (mc *modernCall) away() bool {
	mc.mu.Lock()
	defer mc.mu.Unlock()
	return mc.park != nil && mc.park.sent
}

// respond delivers the server's answer.
func (mc *modernCall) respond(c *call, m *message) {
	mc.mu.Lock()
	if p := mc.park; p != nil {
		if p.sent {
			// The client is away answering input requests; it gets the
			// result when it retries.
			p.result = m
			mc.mu.Unlock()
			return
		}
		mc.unpark()
	}
	st, clientID := c.st, c.clientID
	mc.mu.Unlock()
	out := splice(m.raw, m.id, clientID, "")
	if mc.translate && m.result.ok() {
		out = markComplete(out)
	}
	if st != nil {
		st.Push(out, true)
	}
}

// markComplete adds "resultType":"complete" to a result object that has no
// resultType, as 2026-07-28 results must say what they are.
func markComplete(raw []byte) []byte {
	m, err := parseMessage(raw)
	if err != nil || !m.result.ok() || raw[m.result.start] != '{' {
		return raw
	}
	if _, ok := member(raw, m.result, "resultType"); ok {
		return raw
	}
	at := m.result.start + 1
	ins := `"resultType":"complete",`
	if j := skipSpace(raw, at); j < len(raw) && raw[j] == '}' {
		ins = `"resultType":"complete"`
	}
	return splice(raw, span{at, at}, []byte(ins), "")
}

// notify delivers a notification related to the request.
func (mc *modernCall) notify(c *call, raw []byte) {
	if mc.translate {
		var m message
		var err error
		if m, err = parseMessage(raw); err == nil && m.method == "notifications/message" {
			lv, ok := path(raw, m.params, "level")
			var s string
			if !ok || jsonString(raw[lv.start:lv.end], &s) != nil || mc.level < 0 || logLevel(s) < mc.level {
				return
			}
		}
	}
	mc.mu.Lock()
	st := c.st
	parkedAway := mc.park != nil && mc.park.sent
	mc.mu.Unlock()
	if st != nil && !parkedAway {
		st.Push(raw, false)
	}
}

// fail answers the request with an error.
func (mc *modernCall) fail(c *call, code int, msg string) {
	mc.mu.Lock()
	if mc.park != nil {
		mc.unpark()
	}
	st, clientID := c.st, c.clientID
	mc.mu.Unlock()
	if st != nil {
		st.Push(streamable.ErrorResponse(clientID, code, msg, nil), true)
	}
}

// abandon is called when the client went away before the answer: a
// 2026-07-28 request dies with its stream, unless it is parked for input.
func (mc *modernCall) abandon(c *call) {
	mc.mu.Lock()
	parked := mc.park != nil && mc.park.sent
	mc.mu.Unlock()
	if parked {
		return
	}
	if c.ch.forget(c) {
		c.ch.cancel(c.id, "the client went away")
	}
}

// unpark forgets the request's parked state; mc.mu is held.
func (mc *modernCall) unpark() {
	p := mc.park
	mc.park = nil
	p.timer.Stop()
	mc.px.parkMu.Lock()
	if mc.px.parked[p.token] == p {
		delete(mc.px.parked, p.token)
	}
	mc.px.parkMu.Unlock()
}

// parked is a translated request waiting for the client to answer the
// server's sampling, elicitation or roots requests: the client got an
// input_required result naming them and retries with the answers and the
// requestState token.
type parked struct {
	token  string
	owner  string
	c      *call
	asks   []pendingAsk
	sent   bool     // the input_required result of this round went out
	result *message // the server's answer, if it came while parked
	timer  *time.Timer
}

type pendingAsk struct {
	key    string
	id     []byte // the server's request id
	method string
	params []byte
}

// capabilityFor names the client capability a server request needs.
func capabilityFor(method string) string {
	switch method {
	case "sampling/createMessage":
		return "sampling"
	case "elicitation/create":
		return "elicitation"
	case "roots/list":
		return "roots"
	}
	return ""
}

// inputSettle is how long the proxy waits for more requests of the server
// before it sends an input_required result, so that requests the server
// makes together reach the client together.
const inputSettle = 15 * time.Millisecond

// ask turns a request of the server into an input request for the client.
func (mc *modernCall) ask(c *call, m *message) {
	ch := c.ch
	if !mc.translate {
		ch.reject(m, "a 2026-07-28 request cannot carry server requests; use input_required results")
		return
	}
	need := capabilityFor(m.method)
	if need == "" {
		ch.reject(m, "method not supported by the proxy: "+m.method)
		return
	}
	if _, ok := member(mc.caps, span{0, len(mc.caps)}, need); !ok {
		ch.reject(m, "the client did not declare the "+need+" capability")
		if ch.forget(c) {
			ch.cancel(c.id, "the client lacks a capability the request needs")
			mc.mu.Lock()
			st, clientID := c.st, c.clientID
			mc.mu.Unlock()
			data := map[string]any{"requiredCapabilities": map[string]any{need: map[string]any{}}}
			st.Push(streamable.ErrorResponse(clientID, streamable.CodeMissingClientCapability,
				"the request needs the client capability "+need+", which the request did not declare", data), true)
		}
		return
	}
	a := pendingAsk{key: "proxy-" + string(bytes.Trim(m.idBytes(), `"`)), id: bytes.Clone(m.idBytes()), method: m.method}
	if m.params.ok() {
		a.params = bytes.Clone(m.paramsBytes())
	}
	mc.mu.Lock()
	p := mc.park
	if p == nil {
		p = &parked{token: streamable.NewID(18), owner: mc.owner, c: c}
		mc.park = p
		timeout := mc.px.cfg.RequestTimeout
		if timeout <= 0 {
			timeout = DefaultRequestTimeout
		}
		p.timer = time.AfterFunc(timeout, func() { mc.expire(p) })
		mc.px.parkMu.Lock()
		mc.px.parked[p.token] = p
		mc.px.parkMu.Unlock()
		time.AfterFunc(inputSettle, func() { mc.flush(p) })
	}
	p.asks = append(p.asks, a)
	mc.mu.Unlock()
}

// flush sends the input_required result of this round.
func (mc *modernCall) flush(p *parked) {
	mc.mu.Lock()
	if mc.park != p || p.sent || len(p.asks) == 0 {
		mc.mu.Unlock()
		return
	}
	p.sent = true
	st, clientID := p.c.st, p.c.clientID
	p.c.st = nil
	var b bytes.Buffer
	b.WriteString(`{"resultType":"input_required","inputRequests":{`)
	for i, a := range p.asks {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(a.key)
		b.Write(k)
		b.WriteString(`:{"method":`)
		mb, _ := json.Marshal(a.method)
		b.Write(mb)
		if a.params != nil {
			b.WriteString(`,"params":`)
			b.Write(a.params)
		}
		b.WriteByte('}')
	}
	tk, _ := json.Marshal(p.token)
	b.WriteString(`},"requestState":`)
	b.Write(tk)
	b.WriteByte('}')
	mc.mu.Unlock()
	if st != nil {
		st.Push(streamable.ResultResponse(clientID, b.Bytes()), true)
	}
}

// expire gives up on a client that did not come back with its answers.
func (mc *modernCall) expire(p *parked) {
	mc.mu.Lock()
	if mc.park != p {
		mc.mu.Unlock()
		return
	}
	mc.unpark()
	asks := p.asks
	mc.mu.Unlock()
	ch := p.c.ch
	for _, a := range asks {
		_ = ch.proc.write(append(streamable.ErrorResponse(a.id, streamable.CodeInternalError, "the client did not answer in time", nil), '\n'), writeDeadline(0))
	}
	if ch.forget(p.c) {
		ch.cancel(p.c.id, "the client did not answer the input requests in time")
	}
}

// resume continues a parked request: the client retried it with answers to
// the input requests and the requestState token. It reports false when the
// token is not one of the proxy's: the request then goes to the process,
// whose token it may be.
func (px *Proxy) resume(w http.ResponseWriter, r *http.Request, m *message, owner string, tok span, a accept) bool {
	id := m.idBytes()
	var token string
	_ = jsonString(m.raw[tok.start:tok.end], &token)
	px.parkMu.Lock()
	p := px.parked[token]
	if p != nil && p.owner == owner && p.c.method == m.method {
		delete(px.parked, token) // a token is good for one retry
	} else {
		p = nil
	}
	px.parkMu.Unlock()
	if p == nil {
		return false
	}
	c := p.c
	mc := c.modern
	responses, _ := path(m.raw, m.params, "inputResponses")
	st := streamable.NewStream(0, px.window)
	att := st.Attach() // before the server can answer: see answer
	var answers [][]byte
	mc.mu.Lock()
	if mc.park != p {
		mc.mu.Unlock()
		st.Release(att)
		writeError(w, http.StatusBadRequest, id, streamable.CodeInvalidParams, "the request is no longer waiting for input; send it again")
		return true
	}
	var remaining []pendingAsk
	for _, a := range p.asks {
		v, ok := member(m.raw, responses, a.key)
		if !ok {
			remaining = append(remaining, a)
			continue
		}
		answers = append(answers, append(streamable.ResultResponse(a.id, m.raw[v.start:v.end]), '\n'))
	}
	c.st, c.clientID = st, bytes.Clone(id)
	p.asks = remaining
	result := p.result
	if len(remaining) > 0 {
		p.sent = false
		p.token = streamable.NewID(18)
		px.parkMu.Lock()
		px.parked[p.token] = p
		px.parkMu.Unlock()
	} else {
		mc.unpark()
	}
	mc.mu.Unlock()
	for _, a := range answers {
		if err := c.ch.proc.write(a, writeDeadline(0)); err != nil {
			st.Release(att)
			writeError(w, http.StatusBadGateway, id, streamable.CodeServerError, "could not relay the answers: "+err.Error())
			return true
		}
	}
	switch {
	case result != nil:
		mc.respond(c, result)
	case len(remaining) > 0:
		go mc.flush(p)
	}
	px.answer(w, r, nil, st, att, a, func() { mc.abandon(c) })
	return true
}

// listener is a translated subscriptions/listen stream.
type listener struct {
	ch       *child
	clientID []byte
	tools    bool
	prompts  bool
	res      bool
	uris     map[string]bool
	st       *streamable.Stream
	native   bool // relayed to a process that speaks 2026-07-28
	once     sync.Once
}

func (l *listener) tag() string {
	return `"_meta":{"` + mcp.MetaKeySubscriptionID + `":` + string(l.clientID) + `}`
}

// deliver sends a notification of the process if the client asked for it.
func (l *listener) deliver(m *message) {
	var out string
	switch m.method {
	case "notifications/tools/list_changed":
		if !l.tools {
			return
		}
	case "notifications/prompts/list_changed":
		if !l.prompts {
			return
		}
	case "notifications/resources/list_changed":
		if !l.res {
			return
		}
	case "notifications/resources/updated":
		u, ok := path(m.raw, m.params, "uri")
		var uri string
		if !ok || jsonString(m.raw[u.start:u.end], &uri) != nil || !l.uris[uri] {
			return
		}
		out = `{"jsonrpc":"2.0","method":"notifications/resources/updated","params":{"uri":` + string(m.raw[u.start:u.end]) + `,` + l.tag() + `}}`
	default:
		return
	}
	if out == "" {
		out = `{"jsonrpc":"2.0","method":"` + m.method + `","params":{` + l.tag() + `}}`
	}
	l.st.Push([]byte(out), false)
}

// close ends the stream with the listen result.
func (l *listener) close() {
	l.once.Do(func() {
		l.st.Push(streamable.ResultResponse(l.clientID, []byte(`{"resultType":"complete",`+l.tag()+`}`)), true)
	})
}

// listen serves subscriptions/listen for a process that does not know it:
// the proxy acknowledges what the process can deliver and relays its list
// change and resource update notifications.
func (px *Proxy) listen(w http.ResponseWriter, r *http.Request, ch *child, m *message) {
	var caps struct {
		Capabilities struct {
			Tools     *struct{ ListChanged bool } `json:"tools"`
			Prompts   *struct{ ListChanged bool } `json:"prompts"`
			Resources *struct {
				ListChanged bool
				Subscribe   bool
			} `json:"resources"`
		} `json:"capabilities"`
	}
	_ = json.Unmarshal(ch.initResult, &caps)
	l := newListener(ch, m, streamable.NewStream(0, px.window))
	l.tools = l.tools && caps.Capabilities.Tools != nil && caps.Capabilities.Tools.ListChanged
	l.prompts = l.prompts && caps.Capabilities.Prompts != nil && caps.Capabilities.Prompts.ListChanged
	res := caps.Capabilities.Resources
	l.res = l.res && res != nil && res.ListChanged
	if res == nil || !res.Subscribe {
		l.uris = map[string]bool{}
	}
	got := mcp.SubscriptionFilter{ToolsListChanged: l.tools, PromptsListChanged: l.prompts, ResourcesListChanged: l.res}
	for u := range l.uris {
		got.ResourceSubscriptions = append(got.ResourceSubscriptions, u)
	}
	slices.Sort(got.ResourceSubscriptions)
	att := l.st.Attach() // before list changes come: see answer
	subscribe := ch.addListener(l)
	defer px.unlisten(l)
	for _, u := range subscribe {
		p, _ := json.Marshal(map[string]string{"uri": u})
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			_, _ = ch.request(ctx, "resources/subscribe", string(p), 30*time.Second)
		}()
	}
	gb, _ := json.Marshal(got)
	l.st.Push([]byte(`{"jsonrpc":"2.0","method":"notifications/subscriptions/acknowledged","params":{"notifications":`+string(gb)+`,`+l.tag()+`}}`), false)
	streamable.Serve(r.Context(), w, l.st, &streamable.Reply{Attachment: att, SSE: true, Stream: true, KeepAlive: px.cfg.KeepAlive, WriteTimeout: px.cfg.WriteTimeout})
}

// unlisten forgets a listener and unsubscribes resources nobody else wants.
func (px *Proxy) unlisten(l *listener) {
	ch := l.ch
	var drop []string
	ch.mu.Lock()
	delete(ch.listens, l)
	if l.native {
		ch.mu.Unlock()
		return
	}
	for u := range l.uris {
		ch.subs[u]--
		if ch.subs[u] <= 0 {
			delete(ch.subs, u)
			drop = append(drop, u)
		}
	}
	ch.lastUsed = time.Now()
	dead := ch.dead
	ch.mu.Unlock()
	if dead {
		return
	}
	for _, u := range drop {
		p, _ := json.Marshal(map[string]string{"uri": u})
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			_, _ = ch.request(ctx, "resources/unsubscribe", string(p), 30*time.Second)
		}()
	}
}

// routeSubscription delivers a notification a process that speaks
// 2026-07-28 tagged with the id of a subscriptions/listen request: the tag
// is rewritten to the client's id.
func (ch *child) routeSubscription(m *message) bool {
	tag, ok := path(m.raw, m.params, "_meta", mcp.MetaKeySubscriptionID)
	if !ok {
		return false
	}
	id, ok := childID(m.raw[tag.start:tag.end])
	if !ok {
		return false
	}
	ch.mu.Lock()
	c := ch.calls[id]
	if c != nil && m.method != "notifications/subscriptions/acknowledged" {
		ch.tagsLists = true // it tags its list changes: no need to tag them for it
	}
	ch.mu.Unlock()
	if c == nil || c.modern == nil {
		return false
	}
	c.modern.mu.Lock()
	st, clientID := c.st, c.clientID
	c.modern.mu.Unlock()
	if st != nil {
		st.Push(splice(m.raw, tag, clientID, ""), false)
	}
	return true
}

package stdiobridge

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcp-oauth-gateway/gateway/internal/streamable"
	"github.com/mcp-oauth-gateway/gateway/mcpserver"
)

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// writeError answers with a JSON-RPC error and an HTTP status.
func writeError(w http.ResponseWriter, status int, id []byte, code int, msg string) {
	streamable.WriteError(w, status, id, code, msg)
}

// owner returns the key of who is calling (see mcpserver.Caller and
// streamable.OwnerKey): the user and the client acting for it; "" for an
// anonymous caller. ok is false when Authenticate refused the request (it
// wrote the answer).
func (px *Proxy) owner(w http.ResponseWriter, r *http.Request) (string, bool) {
	id, ok := mcpserver.Caller(w, r, px.cfg.Authenticate, px.cfg.TrustGatewayHeaders)
	if !ok || id == nil {
		return "", ok
	}
	return streamable.OwnerKey(id.Subject, id.ClientID), true
}

// readMessage reads and checks a POST body. It answers the request itself
// and returns ok false when the body is not one JSON-RPC message.
func (px *Proxy) readMessage(w http.ResponseWriter, r *http.Request) (message, bool) {
	body, ok := streamable.ReadBody(w, r, px.cfg.MaxBodyBytes)
	if !ok {
		return message{}, false
	}
	if bytes.ContainsAny(body, "\r\n") {
		var b bytes.Buffer
		if json.Compact(&b, body) == nil {
			body = b.Bytes()
		}
	}
	if t := bytes.TrimSpace(body); len(t) > 0 && t[0] == '[' && json.Valid(t) {
		writeError(w, http.StatusBadRequest, nil, streamable.CodeInvalidRequest, "JSON-RPC batches are not supported; send one message per request")
		return message{}, false
	}
	m, err := parseMessage(body)
	if err != nil {
		var inv invalidError
		if errors.As(err, &inv) {
			var id []byte
			if m.id.ok() {
				id = m.idBytes()
			}
			writeError(w, http.StatusBadRequest, id, streamable.CodeInvalidRequest, "invalid JSON-RPC message: "+err.Error())
		} else {
			writeError(w, http.StatusBadRequest, nil, streamable.CodeParseError, "parse error: "+err.Error())
		}
		return m, false
	}
	return m, true
}

// metaVersion returns the protocol version a 2026-07-28 message declares in
// params._meta.
func metaVersion(m *message) string {
	if !m.params.ok() {
		return ""
	}
	v, ok := path(m.raw, m.params, "_meta", mcp.MetaKeyProtocolVersion)
	if !ok {
		return ""
	}
	var s string
	_ = jsonString(m.raw[v.start:v.end], &s)
	return s
}

func (px *Proxy) post(w http.ResponseWriter, r *http.Request) {
	jsonOK, sseOK, ok := streamable.CheckPost(w, r)
	if !ok {
		return
	}
	// Who is calling is settled before a byte of the body is read.
	owner, ok := px.owner(w, r)
	if !ok {
		return
	}
	m, ok := px.readMessage(w, r)
	if !ok {
		return
	}
	a := accept{json: jsonOK, sse: sseOK}
	hv := r.Header.Get(mcp.HeaderProtocolVersion)
	mv := metaVersion(&m)
	if streamable.IsModern(hv, mv) {
		px.postModern(w, r, &m, owner, hv, mv, a)
		return
	}
	if m.kind == kindRequest && m.method == "initialize" {
		px.initialize(w, r, &m, owner)
		return
	}
	if hv != "" && !versionKnown(hv) {
		writeError(w, http.StatusBadRequest, idOf(&m), streamable.CodeInvalidRequest, "unsupported MCP-Protocol-Version: "+hv)
		return
	}
	s, _, ok := px.sessions.Lookup(w, r, owner, idOf(&m))
	if !ok {
		return
	}
	switch m.kind {
	case kindNotification:
		px.clientNotification(s, &m)
		w.WriteHeader(http.StatusAccepted)
	case kindResponse:
		s.ch.answer(s, &m)
		w.WriteHeader(http.StatusAccepted)
	case kindRequest:
		px.relay(w, r, s, &m, a)
	}
}

// accept is what answers a client takes.
type accept struct{ json, sse bool }

func idOf(m *message) []byte {
	if m.id.ok() && m.kind != kindNotification {
		return m.idBytes()
	}
	return nil
}

// clientNotification relays a notification of a legacy client.
func (px *Proxy) clientNotification(s *session, m *message) {
	switch m.method {
	case "notifications/initialized":
		if s.ch.role != roleSession {
			return // the proxy initialized the shared process itself
		}
	case "notifications/cancelled":
		id, ok := path(m.raw, m.params, "requestId")
		if !ok {
			return
		}
		c := s.lookup(m.raw[id.start:id.end])
		if c == nil || !s.ch.forget(c) {
			return
		}
		c.st.End()
		_ = s.ch.notify(splice(m.raw, id, strconv.AppendInt(nil, c.id, 10), ""))
		return
	}
	if err := s.ch.notify(m.raw); err != nil {
		px.log.Debug("could not relay a notification", "method", m.method, "err", err)
	}
}

// initialize creates a session: it starts a process of its own and relays
// the client's initialize to it, or answers from the shared process.
func (px *Proxy) initialize(w http.ResponseWriter, r *http.Request, m *message, owner string) {
	if px.isClosed() {
		writeError(w, http.StatusServiceUnavailable, m.idBytes(), streamable.CodeServerError, errClosed.Error())
		return
	}
	if px.sessions.Full() {
		writeError(w, http.StatusServiceUnavailable, m.idBytes(), streamable.CodeServerError,
			fmt.Sprintf("too many sessions (limit %d); try again later", px.cfg.MaxSessions))
		return
	}
	if px.cfg.Shared {
		px.initializeShared(w, r, m, owner)
		return
	}
	if !px.reserve() {
		writeError(w, http.StatusServiceUnavailable, m.idBytes(), streamable.CodeServerError,
			fmt.Sprintf("%s (limit %d); try again later", errBusy, px.cfg.MaxChildren))
		return
	}
	ch, err := px.spawn(roleSession, "")
	if err != nil {
		px.log.Error("could not start the stdio server", "err", err)
		writeError(w, http.StatusBadGateway, m.idBytes(), streamable.CodeServerError, "could not start the MCP server: "+err.Error())
		return
	}
	px.track(ch)
	s := px.newSession(owner, ch, "")
	st := s.core.Streams.New()
	c := &call{clientID: m.idBytes(), method: m.method, st: st}
	if err := ch.send(c, m, px.cfg.StartupTimeout); err != nil {
		px.health.startFailed(err)
		px.stopChild(ch)
		writeError(w, http.StatusBadGateway, m.idBytes(), streamable.CodeServerError, "could not start the MCP server: "+err.Error())
		return
	}
	resp, ok := st.Final(r.Context())
	if !ok {
		// The client went away; so does the process.
		st.Abandon()
		px.stopChild(ch)
		return
	}
	rm, err := parseMessage(resp)
	if err != nil || !rm.result.ok() {
		if c := errorCode(&rm); c == streamable.CodeRequestTimeout || c == streamable.CodeServerError {
			px.health.startFailed(errors.New(string(errorMessage(&rm))))
		}
		px.stopChild(ch)
		streamable.WriteJSON(w, http.StatusOK, resp)
		return
	}
	if v, ok := member(rm.raw, rm.result, "protocolVersion"); ok {
		_ = jsonString(rm.raw[v.start:v.end], &s.version)
	}
	if !px.startSession(w, m, s) {
		return
	}
	px.health.startOK()
	if px.isClosed() {
		px.endSession(s, errClosed.Error())
	}
	w.Header().Set(streamable.HeaderSessionID, s.id())
	streamable.WriteJSON(w, http.StatusOK, resp)
	px.log.Debug("session started", "session", streamable.ShortID(s.id()), "version", s.version)
}

// startSession registers a session with its child and the session table;
// it answers the initialize itself when it cannot (the child exited, or
// the cap is reached).
func (px *Proxy) startSession(w http.ResponseWriter, m *message, s *session) bool {
	ch := s.ch
	ch.mu.Lock()
	dead := ch.dead
	if !dead {
		ch.sessions[s] = struct{}{}
	}
	ch.mu.Unlock()
	if dead {
		writeError(w, http.StatusBadGateway, m.idBytes(), streamable.CodeServerError, "the MCP server exited right after initialize")
		return false
	}
	if !px.sessions.Add(&s.core, s) {
		px.endSession(s, "too many sessions")
		writeError(w, http.StatusServiceUnavailable, m.idBytes(), streamable.CodeServerError,
			fmt.Sprintf("too many sessions (limit %d); try again later", px.cfg.MaxSessions))
		return false
	}
	return true
}

// errorMessage returns the message of an error response.
func errorMessage(m *message) []byte {
	if !m.err.ok() {
		return nil
	}
	v, ok := member(m.raw, m.err, "message")
	if !ok {
		return nil
	}
	var s string
	_ = jsonString(m.raw[v.start:v.end], &s)
	return []byte(s)
}

// initializeShared answers initialize from the shared process.
func (px *Proxy) initializeShared(w http.ResponseWriter, r *http.Request, m *message, owner string) {
	ch, err := px.pooled(r.Context(), "")
	if err != nil {
		writeUnavailable(w, m.idBytes(), err)
		return
	}
	version := ch.version
	if v, ok := path(m.raw, m.params, "protocolVersion"); ok {
		var want string
		if jsonString(m.raw[v.start:v.end], &want) == nil && versionKnown(want) && !mcp.IsModernProtocol(want) && want < version {
			version = want
		}
	}
	result := ch.initResult
	if v, ok := member(result, span{0, len(result)}, "protocolVersion"); ok {
		result = splice(result, v, strconv.AppendQuote(nil, version), "")
	}
	s := px.newSession(owner, ch, version)
	if !px.startSession(w, m, s) {
		return
	}
	w.Header().Set(streamable.HeaderSessionID, s.id())
	streamable.WriteJSON(w, http.StatusOK, streamable.ResultResponse(m.idBytes(), result))
}

// relay sends a legacy client's request to its session's process and
// streams the answer back: plain JSON when the response is all the server
// sends, SSE when the server sends related messages first.
func (px *Proxy) relay(w http.ResponseWriter, r *http.Request, s *session, m *message, a accept) {
	st := s.core.Streams.New()
	att := st.Attach() // before the server can answer: see answer
	c := &call{clientID: m.idBytes(), method: m.method, sess: s, st: st}
	if err := s.ch.send(c, m, px.cfg.RequestTimeout); err != nil {
		st.Release(att)
		writeError(w, http.StatusOK, m.idBytes(), streamable.CodeServerError, "could not relay the request: "+err.Error())
		return
	}
	px.answer(w, r, s, st, att, a, nil)
}

// answer writes a stream to the client that posted its request. att is
// this handler's attachment to st, taken before the request went to the
// server: a stream without a reader keeps only its window, so what a chatty
// server writes before the handler gets here would otherwise fall out of it
// unseen. s is nil for 2026-07-28 requests: their errors map to HTTP
// statuses, and onGone is called when the client goes away before the
// response.
func (px *Proxy) answer(w http.ResponseWriter, r *http.Request, s *session, st *streamable.Stream, att uint64, a accept, onGone func()) {
	o := streamable.Reply{
		Attachment:   att,
		JSON:         a.json,
		SSE:          a.sse,
		Modern:       s == nil,
		KeepAlive:    px.cfg.KeepAlive,
		WriteTimeout: px.cfg.WriteTimeout,
	}
	if s != nil {
		o.Priming = s.version >= mcp.ProtocolVersion20251125
		o.Keep = &s.core.Streams // the client may resume what it has ids of
		s.core.Begin()
		defer s.core.Done()
	}
	out := streamable.Serve(r.Context(), w, st, &o)
	if !out.Complete {
		if !out.SSE {
			st.Abandon() // nobody can resume what nobody saw
		}
		if onGone != nil {
			onGone()
		}
	}
}

// get opens the standalone SSE stream of a session, or resumes a broken
// stream after the event named by Last-Event-ID.
func (px *Proxy) get(w http.ResponseWriter, r *http.Request) {
	s, ok := px.sessionOf(w, r)
	if !ok {
		return
	}
	streamable.ServeGet(w, r, &s.core, streamable.Reply{
		Priming:      s.version >= mcp.ProtocolVersion20251125,
		KeepAlive:    px.cfg.KeepAlive,
		WriteTimeout: px.cfg.WriteTimeout,
	})
}

// delete ends a session and its process.
func (px *Proxy) delete(w http.ResponseWriter, r *http.Request) {
	s, ok := px.sessionOf(w, r)
	if !ok {
		return
	}
	px.endSession(s, "deleted by the client")
	w.WriteHeader(http.StatusNoContent)
}

// sessionOf finds the session a GET or DELETE is about: 405 for a
// 2026-07-28 client, which has none, then the session checks.
func (px *Proxy) sessionOf(w http.ResponseWriter, r *http.Request) (*session, bool) {
	hv := r.Header.Get(mcp.HeaderProtocolVersion)
	if mcp.IsModernProtocol(hv) {
		streamable.NoSessions(w, r, "there are no sessions in protocol version 2026-07-28 (use subscriptions/listen for notifications)")
		return nil, false
	}
	if hv != "" && !versionKnown(hv) {
		writeError(w, http.StatusBadRequest, nil, streamable.CodeInvalidRequest, "unsupported MCP-Protocol-Version: "+hv)
		return nil, false
	}
	owner, ok := px.owner(w, r)
	if !ok {
		return nil, false
	}
	s, _, ok := px.sessions.Lookup(w, r, owner, nil)
	return s, ok
}

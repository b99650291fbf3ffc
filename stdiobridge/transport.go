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
	"strconv"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mcp-oauth-gateway/gateway/mcpserver"
)

const headerSession = "Mcp-Session-Id"

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// writeError answers with a JSON-RPC error and an HTTP status.
func writeError(w http.ResponseWriter, status int, id []byte, code int, msg string) {
	writeJSON(w, status, errorResponse(id, code, msg, nil))
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)+1))
	w.WriteHeader(status)
	_, _ = w.Write(body)
	_, _ = w.Write([]byte{'\n'})
}

// owner returns who is calling: the subject of the identity an earlier
// middleware put in the context, of Authenticate, or of trusted gateway
// headers; "" for an anonymous caller. ok is false when Authenticate
// refused the request (it wrote the answer).
func (px *Proxy) owner(w http.ResponseWriter, r *http.Request) (string, bool) {
	if id := mcpserver.IdentityFromContext(r.Context()); id != nil {
		return id.Subject, true
	}
	if px.cfg.Authenticate != nil {
		id, ok := px.cfg.Authenticate(w, r)
		if !ok {
			return "", false
		}
		if id != nil {
			return id.Subject, true
		}
	}
	if px.cfg.TrustGatewayHeaders {
		if id := mcpserver.GatewayIdentity(r.Header); id != nil {
			return id.Subject, true
		}
	}
	return "", true
}

// readMessage reads and checks a POST body. It answers the request itself
// and returns ok false when the body is not one JSON-RPC message.
func (px *Proxy) readMessage(w http.ResponseWriter, r *http.Request) (message, bool) {
	if ct := r.Header.Get("Content-Type"); ct != "application/json" && !isJSONMediaType(ct) {
		writeError(w, http.StatusUnsupportedMediaType, nil, codeInvalidRequest, "Content-Type must be application/json")
		return message{}, false
	}
	body, err := readBody(w, r, px.cfg.MaxBodyBytes)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, nil, codeInvalidRequest,
				fmt.Sprintf("request body exceeds %d bytes", px.cfg.MaxBodyBytes))
			return message{}, false
		}
		writeError(w, http.StatusBadRequest, nil, codeParseError, "could not read the request body")
		return message{}, false
	}
	if bytes.ContainsAny(body, "\r\n") {
		var b bytes.Buffer
		if json.Compact(&b, body) == nil {
			body = b.Bytes()
		}
	}
	if t := bytes.TrimSpace(body); len(t) > 0 && t[0] == '[' && json.Valid(t) {
		writeError(w, http.StatusBadRequest, nil, codeInvalidRequest, "JSON-RPC batches are not supported; send one message per request")
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
			writeError(w, http.StatusBadRequest, id, codeInvalidRequest, "invalid JSON-RPC message: "+err.Error())
		} else {
			writeError(w, http.StatusBadRequest, nil, codeParseError, "parse error: "+err.Error())
		}
		return m, false
	}
	return m, true
}

// isJSONMediaType reports whether a Content-Type names application/json,
// with parameters or not.
func isJSONMediaType(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == "application/json"
}

// readBody reads a request body of at most limit bytes, in one allocation
// when the client sent its length.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	body := http.MaxBytesReader(w, r.Body, limit)
	if n := r.ContentLength; n > 0 && n <= limit {
		b := make([]byte, n)
		if _, err := io.ReadFull(body, b); err != nil {
			return nil, err
		}
		return b, nil
	}
	return io.ReadAll(body)
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
	owner, ok := px.owner(w, r)
	if !ok {
		return
	}
	m, ok := px.readMessage(w, r)
	if !ok {
		return
	}
	hv := r.Header.Get(mcp.HeaderProtocolVersion)
	mv := metaVersion(&m)
	if mcp.IsModernProtocol(hv) || mcp.IsModernProtocol(mv) {
		px.postModern(w, r, &m, owner, hv, mv)
		return
	}
	if m.kind == kindRequest && m.method == "initialize" {
		px.initialize(w, r, &m, owner)
		return
	}
	if hv != "" && !versionKnown(hv) {
		writeError(w, http.StatusBadRequest, idOf(&m), codeInvalidRequest, "unsupported MCP-Protocol-Version: "+hv)
		return
	}
	s, ok := px.session(w, r, owner, idOf(&m))
	if !ok {
		return
	}
	s.touch()
	switch m.kind {
	case kindNotification:
		px.clientNotification(s, &m)
		w.WriteHeader(http.StatusAccepted)
	case kindResponse:
		s.ch.answer(s, &m)
		w.WriteHeader(http.StatusAccepted)
	case kindRequest:
		px.relay(w, r, s, &m)
	}
}

func idOf(m *message) []byte {
	if m.id.ok() && m.kind != kindNotification {
		return m.idBytes()
	}
	return nil
}

// session finds the session a request names, answering 400 when it names
// none and 404 when it is unknown, ended or belongs to someone else.
func (px *Proxy) session(w http.ResponseWriter, r *http.Request, owner string, id []byte) (*session, bool) {
	sid := r.Header.Get(headerSession)
	if sid == "" {
		writeError(w, http.StatusBadRequest, id, codeInvalidRequest, "missing Mcp-Session-Id header; initialize first")
		return nil, false
	}
	s := px.sessions.get(sid)
	if s == nil || s.owner != owner {
		writeError(w, http.StatusNotFound, id, codeInvalidRequest, "session not found; it may have ended: initialize a new one")
		return nil, false
	}
	return s, true
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
		c.st.end()
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
		writeError(w, http.StatusServiceUnavailable, m.idBytes(), codeServerError, errClosed.Error())
		return
	}
	if px.cfg.MaxSessions > 0 && px.sessions.len() >= px.cfg.MaxSessions {
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable, m.idBytes(), codeServerError,
			fmt.Sprintf("too many sessions (limit %d); try again later", px.cfg.MaxSessions))
		return
	}
	if px.cfg.Shared {
		px.initializeShared(w, r, m, owner)
		return
	}
	if !px.reserve() {
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable, m.idBytes(), codeServerError,
			fmt.Sprintf("%s (limit %d); try again later", errBusy, px.cfg.MaxChildren))
		return
	}
	ch, err := px.spawn(roleSession, "")
	if err != nil {
		px.log.Error("could not start the stdio server", "err", err)
		writeError(w, http.StatusBadGateway, m.idBytes(), codeServerError, "could not start the MCP server: "+err.Error())
		return
	}
	px.track(ch)
	s := &session{px: px, id: newSessionID(), owner: owner, ch: ch, lastActive: time.Now()}
	st := s.newStream()
	c := &call{clientID: m.idBytes(), method: m.method, st: st}
	if err := ch.send(c, m, px.cfg.StartupTimeout); err != nil {
		px.health.startFailed(err)
		px.stopChild(ch)
		writeError(w, http.StatusBadGateway, m.idBytes(), codeServerError, "could not start the MCP server: "+err.Error())
		return
	}
	resp, ok := finalOf(r.Context(), st)
	if !ok {
		// The client went away; so does the process.
		st.abandon()
		px.stopChild(ch)
		return
	}
	rm, err := parseMessage(resp)
	if err != nil || !rm.result.ok() {
		if c := errorCode(&rm); c == codeRequestTimeout || c == codeServerError {
			px.health.startFailed(errors.New(string(errorMessage(&rm))))
		}
		px.stopChild(ch)
		writeJSON(w, http.StatusOK, resp)
		return
	}
	if v, ok := member(rm.raw, rm.result, "protocolVersion"); ok {
		_ = jsonString(rm.raw[v.start:v.end], &s.version)
	}
	ch.mu.Lock()
	dead := ch.dead
	if !dead {
		ch.sessions[s] = struct{}{}
	}
	ch.mu.Unlock()
	if dead {
		writeError(w, http.StatusBadGateway, m.idBytes(), codeServerError, "the MCP server exited right after initialize")
		return
	}
	px.sessions.add(s)
	px.health.startOK()
	if px.isClosed() {
		px.endSession(s, errClosed.Error())
	}
	w.Header().Set(headerSession, s.id)
	writeJSON(w, http.StatusOK, resp)
	px.log.Debug("session started", "session", shortID(s.id), "version", s.version)
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

// finalOf waits for the final message of a stream, dropping anything before
// it.
func finalOf(ctx context.Context, st *stream) ([]byte, bool) {
	for {
		st.mu.Lock()
		if st.final {
			var d []byte
			if n := len(st.evs); n > 0 {
				d = st.evs[n-1].data
			}
			st.mu.Unlock()
			return d, d != nil
		}
		if st.ended {
			st.mu.Unlock()
			return nil, false
		}
		wake := st.wake
		st.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return nil, false
		}
	}
}

// initializeShared answers initialize from the shared process.
func (px *Proxy) initializeShared(w http.ResponseWriter, r *http.Request, m *message, owner string) {
	ch, err := px.pooled(r.Context(), "")
	if err != nil {
		status := http.StatusBadGateway
		if errors.Is(err, errBusy) || errors.Is(err, errClosed) {
			status = http.StatusServiceUnavailable
		}
		writeError(w, status, m.idBytes(), codeServerError, "the MCP server is not available: "+err.Error())
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
	s := &session{px: px, id: newSessionID(), owner: owner, ch: ch, version: version, lastActive: time.Now()}
	ch.mu.Lock()
	dead := ch.dead
	if !dead {
		ch.sessions[s] = struct{}{}
	}
	ch.mu.Unlock()
	if dead {
		writeError(w, http.StatusBadGateway, m.idBytes(), codeServerError, "the MCP server exited")
		return
	}
	px.sessions.add(s)
	w.Header().Set(headerSession, s.id)
	writeJSON(w, http.StatusOK, resultResponse(m.idBytes(), result))
}

// relay sends a legacy client's request to its session's process and
// streams the answer back: plain JSON when the response is all there is,
// SSE when the server sends related messages first.
func (px *Proxy) relay(w http.ResponseWriter, r *http.Request, s *session, m *message) {
	st := s.newStream()
	c := &call{clientID: m.idBytes(), method: m.method, sess: s, st: st}
	if err := s.ch.send(c, m, px.cfg.RequestTimeout); err != nil {
		writeError(w, http.StatusOK, m.idBytes(), codeServerError, "could not relay the request: "+err.Error())
		return
	}
	px.answer(w, r, s, st, acceptsSSE(r), nil)
}

// answer writes a stream to the client that posted its request. modern is
// set for 2026-07-28 requests: their errors map to HTTP statuses, and the
// request is cancelled when the client goes away.
func (px *Proxy) answer(w http.ResponseWriter, r *http.Request, s *session, st *stream, sse bool, onGone func()) {
	data, only, ok := st.first(r.Context())
	if !ok {
		st.abandon()
		if onGone != nil {
			onGone()
		}
		return
	}
	if only || !sse {
		if !only {
			// The client takes JSON only: send the response, drop the rest.
			data, ok = finalOf(r.Context(), st)
			if !ok {
				if onGone != nil {
					onGone()
				}
				return
			}
		}
		status := http.StatusOK
		if onGone != nil { // 2026-07-28: errors have HTTP statuses
			if m, err := parseMessage(data); err == nil {
				status = modernStatus(errorCode(&m))
			}
		}
		writeJSON(w, status, data)
		if s != nil {
			s.release(st)
		}
		return
	}
	var id int64
	if s != nil && s.resumable() {
		id = st.id
		s.keep(st)
		s.connected(1)
		defer s.connected(-1)
	}
	sw := startSSE(w)
	if id > 0 && s.version >= mcp.ProtocolVersion20251125 {
		sw.prime(id)
	}
	served := st.serve(r.Context(), sw, 1, px.cfg.KeepAlive, nil, id > 0)
	if served && s != nil {
		s.release(st)
	}
	if !served && onGone != nil {
		onGone()
	}
}

// get opens the standalone SSE stream of a session, or resumes a broken
// stream after the event named by Last-Event-ID.
func (px *Proxy) get(w http.ResponseWriter, r *http.Request) {
	if mcp.IsModernProtocol(r.Header.Get(mcp.HeaderProtocolVersion)) {
		w.Header().Set("Allow", "POST")
		writeError(w, http.StatusMethodNotAllowed, nil, codeInvalidRequest,
			"GET is not part of protocol version 2026-07-28: use subscriptions/listen")
		return
	}
	if !acceptsSSE(r) {
		writeError(w, http.StatusNotAcceptable, nil, codeInvalidRequest, "GET needs Accept: text/event-stream")
		return
	}
	owner, ok := px.owner(w, r)
	if !ok {
		return
	}
	if hv := r.Header.Get(mcp.HeaderProtocolVersion); hv != "" && !versionKnown(hv) {
		writeError(w, http.StatusBadRequest, nil, codeInvalidRequest, "unsupported MCP-Protocol-Version: "+hv)
		return
	}
	s, ok := px.session(w, r, owner, nil)
	if !ok {
		return
	}
	s.touch()
	if last := r.Header.Get("Last-Event-ID"); last != "" && s.resumable() {
		if sid, seq, ok := parseEventID(last); ok {
			if st := s.stream(sid); st != nil {
				s.mu.Lock()
				standalone := st == s.standalone
				s.mu.Unlock()
				if !standalone {
					s.connected(1)
					defer s.connected(-1)
					sw := startSSE(w)
					if st.serve(r.Context(), sw, seq+1, px.cfg.KeepAlive, nil, true) {
						s.release(st)
					}
					return
				}
				st, stop := s.openStandalone()
				s.connected(1)
				defer s.connected(-1)
				st.serve(r.Context(), startSSE(w), seq+1, px.cfg.KeepAlive, stop, true)
				return
			}
		}
	}
	st, stop := s.openStandalone()
	s.connected(1)
	defer s.connected(-1)
	sw := startSSE(w)
	if s.resumable() && s.version >= mcp.ProtocolVersion20251125 {
		sw.prime(st.id)
	}
	st.mu.Lock()
	from := max(st.sent, 1) // what no connection has received yet
	st.mu.Unlock()
	st.serve(r.Context(), sw, from, px.cfg.KeepAlive, stop, s.resumable())
}

// delete ends a session and its process.
func (px *Proxy) delete(w http.ResponseWriter, r *http.Request) {
	if mcp.IsModernProtocol(r.Header.Get(mcp.HeaderProtocolVersion)) {
		w.Header().Set("Allow", "POST")
		writeError(w, http.StatusMethodNotAllowed, nil, codeInvalidRequest,
			"DELETE is not part of protocol version 2026-07-28: there are no sessions")
		return
	}
	owner, ok := px.owner(w, r)
	if !ok {
		return
	}
	s, ok := px.session(w, r, owner, nil)
	if !ok {
		return
	}
	px.endSession(s, "deleted by the client")
	w.WriteHeader(http.StatusNoContent)
}

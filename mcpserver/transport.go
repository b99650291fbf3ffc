package mcpserver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

const (
	headerSessionID       = "Mcp-Session-Id"
	headerProtocolVersion = "Mcp-Protocol-Version"
	headerLastEventID     = "Last-Event-Id"

	// keepAlive is how often an idle SSE stream gets a comment, so proxies
	// with idle timeouts (Traefik, nginx) keep it open.
	keepAlive = 15 * time.Second
	// retryAfterClose is the reconnection delay sent with priming events.
	retryAfterClose = time.Second
)

// envelope is the part of a JSON-RPC message the transport looks at.
type envelope struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Method  string          `json:"method"`
	Params  *struct {
		Name string `json:"name"`
		Meta *struct {
			ProtocolVersion string `json:"io.modelcontextprotocol/protocolVersion"`
		} `json:"_meta"`
	} `json:"params"`
	Result json.RawMessage `json:"result"`
	Error  json.RawMessage `json:"error"`
}

func (e *envelope) metaVersion() string {
	if e.Params == nil || e.Params.Meta == nil {
		return ""
	}
	return e.Params.Meta.ProtocolVersion
}

func (e *envelope) hasID() bool { return len(e.ID) > 0 && !bytes.Equal(e.ID, []byte("null")) }

func (e *envelope) isResponse() bool {
	return e.Method == "" && e.hasID() && (e.Result != nil || e.Error != nil)
}

func (e *envelope) isNotification() bool { return e.Method != "" && len(e.ID) == 0 }

// serveMCP serves the MCP endpoint; the guard has already checked Origin and
// Host and answered preflights.
func (s *Server) serveMCP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodPost:
		s.servePost(w, r)
	case http.MethodGet:
		s.serveGet(w, r)
	case http.MethodDelete:
		s.serveDelete(w, r)
	default:
		w.Header().Set("Allow", "GET, POST, DELETE, OPTIONS")
		writeRPCError(w, http.StatusMethodNotAllowed, nil, mcp.INVALID_REQUEST, "method "+r.Method+" not allowed")
	}
}

// identify finds who is calling: an identity already in the request context,
// the Authenticate hook, or trusted gateway headers. ok is false when the
// hook refused the request (and wrote the refusal).
func (s *Server) identify(w http.ResponseWriter, r *http.Request) (*Identity, bool) {
	if id := IdentityFromContext(r.Context()); id != nil {
		return id, true
	}
	if s.cfg.Authenticate != nil {
		return s.cfg.Authenticate(w, r)
	}
	if s.cfg.TrustGatewayHeaders {
		return GatewayIdentity(r.Header), true
	}
	return nil, true
}

func (s *Server) servePost(w http.ResponseWriter, r *http.Request) {
	received := s.cfg.Now()
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		writeRPCError(w, http.StatusUnsupportedMediaType, nil, mcp.INVALID_REQUEST, "Content-Type must be application/json")
		return
	}
	jsonOK, sseOK := accepts(r.Header.Get("Accept"))
	if !jsonOK && !sseOK {
		writeRPCError(w, http.StatusNotAcceptable, nil, mcp.INVALID_REQUEST, "Accept must allow application/json or text/event-stream")
		return
	}
	// Who is calling is settled before a byte of the body is read.
	identity, ok := s.identify(w, r)
	if !ok {
		return
	}
	body, ok := s.readBody(w, r)
	if !ok {
		return
	}
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) > 0 && trimmed[0] == '[' {
		s.serveBatch(w, r, body, identity, received)
		return
	}
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			writeRPCError(w, http.StatusBadRequest, nil, mcp.INVALID_REQUEST, "a JSON-RPC message must be a JSON object")
			return
		}
		writeRPCError(w, http.StatusBadRequest, nil, mcp.PARSE_ERROR, "request body is not valid JSON")
		return
	}
	if env.JSONRPC != mcp.JSONRPC_VERSION || (env.Method == "" && !env.isResponse()) {
		writeRPCError(w, http.StatusBadRequest, env.ID, mcp.INVALID_REQUEST, `not a JSON-RPC 2.0 message: want "jsonrpc":"2.0" and a method, or a response`)
		return
	}
	headerVersion := r.Header.Get(headerProtocolVersion)
	if mcp.IsModernProtocol(env.metaVersion()) || mcp.IsModernProtocol(headerVersion) {
		s.serveModern(w, r, body, &env, identity, received, jsonOK, sseOK)
		return
	}
	s.serveLegacy(w, r, body, &env, identity, received, jsonOK, sseOK)
}

// readBody reads the request body within the size limit.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	limit := s.cfg.MaxBodyBytes
	tooLarge := func() ([]byte, bool) {
		writeRPCError(w, http.StatusRequestEntityTooLarge, nil, mcp.INVALID_REQUEST,
			fmt.Sprintf("request body exceeds the limit of %d bytes", limit))
		return nil, false
	}
	if r.ContentLength > limit {
		return tooLarge()
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			return tooLarge()
		}
		writeRPCError(w, http.StatusBadRequest, nil, mcp.PARSE_ERROR, "reading request body: "+err.Error())
		return nil, false
	}
	return body, true
}

// serveLegacy serves a message of the 2025-03-26 .. 2025-11-25 era.
func (s *Server) serveLegacy(w http.ResponseWriter, r *http.Request, body []byte, env *envelope, identity *Identity, received time.Time, jsonOK, sseOK bool) {
	headerVersion := r.Header.Get(headerProtocolVersion)
	isInit := env.Method == string(mcp.MethodInitialize)
	if headerVersion != "" && !isInit && !s.serves(headerVersion) {
		writeRPCError(w, http.StatusBadRequest, env.ID, mcp.INVALID_REQUEST,
			"unsupported MCP-Protocol-Version "+strconv.Quote(headerVersion)+"; supported: "+strings.Join(s.cfg.versions, ", "))
		return
	}
	if isInit && !env.hasID() {
		writeRPCError(w, http.StatusBadRequest, env.ID, mcp.INVALID_REQUEST, "initialize must be a request with an id")
		return
	}

	var sess *Session
	switch {
	case s.cfg.Sessions == Stateless:
		sess = s.ephemeralSession(identity, "")
	case isInit:
		sess = newSession(s, randomID(24), identity)
		if s.sessions.len() >= s.cfg.MaxSessions && s.cfg.MaxSessions > 0 {
			writeRPCError(w, http.StatusServiceUnavailable, env.ID, mcp.INTERNAL_ERROR,
				"too many sessions; try again later")
			return
		}
	default:
		var ok bool
		if sess, ok = s.lookupSession(w, r, identity, env.ID); !ok {
			return
		}
	}

	switch {
	case env.isResponse():
		if !s.pending.deliver(sess.id, env.ID, body) {
			s.cfg.Logger.Debug("mcpserver: response to no pending request", "id", string(env.ID), "session", shortID(sess.id))
		}
		w.WriteHeader(http.StatusAccepted)
	case env.isNotification():
		ctx := s.callContext(r.Context(), sess, &conn{Session: sess}, s.requestInfo(r, received, headerVersion, sess), identity)
		s.mcp.HandleMessage(ctx, body)
		w.WriteHeader(http.StatusAccepted)
	default:
		version := headerVersion
		if version == "" && !sess.ephemeral() {
			version = sess.ProtocolVersion()
		}
		s.runCall(w, r, body, env, sess, identity, received, version, callMode{
			initialize: isInit,
			resumable:  !sess.ephemeral() && s.cfg.ReplayEvents >= 0,
			jsonOK:     jsonOK,
			sseOK:      sseOK,
		})
	}
}

// lookupSession finds the stateful session a request names: 400 without a
// session id, 404 for an unknown or ended one or one of another caller.
func (s *Server) lookupSession(w http.ResponseWriter, r *http.Request, identity *Identity, id json.RawMessage) (*Session, bool) {
	sid := r.Header.Get(headerSessionID)
	if sid == "" {
		writeRPCError(w, http.StatusBadRequest, id, mcp.INVALID_REQUEST, "missing Mcp-Session-Id header; send initialize first")
		return nil, false
	}
	sess := s.sessions.get(sid)
	if sess == nil || sess.isEnded() || sess.owner != ownerKey(identity) {
		writeRPCError(w, http.StatusNotFound, id, mcp.INVALID_REQUEST, "session not found; it ended or never existed: initialize a new one")
		return nil, false
	}
	sess.touch()
	return sess, true
}

// ephemeralSession is the throwaway session of a stateless request.
func (s *Server) ephemeralSession(identity *Identity, id string) *Session {
	sess := newSession(s, id, identity)
	sess.ephem = true
	sess.initialized.Store(true)
	return sess
}

// serveModern serves a 2026-07-28 request: stateless, with its protocol
// version in both the header and _meta, and Mcp-Method / Mcp-Name headers.
func (s *Server) serveModern(w http.ResponseWriter, r *http.Request, body []byte, env *envelope, identity *Identity, received time.Time, jsonOK, sseOK bool) {
	headerVersion, metaVersion := r.Header.Get(headerProtocolVersion), env.metaVersion()
	status := http.StatusBadRequest
	switch {
	case r.Header.Get(headerLastEventID) != "":
		writeRPCError(w, status, env.ID, mcp.HEADER_MISMATCH, "Last-Event-ID is not supported from protocol version 2026-07-28: streams are not resumable")
		return
	case env.isResponse():
		writeRPCError(w, status, env.ID, mcp.INVALID_REQUEST, "client responses are not part of protocol version 2026-07-28: server requests became input_required results")
		return
	case headerVersion == "":
		writeRPCError(w, status, env.ID, mcp.HEADER_MISMATCH, "MCP-Protocol-Version header is required for requests carrying "+mcp.MetaKeyProtocolVersion)
		return
	case metaVersion == "":
		writeRPCError(w, status, env.ID, mcp.INVALID_PARAMS, "missing or invalid _meta field "+mcp.MetaKeyProtocolVersion)
		return
	case headerVersion != metaVersion:
		writeRPCError(w, status, env.ID, mcp.HEADER_MISMATCH, "MCP-Protocol-Version header "+headerVersion+" does not match _meta "+metaVersion)
		return
	case !s.serves(metaVersion):
		resp := mcp.UnsupportedProtocolVersionError{Version: metaVersion, Supported: s.cfg.versions}.JSONRPCError()
		resp.ID = rawRequestID(env.ID)
		writeJSON(w, status, resp)
		return
	}
	if err := s.checkStandardHeaders(r, body, env, metaVersion); err != nil {
		writeRPCError(w, status, env.ID, mcp.HEADER_MISMATCH, err.Error())
		return
	}
	sess := s.ephemeralSession(identity, randomID(12))
	if env.isNotification() {
		ctx := s.callContext(r.Context(), sess, &conn{Session: sess}, s.requestInfo(r, received, metaVersion, sess), identity)
		s.mcp.HandleMessage(ctx, body)
		w.WriteHeader(http.StatusAccepted)
		return
	}
	s.runCall(w, r, body, env, sess, identity, received, metaVersion, callMode{
		modern: true,
		listen: env.Method == string(mcp.MethodSubscriptionsListen),
		jsonOK: jsonOK,
		sseOK:  sseOK,
	})
}

// checkStandardHeaders validates Mcp-Method, Mcp-Name and a tool's
// Mcp-Param-* headers against the body (SEP-2243).
func (s *Server) checkStandardHeaders(r *http.Request, body []byte, env *envelope, version string) error {
	var raw struct {
		Params json.RawMessage `json:"params"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return err
	}
	method := mcp.MCPMethod(env.Method)
	if err := mcp.ValidateStandardHeaders(r.Header.Get, version, method, raw.Params); err != nil {
		return err
	}
	if method != mcp.MethodToolsCall {
		return nil
	}
	var call struct {
		Name string `json:"name"`
	}
	if json.Unmarshal(raw.Params, &call) != nil || call.Name == "" {
		return nil
	}
	tool := s.mcp.GetTool(call.Name)
	if tool == nil {
		return nil
	}
	return mcp.ValidateParamHeadersLookup(func(name string) (string, bool) {
		v := r.Header.Values(name)
		if len(v) == 0 {
			return "", false
		}
		return v[0], true
	}, &tool.Tool, raw.Params)
}

func (s *Server) serves(version string) bool { return slices.Contains(s.cfg.versions, version) }

// newestLegacy is the newest served version that uses initialize.
func (s *Server) newestLegacy() string {
	for _, v := range s.cfg.versions {
		if !mcp.IsModernProtocol(v) {
			return v
		}
	}
	return ""
}

func (s *Server) requestInfo(r *http.Request, received time.Time, version string, sess *Session) *Request {
	if version == "" && sess != nil && !sess.ephemeral() {
		version = sess.ProtocolVersion()
	}
	return &Request{
		Method:          r.Method,
		Host:            r.Host,
		Path:            r.URL.Path,
		RemoteAddr:      r.RemoteAddr,
		TLS:             r.TLS != nil,
		Header:          r.Header,
		Received:        received,
		ProtocolVersion: version,
	}
}

type callKey struct{}

// callContext builds the context a message is handled in.
func (s *Server) callContext(parent context.Context, sess *Session, c *conn, info *Request, identity *Identity) context.Context {
	ctx := s.mcp.WithContext(parent, c)
	ctx = server.WithSupportedProtocolVersions(ctx, s.cfg.versions)
	if info != nil {
		ctx = context.WithValue(ctx, requestKey{}, info)
	}
	if identity != nil {
		ctx = ContextWithIdentity(ctx, identity)
	}
	if !sess.ephemeral() {
		ctx = context.WithValue(ctx, sessionKey{}, sess)
	}
	if c.call != nil {
		ctx = context.WithValue(ctx, callKey{}, c.call)
	}
	return ctx
}

type callMode struct {
	initialize bool // the call is initialize: a stateful session starts if it succeeds
	resumable  bool // the call's stream numbers its events and survives a broken connection
	modern     bool // 2026-07-28: JSON-RPC errors map to HTTP statuses
	listen     bool // subscriptions/listen: notifications are tagged with the request id
	jsonOK     bool // the client accepts application/json
	sseOK      bool // the client accepts text/event-stream
}

// runCall handles one JSON-RPC request: mcp-go handles the message on its own
// goroutine while this one writes what the call sends, then its response.
func (s *Server) runCall(w http.ResponseWriter, r *http.Request, body []byte, env *envelope, sess *Session, identity *Identity, received time.Time, version string, mode callMode) {
	var st *stream
	if mode.resumable {
		st = sess.newCallStream()
	} else {
		st = newStream("", 0)
	}
	st.noSSE = !mode.sseOK
	if mode.listen {
		var id any
		_ = json.Unmarshal(env.ID, &id)
		st.tag = id
	}
	c := &conn{Session: sess, call: st}

	// A resumable call outlives its connection (the client may come back
	// with Last-Event-ID) but not its session.
	parent := r.Context()
	var stop func() bool
	if mode.resumable {
		var cancel context.CancelFunc
		parent, cancel = context.WithCancel(context.WithoutCancel(parent))
		stop = context.AfterFunc(sess.ctx, cancel)
		defer func() {
			if st.complete() {
				stop()
				cancel()
			}
		}()
	}
	ctx := s.callContext(parent, sess, c, s.requestInfo(r, received, version, sess), identity)

	// This handler holds the stream from the start, so a long-running tool
	// may let go of it (CloseStream) at once.
	detach, _ := st.attach()
	var initOK chan bool
	if mode.initialize {
		initOK = make(chan bool, 1)
	}
	handle := func() {
		resp := addResourceURI(env.Method, body, applyRPCError(st, s.mcp.HandleMessage(ctx, body)))
		if mode.initialize {
			var ok bool
			resp, ok = s.finishInitialize(ctx, sess, resp)
			initOK <- ok
		}
		data, err := json.Marshal(resp)
		if err != nil {
			s.cfg.Logger.Error("mcpserver: encode response", "method", env.Method, "err", err)
			data, _ = json.Marshal(mcp.NewJSONRPCError(rawRequestID(env.ID), mcp.INTERNAL_ERROR, "internal error: unencodable result", nil))
		}
		if !st.send(data, true) && mode.resumable {
			s.cfg.Logger.Debug("mcpserver: response after the session ended", "method", env.Method)
		}
	}

	header := w.Header()
	if mode.initialize && s.cfg.Sessions == Stateful {
		header.Set(headerSessionID, sess.id)
	}
	opt := streamWrite{
		detach:  detach,
		json:    mode.jsonOK,
		modern:  mode.modern,
		priming: mode.resumable && version >= mcp.ProtocolVersion20251125,
		onFinal: func() bool {
			if mode.initialize && !<-initOK {
				header.Del(headerSessionID)
			}
			return true
		},
	}
	var complete bool
	if mode.resumable && s.longRunning(env) {
		// A long-running tool runs on a worker while this handler writes
		// its stream, so the tool may end the HTTP response early.
		st.detachable = true
		s.workers.run(handle)
		complete = s.writeStream(w, r, st, opt)
	} else {
		// Most calls are handled right here. Should the call send something
		// before its response, a writer takes over the response at once.
		st.startWriter = func(done chan<- bool) { done <- s.writeStream(w, r, st, opt) }
		handle()
		if done := st.writerStarted(); done != nil {
			complete = <-done
		} else {
			complete = s.writeStream(w, r, st, opt)
		}
	}
	if mode.resumable && (!complete || st.usedSSE) {
		// A lone JSON response carries no event id to resume from.
		sess.keepForResume(st, complete)
	}
}

// longRunning reports whether a request calls a tool added with
// AddLongRunningTool.
func (s *Server) longRunning(env *envelope) bool {
	if env.Method != string(mcp.MethodToolsCall) || env.Params == nil {
		return false
	}
	_, ok := s.longTools.Load(env.Params.Name)
	return ok
}

// finishInitialize adjusts a successful initialize result to the served
// versions and starts the session; it reports whether the session started.
func (s *Server) finishInitialize(ctx context.Context, sess *Session, resp mcp.JSONRPCMessage) (mcp.JSONRPCMessage, bool) {
	result, ok := resp.(mcp.JSONRPCResponse)
	if !ok {
		return resp, false
	}
	init, ok := result.Result.(mcp.InitializeResult)
	if !ok {
		return resp, false
	}
	if !s.serves(init.ProtocolVersion) {
		init.ProtocolVersion = s.newestLegacy()
		result.Result = init
		resp = result
	}
	sess.setProtocolVersion(init.ProtocolVersion)
	if sess.ephemeral() {
		return resp, false
	}
	if !s.sessions.add(sess) {
		return resp, false
	}
	if err := s.mcp.RegisterSession(ctx, sess.conn); err != nil {
		s.sessions.remove(sess)
		return resp, false
	}
	return resp, true
}

type streamWrite struct {
	json    bool        // a lone response may be sent as application/json
	modern  bool        // map JSON-RPC errors to HTTP statuses (2026-07-28)
	priming bool        // start SSE with a priming event (2025-11-25 resumability)
	after   uint64      // write events numbered after this
	onFinal func() bool // called before the final message is written
	sse     bool        // start as SSE at once (GET streams)
	// detach, when set, says the caller already attached to the stream.
	detach <-chan struct{}
}

// writeStream writes st to w until its last message is written (true), or
// the client goes away or the stream is let go (false).
func (s *Server) writeStream(w http.ResponseWriter, r *http.Request, st *stream, opt streamWrite) bool {
	detach := opt.detach
	if detach == nil {
		var ok bool
		if detach, ok = st.attach(); !ok {
			writeRPCError(w, http.StatusConflict, nil, mcp.INVALID_REQUEST, "the stream is already being read by another connection")
			return false
		}
	}
	defer st.release()
	sw := &sseWriter{w: w, rc: http.NewResponseController(w)}
	after := opt.after
	startSSE := func() error {
		st.usedSSE = true
		sw.start(w.Header())
		if opt.priming && st.id != "" {
			if err := sw.priming(st, after, retryAfterClose); err != nil {
				return err
			}
		}
		return sw.flush()
	}
	if opt.sse {
		if err := startSSE(); err != nil {
			return false
		}
	}
	var ticker *time.Ticker
	var tick <-chan time.Time
	defer func() {
		if ticker != nil {
			ticker.Stop()
		}
	}()
	for {
		ev, final, ok := st.next(after)
		if ok {
			if final && opt.onFinal != nil && !opt.onFinal() {
				return false
			}
			if !sw.started && final && opt.json {
				writeResponse(w, ev.data, opt.modern)
				st.markDelivered(ev.seq)
				return true
			}
			if !sw.started {
				if st.noSSE {
					// The client cannot read a stream: what the call sends
					// on the way has nowhere to go.
					after = ev.seq
					st.markDelivered(ev.seq)
					continue
				}
				if err := startSSE(); err != nil {
					return false
				}
			}
			if err := sw.event(st, ev); err != nil {
				return false
			}
			if err := sw.flush(); err != nil {
				return false
			}
			st.markDelivered(ev.seq)
			after = ev.seq
			if final {
				return true
			}
			continue
		}
		if st.isEnded() {
			return false
		}
		if sw.started && ticker == nil {
			ticker = time.NewTicker(keepAlive)
			tick = ticker.C
		}
		select {
		case <-st.wake:
		case <-detach:
			return false
		case <-r.Context().Done():
			return false
		case <-tick:
			if sw.comment("keep-alive") != nil || sw.flush() != nil {
				return false
			}
		}
	}
}

func (s *Server) serveGet(w http.ResponseWriter, r *http.Request) {
	sess, ok := s.sessionOf(w, r)
	if !ok {
		return
	}
	opt := streamWrite{sse: true, priming: sess.ProtocolVersion() >= mcp.ProtocolVersion20251125}
	var st *stream
	if last := r.Header.Get(headerLastEventID); last != "" {
		if id, seq, ok := parseEventID(last); ok {
			if st = sess.streamByID(id); st != nil {
				opt.after = seq
			}
		}
	}
	if st == nil {
		if st = sess.standaloneStream(); st == nil {
			writeRPCError(w, http.StatusNotFound, nil, mcp.INVALID_REQUEST, "session not found")
			return
		}
		st.mu.Lock()
		opt.after = st.delivered
		st.mu.Unlock()
	}
	s.writeStream(w, r, st, opt)
}

func (s *Server) streamlessReason(version string) string {
	if mcp.IsModernProtocol(version) {
		return "protocol version " + version + " (use subscriptions/listen)"
	}
	return "clients (it is stateless)"
}

func (s *Server) serveDelete(w http.ResponseWriter, r *http.Request) {
	sess, ok := s.sessionOf(w, r)
	if !ok {
		return
	}
	s.sessions.remove(sess)
	w.WriteHeader(http.StatusNoContent)
}

// sessionOf finds the session a GET or DELETE is about: 405 where there are
// no sessions (a Stateless server, a 2026-07-28 client), then the checks of
// lookupSession; a GET must also accept text/event-stream.
func (s *Server) sessionOf(w http.ResponseWriter, r *http.Request) (*Session, bool) {
	version := r.Header.Get(headerProtocolVersion)
	if mcp.IsModernProtocol(version) || s.cfg.Sessions == Stateless {
		w.Header().Set("Allow", "POST")
		writeRPCError(w, http.StatusMethodNotAllowed, nil, mcp.INVALID_REQUEST,
			r.Method+" is not supported here: this server keeps no sessions for "+s.streamlessReason(version))
		return nil, false
	}
	if _, sseOK := accepts(r.Header.Get("Accept")); r.Method == http.MethodGet && !sseOK {
		writeRPCError(w, http.StatusNotAcceptable, nil, mcp.INVALID_REQUEST, "GET needs Accept: text/event-stream")
		return nil, false
	}
	if version != "" && !s.serves(version) {
		writeRPCError(w, http.StatusBadRequest, nil, mcp.INVALID_REQUEST, "unsupported MCP-Protocol-Version "+strconv.Quote(version))
		return nil, false
	}
	identity, ok := s.identify(w, r)
	if !ok {
		return nil, false
	}
	return s.lookupSession(w, r, identity, nil)
}

// serveBatch serves a JSON-RPC batch (2025-03-26 clients): each message in
// turn, responses collected into one JSON array.
func (s *Server) serveBatch(w http.ResponseWriter, r *http.Request, body []byte, identity *Identity, received time.Time) {
	version := r.Header.Get(headerProtocolVersion)
	if version != "" && version != mcp.ProtocolVersion20250326 && version != mcp.ProtocolVersion20241105 {
		writeRPCError(w, http.StatusBadRequest, nil, mcp.INVALID_REQUEST, "JSON-RPC batches are not part of protocol version "+version)
		return
	}
	var msgs []json.RawMessage
	if err := json.Unmarshal(body, &msgs); err != nil {
		writeRPCError(w, http.StatusBadRequest, nil, mcp.PARSE_ERROR, "request body is not valid JSON")
		return
	}
	if len(msgs) == 0 {
		writeRPCError(w, http.StatusBadRequest, nil, mcp.INVALID_REQUEST, "empty batch")
		return
	}
	var sess *Session
	if s.cfg.Sessions == Stateless {
		sess = s.ephemeralSession(identity, "")
	} else {
		var ok bool
		if sess, ok = s.lookupSession(w, r, identity, nil); !ok {
			return
		}
	}
	st := newStream("", 0)
	st.noSSE = true
	c := &conn{Session: sess, call: st}
	ctx := s.callContext(r.Context(), sess, c, s.requestInfo(r, received, version, sess), identity)
	var out []json.RawMessage
	for _, msg := range msgs {
		var env envelope
		if err := json.Unmarshal(msg, &env); err != nil || env.JSONRPC != mcp.JSONRPC_VERSION {
			out = append(out, mustMarshal(mcp.NewJSONRPCError(rawRequestID(env.ID), mcp.INVALID_REQUEST, "invalid JSON-RPC message in batch", nil)))
			continue
		}
		switch {
		case env.Method == string(mcp.MethodInitialize):
			out = append(out, mustMarshal(mcp.NewJSONRPCError(rawRequestID(env.ID), mcp.INVALID_REQUEST, "initialize must not be part of a batch", nil)))
		case env.isResponse():
			s.pending.deliver(sess.id, env.ID, msg)
		default:
			if resp := s.mcp.HandleMessage(ctx, msg); resp != nil {
				out = append(out, mustMarshal(resp))
			}
		}
	}
	st.end()
	if len(out) == 0 {
		w.WriteHeader(http.StatusAccepted)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) serveHealth(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, struct {
		Status           string   `json:"status"`
		Server           string   `json:"server"`
		Version          string   `json:"version"`
		UptimeSeconds    int64    `json:"uptime_seconds"`
		Sessions         int      `json:"active_sessions"`
		SessionMode      string   `json:"session_mode"`
		ProtocolVersions []string `json:"protocol_versions"`
	}{"healthy", s.name, s.version, int64(s.cfg.Now().Sub(s.started).Seconds()), s.sessions.len(), s.cfg.Sessions.String(), s.cfg.versions})
}

// accepts reports whether an Accept header allows JSON and SSE responses. A
// missing header allows both.
func accepts(accept string) (jsonOK, sseOK bool) {
	if strings.TrimSpace(accept) == "" {
		return true, true
	}
	for _, part := range strings.Split(accept, ",") {
		mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		switch mt {
		case "application/json", "application/*":
			jsonOK = true
		case "text/event-stream", "text/*":
			sseOK = true
		case "*/*":
			jsonOK, sseOK = true, true
		}
	}
	return jsonOK, sseOK
}

// writeResponse writes a call's response as application/json; for
// 2026-07-28 requests a JSON-RPC error maps to its HTTP status.
func writeResponse(w http.ResponseWriter, data []byte, modern bool) {
	status := http.StatusOK
	if modern {
		var probe struct {
			Error *struct {
				Code int `json:"code"`
			} `json:"error"`
		}
		if json.Unmarshal(data, &probe) == nil && probe.Error != nil {
			status = httpStatusForError(probe.Error.Code)
		}
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(data)+1))
	w.WriteHeader(status)
	_, _ = w.Write(data)
	_, _ = w.Write([]byte{'\n'})
}

// httpStatusForError is the HTTP status 2026-07-28 prescribes for a
// JSON-RPC error code.
func httpStatusForError(code int) int {
	switch code {
	case mcp.METHOD_NOT_FOUND:
		return http.StatusNotFound
	case mcp.HEADER_MISMATCH, mcp.MISSING_REQUIRED_CLIENT_CAPABILITY, mcp.UNSUPPORTED_PROTOCOL_VERSION,
		mcp.INVALID_REQUEST, mcp.INVALID_PARAMS, mcp.PARSE_ERROR:
		return http.StatusBadRequest
	default:
		return http.StatusOK
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		status, data = http.StatusInternalServerError, []byte(`{"error":"internal error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(data)
	_, _ = w.Write([]byte{'\n'})
}

// writeRPCError writes a JSON-RPC error response with an HTTP status.
func writeRPCError(w http.ResponseWriter, status int, id json.RawMessage, code int, message string) {
	writeJSON(w, status, mcp.NewJSONRPCError(rawRequestID(id), code, message, nil))
}

// rawRequestID turns a raw JSON-RPC id into mcp-go's RequestId (null when
// absent or invalid).
func rawRequestID(raw json.RawMessage) mcp.RequestId {
	var id any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &id); err != nil {
			id = nil
		}
	}
	return mcp.NewRequestId(id)
}

func mustMarshal(v any) json.RawMessage {
	data, err := json.Marshal(v)
	if err != nil {
		data, _ = json.Marshal(mcp.NewJSONRPCError(mcp.NewRequestId(nil), mcp.INTERNAL_ERROR, "unencodable response", nil))
	}
	return data
}

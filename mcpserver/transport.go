package mcpserver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/mcp-oauth-gateway/gateway/internal/streamable"
)

const (
	headerSessionID       = streamable.HeaderSessionID
	headerProtocolVersion = streamable.HeaderProtocolVersion
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

// identify finds who is calling (see Caller).
func (s *Server) identify(w http.ResponseWriter, r *http.Request) (*Identity, bool) {
	return Caller(w, r, s.cfg.Authenticate, s.cfg.TrustGatewayHeaders)
}

func (s *Server) servePost(w http.ResponseWriter, r *http.Request) {
	received := s.cfg.Now()
	jsonOK, sseOK, ok := streamable.CheckPost(w, r)
	if !ok {
		return
	}
	// Who is calling is settled before a byte of the body is read.
	identity, ok := s.identify(w, r)
	if !ok {
		return
	}
	body, ok := streamable.ReadBody(w, r, s.cfg.MaxBodyBytes)
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
			writeRPCError(w, http.StatusBadRequest, nil, streamable.CodeInvalidRequest, "a JSON-RPC message must be a JSON object")
			return
		}
		writeRPCError(w, http.StatusBadRequest, nil, streamable.CodeParseError, "request body is not valid JSON")
		return
	}
	if env.JSONRPC != mcp.JSONRPC_VERSION || (env.Method == "" && !env.isResponse()) {
		writeRPCError(w, http.StatusBadRequest, env.ID, streamable.CodeInvalidRequest, `not a JSON-RPC 2.0 message: want "jsonrpc":"2.0" and a method, or a response`)
		return
	}
	if streamable.IsModern(r.Header.Get(headerProtocolVersion), env.metaVersion()) {
		s.serveModern(w, r, body, &env, identity, received, jsonOK, sseOK)
		return
	}
	s.serveLegacy(w, r, body, &env, identity, received, jsonOK, sseOK)
}

// serveLegacy serves a message of the 2025-03-26 .. 2025-11-25 era.
func (s *Server) serveLegacy(w http.ResponseWriter, r *http.Request, body []byte, env *envelope, identity *Identity, received time.Time, jsonOK, sseOK bool) {
	headerVersion := r.Header.Get(headerProtocolVersion)
	isInit := env.Method == string(mcp.MethodInitialize)
	if headerVersion != "" && !isInit && !s.serves(headerVersion) {
		writeRPCError(w, http.StatusBadRequest, env.ID, streamable.CodeInvalidRequest,
			"unsupported MCP-Protocol-Version "+strconv.Quote(headerVersion)+"; supported: "+strings.Join(s.cfg.versions, ", "))
		return
	}
	if isInit && !env.hasID() {
		writeRPCError(w, http.StatusBadRequest, env.ID, streamable.CodeInvalidRequest, "initialize must be a request with an id")
		return
	}

	var sess *Session
	switch {
	case s.cfg.Sessions == Stateless:
		sess = s.ephemeralSession(identity, "")
	case isInit:
		if s.sessions.Full() {
			writeRPCError(w, http.StatusServiceUnavailable, env.ID, streamable.CodeServerError,
				"too many sessions (limit "+strconv.Itoa(s.cfg.MaxSessions)+"); try again later")
			return
		}
		sess = newSession(s, streamable.NewID(24), identity, s.cfg.ReplayEvents)
	default:
		var ok bool
		if sess, ok = s.lookupSession(w, r, identity, env.ID); !ok {
			return
		}
	}

	switch {
	case env.isResponse():
		if !s.pending.deliver(sess.ID(), env.ID, body) {
			s.cfg.Logger.Debug("mcpserver: response to no pending request", "id", string(env.ID), "session", streamable.ShortID(sess.ID()))
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
	sess, _, ok := s.sessions.Lookup(w, r, ownerKey(identity), id)
	return sess, ok
}

// ephemeralSession is the throwaway session of a stateless request.
func (s *Server) ephemeralSession(identity *Identity, id string) *Session {
	sess := newSession(s, id, identity, -1)
	sess.ephem = true
	sess.initialized.Store(true)
	return sess
}

// serveModern serves a 2026-07-28 request: stateless, with its protocol
// version in both the header and _meta, and Mcp-Method / Mcp-Name headers.
func (s *Server) serveModern(w http.ResponseWriter, r *http.Request, body []byte, env *envelope, identity *Identity, received time.Time, jsonOK, sseOK bool) {
	var raw struct {
		Params json.RawMessage `json:"params"`
	}
	_ = json.Unmarshal(body, &raw)
	m := streamable.Modern{
		HeaderVersion: r.Header.Get(headerProtocolVersion),
		MetaVersion:   env.metaVersion(),
		Response:      env.isResponse(),
		Method:        env.Method,
		Params:        raw.Params,
	}
	if !streamable.CheckModern(w, r, env.ID, &m, s.cfg.versions) {
		return
	}
	if env.Method == string(mcp.MethodToolsCall) && env.Params != nil && env.Params.Name != "" {
		if tool := s.mcp.GetTool(env.Params.Name); tool != nil && !streamable.CheckParamHeaders(w, r, env.ID, &tool.Tool, raw.Params) {
			return
		}
	}
	sess := s.ephemeralSession(identity, streamable.NewID(12))
	if env.isNotification() {
		ctx := s.callContext(r.Context(), sess, &conn{Session: sess}, s.requestInfo(r, received, m.MetaVersion, sess), identity)
		s.mcp.HandleMessage(ctx, body)
		w.WriteHeader(http.StatusAccepted)
		return
	}
	s.runCall(w, r, body, env, sess, identity, received, m.MetaVersion, callMode{
		modern: true,
		listen: env.Method == string(mcp.MethodSubscriptionsListen),
		jsonOK: jsonOK,
		sseOK:  sseOK,
	})
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

// runCall handles one JSON-RPC request: mcp-go handles the message while
// this handler writes what the call sends, then its response.
func (s *Server) runCall(w http.ResponseWriter, r *http.Request, body []byte, env *envelope, sess *Session, identity *Identity, received time.Time, version string, mode callMode) {
	var st *callStream
	if mode.resumable {
		st = newCallStream(sess.core.Streams.New())
		sess.core.Begin()
		defer sess.core.Done()
	} else {
		st = newCallStream(streamable.NewStream(0, s.window))
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
	if mode.resumable {
		var cancel context.CancelFunc
		parent, cancel = context.WithCancel(context.WithoutCancel(parent))
		stop := context.AfterFunc(sess.ctx, cancel)
		defer func() {
			if st.Complete() {
				stop()
				cancel()
			}
		}()
	}
	ctx := s.callContext(parent, sess, c, s.requestInfo(r, received, version, sess), identity)

	// This handler holds the stream from the start, so a long-running tool
	// may let go of it (CloseStream) at once.
	reply := streamable.Reply{
		Attachment:   st.Attach(),
		JSON:         mode.jsonOK,
		SSE:          mode.sseOK,
		Modern:       mode.modern,
		Priming:      mode.resumable && version >= mcp.ProtocolVersion20251125,
		KeepAlive:    s.cfg.KeepAlive,
		WriteTimeout: s.cfg.WriteTimeout,
	}
	if mode.resumable {
		reply.Keep = &sess.core.Streams // the client may resume what it has ids of
	}
	var initOK chan bool
	if mode.initialize {
		initOK = make(chan bool, 1)
		if s.cfg.Sessions == Stateful {
			w.Header().Set(headerSessionID, sess.ID())
		}
		reply.BeforeFinal = func() {
			if !<-initOK {
				w.Header().Del(headerSessionID)
			}
		}
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
			data = streamable.ErrorResponse(env.ID, streamable.CodeInternalError, "internal error: unencodable result", nil)
		}
		if !st.send(data, true) && mode.resumable {
			s.cfg.Logger.Debug("mcpserver: response after the session ended", "method", env.Method)
		}
	}
	if mode.resumable && s.longRunning(env) {
		// A long-running tool runs on a worker while this handler writes
		// its stream, so the tool may end the HTTP response early.
		st.detachable = true
		sess.core.Begin()
		s.workers.run(func() {
			defer sess.core.Done()
			handle()
		})
		streamable.Serve(r.Context(), w, st.Stream, &reply)
	} else {
		// Most calls are handled right here. Should the call send something
		// before its response, a writer takes over the response at once.
		st.startWriter = func(done chan<- streamable.Outcome) { done <- streamable.Serve(r.Context(), w, st.Stream, &reply) }
		handle()
		if done := st.writerStarted(); done != nil {
			<-done
		} else {
			streamable.Serve(r.Context(), w, st.Stream, &reply)
		}
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
	if !s.sessions.Add(&sess.core, sess) {
		return resp, false
	}
	if err := s.mcp.RegisterSession(ctx, sess.conn); err != nil {
		s.endSession(sess)
		return resp, false
	}
	return resp, true
}

func (s *Server) serveGet(w http.ResponseWriter, r *http.Request) {
	sess, ok := s.sessionOf(w, r)
	if !ok {
		return
	}
	streamable.ServeGet(w, r, &sess.core, streamable.Reply{
		Priming:      sess.ProtocolVersion() >= mcp.ProtocolVersion20251125,
		KeepAlive:    s.cfg.KeepAlive,
		WriteTimeout: s.cfg.WriteTimeout,
	})
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
	s.endSession(sess)
	w.WriteHeader(http.StatusNoContent)
}

// sessionOf finds the session a GET or DELETE is about: 405 where there are
// no sessions (a Stateless server, a 2026-07-28 client), then the checks of
// lookupSession.
func (s *Server) sessionOf(w http.ResponseWriter, r *http.Request) (*Session, bool) {
	version := r.Header.Get(headerProtocolVersion)
	if mcp.IsModernProtocol(version) || s.cfg.Sessions == Stateless {
		streamable.NoSessions(w, r, "this server keeps no sessions for "+s.streamlessReason(version))
		return nil, false
	}
	if version != "" && !s.serves(version) {
		writeRPCError(w, http.StatusBadRequest, nil, streamable.CodeInvalidRequest, "unsupported MCP-Protocol-Version "+strconv.Quote(version))
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
		writeRPCError(w, http.StatusBadRequest, nil, streamable.CodeInvalidRequest, "JSON-RPC batches are not part of protocol version "+version)
		return
	}
	var msgs []json.RawMessage
	if err := json.Unmarshal(body, &msgs); err != nil {
		writeRPCError(w, http.StatusBadRequest, nil, streamable.CodeParseError, "request body is not valid JSON")
		return
	}
	if len(msgs) == 0 {
		writeRPCError(w, http.StatusBadRequest, nil, streamable.CodeInvalidRequest, "empty batch")
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
	st := newCallStream(streamable.NewStream(0, s.window))
	st.noSSE = true
	c := &conn{Session: sess, call: st}
	ctx := s.callContext(r.Context(), sess, c, s.requestInfo(r, received, version, sess), identity)
	var out []json.RawMessage
	for _, msg := range msgs {
		var env envelope
		if err := json.Unmarshal(msg, &env); err != nil || env.JSONRPC != mcp.JSONRPC_VERSION {
			out = append(out, streamable.ErrorResponse(env.ID, streamable.CodeInvalidRequest, "invalid JSON-RPC message in batch", nil))
			continue
		}
		switch {
		case env.Method == string(mcp.MethodInitialize):
			out = append(out, streamable.ErrorResponse(env.ID, streamable.CodeInvalidRequest, "initialize must not be part of a batch", nil))
		case env.isResponse():
			s.pending.deliver(sess.ID(), env.ID, msg)
		default:
			if resp := s.mcp.HandleMessage(ctx, msg); resp != nil {
				out = append(out, mustMarshal(resp))
			}
		}
	}
	st.End()
	if len(out) == 0 {
		w.WriteHeader(http.StatusAccepted)
		return
	}
	data, err := json.Marshal(out)
	if err != nil {
		writeRPCError(w, http.StatusInternalServerError, nil, streamable.CodeInternalError, "unencodable batch response")
		return
	}
	streamable.WriteJSON(w, http.StatusOK, data)
}

func (s *Server) serveHealth(w http.ResponseWriter, r *http.Request) {
	data, _ := json.Marshal(struct {
		Status           string   `json:"status"`
		Server           string   `json:"server"`
		Version          string   `json:"version"`
		UptimeSeconds    int64    `json:"uptime_seconds"`
		Sessions         int      `json:"active_sessions"`
		SessionMode      string   `json:"session_mode"`
		ProtocolVersions []string `json:"protocol_versions"`
	}{"healthy", s.name, s.version, int64(s.cfg.Now().Sub(s.started).Seconds()), s.sessions.Len(), s.cfg.Sessions.String(), s.cfg.versions})
	streamable.WriteJSON(w, http.StatusOK, data)
}

// writeRPCError writes a JSON-RPC error response with an HTTP status.
func writeRPCError(w http.ResponseWriter, status int, id json.RawMessage, code int, message string) {
	streamable.WriteError(w, status, id, code, message)
}

func mustMarshal(v any) json.RawMessage {
	data, err := json.Marshal(v)
	if err != nil {
		data = streamable.ErrorResponse(nil, streamable.CodeInternalError, "unencodable response", nil)
	}
	return data
}

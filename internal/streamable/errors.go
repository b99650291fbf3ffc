package streamable

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/mark3labs/mcp-go/mcp"
)

// JSON-RPC and MCP error codes the transport answers with.
const (
	CodeParseError              = mcp.PARSE_ERROR
	CodeInvalidRequest          = mcp.INVALID_REQUEST
	CodeMethodNotFound          = mcp.METHOD_NOT_FOUND
	CodeInvalidParams           = mcp.INVALID_PARAMS
	CodeInternalError           = mcp.INTERNAL_ERROR
	CodeHeaderMismatch          = mcp.HEADER_MISMATCH
	CodeMissingClientCapability = mcp.MISSING_REQUIRED_CLIENT_CAPABILITY
	CodeUnsupportedVersion      = mcp.UNSUPPORTED_PROTOCOL_VERSION
	// CodeServerError: the server behind the transport is gone, busy or
	// shutting down.
	CodeServerError = -32000
	// CodeRequestTimeout: the server did not answer in time.
	CodeRequestTimeout = -32001
)

// RetryAfter is the Retry-After value, in seconds, of every 503 the
// transport sends (a session or process cap is reached, or the server is
// shutting down).
const RetryAfter = "5"

// StatusFor is the HTTP status protocol version 2026-07-28 prescribes for a
// response with the JSON-RPC error code (0 for a result).
func StatusFor(code int) int {
	switch code {
	case CodeMethodNotFound:
		return http.StatusNotFound
	case CodeHeaderMismatch, CodeMissingClientCapability, CodeUnsupportedVersion,
		CodeInvalidRequest, CodeInvalidParams, CodeParseError:
		return http.StatusBadRequest
	default:
		return http.StatusOK
	}
}

// StatusOf is StatusFor of the error code of an encoded response.
func StatusOf(resp []byte) int {
	if !bytes.Contains(resp, []byte(`"error"`)) {
		return http.StatusOK
	}
	var probe struct {
		Error *struct {
			Code int `json:"code"`
		} `json:"error"`
	}
	if json.Unmarshal(resp, &probe) != nil || probe.Error == nil {
		return http.StatusOK
	}
	return StatusFor(probe.Error.Code)
}

// ErrorResponse encodes a JSON-RPC error response to the request with the
// raw JSON id; an id that is absent, or not a string or a number, becomes
// null. data is omitted when nil.
func ErrorResponse(id []byte, code int, msg string, data any) []byte {
	e := struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Data    any    `json:"data,omitempty"`
	}{code, msg, data}
	eb, err := json.Marshal(e)
	if err != nil {
		eb = []byte(`{"code":-32603,"message":"internal error: unencodable error data"}`)
	}
	id = validID(id)
	out := make([]byte, 0, len(id)+len(eb)+36)
	out = append(out, `{"jsonrpc":"2.0","id":`...)
	out = append(out, id...)
	out = append(out, `,"error":`...)
	out = append(out, eb...)
	return append(out, '}')
}

// ResultResponse encodes a JSON-RPC result response; result is raw JSON.
func ResultResponse(id, result []byte) []byte {
	id = validID(id)
	out := make([]byte, 0, len(id)+len(result)+36)
	out = append(out, `{"jsonrpc":"2.0","id":`...)
	out = append(out, id...)
	out = append(out, `,"result":`...)
	out = append(out, result...)
	return append(out, '}')
}

// validID returns a raw id fit to echo: a JSON string or number, else null.
func validID(id []byte) []byte {
	id = bytes.TrimSpace(id)
	if len(id) == 0 {
		return []byte("null")
	}
	switch c := id[0]; {
	case c == '"' && len(id) >= 2 && id[len(id)-1] == '"' && json.Valid(id):
		return id
	case c == '-' || c >= '0' && c <= '9':
		if json.Valid(id) {
			return id
		}
	}
	return []byte("null")
}

// WriteJSON answers with an encoded JSON body and its length.
func WriteJSON(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)+1))
	w.WriteHeader(status)
	_, _ = w.Write(body)
	_, _ = w.Write([]byte{'\n'})
}

// WriteError answers with a JSON-RPC error and an HTTP status. A 503 says
// when to retry.
func WriteError(w http.ResponseWriter, status int, id []byte, code int, msg string) {
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", RetryAfter)
	}
	WriteJSON(w, status, ErrorResponse(id, code, msg, nil))
}

// WriteUnsupportedVersion answers a request of a protocol version the server
// does not serve: 400 with the UnsupportedProtocolVersion error, whose data
// lists the versions it does serve.
func WriteUnsupportedVersion(w http.ResponseWriter, id []byte, requested string, supported []string) {
	err := mcp.UnsupportedProtocolVersionError{Version: requested, Supported: supported}
	data := mcp.UnsupportedProtocolVersionData{Supported: supported, Requested: requested}
	WriteJSON(w, http.StatusBadRequest, ErrorResponse(id, CodeUnsupportedVersion, err.Error(), data))
}

// WriteMethodNotAllowed answers a method the endpoint does not serve (or not
// for this client), naming those it does in Allow.
func WriteMethodNotAllowed(w http.ResponseWriter, allow, msg string) {
	w.Header().Set("Allow", allow)
	WriteError(w, http.StatusMethodNotAllowed, nil, CodeInvalidRequest, msg)
}

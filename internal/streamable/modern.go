package streamable

import (
	"net/http"
	"slices"

	"github.com/mark3labs/mcp-go/mcp"
)

// IsModern reports whether a request is of protocol version 2026-07-28 or
// later, by its MCP-Protocol-Version header or the version its body
// declares in params._meta.
func IsModern(headerVersion, metaVersion string) bool {
	return mcp.IsModernProtocol(headerVersion) || mcp.IsModernProtocol(metaVersion)
}

// Modern is what the checks of a 2026-07-28 request read of it.
type Modern struct {
	HeaderVersion string // the MCP-Protocol-Version header
	MetaVersion   string // params._meta["io.modelcontextprotocol/protocolVersion"]
	Response      bool   // the message is a response, not a request or notification
	Method        string
	Params        []byte // raw params, for the Mcp-Method and Mcp-Name headers
}

// CheckModern checks a 2026-07-28 request: streams are not resumable, there
// are no client responses, the protocol version is in the header and in
// _meta, the same in both and one of supported, and the Mcp-Method and
// Mcp-Name headers agree with the body (SEP-2243). It answers a request
// that fails itself (400 with the JSON-RPC error the specification names)
// and returns false. id is the request's raw JSON-RPC id.
func CheckModern(w http.ResponseWriter, r *http.Request, id []byte, m *Modern, supported []string) bool {
	fail := func(code int, msg string) bool {
		WriteError(w, http.StatusBadRequest, id, code, msg)
		return false
	}
	switch {
	case r.Header.Get(HeaderLastEventID) != "":
		return fail(CodeHeaderMismatch, "Last-Event-ID is not part of protocol version 2026-07-28: streams cannot be resumed, retry the request with a new id")
	case m.Response:
		return fail(CodeInvalidRequest, "client responses are not part of protocol version 2026-07-28: server requests became input_required results; answer them by retrying the request")
	case m.HeaderVersion == "":
		return fail(CodeHeaderMismatch, "the MCP-Protocol-Version header is required on 2026-07-28 requests, which carry "+mcp.MetaKeyProtocolVersion)
	case m.MetaVersion == "":
		return fail(CodeInvalidParams, "missing or invalid _meta field "+mcp.MetaKeyProtocolVersion)
	case m.HeaderVersion != m.MetaVersion:
		return fail(CodeHeaderMismatch, "MCP-Protocol-Version header "+m.HeaderVersion+" does not match _meta "+mcp.MetaKeyProtocolVersion+" "+m.MetaVersion)
	case !slices.Contains(supported, m.MetaVersion):
		WriteUnsupportedVersion(w, id, m.MetaVersion, supported)
		return false
	}
	if err := mcp.ValidateStandardHeaders(r.Header.Get, m.MetaVersion, mcp.MCPMethod(m.Method), m.Params); err != nil {
		return fail(CodeHeaderMismatch, err.Error())
	}
	return true
}

// CheckParamHeaders checks the Mcp-Param-* headers of a 2026-07-28
// tools/call against the arguments in its body, for a tool that declares
// header parameters (x-mcp-header); tool nil checks nothing.
func CheckParamHeaders(w http.ResponseWriter, r *http.Request, id []byte, tool *mcp.Tool, params []byte) bool {
	if tool == nil {
		return true
	}
	err := mcp.ValidateParamHeadersLookup(func(name string) (string, bool) {
		v := r.Header.Values(name)
		if len(v) == 0 {
			return "", false
		}
		return v[0], true
	}, tool, params)
	if err != nil {
		WriteError(w, http.StatusBadRequest, id, CodeHeaderMismatch, err.Error())
		return false
	}
	return true
}

// NoSessions answers a GET or DELETE where there are no sessions: for a
// 2026-07-28 client, or on a server that keeps none, with 405 and the
// reason.
func NoSessions(w http.ResponseWriter, r *http.Request, reason string) {
	WriteMethodNotAllowed(w, "POST", r.Method+" is not supported here: "+reason)
}

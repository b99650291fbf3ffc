package mcpserver

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/mark3labs/mcp-go/mcp"
)

// noteRPCError records, for the call in ctx, the JSON-RPC error a handler
// failed with, so the response carries its code rather than mcp-go's
// generic -32603.
func noteRPCError(ctx context.Context, err error) {
	if err == nil {
		return
	}
	st, _ := ctx.Value(callKey{}).(*callStream)
	if st == nil {
		return
	}
	var rpc *RPCError
	var missing mcp.MissingRequiredClientCapabilityError
	switch {
	case errors.As(err, &rpc):
	case errors.As(err, &missing):
		rpc = &RPCError{
			Code:    mcp.MISSING_REQUIRED_CLIENT_CAPABILITY,
			Message: missing.Error(),
			Data:    map[string]any{"requiredCapabilities": map[string]any{missing.Capability: map[string]any{}}},
		}
	default:
		return
	}
	st.rpcErr.Store(rpc)
}

// applyRPCError puts a handler's JSON-RPC error into the call's error
// response.
func applyRPCError(st *callStream, resp mcp.JSONRPCMessage) mcp.JSONRPCMessage {
	rpc := st.rpcErr.Load()
	if rpc == nil {
		return resp
	}
	e, ok := resp.(mcp.JSONRPCError)
	if !ok {
		return resp
	}
	e.Error.Code, e.Error.Message, e.Error.Data = rpc.Code, rpc.Message, rpc.Data
	return e
}

// addResourceURI adds the requested URI to the data of a resources/read
// error that has none, as SEP-2164 asks, so a client learns which resource
// was missing.
func addResourceURI(method string, body []byte, resp mcp.JSONRPCMessage) mcp.JSONRPCMessage {
	if method != string(mcp.MethodResourcesRead) {
		return resp
	}
	e, ok := resp.(mcp.JSONRPCError)
	if !ok || e.Error.Data != nil {
		return resp
	}
	var req struct {
		Params struct {
			URI string `json:"uri"`
		} `json:"params"`
	}
	if json.Unmarshal(body, &req) != nil || req.Params.URI == "" {
		return resp
	}
	e.Error.Data = map[string]any{"uri": req.Params.URI}
	return e
}

package mcpserver

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/mark3labs/mcp-go/mcp"
)

// pendingTable routes the client's responses to server requests (sampling,
// elicitation, roots) back to the tool waiting for them. Request ids are
// unique across the server, so a response is found whichever POST carries
// it; it must come from the session that was asked.
type pendingTable struct {
	next atomic.Int64
	mu   sync.Mutex
	m    map[int64]*pendingRequest
}

type pendingRequest struct {
	sessionID string
	reply     chan json.RawMessage
}

func newPendingTable() *pendingTable {
	return &pendingTable{m: map[int64]*pendingRequest{}}
}

// RPCError is a JSON-RPC error. A client's error answer to a server request
// comes back as one; a tool, prompt or resource handler returns one (or wraps
// one) to fail the request with that code, message and data instead of
// mcp-go's generic internal error. mcp.MissingRequiredClientCapabilityError
// is mapped to -32021 the same way.
type RPCError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Data    any    `json:"data,omitempty"`
}

func (e *RPCError) Error() string {
	return fmt.Sprintf("JSON-RPC error %d: %s", e.Code, e.Message)
}

// roundTrip sends method to the client with send and decodes the answer
// into result.
func (p *pendingTable) roundTrip(ctx context.Context, sess *Session, send func([]byte) bool, method string, params, result any) error {
	id := p.next.Add(1)
	msg, err := json.Marshal(struct {
		JSONRPC string `json:"jsonrpc"`
		ID      int64  `json:"id"`
		Method  string `json:"method"`
		Params  any    `json:"params,omitempty"`
	}{mcp.JSONRPC_VERSION, id, method, params})
	if err != nil {
		return fmt.Errorf("mcpserver: encode %s request: %w", method, err)
	}
	pr := &pendingRequest{sessionID: sess.ID(), reply: make(chan json.RawMessage, 1)}
	p.mu.Lock()
	p.m[id] = pr
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.m, id)
		p.mu.Unlock()
	}()
	if !send(msg) {
		return errNoStream
	}
	var raw json.RawMessage
	select {
	case raw = <-pr.reply:
	case <-ctx.Done():
		return ctx.Err()
	case <-sess.ctx.Done():
		return fmt.Errorf("mcpserver: session ended while waiting for the client's %s answer", method)
	}
	if raw == nil {
		return fmt.Errorf("mcpserver: session ended while waiting for the client's %s answer", method)
	}
	var answer struct {
		Result json.RawMessage `json:"result"`
		Error  *RPCError       `json:"error"`
	}
	if err := json.Unmarshal(raw, &answer); err != nil {
		return fmt.Errorf("mcpserver: decode %s answer: %w", method, err)
	}
	if answer.Error != nil {
		return answer.Error
	}
	if err := json.Unmarshal(answer.Result, result); err != nil {
		return fmt.Errorf("mcpserver: decode %s result: %w", method, err)
	}
	return nil
}

// deliver hands a client's response to the request waiting for it; it
// reports false when no request of that session waits for the id.
func (p *pendingTable) deliver(sessionID string, rawID json.RawMessage, msg []byte) bool {
	id, err := strconv.ParseInt(string(rawID), 10, 64)
	if err != nil {
		return false
	}
	p.mu.Lock()
	pr := p.m[id]
	if pr != nil && pr.sessionID == sessionID {
		delete(p.m, id)
	} else {
		pr = nil
	}
	p.mu.Unlock()
	if pr == nil {
		return false
	}
	pr.reply <- json.RawMessage(msg)
	return true
}

// failSession wakes every request still waiting on the session's client.
func (p *pendingTable) failSession(sessionID string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for id, pr := range p.m {
		if pr.sessionID == sessionID {
			delete(p.m, id)
			close(pr.reply)
		}
	}
}

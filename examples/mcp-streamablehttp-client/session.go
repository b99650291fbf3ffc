package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
)

// session is a small MCP client that speaks stdio JSON-RPC to the bridge
// running in this process: the command actions go through the same relay
// (and OAuth) as Claude Desktop's messages do.
type session struct {
	in      *io.PipeWriter
	mu      sync.Mutex
	next    int
	waiting map[string]chan rpcResponse
	done    chan error
	version string
	server  struct{ Name, Version string }
}

type rpcResponse struct {
	Result json.RawMessage `json:"result"`
	Error  *rpcError       `json:"error"`
}

type rpcError struct {
	Code    int             `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data,omitempty"`
}

func (e *rpcError) Error() string { return fmt.Sprintf("%s (JSON-RPC error %d)", e.Message, e.Code) }

// openSession starts the bridge on pipes and initializes.
func (a *app) openSession(ctx context.Context) (*session, error) {
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	s := &session{in: inW, waiting: map[string]chan rpcResponse{}, done: make(chan error, 1)}
	go func() {
		err := a.bridge.Run(ctx, inR, outW)
		outW.Close()
		s.done <- err
	}()
	go s.read(outR)
	res, err := s.call(ctx, "initialize", map[string]any{
		"protocolVersion": a.cfg.protocolVersion, "capabilities": map[string]any{},
		"clientInfo": map[string]any{"name": name, "version": version()},
	})
	if err != nil {
		s.close()
		return nil, fmt.Errorf("initialize: %w", err)
	}
	var ir struct {
		ProtocolVersion string `json:"protocolVersion"`
		ServerInfo      struct{ Name, Version string }
	}
	_ = json.Unmarshal(res, &ir)
	s.version, s.server = ir.ProtocolVersion, ir.ServerInfo
	if err := s.notify("notifications/initialized", nil); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

func (s *session) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var m struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
			rpcResponse
		}
		if json.Unmarshal(sc.Bytes(), &m) != nil {
			continue
		}
		if m.Method != "" {
			if m.ID != nil { // a server request: a command line cannot answer it
				answer := `{"jsonrpc":"2.0","id":` + string(m.ID) + `,"result":{}}`
				if m.Method != "ping" {
					answer = `{"jsonrpc":"2.0","id":` + string(m.ID) + `,"error":{"code":-32601,"message":"the command line client does not handle ` + strconv.Quote(m.Method)[1:len(strconv.Quote(m.Method))-1] + `"}}`
				}
				s.write([]byte(answer))
			}
			continue
		}
		s.mu.Lock()
		ch := s.waiting[string(m.ID)]
		delete(s.waiting, string(m.ID))
		s.mu.Unlock()
		if ch != nil {
			ch <- m.rpcResponse
		}
	}
}

func (s *session) write(b []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err := s.in.Write(append(b, '\n'))
	return err
}

// call sends a request and waits for its response.
func (s *session) call(ctx context.Context, method string, params any) (json.RawMessage, error) {
	s.mu.Lock()
	s.next++
	id := strconv.Itoa(s.next)
	ch := make(chan rpcResponse, 1)
	s.waiting[id] = ch
	s.mu.Unlock()
	msg := map[string]any{"jsonrpc": "2.0", "id": s.next, "method": method}
	if params != nil {
		msg["params"] = params
	}
	b, err := json.Marshal(msg)
	if err != nil {
		return nil, err
	}
	if err := s.write(b); err != nil {
		return nil, err
	}
	select {
	case r := <-ch:
		if r.Error != nil {
			return nil, r.Error
		}
		return r.Result, nil
	case err := <-s.done:
		if err == nil {
			err = errors.New("the bridge stopped")
		}
		return nil, err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (s *session) notify(method string, params any) error {
	msg := map[string]any{"jsonrpc": "2.0", "method": method}
	if params != nil {
		msg["params"] = params
	}
	b, _ := json.Marshal(msg)
	return s.write(b)
}

// close ends the bridge (which deletes the session) and waits for it.
func (s *session) close() {
	s.in.Close()
	<-s.done
}

package mcpserver

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"sync"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcp-oauth-gateway/gateway/internal/streamable"
)

// ServeStdio serves the server to one client over newline-delimited JSON-RPC
// on r and w (usually os.Stdin and os.Stdout) until r ends or ctx is done.
// Messages may be of any size. What a tool sends during a call is written
// before the call's response, in order; calls run concurrently.
func (s *Server) ServeStdio(ctx context.Context, r io.Reader, w io.Writer) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sess := newSession(s, "stdio-"+streamable.NewID(9), nil, -1)
	// Registered, the session hears what the server broadcasts (list
	// changes) on its standing stream.
	if err := s.mcp.RegisterSession(ctx, sess.conn); err != nil {
		return err
	}
	defer s.mcp.UnregisterSession(context.Background(), sess.ID())
	out := &lineWriter{w: w}
	var calls sync.WaitGroup
	// When input ends, calls still running finish and write their
	// responses; the standing stream ends with the session.
	defer func() {
		sess.end()
		calls.Wait()
	}()

	// Messages not tied to a call (list changes, resource updates) go to the
	// session's standing stream.
	if st := sess.standaloneStream(); st != nil {
		calls.Add(1)
		go func() {
			defer calls.Done()
			out.drain(ctx, st)
		}()
	}

	in := bufio.NewReader(r)
	for {
		line, err := in.ReadBytes('\n')
		if line = bytes.TrimSpace(line); len(line) > 0 {
			s.stdioMessage(ctx, sess, out, &calls, line)
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
}

func (s *Server) stdioMessage(ctx context.Context, sess *Session, out *lineWriter, calls *sync.WaitGroup, msg []byte) {
	var env envelope
	if err := json.Unmarshal(msg, &env); err != nil || env.JSONRPC != mcp.JSONRPC_VERSION {
		out.write(streamable.ErrorResponse(env.ID, streamable.CodeParseError, "not a JSON-RPC 2.0 message", nil))
		return
	}
	switch {
	case env.isResponse():
		s.pending.deliver(sess.ID(), env.ID, msg)
	case env.isNotification():
		c := &conn{Session: sess}
		s.mcp.HandleMessage(s.callContext(ctx, sess, c, nil, nil), msg)
	default:
		st := newCallStream(streamable.NewStream(0, s.window))
		if env.Method == string(mcp.MethodSubscriptionsListen) {
			var id any
			_ = json.Unmarshal(env.ID, &id)
			st.tag = id
		}
		c := &conn{Session: sess, call: st}
		cctx := s.callContext(ctx, sess, c, nil, nil)
		calls.Add(2)
		go func() {
			defer calls.Done()
			resp := addResourceURI(env.Method, msg, applyRPCError(st, s.mcp.HandleMessage(cctx, msg)))
			if env.Method == string(mcp.MethodInitialize) {
				if r, ok := resp.(mcp.JSONRPCResponse); ok {
					if init, ok := r.Result.(mcp.InitializeResult); ok {
						sess.setProtocolVersion(init.ProtocolVersion)
					}
				}
			}
			st.send(mustMarshal(resp), true)
		}()
		go func() {
			defer calls.Done()
			out.drain(ctx, st.Stream)
		}()
	}
}

// lineWriter writes whole messages, one per line, from several goroutines.
type lineWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (lw *lineWriter) write(msg []byte) {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	_, _ = lw.w.Write(msg)
	_, _ = lw.w.Write([]byte{'\n'})
}

// drain writes st's messages until its last one, or ctx ends.
func (lw *lineWriter) drain(ctx context.Context, st *streamable.Stream) {
	var after uint64
	for {
		step := st.Next(after)
		switch {
		case step.Ready:
			lw.write(step.Data)
			st.MarkSent(step.Seq)
			after = step.Seq
			if step.Final {
				return
			}
			continue
		case step.Ended:
			return
		}
		select {
		case <-st.Wake():
		case <-ctx.Done():
			return
		}
	}
}

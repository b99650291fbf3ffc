package echo

import (
	"fmt"

	"github.com/mark3labs/mcp-go/mcp"
)

// lastEchoKey is where the stateful echo keeps the session's last message.
const lastEchoKey = "echo.lastMessage"

func (t *tools) echoTool() tool {
	tl := tool{
		name:     "echo",
		title:    "Echo",
		readOnly: true,
		params:   []param{{name: "message", required: true, description: "The message to echo back"}},
	}
	if !t.stateful {
		tl.description = "Echo back the provided message, exactly as given."
		tl.run = func(c *call) *mcp.CallToolResult { return text(c.stringArg("message")) }
		return tl
	}
	tl.description = "Echo back the provided message, prefixed with the session and client it came from; " +
		"the session remembers it for replayLastEcho."
	tl.readOnly = false
	tl.run = func(c *call) *mcp.CallToolResult {
		msg := c.stringArg("message")
		if c.session == nil {
			// A 2026-07-28 client: served statelessly, nothing to remember.
			return text(msg)
		}
		c.session.Store(lastEchoKey, msg)
		return text(fmt.Sprintf("[Session %s from %s] %s", shortSession(c.session.ID()), clientName(c.session), msg))
	}
	return tl
}

func (t *tools) replayTool() tool {
	return tool{
		name:        "replayLastEcho",
		title:       "Replay last echo",
		description: "Replay the last message that was echoed in this session.",
		readOnly:    true,
		run: func(c *call) *mcp.CallToolResult {
			if c.session == nil {
				return toolError("replayLastEcho needs a session, and this call has none: " +
					"initialize with protocol version 2025-11-25 or earlier and send its Mcp-Session-Id")
			}
			last, ok := c.session.Load(lastEchoKey)
			if !ok {
				return text("No previous echo message found in this session. Use the echo tool first!")
			}
			return text(fmt.Sprintf("[REPLAY - Session %s from %s] %v", shortSession(c.session.ID()), clientName(c.session), last))
		},
	}
}

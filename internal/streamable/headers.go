package streamable

import "github.com/mark3labs/mcp-go/mcp"

// Headers of the StreamableHTTP transport.
const (
	HeaderSessionID       = "Mcp-Session-Id"
	HeaderProtocolVersion = mcp.HeaderProtocolVersion
	HeaderLastEventID     = "Last-Event-Id"
)

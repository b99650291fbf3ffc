package mcpserver

import (
	"context"
	"errors"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// ErrNoClient is returned by the notification helpers when ctx did not come
// from a call of a client that can receive notifications.
var ErrNoClient = errors.New("mcpserver: no client to notify in this context")

// Progress sends a notifications/progress message for the call in ctx, on
// the call's own stream. It does nothing when the client gave no progress
// token. total and message may be zero.
func Progress(ctx context.Context, req mcp.CallToolRequest, progress, total float64, message string) error {
	if req.Params.Meta == nil || req.Params.Meta.ProgressToken == nil {
		return nil
	}
	params := map[string]any{
		"progressToken": req.Params.Meta.ProgressToken,
		"progress":      progress,
	}
	if total > 0 {
		params["total"] = total
	}
	if message != "" {
		params["message"] = message
	}
	return Notify(ctx, string(mcp.MethodNotificationProgress), params)
}

// Log sends a notifications/message log entry to the client of the call in
// ctx, if the client's log level lets it through.
func Log(ctx context.Context, level mcp.LoggingLevel, logger string, data any) error {
	srv := server.ServerFromContext(ctx)
	if srv == nil {
		return ErrNoClient
	}
	return srv.SendLogMessageToClient(ctx, mcp.NewLoggingMessageNotification(level, logger, data))
}

// Notify sends a notification to the client of the call in ctx, on the
// call's own stream.
func Notify(ctx context.Context, method string, params map[string]any) error {
	srv := server.ServerFromContext(ctx)
	if srv == nil {
		return ErrNoClient
	}
	return srv.SendNotificationToClient(ctx, method, params)
}

// CloseStream ends the HTTP response of the call in ctx without ending the
// call (SEP-1699 polling): the client reconnects with GET and Last-Event-ID
// and receives what the call sends next, and its response. Only tools added
// with AddLongRunningTool can; it reports false, and nothing happens, for
// other tools and where the call's stream cannot be resumed (stateless
// servers, 2026-07-28 clients).
func CloseStream(ctx context.Context) bool {
	st, _ := ctx.Value(callKey{}).(*callStream)
	if st == nil || st.ID() == 0 || !st.detachable {
		return false
	}
	return st.LetGo()
}

// NotifyResourceUpdated tells every session subscribed to uri that the
// resource changed (notifications/resources/updated on its GET stream).
func (s *Server) NotifyResourceUpdated(uri string) {
	var targets []*Session
	for _, sess := range s.sessions.All() {
		if sess.conn.IsSubscribedToResource(uri) {
			targets = append(targets, sess)
		}
	}
	n := mcp.JSONRPCNotification{
		JSONRPC: mcp.JSONRPC_VERSION,
		Notification: mcp.Notification{
			Method: string(mcp.MethodNotificationResourceUpdated),
			Params: mcp.NotificationParams{AdditionalFields: map[string]any{"uri": uri}},
		},
	}
	for _, sess := range targets {
		sess.conn.NotificationChannel() <- n
	}
}

package stdiobridge

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcp-oauth-gateway/gateway/internal/streamable"
)

// 2026-07-28 tools may declare parameters that travel in Mcp-Param-*
// headers as well as in the body (x-mcp-header); the server must reject a
// call whose headers and body disagree. Headers never reach a stdio server,
// so the proxy checks them, against the tool list it fetches from the
// process once and again after the process says its tools changed.

// paramTools returns the tools of the process that declare header
// parameters, by name.
func (ch *child) paramTools(ctx context.Context) map[string]*mcp.Tool {
	ch.mu.Lock()
	if ch.toolsOK {
		t := ch.tools
		ch.mu.Unlock()
		return t
	}
	gen := ch.toolsGen
	ch.mu.Unlock()

	tools := map[string]*mcp.Tool{}
	cursor := ""
	for range 100 { // pages
		params := `{}`
		if cursor != "" {
			b, _ := json.Marshal(map[string]string{"cursor": cursor})
			params = string(b)
		}
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		r, err := ch.request(ctx, "tools/list", params, 10*time.Second)
		cancel()
		if err != nil {
			return nil // a server without tools, or a failing one: nothing to check
		}
		var page struct {
			Tools      []mcp.Tool `json:"tools"`
			NextCursor string     `json:"nextCursor"`
		}
		if json.Unmarshal(r.raw[r.result.start:r.result.end], &page) != nil {
			return nil
		}
		for i := range page.Tools {
			if len(mcp.ExtractParamHeaderBindings(&page.Tools[i])) > 0 {
				tools[page.Tools[i].Name] = &page.Tools[i]
			}
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	ch.mu.Lock()
	if ch.toolsGen == gen {
		ch.tools, ch.toolsOK = tools, true
	}
	ch.mu.Unlock()
	return tools
}

// toolsChanged forgets the cached tool list.
func (ch *child) toolsChanged() {
	ch.mu.Lock()
	ch.toolsOK = false
	ch.toolsGen++
	ch.mu.Unlock()
}

// checkParamHeaders checks the Mcp-Param-* headers of a tools/call; it
// answers a call that fails them itself.
func (ch *child) checkParamHeaders(w http.ResponseWriter, r *http.Request, m *message) bool {
	name, ok := path(m.raw, m.params, "name")
	if !ok {
		return true
	}
	var n string
	if jsonString(m.raw[name.start:name.end], &n) != nil {
		return true
	}
	return streamable.CheckParamHeaders(w, r, idOf(m), ch.paramTools(r.Context())[n], m.paramsBytes())
}

// Command clientdriver is the MCP conformance suite's client under test:
// a small stdio MCP client that starts mcp-streamablehttp-client as its
// bridge to the scenario's server and does what the scenario asks. The
// suite runs it as
//
//	clientdriver --bridge PATH/mcp-streamablehttp-client SERVER_URL
//
// with MCP_CONFORMANCE_SCENARIO, MCP_CONFORMANCE_CONTEXT (pre-registered
// credentials) and, for the 2026-07-28 requirements,
// MCP_CONFORMANCE_PROTOCOL_VERSION set. The login is the bridge's browser
// login; the "browser" is curl following the authorization server's
// redirects to the bridge's loopback callback.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "clientdriver:", err)
		os.Exit(1)
	}
}

// cimdURL is the Client ID Metadata Document URL the suite's CIMD
// scenarios expect.
const cimdURL = "https://conformance-test.local/client-metadata.json"

func run() error {
	bridge := flag.String("bridge", "mcp-streamablehttp-client", "path of the bridge binary")
	flag.Parse()
	if flag.NArg() != 1 {
		return errors.New("usage: clientdriver --bridge PATH SERVER_URL")
	}
	serverURL := flag.Arg(0)
	scenario := os.Getenv("MCP_CONFORMANCE_SCENARIO")
	version := os.Getenv("MCP_CONFORMANCE_PROTOCOL_VERSION")
	dir, err := os.MkdirTemp("", "clientdriver-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	args := []string{"--server-url", serverURL, "--login", "browser", "--log-level", "debug",
		"--credentials-file", filepath.Join(dir, "credentials.json"), "--client-metadata-url", cimdURL}
	var ctx struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
		ToolCalls    []struct {
			Name      string         `json:"name"`
			Arguments map[string]any `json:"arguments"`
		} `json:"toolCalls"`
	}
	if c := os.Getenv("MCP_CONFORMANCE_CONTEXT"); c != "" {
		_ = json.Unmarshal([]byte(c), &ctx)
		if ctx.ClientID != "" && scenario == "auth/pre-registration" {
			args = append(args, "--client-id", ctx.ClientID, "--client-secret", ctx.ClientSecret)
		}
	}
	cmd := exec.Command(*bridge, args...)
	cmd.Env = append(os.Environ(), "BROWSER=curl -s -L --max-redirs 5 -o /dev/null")
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	c := &conn{in: in, waiting: map[string]chan message{}, version: version}
	for _, tc := range ctx.ToolCalls {
		c.calls = append(c.calls, toolCall{tc.Name, tc.Arguments})
	}
	go c.read(out)
	err = c.scenario(scenario)
	in.Close()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
	}
	return err
}

type message struct {
	ID     json.RawMessage `json:"id,omitempty"`
	Method string          `json:"method,omitempty"`
	Params json.RawMessage `json:"params,omitempty"`
	Result json.RawMessage `json:"result,omitempty"`
	Error  *struct {
		Code    int             `json:"code"`
		Message string          `json:"message"`
		Data    json.RawMessage `json:"data"`
	} `json:"error,omitempty"`
}

type conn struct {
	mu      sync.Mutex
	in      io.Writer
	next    int
	waiting map[string]chan message
	version string     // 2026-07-28 or "" (initialize)
	calls   []toolCall // the scenario's own tool calls, if it names them
}

type toolCall struct {
	name string
	args map[string]any
}

func (c *conn) write(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	_, err = c.in.Write(append(b, '\n'))
	return err
}

func (c *conn) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var m message
		if json.Unmarshal(sc.Bytes(), &m) != nil {
			continue
		}
		if m.Method != "" {
			if m.ID != nil {
				go c.answer(m)
			}
			continue
		}
		c.mu.Lock()
		ch := c.waiting[string(m.ID)]
		delete(c.waiting, string(m.ID))
		c.mu.Unlock()
		if ch != nil {
			ch <- m
		}
	}
	c.mu.Lock()
	for id, ch := range c.waiting {
		close(ch)
		delete(c.waiting, id)
	}
	c.mu.Unlock()
}

// answer answers a server request.
func (c *conn) answer(m message) {
	var result any = map[string]any{}
	switch m.Method {
	case "elicitation/create":
		// Accept with the schema's defaults (SEP-1034).
		var p struct {
			RequestedSchema struct {
				Properties map[string]map[string]any `json:"properties"`
			} `json:"requestedSchema"`
		}
		_ = json.Unmarshal(m.Params, &p)
		content := map[string]any{}
		for k, prop := range p.RequestedSchema.Properties {
			if d, ok := prop["default"]; ok {
				content[k] = d
			}
		}
		result = map[string]any{"action": "accept", "content": content}
	case "sampling/createMessage":
		result = map[string]any{"role": "assistant", "content": map[string]any{"type": "text", "text": "ok"}, "model": "clientdriver"}
	case "roots/list":
		result = map[string]any{"roots": []any{}}
	}
	_ = c.write(map[string]any{"jsonrpc": "2.0", "id": m.ID, "result": result})
}

// meta is the 2026-07-28 per-request _meta.
func (c *conn) meta() map[string]any {
	return map[string]any{
		"io.modelcontextprotocol/protocolVersion":    c.version,
		"io.modelcontextprotocol/clientInfo":         map[string]any{"name": "clientdriver", "version": "1.0.0"},
		"io.modelcontextprotocol/clientCapabilities": capabilities(),
	}
}

func capabilities() map[string]any {
	return map[string]any{"elicitation": map[string]any{"form": map[string]any{}}, "sampling": map[string]any{}, "roots": map[string]any{}}
}

// call sends a request and waits for its response.
func (c *conn) call(method string, params map[string]any) (message, error) {
	for attempt := 0; ; attempt++ {
		if params == nil {
			params = map[string]any{}
		}
		if c.version != "" {
			params["_meta"] = c.meta()
		}
		c.mu.Lock()
		c.next++
		id := c.next
		ch := make(chan message, 1)
		c.waiting[strconv.Itoa(id)] = ch
		c.mu.Unlock()
		if err := c.write(map[string]any{"jsonrpc": "2.0", "id": id, "method": method, "params": params}); err != nil {
			return message{}, err
		}
		var m message
		var ok bool
		select {
		case m, ok = <-ch:
		case <-time.After(60 * time.Second):
			return message{}, fmt.Errorf("%s: no answer", method)
		}
		if !ok {
			return message{}, fmt.Errorf("%s: the bridge ended", method)
		}
		if m.Error != nil && c.version != "" && attempt == 0 {
			// An unsupported version: retry with one the server supports.
			var d struct {
				Supported []string `json:"supported"`
			}
			if json.Unmarshal(m.Error.Data, &d) == nil && len(d.Supported) > 0 {
				c.version = d.Supported[len(d.Supported)-1]
				for _, v := range d.Supported {
					if v == "2026-07-28" {
						c.version = v
					}
				}
				continue
			}
		}
		if m.Error != nil {
			return m, fmt.Errorf("%s: %s (%d)", method, m.Error.Message, m.Error.Code)
		}
		return m, nil
	}
}

func (c *conn) initialize() error {
	if c.version != "" {
		return nil
	}
	if _, err := c.call("initialize", map[string]any{"protocolVersion": "2025-11-25", "capabilities": capabilities(),
		"clientInfo": map[string]any{"name": "clientdriver", "version": "1.0.0"}}); err != nil {
		return err
	}
	return c.write(map[string]any{"jsonrpc": "2.0", "method": "notifications/initialized"})
}

type tool struct {
	Name        string         `json:"name"`
	InputSchema map[string]any `json:"inputSchema"`
}

func (c *conn) tools() ([]tool, error) {
	m, err := c.call("tools/list", nil)
	if err != nil {
		return nil, err
	}
	var r struct {
		Tools []tool `json:"tools"`
	}
	err = json.Unmarshal(m.Result, &r)
	return r.Tools, err
}

// args makes arguments for a tool from its schema.
func args(t tool) map[string]any {
	out := map[string]any{}
	props, _ := t.InputSchema["properties"].(map[string]any)
	for k, v := range props {
		p, _ := v.(map[string]any)
		switch p["type"] {
		case "number", "integer":
			out[k] = 2
		case "boolean":
			out[k] = true
		case "string":
			out[k] = "test"
		}
	}
	return out
}

// callTool calls a tool, continuing a 2026-07-28 multi-round-trip result
// (SEP-2322) with the requestState echoed and the input requests answered.
func (c *conn) callTool(name string, arguments map[string]any) error {
	params := map[string]any{"name": name, "arguments": arguments}
	for range 5 {
		m, err := c.call("tools/call", params)
		if err != nil {
			return err
		}
		var r struct {
			ResultType    string                     `json:"resultType"`
			RequestState  json.RawMessage            `json:"requestState"`
			InputRequests map[string]json.RawMessage `json:"inputRequests"`
		}
		_ = json.Unmarshal(m.Result, &r)
		if r.ResultType != "input_required" && r.ResultType != "incomplete" {
			return nil
		}
		responses := map[string]any{}
		for k, raw := range r.InputRequests {
			var req message
			_ = json.Unmarshal(raw, &req)
			switch req.Method {
			case "elicitation/create":
				responses[k] = map[string]any{"action": "accept", "content": map[string]any{}}
			case "sampling/createMessage":
				responses[k] = map[string]any{"role": "assistant", "content": map[string]any{"type": "text", "text": "ok"}, "model": "clientdriver"}
			case "roots/list":
				responses[k] = map[string]any{"roots": []any{}}
			default:
				responses[k] = map[string]any{}
			}
		}
		params = map[string]any{"name": name, "arguments": arguments, "inputResponses": responses}
		if len(r.RequestState) > 0 {
			params["requestState"] = r.RequestState
		}
	}
	return fmt.Errorf("%s: too many rounds", name)
}

// scenario does what the scenario's server expects of a client: list the
// tools and call each (the auth scenarios' test-tool, tools_call's
// add_numbers, elicitation and reconnection tests), then list resources
// and prompts where offered.
func (c *conn) scenario(name string) error {
	if err := c.initialize(); err != nil {
		return err
	}
	if name == "initialize" {
		_, err := c.tools()
		return err
	}
	tools, err := c.tools()
	if err != nil {
		return err
	}
	var errs []error
	if len(c.calls) > 0 {
		for _, tc := range c.calls {
			if err := c.callTool(tc.name, tc.args); err != nil {
				errs = append(errs, err)
			}
		}
		tools = nil
	}
	for _, t := range tools {
		if err := c.callTool(t.Name, args(t)); err != nil && !strings.Contains(name, "invalid") {
			errs = append(errs, err)
		}
	}
	if strings.HasPrefix(name, "http-") {
		if m, err := c.call("resources/list", nil); err == nil {
			var r struct {
				Resources []struct {
					URI string `json:"uri"`
				} `json:"resources"`
			}
			_ = json.Unmarshal(m.Result, &r)
			for _, res := range r.Resources {
				_, _ = c.call("resources/read", map[string]any{"uri": res.URI})
			}
		}
		if m, err := c.call("prompts/list", nil); err == nil {
			var r struct {
				Prompts []struct {
					Name string `json:"name"`
				} `json:"prompts"`
			}
			_ = json.Unmarshal(m.Result, &r)
			for _, p := range r.Prompts {
				_, _ = c.call("prompts/get", map[string]any{"name": p.Name})
			}
		}
	}
	return errors.Join(errs...)
}

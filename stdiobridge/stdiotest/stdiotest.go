// Package stdiotest is a small stdio MCP server built on mcp-go, for tests
// of stdio bridges such as stdiobridge.Proxy (it is what their tests and
// benchmarks run as a child process). A test binary becomes the server when
// it starts with the environment variable of Enabled set, so tests spawn
// real child processes without a build step:
//
//	func TestMain(m *testing.M) {
//		if stdiotest.Enabled() {
//			os.Exit(stdiotest.Main(os.Args[1:]))
//		}
//		os.Exit(m.Run())
//	}
//
// and start it with stdiotest.Command(flags...).
//
// Its tools: echo, progress (progress and log notifications), log, sample
// (a sampling request), elicit, roots, input (the same through a 2026-07-28
// input_required result), big (a result of any size), crash (exit on
// demand), sleep, env, credential (a hash of an environment variable and
// the process id: what a server acting as a user got, never the secret
// itself), cwd, pid, stderr and add_tool (a list change). The progress and
// log tools write all their notifications before their response, so tests
// can count them (mcp-go alone may let the last ones trail it).
//
// Its flags: -junk writes lines that are not JSON-RPC to stdout and stderr,
// -ignore-sigterm keeps it running after SIGTERM and after its input
// closes, -grandchild starts a sleeping grandchild process, -fail-start
// exits at once with status 3, -legacy-only makes it answer
// server/discover with "method not found" like a server that predates
// 2026-07-28.
package stdiotest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// EnvVar is the environment variable that turns a test binary into the
// server.
const EnvVar = "STDIOTEST_SERVER"

// Enabled reports whether this process was started to be the server.
func Enabled() bool { return os.Getenv(EnvVar) == "1" }

// Command returns the program, arguments and extra environment that start
// the running test binary as the server with the given flags.
func Command(flags ...string) (path string, args []string, env []string) {
	exe, err := os.Executable()
	if err != nil {
		panic(err)
	}
	return exe, flags, []string{EnvVar + "=1"}
}

// Main runs the server on stdin and stdout with the given flags and returns
// the exit status.
func Main(args []string) int {
	fs := flag.NewFlagSet("stdiotest", flag.ContinueOnError)
	junk := fs.Bool("junk", false, "write lines that are not JSON-RPC to stdout and stderr")
	ignoreTerm := fs.Bool("ignore-sigterm", false, "ignore SIGTERM and keep running after stdin closes")
	grandchild := fs.Bool("grandchild", false, "start a sleeping grandchild process")
	failStart := fs.Bool("fail-start", false, "exit at once with status 3")
	legacyOnly := fs.Bool("legacy-only", false, "answer server/discover with method not found")
	name := fs.String("name", "stdiotest", "server name")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *failStart {
		fmt.Fprintln(os.Stderr, "stdiotest: failing on purpose")
		return 3
	}
	if *ignoreTerm {
		signal.Ignore(syscall.SIGTERM)
	}
	var kid *exec.Cmd
	if *grandchild {
		kid = exec.Command("sleep", "600")
		if err := kid.Start(); err != nil {
			fmt.Fprintln(os.Stderr, "stdiotest: grandchild:", err)
			return 1
		}
	}
	var out io.Writer = os.Stdout
	if *junk {
		fmt.Fprintln(os.Stderr, "stdiotest: starting up, this line goes to stderr")
		out = &junkWriter{w: os.Stdout}
	}
	fl := &flusher{w: out, waiting: map[int]chan struct{}{}}
	out = fl
	s := newServer(*name, kid, fl)
	stdio := server.NewStdioServer(s)
	ctx := context.Background()
	var in io.Reader = os.Stdin
	if *legacyOnly {
		in = &discoverFilter{r: os.Stdin, w: out}
	}
	err := stdio.Listen(ctx, in, out)
	if *ignoreTerm {
		select {} // a stubborn server: only SIGKILL ends it
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintln(os.Stderr, "stdiotest:", err)
		return 1
	}
	return 0
}

// flushMethod is the method of the marks flusher.flush sends. The server
// never writes them.
const flushMethod = "stdiotest/flushed"

// flushPrefix is how a mark starts as mcp-go encodes it; no response or
// request starts so (their "id" comes before "method").
var flushPrefix = []byte(`{"jsonrpc":"2.0","method":"` + flushMethod + `"`)

// flusher is the server's stdout. mcp-go's stdio server writes the
// notifications a tool sends from another goroutine, in the order they were
// sent, and the tool's response as soon as the tool returns, so the last
// notifications could trail the response. A tool that calls flush before it
// returns has them written first: flush sends a mark after them and waits
// until the mark reaches this writer, which drops it.
type flusher struct {
	w io.Writer

	mu      sync.Mutex
	next    int
	waiting map[int]chan struct{} // mark number -> closed when it came
}

func (f *flusher) Write(p []byte) (int, error) {
	if bytes.HasPrefix(p, flushPrefix) {
		var mark struct {
			Params struct{ N int } `json:"params"`
		}
		if json.Unmarshal(p, &mark) == nil {
			f.mu.Lock()
			if ch := f.waiting[mark.Params.N]; ch != nil {
				close(ch)
				delete(f.waiting, mark.Params.N)
			}
			f.mu.Unlock()
			return len(p), nil
		}
	}
	return f.w.Write(p)
}

// flush returns once the notifications the tool of ctx sent so far were
// written (or ctx ended, or mcp-go dropped the mark as it drops any
// notification when its queue is full).
func (f *flusher) flush(ctx context.Context, s *server.MCPServer) {
	f.mu.Lock()
	f.next++
	n := f.next
	ch := make(chan struct{})
	f.waiting[n] = ch
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		delete(f.waiting, n)
		f.mu.Unlock()
	}()
	if s.SendNotificationToClient(ctx, flushMethod, map[string]any{"n": n}) != nil {
		return
	}
	select {
	case <-ch:
	case <-ctx.Done():
	}
}

// junkWriter writes a line that is not JSON-RPC before every message.
type junkWriter struct {
	mu sync.Mutex
	w  io.Writer
	n  int
}

func (j *junkWriter) Write(p []byte) (int, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.n++
	fmt.Fprintf(j.w, "junk line %d: not JSON\n", j.n)
	if j.n%2 == 0 {
		fmt.Fprintf(j.w, "{\"not\":\"a message\"}\n")
	}
	fmt.Fprintf(os.Stderr, "stdiotest: wrote message %d\n", j.n)
	return j.w.Write(p)
}

// discoverFilter makes the server one from before 2026-07-28: it answers
// server/discover with "method not found" and hides the 2026-07-28 version
// mark of requests from mcp-go.
type discoverFilter struct {
	r   io.Reader
	w   io.Writer
	buf []byte
}

func (d *discoverFilter) Read(p []byte) (int, error) {
	for {
		if i := indexByte(d.buf, '\n'); i >= 0 {
			line := d.buf[:i+1]
			if strings.Contains(string(line), `"method":"server/discover"`) {
				id := extractID(string(line))
				fmt.Fprintf(d.w, `{"jsonrpc":"2.0","id":%s,"error":{"code":-32601,"message":"Method not found"}}`+"\n", id)
				d.buf = d.buf[i+1:]
				continue
			}
			// A server from before 2026-07-28 does not know the version
			// mark either.
			line = []byte(strings.ReplaceAll(string(line), `"io.modelcontextprotocol/protocolVersion"`, `"x-unknown"`))
			n := copy(p, line)
			d.buf = append(line[n:], d.buf[i+1:]...)
			return n, nil
		}
		chunk := make([]byte, 64<<10)
		n, err := d.r.Read(chunk)
		d.buf = append(d.buf, chunk[:n]...)
		if err != nil {
			if len(d.buf) > 0 {
				n := copy(p, d.buf)
				d.buf = d.buf[n:]
				return n, nil
			}
			return 0, err
		}
	}
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

func extractID(line string) string {
	i := strings.Index(line, `"id":`)
	if i < 0 {
		return "null"
	}
	rest := line[i+5:]
	j := strings.IndexAny(rest, ",}")
	if j < 0 {
		return "null"
	}
	return rest[:j]
}

// newServer returns the MCP server with the test tools. kid is the grandchild
// process, if any, whose pid the pid tool reports; fl is the server's
// stdout, which tools that notify flush before they return.
func newServer(name string, kid *exec.Cmd, fl *flusher) *server.MCPServer {
	s := server.NewMCPServer(name, "1.0.0",
		server.WithToolCapabilities(true),
		server.WithResourceCapabilities(true, true),
		server.WithLogging(),
		server.WithInstructions("A test server for the stdio proxy."),
		server.WithLegacyServerInitiatedRequests(),
	)
	s.EnableSampling()
	s.AddResource(mcp.NewResource("test://hello", "hello", mcp.WithMIMEType("text/plain")),
		func(ctx context.Context, r mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
			return []mcp.ResourceContents{mcp.TextResourceContents{URI: "test://hello", MIMEType: "text/plain", Text: "hello"}}, nil
		})
	s.AddTool(mcp.NewTool("echo", mcp.WithString("text", mcp.Required())),
		func(ctx context.Context, r mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return mcp.NewToolResultText(r.GetString("text", "")), nil
		})
	s.AddTool(mcp.NewTool("progress", mcp.WithNumber("steps"), mcp.WithNumber("delay_ms")),
		func(ctx context.Context, r mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			steps := r.GetInt("steps", 3)
			delay := time.Duration(r.GetInt("delay_ms", 0)) * time.Millisecond
			var token mcp.ProgressToken
			if r.Params.Meta != nil {
				token = r.Params.Meta.ProgressToken
			}
			for i := 1; i <= steps; i++ {
				if token != nil {
					msg := fmt.Sprintf("step %d", i)
					_ = s.SendNotificationToClient(ctx, "notifications/progress", map[string]any{
						"progressToken": token, "progress": i, "total": steps, "message": msg,
					})
				}
				_ = s.SendLogMessageToClient(ctx, mcp.NewLoggingMessageNotification(mcp.LoggingLevelInfo, "progress", fmt.Sprintf("log %d", i)))
				if delay > 0 {
					time.Sleep(delay)
				}
			}
			fl.flush(ctx, s)
			return mcp.NewToolResultText(fmt.Sprintf("done %d steps", steps)), nil
		})
	s.AddTool(mcp.NewTool("log", mcp.WithNumber("count"), mcp.WithString("level")),
		func(ctx context.Context, r mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			n := r.GetInt("count", 3)
			lvl := mcp.LoggingLevel(r.GetString("level", "info"))
			for i := 1; i <= n; i++ {
				_ = s.SendLogMessageToClient(ctx, mcp.NewLoggingMessageNotification(lvl, "log", fmt.Sprintf("message %d", i)))
			}
			fl.flush(ctx, s)
			return mcp.NewToolResultText(fmt.Sprintf("logged %d", n)), nil
		})
	s.AddTool(mcp.NewTool("sample", mcp.WithString("prompt", mcp.Required())),
		func(ctx context.Context, r mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			res, err := s.RequestSampling(ctx, mcp.CreateMessageRequest{CreateMessageParams: mcp.CreateMessageParams{
				Messages:  []mcp.SamplingMessage{{Role: mcp.RoleUser, Content: mcp.NewTextContent(r.GetString("prompt", ""))}},
				MaxTokens: 100,
			}})
			if err != nil {
				return mcp.NewToolResultError("sampling failed: " + err.Error()), nil
			}
			return mcp.NewToolResultText("sampled: " + textOf(res.Content)), nil
		})
	s.AddTool(mcp.NewTool("elicit", mcp.WithString("message", mcp.Required())),
		func(ctx context.Context, r mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			res, err := s.RequestElicitation(ctx, mcp.ElicitationRequest{Params: mcp.ElicitationParams{
				Message:         r.GetString("message", ""),
				RequestedSchema: map[string]any{"type": "object", "properties": map[string]any{"name": map[string]any{"type": "string"}}},
			}})
			if err != nil {
				return mcp.NewToolResultError("elicitation failed: " + err.Error()), nil
			}
			return mcp.NewToolResultText(fmt.Sprintf("elicited: %s %v", res.Action, res.Content)), nil
		})
	s.AddTool(mcp.NewTool("roots"),
		func(ctx context.Context, r mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			res, err := s.RequestRoots(ctx, mcp.ListRootsRequest{})
			if err != nil {
				return mcp.NewToolResultError("roots failed: " + err.Error()), nil
			}
			var uris []string
			for _, root := range res.Roots {
				uris = append(uris, root.URI)
			}
			return mcp.NewToolResultText("roots: " + strings.Join(uris, " ")), nil
		})
	s.AddTool(mcp.NewTool("input", mcp.WithString("prompt", mcp.Required())),
		func(ctx context.Context, r mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			if res := server.SamplingResponse(r.Params.InputResponses, "llm"); res != nil {
				return mcp.NewToolResultText("input: " + textOf(res.Content)), nil
			}
			return server.NewInputRequestBuilder("state-1").Sample("llm", mcp.CreateMessageParams{
				Messages:  []mcp.SamplingMessage{{Role: mcp.RoleUser, Content: mcp.NewTextContent(r.GetString("prompt", ""))}},
				MaxTokens: 10,
			}).ToolResult(), nil
		})
	s.AddTool(mcp.NewTool("big", mcp.WithNumber("bytes", mcp.Required())),
		func(ctx context.Context, r mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return mcp.NewToolResultText(strings.Repeat("x", r.GetInt("bytes", 0))), nil
		})
	s.AddTool(mcp.NewTool("crash", mcp.WithNumber("code")),
		func(ctx context.Context, r mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			os.Exit(r.GetInt("code", 3))
			return nil, nil
		})
	s.AddTool(mcp.NewTool("sleep", mcp.WithNumber("ms", mcp.Required())),
		func(ctx context.Context, r mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			select {
			case <-time.After(time.Duration(r.GetInt("ms", 0)) * time.Millisecond):
				return mcp.NewToolResultText("slept"), nil
			case <-ctx.Done():
				return mcp.NewToolResultError("cancelled"), nil
			}
		})
	s.AddTool(mcp.NewTool("env", mcp.WithString("name", mcp.Required())),
		func(ctx context.Context, r mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return mcp.NewToolResultText(os.Getenv(r.GetString("name", ""))), nil
		})
	s.AddTool(mcp.NewTool("credential", mcp.WithString("name", mcp.Required())),
		func(ctx context.Context, r mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return mcp.NewToolResultText(CredentialReport(os.Getenv(r.GetString("name", "")), os.Getpid())), nil
		})
	s.AddTool(mcp.NewTool("cwd"),
		func(ctx context.Context, r mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			wd, _ := os.Getwd()
			return mcp.NewToolResultText(wd), nil
		})
	s.AddTool(mcp.NewTool("pid"),
		func(ctx context.Context, r mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			text := fmt.Sprint(os.Getpid())
			if kid != nil {
				text += fmt.Sprintf(" %d", kid.Process.Pid)
			}
			return mcp.NewToolResultText(text), nil
		})
	s.AddTool(mcp.NewTool("stderr", mcp.WithString("text", mcp.Required())),
		func(ctx context.Context, r mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			fmt.Fprintln(os.Stderr, r.GetString("text", ""))
			return mcp.NewToolResultText("written"), nil
		})
	s.AddTool(mcp.NewTool("add_tool", mcp.WithString("name", mcp.Required())),
		func(ctx context.Context, r mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			s.AddTool(mcp.NewTool(r.GetString("name", "extra")), func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				return mcp.NewToolResultText("extra"), nil
			})
			return mcp.NewToolResultText("added"), nil
		})
	return s
}

func textOf(c any) string {
	switch t := c.(type) {
	case mcp.TextContent:
		return t.Text
	case *mcp.TextContent:
		return t.Text
	case map[string]any:
		if s, ok := t["text"].(string); ok {
			return s
		}
	}
	return fmt.Sprintf("%v", c)
}

// CredentialReport is the credential tool's answer: the first 16 hex
// digits of the SHA-256 of value ("none" for an empty one) and the
// process id.
func CredentialReport(value string, pid int) string {
	if value == "" {
		return fmt.Sprintf("credential none pid %d", pid)
	}
	sum := sha256.Sum256([]byte(value))
	return fmt.Sprintf("credential %x pid %d", sum[:8], pid)
}

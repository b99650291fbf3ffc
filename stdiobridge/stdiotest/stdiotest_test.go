package stdiotest_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/mcp-oauth-gateway/gateway/stdiobridge/stdiotest"
)

func TestMain(m *testing.M) {
	if stdiotest.Enabled() {
		os.Exit(stdiotest.Main(os.Args[1:]))
	}
	os.Exit(m.Run())
}

// TestNotificationsComeBeforeTheResponse: what the progress and log tools
// send is written to stdout before their response, however many, and the
// marks that hold the response back are never written.
func TestNotificationsComeBeforeTheResponse(t *testing.T) {
	for _, junk := range []bool{false, true} {
		t.Run(fmt.Sprintf("junk=%v", junk), func(t *testing.T) {
			t.Parallel()
			var flags []string
			if junk {
				flags = append(flags, "-junk")
			}
			path, args, env := stdiotest.Command(flags...)
			cmd := exec.Command(path, args...)
			cmd.Env = append(os.Environ(), env...)
			stdin, err := cmd.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				stdin.Close()
				_ = cmd.Wait()
			})
			lines := bufio.NewScanner(stdout)
			lines.Buffer(nil, 1<<20)
			// next returns the next JSON-RPC message the server wrote.
			next := func() map[string]any {
				t.Helper()
				for lines.Scan() {
					var m map[string]any
					if json.Unmarshal(lines.Bytes(), &m) != nil || m["jsonrpc"] != "2.0" {
						continue // -junk
					}
					if m["method"] == "stdiotest/flushed" {
						t.Fatalf("a flush mark was written: %s", lines.Text())
					}
					return m
				}
				t.Fatalf("stdout ended: %v", lines.Err())
				return nil
			}
			send := func(msg string) {
				t.Helper()
				if _, err := io.WriteString(stdin, msg+"\n"); err != nil {
					t.Fatal(err)
				}
			}
			send(`{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`)
			next()
			send(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)
			send(`{"jsonrpc":"2.0","id":1,"method":"logging/setLevel","params":{"level":"debug"}}`)
			next()

			// mcp-go queues at most 100 notifications and drops the rest.
			const steps = 45
			for id, call := range []struct{ tool, args, done string }{
				{"progress", fmt.Sprintf(`{"steps":%d}`, steps), fmt.Sprintf("done %d steps", steps)},
				{"log", fmt.Sprintf(`{"count":%d}`, steps), fmt.Sprintf("logged %d", steps)},
			} {
				send(fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":%q,"arguments":%s,"_meta":{"progressToken":"p"}}}`,
					id+2, call.tool, call.args))
				want := 2 * steps // progress and a log line per step
				if call.tool == "log" {
					want = steps
				}
				got := 0
				for {
					m := next()
					if m["id"] == nil {
						got++
						continue
					}
					text := fmt.Sprint(m["result"])
					if !strings.Contains(text, call.done) {
						t.Fatalf("%s: response %v", call.tool, m)
					}
					break
				}
				if got != want {
					t.Errorf("%s: %d notifications before the response, want %d", call.tool, got, want)
				}
			}
		})
	}
}

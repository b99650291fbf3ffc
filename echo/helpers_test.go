package echo_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"maps"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcp-oauth-gateway/gateway/echo"
	"github.com/mcp-oauth-gateway/gateway/mcpserver"
)

// legacy is the protocol version the tests' clients pin: the newest one
// with initialize and sessions.
const legacy = mcp.ProtocolVersion20251125

// setup configures a test server.
type setup struct {
	stateless bool
	server    *mcpserver.Options // nil: defaults
	echo      *echo.Options      // nil: defaults
}

// serve starts an echo server on a loopback httptest server; both close at
// the end of the test.
func serve(t testing.TB, st setup) (url string, srv *mcpserver.Server) {
	t.Helper()
	so := &mcpserver.Options{}
	if st.server != nil {
		so = st.server
	}
	if st.stateless {
		so.Sessions = mcpserver.Stateless
	}
	srv, err := mcpserver.New("echo-test", "1.2.3", so)
	if err != nil {
		t.Fatalf("mcpserver.New: %v", err)
	}
	eo := &echo.Options{}
	if st.echo != nil {
		eo = st.echo
	}
	if st.stateless {
		err = echo.RegisterStateless(srv, eo)
	} else {
		err = echo.RegisterStateful(srv, eo)
	}
	if err != nil {
		t.Fatalf("register: %v", err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		hs.Close()
		srv.Close()
	})
	return hs.URL + "/mcp", srv
}

type headersKey struct{}

// withHeaders returns a context whose calls carry extra HTTP headers.
func withHeaders(ctx context.Context, h map[string]string) context.Context {
	return context.WithValue(ctx, headersKey{}, h)
}

// connect starts an mcp-go StreamableHTTP client, initialized with the
// protocol version given ("" for the client's default, which prefers
// 2026-07-28). Every request carries fixed, plus the headers of its context.
func connect(t testing.TB, url, version string, fixed map[string]string) *client.Client {
	t.Helper()
	c, err := client.NewStreamableHttpClient(url, transport.WithHTTPHeaderFunc(func(ctx context.Context) map[string]string {
		h := maps.Clone(fixed)
		if h == nil {
			h = map[string]string{}
		}
		if extra, ok := ctx.Value(headersKey{}).(map[string]string); ok {
			maps.Copy(h, extra)
		}
		return h
	}))
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Start(ctx); err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = version
	init.Params.ClientInfo = mcp.Implementation{Name: "echo-test-client", Version: "1.0.0"}
	if _, err := c.Initialize(ctx, init); err != nil {
		t.Fatalf("initialize: %v", err)
	}
	return c
}

// call calls a tool and returns its text and whether it is an error result.
func call(t testing.TB, ctx context.Context, c *client.Client, name string, args any) (string, bool) {
	t.Helper()
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req := mcp.CallToolRequest{}
	req.Params.Name = name
	req.Params.Arguments = args
	res, err := c.CallTool(ctx, req)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var b strings.Builder
	for _, content := range res.Content {
		tc, ok := content.(mcp.TextContent)
		if !ok {
			t.Fatalf("%s: content %T, want text", name, content)
		}
		b.WriteString(tc.Text)
	}
	return b.String(), res.IsError
}

// mustCall calls a tool that must succeed.
func mustCall(t testing.TB, ctx context.Context, c *client.Client, name string, args any) string {
	t.Helper()
	out, isErr := call(t, ctx, c, name, args)
	if isErr {
		t.Fatalf("%s: error result: %s", name, out)
	}
	return out
}

// contains fails the test unless out holds every want.
func contains(t testing.TB, out string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q; output:\n%s", w, out)
		}
	}
}

// lacks fails the test if out holds any of the given strings.
func lacks(t testing.TB, out string, unwanted ...string) {
	t.Helper()
	for _, u := range unwanted {
		if strings.Contains(out, u) {
			t.Errorf("output holds %q; output:\n%s", u, out)
		}
	}
}

// testJWT builds a compact JWT with the given header and claims and a
// fake signature; the echo tools never verify it.
func testJWT(t testing.TB, header, claims map[string]any, signature string) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return enc(header) + "." + enc(claims) + "." + signature
}

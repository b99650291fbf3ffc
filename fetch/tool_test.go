package fetch

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcp-oauth-gateway/gateway/fetch/safehttp"
)

// testTools builds a tool set that may reach loopback test servers.
func testTools(t *testing.T, opts *Options) *Tools {
	t.Helper()
	if opts == nil {
		opts = &Options{}
	}
	opts.Client.UnsafeAllowLoopback = true
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	tools, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tools.Close() })
	return tools
}

func callTool(t *testing.T, tools *Tools, args map[string]any) *mcp.CallToolResult {
	t.Helper()
	res, err := tools.Fetch(context.Background(), mcp.CallToolRequest{Params: mcp.CallToolParams{Name: "fetch", Arguments: args}})
	if err != nil {
		t.Fatalf("Fetch returned a Go error: %v", err)
	}
	return res
}

func text(r *mcp.CallToolResult) string {
	var parts []string
	for _, c := range r.Content {
		if tc, ok := c.(mcp.TextContent); ok {
			parts = append(parts, tc.Text)
		}
	}
	return strings.Join(parts, "\n")
}

func structured(t *testing.T, r *mcp.CallToolResult) Result {
	t.Helper()
	res, ok := r.StructuredContent.(*Result)
	if !ok {
		t.Fatalf("structured content is %T, want *Result", r.StructuredContent)
	}
	// It must also survive the trip to JSON with the field names the
	// output schema declares.
	b, _ := json.Marshal(r)
	var wire struct {
		StructuredContent map[string]any `json:"structuredContent"`
	}
	json.Unmarshal(b, &wire)
	if wire.StructuredContent["url"] != res.URL {
		t.Fatalf("structuredContent on the wire: %s", b)
	}
	return *res
}

// site is a test web site with a robots.txt and some pages.
func site(t *testing.T, robots string, robotsStatus int) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var robotsHits atomic.Int32
	page, err := readTestdata("news-article.html")
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/robots.txt", func(w http.ResponseWriter, r *http.Request) {
		robotsHits.Add(1)
		w.WriteHeader(robotsStatus)
		io.WriteString(w, robots)
	})
	mux.HandleFunc("/article", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(page)
	})
	mux.HandleFunc("/old-article", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/article", http.StatusMovedPermanently)
	})
	mux.HandleFunc("/private/", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "secret") })
	mux.HandleFunc("/data.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"b":[1,2],"a":"x"}`)
	})
	mux.HandleFunc("/notes.txt", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "line one\n  line *two*\n")
	})
	mux.HandleFunc("/latin1", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=iso-8859-1")
		w.Write([]byte("<html><head><title>Caf\xe9</title></head><body><p>cr\xe8me br\xfbl\xe9e</p></body></html>"))
	})
	mux.HandleFunc("/image.png", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		w.Write(testPNG(t, 8))
	})
	mux.HandleFunc("/report.pdf", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/pdf")
		w.Write([]byte("%PDF-1.7\x00\x01\x02 binary"))
	})
	mux.HandleFunc("/missing", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, "<html><body><h1>Not found</h1><p>"+strings.Repeat("The page is gone. ", 500)+"</p></body></html>")
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s %s UA=%s X-Test=%s body=%s", r.Method, r.URL.Path, r.UserAgent(), r.Header.Get("X-Test"), body)
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(5 * time.Second):
		case <-r.Context().Done():
		}
	})
	mux.HandleFunc("/bomb", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Content-Encoding", "gzip")
		zw := gzip.NewWriter(w)
		zeros := bytes.Repeat([]byte("A"), 1<<20)
		for range 8 {
			zw.Write(zeros)
		}
		zw.Close()
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, &robotsHits
}

func testPNG(t *testing.T, size int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, size, size))
	img.Set(1, 1, color.RGBA{255, 0, 0, 255})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestFetchHTMLAsMarkdown(t *testing.T) {
	srv, _ := site(t, "", 404)
	tools := testTools(t, nil)
	r := callTool(t, tools, map[string]any{"url": srv.URL + "/old-article#comments", "max_length": 100000})
	if r.IsError {
		t.Fatalf("error: %s", text(r))
	}
	got := text(r)
	for _, want := range []string{
		"Contents of " + srv.URL + "/article:",
		"# City council approves riverfront flood barrier",
		"[published summary](" + srv.URL + "/documents/flood-scheme-summary.pdf)",
		"| 2014 | First consultation on flood defences |",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("result lacks %q", want)
		}
	}
	for _, unwanted := range []string{"gtag(", "Accept all", "Most read", "Share on X"} {
		if strings.Contains(got, unwanted) {
			t.Errorf("result contains boilerplate %q", unwanted)
		}
	}
	res := structured(t, r)
	if res.URL != srv.URL+"/article" || res.Status != 200 || res.ContentType != "text/html" ||
		!strings.HasPrefix(res.Title, "City council approves") || res.NextStartIndex != nil || res.Length == 0 {
		t.Errorf("structured content %+v", res)
	}
}

func TestFetchPagination(t *testing.T) {
	srv, _ := site(t, "", 404)
	tools := testTools(t, nil)
	var assembled strings.Builder
	start, calls := 0, 0
	var total int
	for {
		r := callTool(t, tools, map[string]any{"url": srv.URL + "/article", "max_length": 700, "start_index": start})
		if r.IsError {
			t.Fatalf("error at start_index %d: %s", start, text(r))
		}
		res := structured(t, r)
		total = res.Length
		body := strings.TrimPrefix(text(r), "Contents of "+srv.URL+"/article:\n\n")
		if i := strings.Index(body, "\n\n[Content cut at character"); i >= 0 {
			if res.NextStartIndex == nil || !strings.Contains(body, fmt.Sprintf("start_index=%d", *res.NextStartIndex)) {
				t.Fatalf("cut content without a matching next_start_index: %+v", res)
			}
			body = body[:i]
		}
		assembled.WriteString(body)
		calls++
		if res.NextStartIndex == nil {
			break
		}
		if *res.NextStartIndex != start+700 {
			t.Fatalf("next_start_index %d after start %d", *res.NextStartIndex, start)
		}
		start = *res.NextStartIndex
	}
	whole := callTool(t, tools, map[string]any{"url": srv.URL + "/article", "max_length": MaxLengthLimit})
	want := strings.TrimPrefix(text(whole), "Contents of "+srv.URL+"/article:\n\n")
	if assembled.String() != want {
		t.Errorf("the parts do not add up to the whole (%d vs %d characters)", len(assembled.String()), len(want))
	}
	if calls != (total+699)/700 {
		t.Errorf("%d calls for %d characters", calls, total)
	}
	r := callTool(t, tools, map[string]any{"url": srv.URL + "/article", "start_index": total + 5})
	if !r.IsError || !strings.Contains(text(r), "past the end") {
		t.Errorf("start_index past the end: %s", text(r))
	}
}

func TestFetchContentTypes(t *testing.T) {
	srv, _ := site(t, "", 404)
	tools := testTools(t, nil)

	r := callTool(t, tools, map[string]any{"url": srv.URL + "/data.json"})
	if !strings.Contains(text(r), "{\n  \"b\": [\n    1,\n    2\n  ],\n  \"a\": \"x\"\n}") {
		t.Errorf("JSON not pretty-printed: %s", text(r))
	}
	r = callTool(t, tools, map[string]any{"url": srv.URL + "/data.json", "raw": true})
	if !strings.Contains(text(r), `{"b":[1,2],"a":"x"}`) {
		t.Errorf("raw JSON changed: %s", text(r))
	}
	r = callTool(t, tools, map[string]any{"url": srv.URL + "/notes.txt"})
	if !strings.HasSuffix(text(r), "line one\n  line *two*\n") {
		t.Errorf("text changed: %q", text(r))
	}
	r = callTool(t, tools, map[string]any{"url": srv.URL + "/article", "raw": true, "max_length": 50})
	if !strings.Contains(text(r), "<!DOCTYPE html>") {
		t.Errorf("raw HTML: %s", text(r))
	}
	r = callTool(t, tools, map[string]any{"url": srv.URL + "/latin1"})
	if !strings.Contains(text(r), "crème brûlée") || structured(t, r).Title != "Café" {
		t.Errorf("ISO-8859-1 page: %s", text(r))
	}

	r = callTool(t, tools, map[string]any{"url": srv.URL + "/image.png"})
	if r.IsError || len(r.Content) != 2 {
		t.Fatalf("image: %+v", r)
	}
	img, ok := r.Content[1].(mcp.ImageContent)
	if !ok || img.MIMEType != "image/png" {
		t.Fatalf("image content %+v", r.Content[1])
	}
	data, _ := base64.StdEncoding.DecodeString(img.Data)
	if !bytes.Equal(data, testPNG(t, 8)) {
		t.Error("image bytes differ")
	}

	r = callTool(t, tools, map[string]any{"url": srv.URL + "/report.pdf"})
	if !r.IsError || !strings.Contains(text(r), "binary content (application/pdf") {
		t.Errorf("PDF: %s", text(r))
	}
}

func TestFetchImageOverCap(t *testing.T) {
	srv, _ := site(t, "", 404)
	tools := testTools(t, &Options{Client: safehttp.Options{MaxBodyBytes: 64}})
	r := callTool(t, tools, map[string]any{"url": srv.URL + "/image.png"})
	if !r.IsError || !strings.Contains(text(r), "larger than the 64 bytes size limit") {
		t.Errorf("oversized image: %s", text(r))
	}
}

func TestFetchRedirectsOff(t *testing.T) {
	srv, _ := site(t, "", 404)
	tools := testTools(t, &Options{Client: safehttp.Options{MaxRedirects: -1}})
	r := callTool(t, tools, map[string]any{"url": srv.URL + "/old-article"})
	if r.IsError || !strings.Contains(text(r), "it redirects to "+srv.URL+"/article, which was not followed") {
		t.Errorf("redirect: %s", text(r))
	}
	if res := structured(t, r); res.Status != 301 || res.URL != srv.URL+"/old-article" {
		t.Errorf("redirect structured: %+v", res)
	}
}

func TestFetchHTTPError(t *testing.T) {
	srv, _ := site(t, "", 404)
	tools := testTools(t, nil)
	r := callTool(t, tools, map[string]any{"url": srv.URL + "/missing", "max_length": 200})
	if !r.IsError {
		t.Fatal("404 is not an error result")
	}
	got := text(r)
	if !strings.HasPrefix(got, "HTTP 404 Not Found from "+srv.URL+"/missing.") || !strings.Contains(got, "# Not found") {
		t.Errorf("404 text: %s", got)
	}
	if res := structured(t, r); res.Status != 404 || res.NextStartIndex == nil || *res.NextStartIndex != 200 {
		t.Errorf("404 structured: %+v", res)
	}
}

func TestFetchDecompressionBomb(t *testing.T) {
	srv, _ := site(t, "", 404)
	tools := testTools(t, &Options{Client: safehttp.Options{MaxBodyBytes: 100000}})
	r := callTool(t, tools, map[string]any{"url": srv.URL + "/bomb", "max_length": 10})
	if r.IsError || !strings.Contains(text(r), "larger than the 97.7 KiB size limit") {
		t.Fatalf("bomb: %s", text(r))
	}
	if res := structured(t, r); !res.Truncated || res.Length != 100000 {
		t.Errorf("bomb structured: %+v", res)
	}
}

func TestFetchRequestOptions(t *testing.T) {
	srv, _ := site(t, "", 404)
	tools := testTools(t, &Options{UserAgent: "OperatorBot/2.0"})
	r := callTool(t, tools, map[string]any{"url": srv.URL + "/echo"})
	if !strings.Contains(text(r), "GET /echo UA=OperatorBot/2.0 X-Test= body=") {
		t.Errorf("default request: %s", text(r))
	}
	r = callTool(t, tools, map[string]any{
		"url": srv.URL + "/echo", "method": "post", "body": "q=1",
		"headers": map[string]any{"X-Test": "yes"}, "user_agent": "CallerBot/1.0",
	})
	if !strings.Contains(text(r), "POST /echo UA=CallerBot/1.0 X-Test=yes body=q=1") {
		t.Errorf("POST: %s", text(r))
	}
}

func TestFetchArgumentErrors(t *testing.T) {
	srv, _ := site(t, "", 404)
	tools := testTools(t, nil)
	for _, c := range []struct {
		args map[string]any
		want string
	}{
		{map[string]any{}, "url argument is required"},
		{map[string]any{"url": "example.com/page"}, "not an absolute http or https URL"},
		{map[string]any{"url": "ftp://example.com/"}, "not an absolute http or https URL"},
		{map[string]any{"url": 42}, "Invalid arguments"},
		{map[string]any{"url": srv.URL, "max_length": 0}, "max_length must be"},
		{map[string]any{"url": srv.URL, "max_length": 2.5}, "max_length must be"},
		{map[string]any{"url": srv.URL, "start_index": -1}, "start_index must be"},
		{map[string]any{"url": srv.URL, "method": "DELETE"}, `method "DELETE" is not supported`},
		{map[string]any{"url": srv.URL, "body": "x"}, "only be sent with method POST"},
		{map[string]any{"url": srv.URL, "headers": map[string]any{"Host": "evil"}}, "Header Host is set by the fetch tool"},
		{map[string]any{"url": srv.URL, "headers": map[string]any{"Bad Name": "x"}}, "not a valid HTTP header name"},
		{map[string]any{"url": srv.URL, "headers": map[string]any{"X-A": "a\r\nX-B: b"}}, "single line"},
		{map[string]any{"url": srv.URL, "user_agent": "a\nb"}, "single line"},
		{map[string]any{"url": srv.URL, "timeout": 3600}, "timeout must be"},
	} {
		r := callTool(t, tools, c.args)
		if !r.IsError || !strings.Contains(text(r), c.want) {
			t.Errorf("args %v: %q, want an error mentioning %q", c.args, text(r), c.want)
		}
	}
}

func TestFetchTimeout(t *testing.T) {
	srv, _ := site(t, "", 404)
	tools := testTools(t, &Options{Client: safehttp.Options{Timeout: 10 * time.Second}})
	start := time.Now()
	r := callTool(t, tools, map[string]any{"url": srv.URL + "/slow", "timeout": 0.2})
	if !r.IsError || !strings.Contains(text(r), "timed out after 0.2 seconds") {
		t.Errorf("slow page: %s", text(r))
	}
	if time.Since(start) > 3*time.Second {
		t.Errorf("the per-call timeout did not apply: %v", time.Since(start))
	}
}

// TestFetchRefusesInternalAddresses: the model is told why an internal
// address is refused, and no connection is made. Every connection the
// tools could make goes through an outbound proxy that is a loopback trap,
// so a guard failure would show as a connection there, never as a packet
// off this host.
func TestFetchRefusesInternalAddresses(t *testing.T) {
	var trapped atomic.Int32
	trap := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		trapped.Add(1)
		w.WriteHeader(http.StatusBadGateway)
	}))
	defer trap.Close()
	proxy, _ := url.Parse(trap.URL)
	P := proxy.Port()
	tools, err := New(&Options{IgnoreRobots: true, Logger: slog.New(slog.DiscardHandler), Client: safehttp.Options{
		Proxy:    proxy,
		Resolver: resolverOf{"intranet.example": "10.1.2.3", "sneaky.example": "127.0.0.1"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ url, want string }{
		{"http://127.0.0.1:" + P + "/", "loopback"},
		{"http://sneaky.example:" + P + "/admin", "loopback"},
		{"http://intranet.example:" + P + "/", "private network"},
		{"http://169.254.169.254/latest/meta-data/iam/", "cloud metadata"},
		{"http://[::ffff:10.0.0.1]:" + P + "/", "private network"},
	} {
		r := callTool(t, tools, map[string]any{"url": c.url})
		if !r.IsError || !strings.Contains(text(r), "Refused to fetch") || !strings.Contains(text(r), c.want) {
			t.Errorf("%s: %s", c.url, text(r))
		}
	}
	// With robots.txt checks on, the refusal (or a missing name) is still
	// what the model is told, not a robots.txt problem.
	withRobots, err := New(&Options{Logger: slog.New(slog.DiscardHandler), Client: safehttp.Options{
		Proxy:    proxy,
		Resolver: resolverOf{"sneaky.example": "127.0.0.1"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ url, want string }{
		{"http://sneaky.example:" + P + "/admin", "sneaky.example is 127.0.0.1, which is not a public internet address (loopback)"},
		{"http://no-such-host.example:" + P + "/", "the host name no-such-host.example could not be resolved"},
	} {
		r := callTool(t, withRobots, map[string]any{"url": c.url})
		if !r.IsError || !strings.Contains(text(r), c.want) {
			t.Errorf("%s: %s", c.url, text(r))
		}
	}
	if n := trapped.Load(); n != 0 {
		t.Errorf("the trap proxy saw %d requests", n)
	}
}

// resolverOf answers each name with one address; other names do not
// exist. No test touches real DNS.
type resolverOf map[string]string

func (r resolverOf) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	a, ok := r[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	return []netip.Addr{netip.MustParseAddr(a)}, nil
}

func TestFetchRobots(t *testing.T) {
	robots := "User-agent: *\nDisallow: /\n\nUser-agent: ModelContextProtocol\nAllow: /article\nDisallow: /private/\n"
	srv, hits := site(t, robots, 200)
	now := time.Unix(1_800_000_000, 0)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	tools := testTools(t, &Options{Now: clock})

	r := callTool(t, tools, map[string]any{"url": srv.URL + "/article"})
	if r.IsError {
		t.Fatalf("allowed page refused: %s", text(r))
	}
	r = callTool(t, tools, map[string]any{"url": srv.URL + "/private/x"})
	if !r.IsError || !strings.Contains(text(r), "robots.txt ("+srv.URL+"/robots.txt) does not allow automated fetching") {
		t.Errorf("disallowed page: %s", text(r))
	}
	// A caller-chosen user agent does not change which rules apply.
	r = callTool(t, tools, map[string]any{"url": srv.URL + "/private/x", "user_agent": "Googlebot/2.1"})
	if !r.IsError {
		t.Error("a different user_agent escaped robots.txt")
	}
	if hits.Load() != 1 {
		t.Errorf("robots.txt fetched %d times, want 1 (cached)", hits.Load())
	}
	mu.Lock()
	now = now.Add(DefaultRobotsCacheTTL + time.Second)
	mu.Unlock()
	callTool(t, tools, map[string]any{"url": srv.URL + "/article"})
	if hits.Load() != 2 {
		t.Errorf("robots.txt fetched %d times after expiry, want 2", hits.Load())
	}

	// Another agent's view: everything is disallowed for "*".
	other := testTools(t, &Options{UserAgent: "OtherBot/1.0"})
	if r := callTool(t, other, map[string]any{"url": srv.URL + "/article"}); !r.IsError {
		t.Error("the * group did not apply to another agent")
	}
	ignoring := testTools(t, &Options{IgnoreRobots: true})
	if r := callTool(t, ignoring, map[string]any{"url": srv.URL + "/private/x"}); r.IsError {
		t.Errorf("IgnoreRobots: %s", text(r))
	}
}

func TestFetchRobotsStatuses(t *testing.T) {
	for _, c := range []struct {
		status  int
		allowed bool
	}{{404, true}, {403, true}, {500, false}, {503, false}} {
		srv, _ := site(t, "User-agent: *\nDisallow: /\n", c.status)
		tools := testTools(t, nil)
		r := callTool(t, tools, map[string]any{"url": srv.URL + "/article"})
		if r.IsError == c.allowed {
			t.Errorf("robots.txt status %d: error=%v: %s", c.status, r.IsError, text(r))
		}
		if !c.allowed && !strings.Contains(text(r), "could not be read") {
			t.Errorf("robots.txt status %d: %s", c.status, text(r))
		}
	}
}

func TestRobotsCacheBound(t *testing.T) {
	c := newRobotsCache(nil, "Bot/1", 3, time.Hour, time.Now)
	for i := range 10 {
		c.store(&robotsEntry{site: fmt.Sprint("http://s", i), rules: allowAll, expires: time.Now().Add(time.Hour)})
	}
	if c.len() != 3 || c.lookup("http://s9") == nil || c.lookup("http://s0") != nil {
		t.Errorf("cache holds %d entries", c.len())
	}
}

func TestToolDefinition(t *testing.T) {
	tools := testTools(t, &Options{MaxTimeout: time.Minute})
	tool := tools.Tool()
	b, err := json.Marshal(tool)
	if err != nil {
		t.Fatal(err)
	}
	var def struct {
		Name        string `json:"name"`
		InputSchema struct {
			Required   []string                  `json:"required"`
			Properties map[string]map[string]any `json:"properties"`
		} `json:"inputSchema"`
		OutputSchema struct {
			Properties map[string]any `json:"properties"`
		} `json:"outputSchema"`
	}
	if err := json.Unmarshal(b, &def); err != nil {
		t.Fatal(err)
	}
	if def.Name != "fetch" || len(def.InputSchema.Required) != 1 || def.InputSchema.Required[0] != "url" {
		t.Errorf("definition %s", b)
	}
	for _, p := range []string{"url", "max_length", "start_index", "raw", "method", "headers", "body", "user_agent", "timeout"} {
		if def.InputSchema.Properties[p] == nil {
			t.Errorf("input schema lacks %s", p)
		}
	}
	if def.InputSchema.Properties["timeout"]["maximum"] != 60.0 {
		t.Errorf("timeout maximum %v", def.InputSchema.Properties["timeout"]["maximum"])
	}
	for _, p := range []string{"url", "status", "content_type", "title", "next_start_index"} {
		if def.OutputSchema.Properties[p] == nil {
			t.Errorf("output schema lacks %s: %s", p, b)
		}
	}
}

func TestNewValidates(t *testing.T) {
	for _, o := range []*Options{
		{MaxTimeout: time.Second, Client: safehttp.Options{Timeout: time.Minute}},
		{DefaultMaxLength: MaxLengthLimit + 1},
		{UserAgent: "a\r\nb"},
		{RobotsCacheSize: -1},
		{Client: safehttp.Options{AllowedSchemes: []string{"gopher"}}},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("New(%+v) accepted bad options", o)
		}
	}
}

package fetch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/mcp-oauth-gateway/gateway/fetch/safehttp"
	"github.com/mcp-oauth-gateway/gateway/mcpserver"
)

// Defaults of Options fields and limits of the tool's arguments.
const (
	// DefaultUserAgent is sent on every fetch unless the operator or the
	// call sets another. Its product token, ModelContextProtocol, is what
	// robots.txt groups are matched against.
	DefaultUserAgent = "ModelContextProtocol/1.0 (Autonomous; +https://github.com/mcp-oauth-gateway/gateway)"
	// DefaultMaxLength is how many characters of content one call returns
	// unless it asks for another amount.
	DefaultMaxLength = 5000
	// MaxLengthLimit is the largest max_length a call may ask for.
	MaxLengthLimit = 1_000_000
	// DefaultRobotsCacheSize and DefaultRobotsCacheTTL bound the robots.txt
	// cache.
	DefaultRobotsCacheSize = 1000
	DefaultRobotsCacheTTL  = time.Hour
)

// Options configure the fetch tool set. A nil *Options means all defaults;
// each field documents its zero value.
type Options struct {
	// Client configures the SSRF guard every fetch goes through: schemes,
	// ports, domain lists, the private-address switch, redirects, the body
	// size cap (zero: 10 MiB) and the default per-call timeout
	// (Client.Timeout; zero: 30 s).
	Client safehttp.Options
	// MaxTimeout is the longest timeout a call may ask for with its
	// "timeout" argument. Zero: Client.Timeout, so calls can only shorten
	// it.
	MaxTimeout time.Duration
	// UserAgent is sent when a call names none. Zero: DefaultUserAgent.
	UserAgent string
	// DefaultMaxLength is the max_length of calls that give none. Zero:
	// 5000 characters.
	DefaultMaxLength int

	// IgnoreRobots turns off robots.txt checks. Zero: every fetch first
	// checks the site's robots.txt for the product token of UserAgent (the
	// text before its first "/"), and a disallowed URL is refused.
	IgnoreRobots bool
	// RobotsCacheSize caps how many sites' robots.txt rules are kept. Zero:
	// 1000.
	RobotsCacheSize int
	// RobotsCacheTTL is how long robots.txt rules are kept (failures: at
	// most a minute). Zero: one hour.
	RobotsCacheTTL time.Duration

	// Logger receives one line per fetch (site and path, never the query).
	// Zero: slog.Default().
	Logger *slog.Logger
	// Now is the clock. Zero: time.Now.
	Now func() time.Time
}

// Tools is the fetch tool set. Build it with New, then Register it on an
// mcpserver.Server, or call Fetch directly. It is safe for concurrent use.
type Tools struct {
	transport  *safehttp.Transport
	client     *http.Client
	robots     *robotsCache
	userAgent  string
	timeout    time.Duration
	maxTimeout time.Duration
	maxLength  int
	log        *slog.Logger
	now        func() time.Time
}

// New validates opts and returns the tool set.
func New(opts *Options) (*Tools, error) {
	if opts == nil {
		opts = &Options{}
	}
	t := &Tools{
		userAgent:  opts.UserAgent,
		timeout:    opts.Client.Timeout,
		maxTimeout: opts.MaxTimeout,
		maxLength:  opts.DefaultMaxLength,
		log:        opts.Logger,
		now:        opts.Now,
	}
	if t.userAgent == "" {
		t.userAgent = DefaultUserAgent
	}
	if strings.ContainsAny(t.userAgent, "\r\n") {
		return nil, errors.New("fetch: UserAgent must be one line")
	}
	if t.timeout == 0 {
		t.timeout = safehttp.DefaultTimeout
	}
	if t.maxTimeout == 0 {
		t.maxTimeout = t.timeout
	}
	if t.timeout < 0 || t.maxTimeout < t.timeout {
		return nil, fmt.Errorf("fetch: MaxTimeout (%v) must not be below Client.Timeout (%v)", t.maxTimeout, t.timeout)
	}
	if t.maxLength == 0 {
		t.maxLength = DefaultMaxLength
	}
	if t.maxLength < 0 || t.maxLength > MaxLengthLimit {
		return nil, fmt.Errorf("fetch: DefaultMaxLength must be between 1 and %d", MaxLengthLimit)
	}
	if t.log == nil {
		t.log = slog.Default()
	}
	if t.now == nil {
		t.now = time.Now
	}
	clientOpts := opts.Client
	clientOpts.Timeout = t.maxTimeout // each call sets its own deadline
	tp, err := safehttp.NewTransport(&clientOpts)
	if err != nil {
		return nil, err
	}
	t.transport = tp
	t.client = tp.Client()
	if !opts.IgnoreRobots {
		size, ttl := opts.RobotsCacheSize, opts.RobotsCacheTTL
		if size == 0 {
			size = DefaultRobotsCacheSize
		}
		if ttl == 0 {
			ttl = DefaultRobotsCacheTTL
		}
		if size < 0 || ttl < 0 {
			return nil, errors.New("fetch: RobotsCacheSize and RobotsCacheTTL must not be negative")
		}
		robotsOpts := clientOpts
		robotsOpts.MaxBodyBytes = maxRobotsBytes
		rt, err := safehttp.NewTransport(&robotsOpts)
		if err != nil {
			return nil, err
		}
		t.robots = newRobotsCache(rt.Client(), t.userAgent, size, ttl, t.now)
	}
	return t, nil
}

// Transport is the guarded transport the tools fetch with.
func (t *Tools) Transport() *safehttp.Transport { return t.transport }

// Register adds the fetch tool to s.
func (t *Tools) Register(s *mcpserver.Server) {
	s.AddTool(t.Tool(), t.Fetch)
}

// Close releases idle connections.
func (t *Tools) Close() error {
	t.transport.CloseIdleConnections()
	if t.robots != nil {
		t.robots.client.Transport.(*safehttp.Transport).CloseIdleConnections()
	}
	return nil
}

// Result is the fetch tool's structured content.
type Result struct {
	// URL is the final URL, after redirects.
	URL string `json:"url" jsonschema:"the final URL, after redirects"`
	// Status is the HTTP status code.
	Status int `json:"status" jsonschema:"the HTTP status code"`
	// ContentType is the response's media type.
	ContentType string `json:"content_type,omitempty" jsonschema:"the response media type"`
	// Title is an HTML page's title.
	Title string `json:"title,omitempty" jsonschema:"the page title, for HTML"`
	// Length is the length of the whole converted content, in characters.
	Length int `json:"length" jsonschema:"characters in the whole converted content"`
	// StartIndex is the first character returned.
	StartIndex int `json:"start_index" jsonschema:"the first character returned"`
	// NextStartIndex, when set, is the start_index that continues the
	// content.
	NextStartIndex *int `json:"next_start_index,omitempty" jsonschema:"start_index of the next part, when the content was cut"`
	// Truncated reports that the response body was larger than the size
	// limit and only its beginning was read.
	Truncated bool `json:"truncated,omitempty" jsonschema:"the response exceeded the size limit and only its beginning was read"`
}

// Tool is the fetch tool's definition.
func (t *Tools) Tool() mcp.Tool {
	desc := "Fetches a URL from the internet and returns its content. " +
		"HTML pages are converted to markdown (main content, links made absolute), JSON is pretty-printed, " +
		"text is returned as is and images as image content. Long content is returned in parts: " +
		"when it is cut, the result says which start_index continues it. " +
		"Only public internet addresses can be reached"
	if t.robots != nil {
		desc += ", and sites' robots.txt rules are honoured"
	}
	return mcp.NewTool("fetch",
		mcp.WithTitleAnnotation("Fetch a URL"),
		mcp.WithDescription(desc+"."),
		mcp.WithString("url", mcp.Required(), mcp.Description("The http or https URL to fetch.")),
		mcp.WithInteger("max_length", mcp.Description("Maximum number of characters to return."),
			mcp.DefaultNumber(t.maxLength), mcp.Min(1), mcp.Max(MaxLengthLimit)),
		mcp.WithInteger("start_index", mcp.Description("Character to start from, to continue content that was cut."),
			mcp.DefaultNumber(0), mcp.Min(0)),
		mcp.WithBoolean("raw", mcp.Description("Return the content as received, without converting HTML to markdown or formatting JSON."),
			mcp.DefaultBool(false)),
		mcp.WithString("method", mcp.Description("HTTP method."), mcp.Enum("GET", "POST"), mcp.DefaultString("GET")),
		mcp.WithObject("headers", mcp.Description("Extra HTTP request headers."),
			mcp.AdditionalProperties(map[string]any{"type": "string"})),
		mcp.WithString("body", mcp.Description("Request body, for POST.")),
		mcp.WithString("user_agent", mcp.Description("User-Agent header to send instead of the server's.")),
		mcp.WithNumber("timeout", mcp.Description(fmt.Sprintf("Time limit in seconds (at most %g).", t.maxTimeout.Seconds())),
			mcp.Min(0.1), mcp.Max(t.maxTimeout.Seconds())),
		mcp.WithOutputSchema[Result](),
		mcp.WithReadOnlyHintAnnotation(true),
		mcp.WithDestructiveHintAnnotation(false),
		mcp.WithIdempotentHintAnnotation(false),
		mcp.WithOpenWorldHintAnnotation(true),
	)
}

// fetchArgs are the fetch tool's arguments: the reference fetch server's
// (url, max_length, start_index, raw) and the original Python server's
// (method, headers, body, user_agent), plus timeout.
type fetchArgs struct {
	URL        string            `json:"url"`
	MaxLength  *float64          `json:"max_length"`
	StartIndex *float64          `json:"start_index"`
	Raw        bool              `json:"raw"`
	Method     string            `json:"method"`
	Headers    map[string]string `json:"headers"`
	Body       *string           `json:"body"`
	UserAgent  string            `json:"user_agent"`
	Timeout    *float64          `json:"timeout"`
}

// Fetch is the fetch tool's handler. Problems the caller can act on (a
// refused or unreachable URL, an HTTP error, robots.txt) come back as a
// result with IsError set and a message for the model; the returned error
// is always nil.
func (t *Tools) Fetch(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	var args fetchArgs
	if err := req.BindArguments(&args); err != nil {
		return mcp.NewToolResultError("Invalid arguments: " + err.Error()), nil
	}
	call, problem := t.prepare(&args)
	if problem != "" {
		return mcp.NewToolResultError(problem), nil
	}
	return t.run(ctx, call), nil
}

// call is a validated fetch.
type call struct {
	url        *url.URL
	method     string
	header     http.Header
	body       string
	raw        bool
	maxLength  int
	startIndex int
	timeout    time.Duration
}

// prepare validates the arguments; a non-empty problem is the message for
// the model.
func (t *Tools) prepare(a *fetchArgs) (*call, string) {
	c := &call{method: http.MethodGet, maxLength: t.maxLength, timeout: t.timeout, raw: a.Raw, header: http.Header{}}
	raw := strings.TrimSpace(a.URL)
	if raw == "" {
		return nil, "The url argument is required: give the full http:// or https:// URL to fetch."
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Sprintf("%q is not an absolute http or https URL; give the full URL, such as https://example.com/page.", a.URL)
	}
	u.Fragment, u.RawFragment = "", ""
	c.url = u
	if a.MaxLength != nil {
		n := *a.MaxLength
		if n != float64(int(n)) || n < 1 || n > MaxLengthLimit {
			return nil, fmt.Sprintf("max_length must be a whole number between 1 and %d.", MaxLengthLimit)
		}
		c.maxLength = int(n)
	}
	if a.StartIndex != nil {
		n := *a.StartIndex
		if n != float64(int(n)) || n < 0 || n > 1e12 {
			return nil, "start_index must be a whole number, 0 or more."
		}
		c.startIndex = int(n)
	}
	if a.Timeout != nil {
		d := time.Duration(*a.Timeout * float64(time.Second))
		if *a.Timeout <= 0 || d > t.maxTimeout {
			return nil, fmt.Sprintf("timeout must be more than 0 and at most %g seconds.", t.maxTimeout.Seconds())
		}
		c.timeout = d
	}
	switch m := strings.ToUpper(strings.TrimSpace(a.Method)); m {
	case "", http.MethodGet:
	case http.MethodPost:
		c.method = m
	default:
		return nil, fmt.Sprintf("method %q is not supported; use GET or POST.", a.Method)
	}
	if a.Body != nil {
		if c.method != http.MethodPost {
			return nil, "A body can only be sent with method POST."
		}
		c.body = *a.Body
	}
	for k, v := range a.Headers {
		if problem := checkHeader(k, v); problem != "" {
			return nil, problem
		}
		c.header.Set(k, v)
	}
	ua := t.userAgent
	if a.UserAgent != "" {
		if strings.ContainsAny(a.UserAgent, "\r\n\x00") {
			return nil, "user_agent must be a single line."
		}
		ua = a.UserAgent
	}
	c.header.Set("User-Agent", ua)
	if c.header.Get("Accept") == "" {
		c.header.Set("Accept", "text/html,application/xhtml+xml,application/json;q=0.9,text/*;q=0.8,image/*;q=0.7,*/*;q=0.5")
	}
	return c, ""
}

// run fetches and shapes the result.
func (t *Tools) run(ctx context.Context, c *call) *mcp.CallToolResult {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	start := t.now()
	if err := t.transport.CheckURL(c.url); err != nil {
		return mcp.NewToolResultError(t.describe(c, err))
	}
	if t.robots != nil {
		if err := t.robots.check(ctx, c.url); err != nil {
			return mcp.NewToolResultError(t.describe(c, err))
		}
	}
	var body io.Reader
	if c.method == http.MethodPost {
		body = strings.NewReader(c.body)
	}
	req, err := http.NewRequestWithContext(ctx, c.method, c.url.String(), body)
	if err != nil {
		return mcp.NewToolResultError(t.describe(c, err))
	}
	req.Header = c.header
	resp, err := t.client.Do(req)
	if err != nil {
		t.log.InfoContext(ctx, "fetch failed", "site", c.url.Scheme+"://"+c.url.Host, "path", c.url.Path, "error", unwrapURLError(err))
		return mcp.NewToolResultError(t.describe(c, err))
	}
	defer resp.Body.Close()
	content, err := readContent(resp, t.transport.MaxBodyBytes())
	if err != nil {
		return mcp.NewToolResultError(t.describe(c, err))
	}
	t.log.InfoContext(ctx, "fetch", "site", resp.Request.URL.Scheme+"://"+resp.Request.URL.Host,
		"path", resp.Request.URL.Path, "status", resp.StatusCode, "bytes", len(content.body),
		"truncated", content.truncated, "duration", t.now().Sub(start))
	return t.shape(c, resp, content)
}

// checkHeader refuses request headers a caller must not set: those the
// transport owns and malformed ones.
func checkHeader(k, v string) string {
	if !validHeaderName(k) {
		return fmt.Sprintf("%q is not a valid HTTP header name.", k)
	}
	if strings.ContainsAny(v, "\r\n\x00") {
		return fmt.Sprintf("The value of header %s must be a single line.", k)
	}
	switch strings.ToLower(k) {
	case "host", "content-length", "transfer-encoding", "connection", "keep-alive", "upgrade",
		"te", "trailer", "expect", "accept-encoding", "proxy-authorization", "proxy-connection":
		return fmt.Sprintf("Header %s is set by the fetch tool itself and cannot be given.", k)
	}
	return ""
}

func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// describe turns a fetch error into a message a model can act on.
func (t *Tools) describe(c *call, err error) string {
	var refused *safehttp.RefusedError
	var robots *RobotsError
	var dnsErr *net.DNSError
	if errors.As(err, &robots) && robots.Err != nil && (errors.As(robots.Err, &refused) || errors.As(robots.Err, &dnsErr) ||
		errors.Is(robots.Err, context.DeadlineExceeded) || isTimeout(robots.Err)) {
		// The site itself is unreachable or slow: say that, not "robots.txt".
		err = robots.Err
	}
	switch {
	case errors.As(err, &robots):
		if robots.Err != nil {
			return fmt.Sprintf("Cannot fetch %s: the site's robots.txt (%s) could not be read (%v), and without it automated fetching is not allowed. Try again later, or ask the user to open the page themselves.",
				c.url, robots.RobotsURL, robots.Err)
		}
		return fmt.Sprintf("Cannot fetch %s: the site's robots.txt (%s) does not allow automated fetching of this page by %s. Tell the user; they can open the page themselves and paste its content.",
			c.url, robots.RobotsURL, robots.Agent)
	case errors.As(err, &refused):
		why := refused.Reason
		switch {
		case refused.Addr.IsValid() && refused.Host != "" && refused.Host != refused.Addr.String():
			why = fmt.Sprintf("%s is %s, which is not a public internet address (%s)", refused.Host, refused.Addr, refused.Reason)
		case refused.Addr.IsValid():
			why = fmt.Sprintf("%s is not a public internet address (%s)", refused.Addr, refused.Reason)
		}
		return fmt.Sprintf("Refused to fetch %s: %s. The fetch tool only reaches public internet addresses on allowed ports and domains; do not retry this URL.",
			c.url, why)
	case errors.Is(err, safehttp.ErrTooManyRedirects):
		return fmt.Sprintf("Cannot fetch %s: it redirects too many times (%s).", c.url, plainError(err))
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		return fmt.Sprintf("Fetching %s timed out after %g seconds. The site may be slow or down; try again later, or with a longer timeout (at most %g seconds).",
			c.url, c.timeout.Seconds(), t.maxTimeout.Seconds())
	case errors.Is(err, context.Canceled):
		return fmt.Sprintf("Fetching %s was cancelled.", c.url)
	case errors.As(err, &dnsErr):
		return fmt.Sprintf("Cannot fetch %s: the host name %s could not be resolved (%s). Check the URL for typos.", c.url, dnsErr.Name, dnsErr.Err)
	}
	return fmt.Sprintf("Cannot fetch %s: %s.", c.url, plainError(err))
}

// plainError is err's message for a model: without the url.Error wrapper
// and the package prefix.
func plainError(err error) string {
	msg := unwrapURLError(err).Error()
	for _, prefix := range []string{"fetch: ", "safehttp: "} {
		msg = strings.TrimPrefix(msg, prefix)
	}
	return msg
}

func unwrapURLError(err error) error {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		return uerr.Err
	}
	return err
}

func isTimeout(err error) bool {
	var te interface{ Timeout() bool }
	return errors.As(err, &te) && te.Timeout()
}

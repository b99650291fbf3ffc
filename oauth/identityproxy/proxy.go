package identityproxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"

	"github.com/mcp-oauth-gateway/gateway/oauth"
)

// DefaultMaxBodyBytes is the default of Options.MaxBodyBytes.
const DefaultMaxBodyBytes = 4 << 20

// Options configure a Proxy. A nil *Options means all defaults; each field
// documents its zero value.
type Options struct {
	// Transport sends the requests upstream. Zero: http.DefaultTransport's
	// settings without proxies from the environment (HTTP_PROXY) and with
	// up to 100 idle connections kept to the upstream.
	Transport http.RoundTripper
	// Header is added to every request upstream, after the client's
	// headers are cleaned: a credential of the gateway's own for the
	// service, for example. Identity headers in it are overwritten by the
	// caller's. Zero: none.
	Header http.Header
	// HeaderFor, when set, gives headers of one request's own, added after
	// Header: the caller's own upstream token, for example, from the
	// request's context (oauth.UpstreamTokenFromContext). Identity headers
	// in it are overwritten by the caller's. Zero: none.
	HeaderFor func(r *http.Request) http.Header
	// MaxBodyBytes caps a request body; a larger one gets 413. Zero: 4 MiB.
	// Negative: no cap.
	MaxBodyBytes int64
	// Logger receives failures to reach the upstream. Zero: slog.Default().
	Logger *slog.Logger
}

// Proxy is the http.Handler that forwards to one upstream URL. It is safe
// for concurrent use.
type Proxy struct {
	target  *url.URL
	header  http.Header
	extra   func(r *http.Request) http.Header
	maxBody int64
	log     *slog.Logger
	rp      *httputil.ReverseProxy
}

// New returns a Proxy to target, the upstream's endpoint: an absolute
// http or https URL such as "http://127.0.0.1:9000/mcp".
func New(target string, opts *Options) (*Proxy, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.Fragment != "" {
		return nil, fmt.Errorf("identityproxy: upstream %q: want an absolute http:// or https:// URL without user info or fragment", target)
	}
	p := &Proxy{target: u, header: o.Header.Clone(), extra: o.HeaderFor, maxBody: o.MaxBodyBytes, log: o.Logger}
	if p.maxBody == 0 {
		p.maxBody = DefaultMaxBodyBytes
	}
	if p.log == nil {
		p.log = slog.Default()
	}
	if o.Transport == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.Proxy = nil
		t.MaxIdleConnsPerHost = 100
		o.Transport = t
	}
	p.rp = &httputil.ReverseProxy{
		Rewrite:        p.rewrite,
		Transport:      o.Transport,
		FlushInterval:  -1, // every write reaches the client at once: SSE
		ModifyResponse: modifyResponse,
		ErrorHandler:   p.fail,
		ErrorLog:       slog.NewLogLogger(p.log.Handler(), slog.LevelWarn),
	}
	return p, nil
}

// Target is the upstream URL.
func (p *Proxy) Target() string { return p.target.String() }

// ServeHTTP forwards r upstream, when a bearer check verified its token.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if _, ok := oauth.ClaimsFromContext(r.Context()); !ok {
		if r.Method == http.MethodOptions {
			// A CORS preflight the bearer check let through: the Guard in
			// front answers those; without one there is nothing to allow.
			w.WriteHeader(http.StatusNoContent)
			return
		}
		p.log.ErrorContext(r.Context(), "identityproxy: a request without a verified token reached the proxy; "+
			"mount it behind oauth.ProtectedResource (Mount or Middleware)", "upstream", p.target.Host)
		writeRPCError(w, http.StatusInternalServerError, "the gateway is misconfigured: this service is not behind the token check")
		return
	}
	if p.maxBody > 0 && r.Body != nil {
		r.Body = http.MaxBytesReader(w, r.Body, p.maxBody)
	}
	p.rp.ServeHTTP(w, r)
}

// rewrite builds the upstream request.
func (p *Proxy) rewrite(pr *httputil.ProxyRequest) {
	out := pr.Out
	out.URL.Scheme, out.URL.Host = p.target.Scheme, p.target.Host
	out.URL.Path, out.URL.RawPath = p.target.Path, p.target.RawPath
	switch {
	case p.target.RawQuery == "":
	case out.URL.RawQuery == "":
		out.URL.RawQuery = p.target.RawQuery
	default:
		out.URL.RawQuery = p.target.RawQuery + "&" + out.URL.RawQuery
	}
	out.Host = "" // the upstream's own host
	Clean(out.Header)
	pr.SetXForwarded()
	for k, v := range p.header {
		out.Header[http.CanonicalHeaderKey(k)] = v
	}
	if p.extra != nil {
		for k, v := range p.extra(pr.In) {
			out.Header[http.CanonicalHeaderKey(k)] = v
		}
	}
	claims, _ := oauth.ClaimsFromContext(pr.In.Context())
	for k, v := range claims.IdentityHeaders() {
		out.Header[k] = v
	}
}

// Clean deletes from h, a client's request headers, every header the
// upstream must not get from the client: whatever could be taken for an
// identity header (oauth.IsIdentityHeader), the credentials
// (Authorization, Proxy-Authorization, Cookie), Origin, and the forwarding
// headers (Forwarded, X-Forwarded-*, X-Real-Ip), in any case and with _
// for -.
func Clean(h http.Header) {
	for name := range h {
		if dropped(name) {
			delete(h, name)
		}
	}
}

// dropped reports whether Clean deletes the header name.
func dropped(name string) bool {
	if oauth.IsIdentityHeader(name) {
		return true
	}
	n := strings.ToLower(strings.ReplaceAll(name, "_", "-"))
	switch n {
	case "authorization", "proxy-authorization", "cookie", "origin", "forwarded", "x-real-ip":
		return true
	}
	return strings.HasPrefix(n, "x-forwarded-")
}

// modifyResponse drops the upstream's CORS headers: the gateway's Guard
// sets its own, and two sets would confuse browsers.
func modifyResponse(resp *http.Response) error {
	for name := range resp.Header {
		if len(name) > len("Access-Control-") && strings.EqualFold(name[:len("Access-Control-")], "Access-Control-") {
			delete(resp.Header, name)
		}
	}
	return nil
}

// fail answers a request the upstream could not serve.
func (p *Proxy) fail(w http.ResponseWriter, r *http.Request, err error) {
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		writeRPCError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the request body is larger than %d bytes", mbe.Limit))
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		// The client went away; nobody reads an answer.
		p.log.DebugContext(r.Context(), "identityproxy: the client went away", "upstream", p.target.Host)
	default:
		p.log.WarnContext(r.Context(), "identityproxy: the upstream cannot be reached", "upstream", p.target.Host, "error", err)
		w.Header().Set("Retry-After", "1")
		writeRPCError(w, http.StatusBadGateway, "the upstream MCP server cannot be reached")
	}
}

// writeRPCError answers with a JSON-RPC error without an id, which MCP
// clients show.
func writeRPCError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	m, _ := json.Marshal(msg) // a string always marshals
	fmt.Fprintf(w, `{"jsonrpc":"2.0","id":null,"error":{"code":-32603,"message":%s}}`, m)
}

package oauth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mcp-oauth-gateway/gateway/fetch/safehttp"
)

// Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-
// document, MCP 2025-11-25): a client whose client_id is an https URL
// publishes its metadata there, instead of registering. The server fetches
// the document through an SSRF-guarded client (the fetch package: no
// private, loopback or link-local addresses, checked at dial time), with a
// size and time limit and without following redirects, and caches it as
// its Cache-Control or Expires header says (at most a day; a document
// without either for DefaultClientMetadataCache). A failed fetch or an
// invalid document is remembered for Limits.MetadataFailureCache: the URL
// is not fetched again meanwhile. A fetch of a URL in neither cache counts
// against the quotas of the client's address and of everyone (see
// limits.go); both caches are bounded (Limits.MaxMetadataDocuments). A
// document must name its own URL as
// client_id, have a client_name and valid redirect_uris (the rules of
// dynamic registration; matched exactly, except the port of a loopback
// redirect URI as RFC 8252 requires), and use no client secret: such
// clients are public ("none"). The consent page shows the host that
// published the document.

// Defaults of the Client ID Metadata Document options.
const (
	DefaultClientMetadataMaxBytes = 5 << 10
	DefaultClientMetadataTimeout  = 5 * time.Second
	DefaultClientMetadataCache    = 5 * time.Minute
	maxClientMetadataCache        = 24 * time.Hour
)

// isClientIDURL reports whether a client_id names a metadata document.
func isClientIDURL(id string) bool {
	return len(id) > len("https://") && strings.EqualFold(id[:len("https://")], "https://")
}

// checkClientIDURL applies the rules of a Client Identifier URL: https, no
// user info, a path, no dot segments, no fragment.
func checkClientIDURL(id string) error {
	if len(id) > maxURLField {
		return errors.New("the client_id URL is too long")
	}
	u, err := url.Parse(id)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.Opaque != "" {
		return errors.New("a client_id URL must be an absolute https URL")
	}
	if u.User != nil {
		return errors.New("a client_id URL must not contain user info")
	}
	if u.Fragment != "" || strings.Contains(id, "#") {
		return errors.New("a client_id URL must not contain a fragment")
	}
	if u.Path == "" {
		return errors.New("a client_id URL must have a path")
	}
	for _, seg := range strings.Split(u.EscapedPath(), "/") {
		if seg == "." || seg == ".." {
			return errors.New("a client_id URL must not contain . or .. path segments")
		}
	}
	return nil
}

// clientDocuments fetches, validates and caches Client ID Metadata
// Documents.
type clientDocuments struct {
	s        *Server
	http     *http.Client
	maxBytes int64
	timeout  time.Duration
	log      *slog.Logger

	mu       sync.Mutex
	cache    *ttlCache[*Client]
	failed   *ttlCache[error] // nil: failures are not remembered
	failTTL  time.Duration
	inflight map[string]*clientFetch
}

type clientFetch struct {
	done   chan struct{}
	client *Client
	err    error
}

func newClientDocuments(s *Server, opts *Options) (*clientDocuments, error) {
	d := &clientDocuments{
		s:        s,
		maxBytes: cmpOr(opts.ClientMetadataMaxBytes, DefaultClientMetadataMaxBytes),
		timeout:  cmpOr(opts.ClientMetadataTimeout, DefaultClientMetadataTimeout),
		log:      s.log,
		inflight: make(map[string]*clientFetch),
	}
	if d.maxBytes < 0 || d.timeout < 0 {
		return nil, errors.New("oauth: ClientMetadataMaxBytes and ClientMetadataTimeout must not be negative")
	}
	entries := limit(opts.Limits.MaxMetadataDocuments, DefaultMaxMetadataDocuments)
	d.cache = newTTLCache[*Client](entries)
	if d.failTTL = cmpOr(opts.Limits.MetadataFailureCache, DefaultMetadataFailureCache); d.failTTL > 0 && entries > 0 {
		d.failed = newTTLCache[error](entries)
	}
	base := opts.ClientMetadataHTTPClient
	if base == nil {
		var err error
		base, err = safehttp.NewClient(&safehttp.Options{
			AllowedSchemes: []string{"https"},
			MaxRedirects:   -1,
			MaxBodyBytes:   d.maxBytes + 1,
			Timeout:        d.timeout,
		})
		if err != nil {
			return nil, fmt.Errorf("oauth: client metadata fetcher: %w", err)
		}
	}
	// Never follow a redirect (the draft forbids it), whatever the client
	// was built with.
	c := *base
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	d.http = &c
	return d, nil
}

// clientError is what a client that cannot be used gets: at /authorize an
// error page, at the token endpoint invalid_client.
func clientError(format string, args ...any) *Error {
	return &Error{Code: ErrorInvalidClient, Description: fmt.Sprintf(format, args...), Status: http.StatusBadRequest}
}

// client returns the client the document at id describes: from the
// cache, or the answer of a fetch in flight for it, or of a new fetch if
// the quotas allow one.
func (d *clientDocuments) client(ctx context.Context, id string) (*Client, error) {
	if err := checkClientIDURL(id); err != nil {
		return nil, clientError("%v.", err)
	}
	f, c, err, _ := d.lookup(id, false)
	if f == nil && c == nil && err == nil {
		if err := d.s.admit(ctx, d.s.quotas.metadata); err != nil {
			return nil, err
		}
		var mine bool
		if f, c, err, mine = d.lookup(id, true); mine {
			d.run(ctx, id, f)
		}
	}
	if c != nil || err != nil {
		return c, err
	}
	select {
	case <-f.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if f.err != nil {
		return nil, f.err
	}
	return f.client.Clone(), nil
}

// lookup finds id in the caches, or its fetch in flight; with start, it
// registers a new fetch when there is none, and mine says the caller must
// run it.
func (d *clientDocuments) lookup(id string, start bool) (f *clientFetch, c *Client, err error, mine bool) {
	now := d.s.now()
	d.mu.Lock()
	defer d.mu.Unlock()
	if c, ok := d.cache.get(id, now); ok {
		return nil, c.Clone(), nil, false
	}
	if d.failed != nil {
		if err, ok := d.failed.get(id, now); ok {
			return nil, nil, err, false
		}
	}
	if f, ok := d.inflight[id]; ok {
		return f, nil, nil, false
	}
	if !start {
		return nil, nil, nil, false
	}
	f = &clientFetch{done: make(chan struct{})}
	d.inflight[strings.Clone(id)] = f
	return f, nil, nil, true
}

// run fetches the document of a registered fetch and records its answer.
// The fetch is shared by concurrent callers: it must not end with the
// first caller's request.
func (d *clientDocuments) run(ctx context.Context, id string, f *clientFetch) {
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.timeout)
	var lifetime time.Duration
	f.client, lifetime, f.err = d.fetch(fctx, id)
	cancel()
	now := d.s.now()
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.inflight, id)
	switch {
	case f.err == nil && lifetime > 0:
		d.cache.put(id, f.client, now.Add(lifetime), now)
	case f.err != nil && d.failed != nil:
		d.failed.put(id, f.err, now.Add(d.failTTL), now)
	}
	close(f.done)
}

// ttlCache is a map of at most max entries that expire. A full one drops
// the expired entries, then others (in map order), to make room.
type ttlCache[V any] struct {
	max int
	m   map[string]ttlEntry[V]
}

type ttlEntry[V any] struct {
	v       V
	expires time.Time
}

func newTTLCache[V any](max int) *ttlCache[V] {
	return &ttlCache[V]{max: max, m: make(map[string]ttlEntry[V])}
}

func (c *ttlCache[V]) get(k string, now time.Time) (V, bool) {
	e, ok := c.m[k]
	if ok && !now.Before(e.expires) {
		delete(c.m, k)
		ok = false
	}
	return e.v, ok
}

func (c *ttlCache[V]) put(k string, v V, expires, now time.Time) {
	if c.max <= 0 {
		return
	}
	if _, ok := c.m[k]; !ok && len(c.m) >= c.max {
		for key, e := range c.m {
			if !now.Before(e.expires) {
				delete(c.m, key)
			}
		}
		for key := range c.m {
			if len(c.m) < c.max {
				break
			}
			delete(c.m, key)
		}
	}
	c.m[strings.Clone(k)] = ttlEntry[V]{v: v, expires: expires} // k may be cut from a request
}

// fetch gets and validates the document, and says how long it may be
// cached.
func (d *clientDocuments) fetch(ctx context.Context, id string) (*Client, time.Duration, error) {
	host := redirectHost(id)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, id, nil)
	if err != nil {
		return nil, 0, clientError("The client_id URL cannot be fetched.")
	}
	req.Header.Set("Accept", "application/json")
	start := time.Now()
	resp, err := d.http.Do(req)
	if err != nil {
		d.log.WarnContext(ctx, "oauth: client metadata document not fetched", "client_id", id, "error", err)
		var refused *safehttp.RefusedError
		switch {
		case errors.As(err, &refused):
			return nil, 0, clientError("The application's metadata document at %s may not be fetched: %s.", host, refused.Reason)
		case ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded):
			return nil, 0, clientError("The application's metadata document at %s did not arrive within %v.", host, d.timeout)
		}
		return nil, 0, clientError("The application's metadata document at %s could not be fetched.", host)
	}
	defer resp.Body.Close()
	if ctx.Err() != nil {
		// The time was up as the answer came. net/http may still hand over
		// a response that the server wrote only because the request was
		// given up (a handler that ends on cancellation answers an empty
		// 200); it says nothing about the document.
		return nil, 0, clientError("The application's metadata document at %s did not arrive within %v.", host, d.timeout)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, 0, clientError("The application's metadata document at %s answered with status %d, not 200.", host, resp.StatusCode)
	}
	if mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err != nil || mt != "application/json" && !strings.HasSuffix(mt, "+json") {
		return nil, 0, clientError("The application's metadata document at %s is not JSON.", host)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, d.maxBytes+1))
	if int64(len(body)) > d.maxBytes || errors.Is(err, safehttp.ErrBodyTooLarge) {
		return nil, 0, clientError("The application's metadata document at %s is larger than %d bytes.", host, d.maxBytes)
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, 0, clientError("The application's metadata document at %s did not arrive within %v.", host, d.timeout)
		}
		return nil, 0, clientError("The application's metadata document at %s could not be read.", host)
	}
	c, err := d.validate(id, body)
	if err != nil {
		d.log.WarnContext(ctx, "oauth: client metadata document refused", "client_id", id, "error", err)
		return nil, 0, clientError("The application's metadata document at %s is not valid: %s", host, err.Error())
	}
	lifetime := cacheLifetime(resp.Header, d.s.now())
	d.log.InfoContext(ctx, "oauth: client metadata document fetched", "client_id", id, "client_name", c.Metadata.ClientName,
		"bytes", len(body), "cache", lifetime.String(), "took", time.Since(start).Round(time.Millisecond).String())
	return c, lifetime, nil
}

// validate checks a document for the client id it was fetched from.
func (d *clientDocuments) validate(id string, body []byte) (*Client, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		return nil, errors.New("it is not a JSON object")
	}
	var m ClientMetadata
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("malformed JSON: %s", jsonErrorText(err))
	}
	var docID string
	if raw, ok := m.Extra["client_id"]; !ok || json.Unmarshal(raw, &docID) != nil || docID != id {
		return nil, errors.New("its client_id is not the URL it was fetched from")
	}
	for _, name := range []string{"client_secret", "client_secret_expires_at"} {
		if _, ok := m.Extra[name]; ok {
			return nil, fmt.Errorf("it must not contain %s", name)
		}
	}
	switch m.TokenEndpointAuthMethod {
	case "", "none":
		m.TokenEndpointAuthMethod = "none"
		// Keys are of no use to a public client.
		m.JWKS, m.JWKSURI = nil, ""
	case "private_key_jwt":
		return nil, errors.New("token_endpoint_auth_method private_key_jwt is not supported here; use none (PKCE)")
	default:
		return nil, fmt.Errorf("token_endpoint_auth_method %q cannot be used with a metadata document; use none", m.TokenEndpointAuthMethod)
	}
	if strings.TrimSpace(m.ClientName) == "" {
		return nil, errors.New("client_name is required")
	}
	if len(m.RedirectURIs) == 0 {
		return nil, errors.New("redirect_uris is required")
	}
	// A published document is written for many servers: it may name
	// scopes this one does not offer. They are dropped (registration
	// would refuse them); a document left with none is refused rather than
	// widened to every scope.
	if m.Scope != "" {
		asked, err := parseScope(m.Scope)
		if err != nil {
			return nil, errors.New("malformed scope")
		}
		kept := slices.DeleteFunc(asked, func(sc string) bool { return !slices.Contains(d.s.scopes, sc) })
		if len(kept) == 0 {
			return nil, fmt.Errorf("none of its scopes is offered here (offered: %s)", strings.Join(d.s.scopes, " "))
		}
		m.Scope = strings.Join(kept, " ")
	}
	if err := d.s.validateMetadata(&m); err != nil {
		return nil, errors.New(asOAuthError(err).Description)
	}
	return &Client{ID: id, Metadata: m, IssuedAt: d.s.now().Truncate(time.Second)}, nil
}

// cacheLifetime is how long a response may be cached (RFC 9111, in
// short): no-store or no-cache: not at all; max-age (or s-maxage); else
// Expires less Date; else DefaultClientMetadataCache. At most a day.
func cacheLifetime(h http.Header, now time.Time) time.Duration {
	var lifetime time.Duration
	if age, ok := maxAge(h.Get("Cache-Control")); ok {
		lifetime = age
	} else if exp := h.Get("Expires"); exp != "" {
		t, err := http.ParseTime(exp)
		if err != nil {
			return 0 // an invalid Expires means already expired
		}
		base := now
		if date, err := http.ParseTime(h.Get("Date")); err == nil {
			base = date
		}
		lifetime = t.Sub(base)
	} else {
		lifetime = DefaultClientMetadataCache
	}
	return min(max(lifetime, 0), maxClientMetadataCache)
}

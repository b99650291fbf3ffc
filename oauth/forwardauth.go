package oauth

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
)

// ForwardAuth: the /verify endpoint of reverse proxies that ask an
// external service whether to let a request through: Traefik's forwardAuth
// middleware, nginx's auth_request and Caddy's forward_auth.
//
// What each proxy sends (checked against their sources and docs):
//
//   - Traefik: GET to the configured address, every header of the original
//     request (Authorization, Origin, ...), plus X-Forwarded-Method,
//     X-Forwarded-Proto, X-Forwarded-Host, X-Forwarded-Uri (path and query)
//     and X-Forwarded-For. On 2xx it copies the authResponseHeaders onto
//     the request (deleting client-sent ones first); otherwise it returns
//     the whole answer (status, headers, body) to the client.
//   - Caddy forward_auth: GET to the configured uri with the original
//     headers and Host, plus X-Forwarded-Method, X-Forwarded-Uri,
//     X-Forwarded-Proto, X-Forwarded-Host and X-Forwarded-For; copy_headers
//     on 2xx; otherwise the answer goes back to the client.
//   - nginx auth_request: a subrequest with the original method and
//     headers; the configuration adds X-Original-URI ($request_uri, the URI
//     as the client sent it), X-Forwarded-Proto and X-Forwarded-Host
//     ($host:$server_port, the host nginx chose the server block by; see
//     deploy/nginx). nginx understands only 2xx, 401 and 403 (anything else
//     becomes a 500) and passes only WWW-Authenticate of a 401 to the
//     client, so requests that come with X-Original-URI get 401 instead of
//     400 for a malformed Authorization header, and 403 with
//     X-Mcp-Oauth-Error: invalid_request for an ambiguous request, which
//     the configuration turns into a 400 for the client.
//
// /verify decides on exactly the path and host the proxy routed on, and
// refuses every request that the proxy, /verify and the service could read
// differently (forwardrequest.go says which, and why).
//
// The proxy must set, or remove, every header ForwardAuth reads: a
// client-sent X-Forwarded-Uri that reached /verify would choose the
// resource checked, a client-sent X-Forwarded-Method: OPTIONS would make a
// POST look like a CORS preflight. Traefik and Caddy set the X-Forwarded-*
// headers themselves; nginx passes client headers on to its subrequest, so
// its configuration must clear them (deploy/nginx does). Headers that name
// the same thing must agree: a client's X-Original-URI that differs from
// the proxy's X-Forwarded-Uri gets the request refused, never chosen.

// The default header lists of ForwardAuthOptions (read only).
var (
	defaultURIHeaders    = []string{"X-Forwarded-Uri", "X-Original-URI"}
	defaultMethodHeaders = []string{"X-Forwarded-Method", "X-Original-Method"}
	defaultHostHeaders   = []string{"X-Forwarded-Host", "X-Original-Host"}
	defaultProtoHeaders  = []string{"X-Forwarded-Proto", "X-Original-Proto"}
)

// Identity headers ForwardAuth sets on the requests it lets through, for
// the proxy to copy onto the request to the service.
const (
	HeaderUserID   = "X-User-Id"        // the token's sub
	HeaderUserName = "X-User-Name"      // the user's login (GitHub handle), else the display name
	HeaderEmail    = "X-User-Email"     // the user's email; empty when unknown
	HeaderClientID = "X-Auth-Client-Id" // the OAuth client acting for the user
	HeaderToken    = "X-Auth-Token"     // the bearer token, only with ForwardAuthOptions.PassToken
)

// maxDerived bounds the resources ForwardAuth remembers.
const maxDerived = 4096

// ForwardAuthOptions configure a ForwardAuth. A nil *ForwardAuthOptions
// means all defaults.
type ForwardAuthOptions struct {
	// Resources are the protected resources behind the proxy. A request is
	// checked against the most specific one covering its URL (same origin,
	// same path or a path below it); a request none covers is refused
	// (403). Zero: each request's resource is its own URL without the query
	// (https://mcp.example.com/mcp), with the settings of Default.
	Resources []Resource
	// Default gives the name, scopes, policy and authorization servers of
	// the resources derived from requests when Resources is empty. Its URL
	// is ignored. Zero: no name, no required scope, every user.
	Default Resource
	// PassToken adds X-Auth-Token, the caller's bearer token, to the
	// identity headers, as the original Python gateway did. MCP forbids
	// passing a client's token on to a service as its credential; leave it
	// off unless a service needs the old behaviour. Zero: off.
	PassToken bool
	// URIHeaders name the headers that carry the original request URI
	// (path and query), in order of preference; those present must agree,
	// each sent once. An X-Original-URI header marks an nginx auth_request
	// subrequest (which then gets 401 or 403, never 400). Zero:
	// X-Forwarded-Uri (Traefik, Caddy), then X-Original-URI (nginx).
	URIHeaders []string
	// MethodHeaders name the headers that carry the original method, as
	// URIHeaders; without one, the method of the request to /verify is
	// used (nginx subrequests keep it). Zero: X-Forwarded-Method, then
	// X-Original-Method.
	MethodHeaders []string
	// HostHeaders name the headers that carry the original host, as
	// URIHeaders. /verify refuses a request without one: the Host of the
	// request to /verify is the proxy's choice, not what it routed on
	// (MetadataHandler falls back to it). Zero: X-Forwarded-Host, then
	// X-Original-Host.
	HostHeaders []string
	// ProtoHeaders name the headers that carry the original scheme, as
	// URIHeaders; without one, "https". Zero: X-Forwarded-Proto, then
	// X-Original-Proto.
	ProtoHeaders []string
	// Logger receives the refusals (debug) and failures. Zero: the
	// verifier's logger.
	Logger *slog.Logger
}

// ForwardAuth is the http.Handler of the /verify endpoint: it rebuilds the
// original request from the proxy's headers, lets CORS preflights and the
// well-known metadata paths through, finds the resource and checks the
// bearer token for it like ProtectedResource. It answers 200 with the
// identity headers (X-User-Id, X-User-Name, X-User-Email,
// X-Auth-Client-Id), or the refusal with its challenge, whose
// resource_metadata points at the MCP host. MetadataHandler serves the
// resources' metadata on the MCP host, for the proxy to route there.
type ForwardAuth struct {
	v         *Verifier
	log       *slog.Logger
	passToken bool
	uriH      []string
	methodH   []string
	hostH     []string
	protoH    []string
	noStore   []string // a header value shared by every answer, read only
	cfg       atomic.Pointer[forwardConfig]
}

// forwardConfig is the replaceable part of a ForwardAuth.
type forwardConfig struct {
	resources []*resource
	folded    []string // the resources' URLs in lower case
	anyUpper  bool     // some resource URL has an upper-case letter
	def       Resource

	mu      sync.RWMutex
	derived map[originalKey]*resource // as the proxy sent them
}

type originalKey struct{ scheme, host, path string }

// NewForwardAuth returns the /verify handler, verifying tokens with v.
func NewForwardAuth(v *Verifier, opts *ForwardAuthOptions) (*ForwardAuth, error) {
	if v == nil {
		return nil, errors.New("oauth: NewForwardAuth needs a verifier")
	}
	if opts == nil {
		opts = &ForwardAuthOptions{}
	}
	fa := &ForwardAuth{
		v:         v,
		log:       opts.Logger,
		passToken: opts.PassToken,
		uriH:      headerList(opts.URIHeaders, defaultURIHeaders),
		methodH:   headerList(opts.MethodHeaders, defaultMethodHeaders),
		hostH:     headerList(opts.HostHeaders, defaultHostHeaders),
		protoH:    headerList(opts.ProtoHeaders, defaultProtoHeaders),
		noStore:   []string{"no-store"},
	}
	if fa.log == nil {
		fa.log = v.log
	}
	if err := fa.SetResources(opts.Resources, opts.Default); err != nil {
		return nil, err
	}
	return fa, nil
}

// SetResources replaces the protected resources and the template of
// derived ones (ForwardAuthOptions.Resources and Default), for example
// after the operator edited the configuration: from the next request on,
// tokens are checked against the new rules (a user removed from a policy
// is refused at once). On error nothing changes.
func (fa *ForwardAuth) SetResources(resources []Resource, def Resource) error {
	cfg := &forwardConfig{def: def, derived: make(map[originalKey]*resource)}
	for i := range resources {
		res, err := resources[i].compile(fa.v.issuer)
		if err != nil {
			return err
		}
		for _, other := range cfg.resources {
			if other.url == res.url {
				return fmt.Errorf("oauth: resource %s is listed twice", res.url)
			}
		}
		if res.allow != nil && res.allow.Empty() {
			fa.log.Warn("oauth: the resource's Allow policy is empty: nobody can use it", "resource", res.url)
		}
		cfg.resources = append(cfg.resources, res)
		cfg.folded = append(cfg.folded, strings.ToLower(res.url))
		cfg.anyUpper = cfg.anyUpper || cfg.folded[len(cfg.folded)-1] != res.url
	}
	// Check the template once, with a placeholder URL.
	probe := def
	probe.URL = "https://resource.invalid/"
	if _, err := probe.compile(fa.v.issuer); err != nil {
		return fmt.Errorf("oauth: ForwardAuth Default: %w", err)
	}
	fa.cfg.Store(cfg)
	return nil
}

func headerList(given, def []string) []string {
	if len(given) == 0 {
		given = def
	}
	out := make([]string, len(given))
	for i, h := range given {
		out[i] = http.CanonicalHeaderKey(h)
	}
	return out
}

// errNotProtected: no configured resource covers the request.
var errNotProtected = errors.New("oauth: no protected resource covers this URL")

// ServeHTTP implements http.Handler.
func (fa *ForwardAuth) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	orig, err := fa.original(r)
	if err != nil {
		if errors.Is(err, errAmbiguous) {
			fa.refuseAmbiguous(w, r, orig.nginx, err)
			return
		}
		fa.log.WarnContext(r.Context(), "oauth: /verify cannot tell which request it is asked about; check the proxy configuration", "error", err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if isPreflight(orig.method, r.Header) || isWellKnownMetadata(orig.path) {
		w.WriteHeader(http.StatusOK)
		return
	}
	res, err := fa.resourceFor(orig)
	if errors.Is(err, errAmbiguous) {
		fa.refuseAmbiguous(w, r, orig.nginx, err)
		return
	}
	if err != nil {
		fa.log.DebugContext(r.Context(), "oauth: /verify: not a protected resource", "url", orig.scheme+"://"+orig.host+orig.path, "error", err)
		corsRefusal(w.Header())
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`{"error":"access_denied","error_description":"this URL is not a protected resource of this gateway"}`))
		return
	}
	raw, err := bearerFromRequest(r.Header, orig.rawQuery)
	var t *verifiedToken
	if err == nil {
		t, err = checkToken(r.Context(), fa.v, raw, res)
	}
	if fa.v.observe != nil {
		fa.v.observeRequest(r, res, t, err)
	}
	if err == nil {
		fa.allow(w, t, raw)
		return
	}
	corsRefusal(w.Header())
	writeRefusal(w, r, fa.log, res, err, orig.nginx)
}

// refuseAmbiguous answers a request that the proxy and /verify could read
// differently: 400 invalid_request with the reason, or for nginx, which
// knows no 400 from /verify, 403 with the reason in headers that its
// configuration turns into the 400.
func (fa *ForwardAuth) refuseAmbiguous(w http.ResponseWriter, r *http.Request, nginx bool, err error) {
	reason := "the request is ambiguous"
	var ae *ambiguousError
	if errors.As(err, &ae) {
		reason = ae.reason
	}
	fa.log.DebugContext(r.Context(), "oauth: /verify refused an ambiguous request", "reason", reason)
	h := w.Header()
	corsRefusal(h)
	h.Set(headerVerifyError, ErrorInvalidRequest)
	h.Set(headerVerifyErrorDescription, reason)
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	status := http.StatusBadRequest
	if nginx {
		status = http.StatusForbidden
	}
	w.WriteHeader(status)
	body, _ := json.Marshal(errorBody{Error: ErrorInvalidRequest, Description: reason})
	_, _ = w.Write(body)
}

// allow answers 200 with the identity headers.
func (fa *ForwardAuth) allow(w http.ResponseWriter, t *verifiedToken, raw string) {
	h := w.Header()
	ih := t.identityHeaders()
	h[HeaderUserID] = ih.userID
	h[HeaderUserName] = ih.userName
	h[HeaderEmail] = ih.email
	h[HeaderClientID] = ih.clientID
	if fa.passToken {
		h[HeaderToken] = []string{raw}
	}
	h["Cache-Control"] = fa.noStore
	w.WriteHeader(http.StatusOK)
}

// corsRefusal lets a browser client read a refusal (and its challenge)
// that the proxy passes back. It reveals nothing: the client sent the
// request.
func corsRefusal(h http.Header) {
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Expose-Headers", "WWW-Authenticate")
}

// headerValue drops control characters, which must not reach a header.
func headerValue(s string) string {
	if !strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
}

// isWellKnownMetadata reports whether a path is one of the discovery
// documents clients fetch before they have a token.
func isWellKnownMetadata(p string) bool {
	for _, prefix := range [...]string{WellKnownResourceMetadata, "/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"} {
		if strings.HasPrefix(p, prefix) && (len(p) == len(prefix) || p[len(prefix)] == '/') {
			return true
		}
	}
	return false
}

// resourceFor finds the resource of a request.
func (fa *ForwardAuth) resourceFor(o original) (*resource, error) {
	cfg := fa.cfg.Load()
	key := originalKey{o.scheme, o.host, o.path}
	cfg.mu.RLock()
	res := cfg.derived[key]
	cfg.mu.RUnlock()
	if res != nil {
		return res, nil
	}
	canon, err := CanonicalResource(o.scheme + "://" + o.host + o.path)
	if err != nil {
		return nil, err
	}
	if len(cfg.resources) > 0 {
		for _, cand := range cfg.resources {
			if resourceCovers(cand.url, canon) && (res == nil || len(cand.url) > len(res.url)) {
				res = cand
			}
		}
		if err := cfg.sameIgnoringCase(canon, res); err != nil {
			return nil, err
		}
		if res == nil {
			return nil, errNotProtected
		}
	} else {
		tmpl := cfg.def
		tmpl.URL = canon
		if res, err = tmpl.compile(fa.v.issuer); err != nil {
			return nil, err
		}
	}
	cfg.mu.Lock()
	if len(cfg.derived) >= maxDerived {
		clear(cfg.derived)
	}
	cfg.derived[key] = res
	cfg.mu.Unlock()
	return res, nil
}

// sameIgnoringCase refuses a request whose resource would change if paths
// were compared ignoring letter case, as Caddy's path matcher does: with
// resources /mcp and /admin/mcp, Caddy routes /ADMIN/mcp to the admin
// service, which a token for /mcp must not reach.
func (cfg *forwardConfig) sameIgnoringCase(canon string, res *resource) error {
	lower := strings.ToLower(canon)
	if !cfg.anyUpper && lower == canon {
		return nil // every comparison ignores case already
	}
	var folded *resource
	n := 0
	for i, cand := range cfg.resources {
		if resourceCovers(cfg.folded[i], lower) && (folded == nil || len(cand.url) > n) {
			folded, n = cand, len(cand.url)
		}
	}
	if folded != res {
		return ambiguous("the request path differs only in letter case from a protected resource's path")
	}
	return nil
}

// MetadataHandler serves the RFC 9728 metadata of the resources behind the
// proxy, on the MCP host: route /.well-known/oauth-protected-resource and
// everything below it on that host to it. The host and scheme come from
// the same headers as in ServeHTTP. A configured resource's document is
// served at its path-inserted URL, and at the host's root URL when it is
// the only resource on that host; a derived resource's at any path.
func (fa *ForwardAuth) MetadataHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rest, ok := strings.CutPrefix(r.URL.Path, WellKnownResourceMetadata)
		if !ok || rest != "" && !strings.HasPrefix(rest, "/") {
			http.NotFound(w, r)
			return
		}
		host, err := forwardedHost(r.Header, fa.hostH)
		scheme, err2 := forwardedScheme(r.Header, fa.protoH)
		if err != nil || err2 != nil {
			http.NotFound(w, r)
			return
		}
		if host == "" {
			host = r.Host
		}
		if scheme == "" {
			scheme = "https"
			if r.TLS == nil && isLoopbackHost(r.Host) {
				scheme = "http"
			}
		}
		res := fa.metadataFor(original{scheme: scheme, host: host, path: rest})
		if res == nil {
			http.NotFound(w, r)
			return
		}
		serveResourceMetadata(w, r, res.doc)
	})
}

func (fa *ForwardAuth) metadataFor(o original) *resource {
	canon, err := CanonicalResource(o.scheme + "://" + o.host + strings.TrimSuffix(o.path, "/"))
	if err != nil {
		return nil
	}
	cfg := fa.cfg.Load()
	if len(cfg.resources) == 0 {
		res, err := fa.resourceFor(original{scheme: o.scheme, host: o.host, path: strings.TrimPrefix(canon, originOf(canon))})
		if err != nil {
			return nil
		}
		return res
	}
	var only *resource
	onHost := 0
	origin := originOf(canon)
	for _, res := range cfg.resources {
		if res.url == canon {
			return res
		}
		if originOf(res.url) == origin {
			only = res
			onHost++
		}
	}
	if canon == origin && onHost == 1 {
		return only
	}
	return nil
}

func originOf(canon string) string {
	origin, _ := splitOrigin(canon)
	return origin
}

// Package identityproxy forwards the requests a protected resource let
// through to an upstream HTTP server, with the caller's verified identity
// in headers: so that a team can put the gateway's OAuth in front of an
// MCP server written in any language, which then needs no OAuth of its
// own and reads who is calling from X-User-Id, X-User-Name, X-User-Email
// and X-Auth-Client-Id.
//
// What reaches the upstream:
//
//   - the request, at the upstream URL's path exactly (the gateway's
//     /NAME/mcp becomes http://127.0.0.1:9000/mcp), with its query;
//   - the identity headers of the token that oauth.ProtectedResource
//     verified (oauth.AccessTokenClaims.IdentityHeaders), after every
//     header the client sent that could be taken for one of them is
//     deleted, in every spelling (any case, _ for -, repeated): X-User-*
//     and X-Auth-*;
//   - X-Forwarded-For, -Host and -Proto as the gateway saw the request
//     (the client's own Forwarded, X-Forwarded-* and X-Real-Ip are
//     dropped).
//
// What does not: the client's bearer token (MCP forbids passing it on),
// Proxy-Authorization, the cookies of the gateway's origin, and Origin
// (the gateway's Guard has checked it; the upstream sees a server-side
// call). Hop-by-hop headers are handled as net/http/httputil does.
// Responses are streamed: an SSE stream reaches the client event by event,
// never buffered. CORS is the gateway's: the upstream's Access-Control-*
// headers are dropped.
//
// Mount it behind the bearer check, which puts the verified token in the
// request's context:
//
//	up, err := identityproxy.New("http://127.0.0.1:9000/mcp", nil)
//	pr, err := oauth.NewProtectedResource(verifier, oauth.Resource{URL: "https://gw.example.com/tickets/mcp"})
//	err = pr.Mount(mux, up, &oauth.MountOptions{Guard: guard.Wrap})
//
// A request without a verified token in its context is refused with 500
// (the proxy is mounted wrong) and never forwarded.
package identityproxy

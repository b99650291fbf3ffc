// Package proxymodel models how the reverse proxies of deploy/ read a
// request: which host and path nginx 1.22, Caddy 2.6 and Traefik 3.6 route
// on, and what their forward-auth call tells /verify about it. Tests hold
// /verify to it (oauth's FuzzForwardRequest: /verify refuses a request or
// decides on the path the proxy routed), and the Traefik stand-in of
// examples/mcp-oauth-server applies Traefik's path handling with it, since
// Traefik is not packaged for the test machines.
//
// Each model is written from the proxy's source or observed behaviour,
// cited at the function; it covers what routing depends on, not every
// error page. A model may refuse a request the proxy would take: such a
// request is then simply not checked.
//
//	r, ok := proxymodel.Traefik(proxymodel.Request{Target: "/mcp%2F..%2Fadmin", Host: "mcp.example.com"}, proxymodel.TraefikDefaults)
//	// ok, r.Path == "/mcp%2F..%2Fadmin": Traefik routes it as a path below /mcp
package proxymodel

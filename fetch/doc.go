// Package fetch is an SSRF-safe web fetch tool set for MCP servers: a
// guarded HTTP transport, an HTML-to-markdown converter and the "fetch" tool.
//
// A tool that fetches URLs for a language model lets the model make the
// server send requests, so the transport here decides at dial time, on the
// IP address actually connected to, for every connection and every redirect
// hop, and refuses loopback, private, link-local, metadata and other
// non-public destinations however the URL spelled them.
//
// The guard is usable on its own wherever a URL comes from outside:
//
//	client, err := fetch.NewClient(&fetch.ClientOptions{
//		MaxBodyBytes: 5 << 10,
//		Timeout:      5 * time.Second,
//	})
//	resp, err := client.Get(untrustedURL) // refused with fetch.ErrRefused if not public
//
// The tool set registers on an mcpserver.Server:
//
//	tools, err := fetch.New(nil)
//	tools.Register(srv)
package fetch

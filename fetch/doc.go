// Package fetch is an SSRF-safe web fetch tool set for MCP servers: an
// HTML-to-markdown converter and the "fetch" tool, on the guarded HTTP
// transport of package safehttp.
//
// # The guard
//
// A tool that fetches URLs for a language model lets the model make the
// server send requests, so every request here goes through the SSRF guard
// of package safehttp (a subpackage, usable on its own): it decides at dial
// time, on the IP address actually connected to, for every connection and
// every redirect hop, and caps response bodies after decompression.
// Options.Client configures it. Tools.Transport returns it.
//
// The guard's names that used to live here (ClientOptions, Transport,
// NewClient, NewTransport, CheckIP, RefusedError, ErrRefused, ...) are now
// aliases of safehttp's: existing code compiles and behaves as before
// (errors match either name; their texts now begin with "safehttp:"). They
// are deprecated; new code imports safehttp, which links neither the HTML
// converter nor mcp-go.
//
// # The converter
//
// ConvertHTML renders a page's main content as markdown, with links made
// absolute and navigation, scripts and page furniture dropped.
//
// # The tool
//
// New builds the tool set; Register adds the "fetch" tool to an
// mcpserver.Server:
//
//	tools, err := fetch.New(&fetch.Options{Client: safehttp.Options{AllowedDomains: []string{"example.com"}}})
//	if err != nil {
//		return err
//	}
//	defer tools.Close()
//	tools.Register(srv)
//
// The tool takes the reference fetch server's arguments (url, max_length,
// start_index, raw) and the original Python server's (method, headers,
// body, user_agent), honours robots.txt, and reports the final URL, status,
// content type and title as structured content (Result).
package fetch

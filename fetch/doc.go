// Package fetch is an SSRF-safe web fetch tool set for MCP servers: a
// guarded HTTP transport, an HTML-to-markdown converter and the "fetch"
// tool.
//
// # The guard
//
// A tool that fetches URLs for a language model lets the model make the
// server send requests, so every request here goes through a Transport that
// decides at dial time, on the IP address actually connected to, for every
// connection and every redirect hop. Loopback, private, link-local,
// carrier-grade NAT, benchmarking, documentation, multicast, reserved and
// unspecified addresses, the cloud metadata addresses, and the
// IPv4-mapped, NAT64 and 6to4 forms of all of them are refused, however the
// URL spelled the host. A name is refused when any address it resolves to
// is refused, so DNS rebinding gains nothing; an outbound proxy is used as a
// CONNECT tunnel to the checked address, so it cannot be used to go around
// the check. Response bodies are capped after decompression.
//
// The guard is usable on its own wherever a URL comes from outside, such as
// a Client ID Metadata Document URL:
//
//	client, err := fetch.NewClient(&fetch.ClientOptions{
//		MaxBodyBytes: 5 << 10,
//		Timeout:      5 * time.Second,
//	})
//	resp, err := client.Get(untrustedURL) // errors.Is(err, fetch.ErrRefused) for internal targets
//
// Tests that serve documents from httptest set ClientOptions.UnsafeAllowLoopback,
// which must never be set in production.
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
//	tools, err := fetch.New(&fetch.Options{Client: fetch.ClientOptions{AllowedDomains: []string{"example.com"}}})
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

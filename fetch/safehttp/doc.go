// Package safehttp is an SSRF-safe HTTP client: a Transport that decides at
// dial time, on the IP address actually connected to, whether a request
// may go out, for every connection and every redirect hop. Use it wherever
// a URL comes from outside: a fetch tool driven by a language model, a
// Client ID Metadata Document URL, a webhook.
//
// Loopback, private, link-local, carrier-grade NAT, benchmarking,
// documentation, multicast, reserved and unspecified addresses, the cloud
// metadata addresses, and the IPv4-mapped, NAT64 and 6to4 forms of all of
// them are refused, however the URL spelled the host (decimal, octal, hex
// and short IPv4 forms, trailing dots, userinfo, IDN). A name is refused
// when any address it resolves to is refused, so DNS rebinding gains
// nothing; an outbound proxy is used as a CONNECT tunnel to the checked
// address, so it cannot be used to go around the check. Response bodies
// are capped after decompression.
//
//	client, err := safehttp.NewClient(&safehttp.Options{
//		MaxBodyBytes: 5 << 10,
//		Timeout:      5 * time.Second,
//	})
//	resp, err := client.Get(untrustedURL) // errors.Is(err, safehttp.ErrRefused) for internal targets
//
// Tests that serve documents from httptest set Options.UnsafeAllowLoopback,
// which must never be set in production.
//
// The package depends on the standard library and golang.org/x/net/idna
// only, so a program that needs the guard (an authorization server, a token
// verifier) does not link an HTML parser or an MCP server. Package fetch,
// the MCP fetch tool set, is built on it; its ClientOptions, Transport,
// NewClient and the error names are aliases of the ones here.
package safehttp

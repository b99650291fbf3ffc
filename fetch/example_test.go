package fetch_test

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strings"

	"github.com/mcp-oauth-gateway/gateway/fetch"
)

// A guarded client refuses internal destinations before any packet leaves.
func ExampleNewClient() {
	client, err := fetch.NewClient(&fetch.ClientOptions{MaxBodyBytes: 5 << 10})
	if err != nil {
		panic(err)
	}
	_, err = client.Get("http://169.254.169.254/latest/meta-data/")
	fmt.Println(errors.Is(err, fetch.ErrRefused))
	var refused *fetch.RefusedError
	if errors.As(err, &refused) {
		fmt.Println(refused.Reason)
	}
	// Output:
	// true
	// cloud metadata service
}

func ExampleCheckIP() {
	for _, s := range []string{"8.8.8.8", "10.0.0.1", "::ffff:127.0.0.1", "64:ff9b::808:808"} {
		fmt.Println(s, fetch.CheckIP(netip.MustParseAddr(s)))
	}
	// Output:
	// 8.8.8.8 <nil>
	// 10.0.0.1 fetch: refused 10.0.0.1: private network
	// ::ffff:127.0.0.1 fetch: refused ::ffff:127.0.0.1: IPv4-mapped form of 127.0.0.1 (loopback)
	// 64:ff9b::808:808 <nil>
}

func ExampleTransport_CheckURL() {
	t, err := fetch.NewTransport(nil)
	if err != nil {
		panic(err)
	}
	for _, s := range []string{"https://example.com/", "http://0x7f.1/", "file:///etc/passwd"} {
		u, _ := url.Parse(s)
		fmt.Println(s, t.CheckURL(u))
	}
	// Output:
	// https://example.com/ <nil>
	// http://0x7f.1/ fetch: refused 0x7f.1 (127.0.0.1): loopback
	// file:///etc/passwd fetch: refused: scheme "file" not allowed (allowed: http, https)
}

func ExampleConvertHTML() {
	page, err := fetch.ConvertHTML(strings.NewReader(`<html><head><title>Notes</title></head><body>
<nav><a href="/">Home</a></nav>
<main><h1>Release notes</h1><p>Version <b>2.0</b> adds <a href="/docs/retry">retries</a>.</p>
<ul><li>faster</li><li>safer</li></ul></main></body></html>`), &url.URL{Scheme: "https", Host: "example.com", Path: "/notes"})
	if err != nil {
		panic(err)
	}
	fmt.Println(page.Title)
	fmt.Println(page.Markdown)
	// Output:
	// Notes
	// # Release notes
	//
	// Version **2.0** adds [retries](https://example.com/docs/retry).
	//
	// - faster
	// - safer
}

package safehttp_test

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"

	"github.com/mcp-oauth-gateway/gateway/fetch/safehttp"
)

// A guarded client refuses internal destinations before any packet leaves.
func ExampleNewClient() {
	client, err := safehttp.NewClient(&safehttp.Options{MaxBodyBytes: 5 << 10})
	if err != nil {
		panic(err)
	}
	_, err = client.Get("http://169.254.169.254/latest/meta-data/")
	fmt.Println(errors.Is(err, safehttp.ErrRefused))
	var refused *safehttp.RefusedError
	if errors.As(err, &refused) {
		fmt.Println(refused.Reason)
	}
	// Output:
	// true
	// cloud metadata service
}

func ExampleCheckIP() {
	for _, s := range []string{"8.8.8.8", "10.0.0.1", "::ffff:127.0.0.1", "64:ff9b::808:808"} {
		fmt.Println(s, safehttp.CheckIP(netip.MustParseAddr(s)))
	}
	// Output:
	// 8.8.8.8 <nil>
	// 10.0.0.1 safehttp: refused 10.0.0.1: private network
	// ::ffff:127.0.0.1 safehttp: refused ::ffff:127.0.0.1: IPv4-mapped form of 127.0.0.1 (loopback)
	// 64:ff9b::808:808 <nil>
}

func ExampleTransport_CheckURL() {
	t, err := safehttp.NewTransport(nil)
	if err != nil {
		panic(err)
	}
	for _, s := range []string{"https://example.com/", "http://0x7f.1/", "file:///etc/passwd"} {
		u, _ := url.Parse(s)
		fmt.Println(s, t.CheckURL(u))
	}
	// Output:
	// https://example.com/ <nil>
	// http://0x7f.1/ safehttp: refused 0x7f.1 (127.0.0.1): loopback
	// file:///etc/passwd safehttp: refused: scheme "file" not allowed (allowed: http, https)
}

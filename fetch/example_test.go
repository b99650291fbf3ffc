package fetch_test

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/mcp-oauth-gateway/gateway/fetch"
)

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

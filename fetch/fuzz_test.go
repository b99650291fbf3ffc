package fetch

import (
	"bytes"
	"net/url"
	"testing"
	"unicode/utf8"
)

// FuzzConvertHTML converts arbitrary documents: no panic, and valid UTF-8
// in gives valid UTF-8 out.
func FuzzConvertHTML(f *testing.F) {
	for _, s := range []string{
		"<p>hello <b>world</b></p>",
		"<ul><li>a<ol><li>b</ol></ul><table><tr><td>x|y<td colspan=9999>z</table>",
		"<pre><code class=language-go>```\n</code></pre><blockquote><blockquote>q",
		`<a href="javascript:x">j</a><a href="%zz">bad</a><img src="//x/y" alt="*">`,
		"<main><h1># t</h1><p>1. * - + > ` [ ] \\ &amp;x;</p></main>",
		"<dl><dt>t<dd><p>d</p></dl><hr><br><sup>2</sup>",
	} {
		f.Add([]byte(s))
	}
	for _, name := range []string{"news-article", "docs-page", "navigation-heavy"} {
		if b, err := readTestdata(name + ".html"); err == nil {
			f.Add(b)
		}
	}
	base, _ := url.Parse("https://example.com/a/b?c=d")
	f.Fuzz(func(t *testing.T, doc []byte) {
		page, err := ConvertHTML(bytes.NewReader(doc), base)
		if err != nil {
			return
		}
		if utf8.Valid(doc) && (!utf8.ValidString(page.Markdown) || !utf8.ValidString(page.Title)) {
			t.Fatalf("valid UTF-8 in, invalid out: %q", page.Markdown)
		}
	})
}

// FuzzRobots parses arbitrary robots.txt files and asks about arbitrary
// paths: no panic, and robots.txt itself is always allowed.
func FuzzRobots(f *testing.F) {
	f.Add([]byte("User-agent: *\nDisallow: /\nAllow: /public$\n"), "/public")
	f.Add([]byte("user-agent: ModelContextProtocol\ndisallow: /a*b$\n# c\nsitemap: x"), "/axxb?q=1")
	f.Add([]byte("User-agent: a\nUser-agent: *\nDisallow: /%7e\nDisallow: /ä*"), "/~x")
	f.Add([]byte("Disallow: /\nUser-agent:\n\nAllow:"), "")
	f.Fuzz(func(t *testing.T, body []byte, path string) {
		rules := parseRobots(body, "ModelContextProtocol")
		rules.allowed(path)
		rules.allowed("/" + path)
		if !rules.allowed("/robots.txt") {
			t.Fatal("robots.txt disallowed itself")
		}
	})
}

package fetch

import (
	"flag"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func TestConvertGolden(t *testing.T) {
	pages := []struct{ name, url string }{
		{"news-article", "https://www.valleyherald.example/news/2026/11/flood-barrier-approved"},
		{"docs-page", "https://docs.conduit.example/en/4.2/guide/retries.html"},
		{"navigation-heavy", "https://www.trailmart.example/camping/tents"},
	}
	for _, p := range pages {
		t.Run(p.name, func(t *testing.T) {
			f, err := os.Open(filepath.Join("testdata", p.name+".html"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			page, err := ConvertHTML(f, mustURL(t, p.url))
			if err != nil {
				t.Fatal(err)
			}
			got := "Title: " + page.Title + "\n\n" + page.Markdown + "\n"
			golden := filepath.Join("testdata", p.name+".md")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("markdown differs from %s (go test -run TestConvertGolden -update rewrites it)\n--- got:\n%s", golden, got)
			}
		})
	}
}

func mustURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func convert(t *testing.T, html string) string {
	t.Helper()
	page, err := ConvertHTML(strings.NewReader(html), mustURL(t, "https://example.com/dir/page.html"))
	if err != nil {
		t.Fatal(err)
	}
	return page.Markdown
}

func TestConvertElements(t *testing.T) {
	cases := []struct{ name, html, want string }{
		{"paragraphs", "<p>One\n  two</p><p>Three</p>", "One two\n\nThree"},
		{"headings", "<h1>A</h1><h3>B <em>c</em></h3>", "# A\n\n### B *c*"},
		{"empty heading dropped", "<h2> </h2><p>x</p>", "x"},
		{"emphasis spaces stay outside", "<p>a<b> bold </b>b</p>", "a **bold** b"},
		{"strike and code", "<p><del>old</del> <code>x := 1</code></p>", "~~old~~ `x := 1`"},
		{"code with backticks", "<p><code>a`b</code></p>", "``a`b``"},
		{"relative link made absolute", `<p><a href="../x?q=1">X</a></p>`, "[X](https://example.com/x?q=1)"},
		{"protocol-relative link", `<p><a href="//cdn.example.org/a">A</a></p>`, "[A](https://cdn.example.org/a)"},
		{"same-page anchor is text", `<p><a href="#top">Top</a></p>`, "Top"},
		{"javascript link is text", `<p><a href="javascript:alert(1)">Click</a></p>`, "Click"},
		{"link with parens", `<p><a href="/wiki/Go_(language)">Go</a></p>`, "[Go](https://example.com/wiki/Go_%28language%29)"},
		{"image link", `<p><img src="/a.png" alt="A [b]"></p>`, "![A \\[b\\]](https://example.com/a.png)"},
		{"lazy image", `<img data-src="/lazy.jpg" src="data:image/gif;base64,AAA" alt="L">`, "![L](https://example.com/lazy.jpg)"},
		{"tracking pixel dropped", `<p>x<img src="/p.gif" width="1" height="1"></p>`, "x"},
		{"image in link", `<a href="/p"><img src="/i.png" alt="I"></a>`, "[![I](https://example.com/i.png)](https://example.com/p)"},
		{"unordered list", "<ul><li>a</li><li>b</li></ul>", "- a\n- b"},
		{"ordered list start", `<ol start="3"><li>c</li><li>d</li></ol>`, "3. c\n4. d"},
		{"nested list", "<ul><li>a<ul><li>b</li></ul></li><li>c</li></ul>", "- a\n  - b\n- c"},
		{"loose list", "<ul><li><p>a</p><p>a2</p></li><li>b</li></ul>", "- a\n\n  a2\n\n- b"},
		{"blockquote", "<blockquote><p>q1</p><p>q2</p></blockquote>", "> q1\n>\n> q2"},
		{"pre with language", `<pre><code class="language-go">func main() {
	fmt.Println("*hi*")
}
</code></pre>`, "```go\nfunc main() {\n\tfmt.Println(\"*hi*\")\n}\n```"},
		{"pre with fence inside", "<pre>```\nx\n```</pre>", "````\n```\nx\n```\n````"},
		{"table", "<table><tr><th>A</th><th>B</th></tr><tr><td>1|2</td><td><a href=/x>x</a></td></tr></table>",
			"| A | B |\n| --- | --- |\n| 1\\|2 | [x](https://example.com/x) |"},
		{"table colspan", "<table><tr><th colspan=2>AB</th></tr><tr><td>1</td><td>2</td></tr></table>",
			"| AB |  |\n| --- | --- |\n| 1 | 2 |"},
		{"layout table", "<table><tr><td><p>Only</p><p>cell</p></td></tr></table>", "Only\n\ncell"},
		{"br", "<p>a<br>b</p>", "a  \nb"},
		{"hr", "<p>a</p><hr><p>b</p>", "a\n\n---\n\nb"},
		{"scripts and styles dropped", "<p>a</p><script>evil()</script><style>p{}</style><noscript>n</noscript>", "a"},
		{"hidden dropped", `<p>a</p><div hidden>h</div><div style="display: none">h</div><span aria-hidden="true">h</span>`, "a"},
		{"nav footer aside dropped", "<nav>n</nav><p>a</p><aside>s</aside><footer>f</footer>", "a"},
		{"site header dropped, article header kept", "<header>site</header><article><header><h1>T</h1></header><p>body text</p></article>", "# T\n\nbody text"},
		{"main preferred", "<div>outside</div><main><p>inside</p></main>", "inside"},
		{"escape emphasis", "<p>*not bold* and snake_case and 2 * 3</p>", "\\*not bold\\* and snake_case and 2 * 3"},
		{"escape line starts", "<p># not a heading</p><p>- not a list</p><p>1. not a list</p><p>&gt; not a quote</p>",
			"\\# not a heading\n\n\\- not a list\n\n1\\. not a list\n\n\\> not a quote"},
		{"escape html and backticks", "<p>&lt;div&gt; `x` [y]</p>", "\\<div> \\`x\\` \\[y\\]"},
		{"entities decoded", "<p>caf&eacute; &amp; &lt;3 &nbsp;x</p>", "café & <3 x"},
		{"definition list", "<dl><dt>Term</dt><dd>Meaning</dd></dl>", "**Term**\n\n: Meaning"},
		{"form controls dropped", "<form><label>Name <input name=n></label><button>Go</button><select><option>o</option></select></form>", "Name"},
		{"cookie banner dropped", `<div class="cookie-banner">We use cookies</div><p>` + strings.Repeat("content ", 20) + `</p>`, strings.TrimSpace(strings.Repeat("content ", 20))},
		{"furniture class on wrapper kept", `<div class="has-sidebar"><p>all the content</p></div>`, "all the content"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := convert(t, c.html); got != c.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, c.want)
			}
		})
	}
}

func TestConvertTitleAndBase(t *testing.T) {
	page, err := ConvertHTML(strings.NewReader(`<html><head><title> My
 page </title><base href="https://other.example/base/"></head><body><a href="x">x</a></body></html>`), mustURL(t, "https://example.com/"))
	if err != nil {
		t.Fatal(err)
	}
	if page.Title != "My page" {
		t.Errorf("title %q", page.Title)
	}
	if page.Markdown != "[x](https://other.example/base/x)" {
		t.Errorf("markdown %q", page.Markdown)
	}
	page, _ = ConvertHTML(strings.NewReader(`<h1>Heading title</h1>`), nil)
	if page.Title != "Heading title" || page.Markdown != "# Heading title" {
		t.Errorf("no <title>: got %+v", page)
	}
}

func TestConvertHostileNesting(t *testing.T) {
	// Deep nesting within what the parser accepts must neither blow up the
	// output nor take long: indentation stops growing at maxIndentDepth.
	html := strings.Repeat("<blockquote>", 200) + strings.Repeat("<p>line</p>", 2000) +
		strings.Repeat("</blockquote>", 200) + strings.Repeat("<ul><li>", 100) + "y"
	md := convert(t, html)
	if len(md) > 2000*2*(2*maxIndentDepth+6) || !strings.Contains(md, "line") || !strings.Contains(md, "y") {
		t.Errorf("got %d bytes: %.200q", len(md), md)
	}
	html = strings.Repeat("<b>", 400) + "z"
	if md := convert(t, html); md != "**z**" {
		t.Errorf("nested bold gave %q", md)
	}
	// Deeper than the parser's limit: an error, not a panic or a hang.
	if _, err := ConvertHTML(strings.NewReader(strings.Repeat("<div>", 5000)), nil); err == nil {
		t.Log("the parser accepted 5000 nested elements")
	}
}

func readTestdata(name string) ([]byte, error) {
	return os.ReadFile(filepath.Join("testdata", name))
}

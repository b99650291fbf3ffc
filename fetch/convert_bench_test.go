package fetch

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	h2m "github.com/JohannesKaufmann/html-to-markdown/v2/converter"
	"github.com/JohannesKaufmann/html-to-markdown/v2/plugin/base"
	"github.com/JohannesKaufmann/html-to-markdown/v2/plugin/commonmark"
	"github.com/JohannesKaufmann/html-to-markdown/v2/plugin/strikethrough"
	"github.com/JohannesKaufmann/html-to-markdown/v2/plugin/table"
	"golang.org/x/net/html"
)

// bigPage builds a realistic page of at least size bytes: the news page's
// site furniture around one <main> holding the article and documentation
// bodies of testdata/ again and again, so every converter has the whole
// megabyte to render.
func bigPage(tb testing.TB, size int) []byte {
	tb.Helper()
	body := regexp.MustCompile(`(?s)<body[^>]*>(.*)</body>`)
	var parts [][]byte
	for _, name := range []string{"news-article", "docs-page", "navigation-heavy"} {
		b, err := os.ReadFile(filepath.Join("testdata", name+".html"))
		if err != nil {
			tb.Fatal(err)
		}
		m := body.FindSubmatch(b)
		if m == nil {
			tb.Fatalf("%s has no body", name)
		}
		// Nested <main> elements would let a converter skip content.
		parts = append(parts, bytes.ReplaceAll(bytes.ReplaceAll(m[1], []byte("<main"), []byte("<div")), []byte("</main>"), []byte("</div>")))
	}
	var buf bytes.Buffer
	buf.WriteString("<!DOCTYPE html><html><head><title>Big page</title><script>var x = 1;</script></head><body>")
	buf.WriteString(`<header><nav><a href="/">Home</a> <a href="/docs">Docs</a></nav></header><main>`)
	for i := 0; buf.Len() < size; i++ {
		buf.Write(parts[i%len(parts)])
	}
	buf.WriteString("</main><footer>&copy; 2026</footer></body></html>")
	return buf.Bytes()
}

// BenchmarkConvertHTML1MiB is ConvertHTML on a 1 MiB page.
func BenchmarkConvertHTML1MiB(b *testing.B) {
	page := bigPage(b, 1<<20)
	u := mustURL(b, "https://www.valleyherald.example/news/2026/11/big")
	b.SetBytes(int64(len(page)))
	b.ReportAllocs()
	for b.Loop() {
		p, err := ConvertHTML(bytes.NewReader(page), u)
		if err != nil || len(p.Markdown) < 1<<18 {
			b.Fatalf("err %v, %d bytes of markdown", err, len(p.Markdown))
		}
	}
}

// BenchmarkHTMLToMarkdownV2_1MiB is the baseline: html-to-markdown v2 with
// the plugins that match ConvertHTML's output (CommonMark, GFM tables and
// strikethrough), on the same page, with the same domain for links.
func BenchmarkHTMLToMarkdownV2_1MiB(b *testing.B) {
	page := bigPage(b, 1<<20)
	conv := h2m.NewConverter(h2m.WithPlugins(
		base.NewBasePlugin(), commonmark.NewCommonmarkPlugin(),
		table.NewTablePlugin(), strikethrough.NewStrikethroughPlugin(),
	))
	b.SetBytes(int64(len(page)))
	b.ReportAllocs()
	for b.Loop() {
		md, err := conv.ConvertReader(bytes.NewReader(page), h2m.WithDomain("https://www.valleyherald.example/news/2026/11/big"))
		if err != nil || len(md) < 1<<18 {
			b.Fatalf("err %v, %d bytes of markdown", err, len(md))
		}
	}
}

// BenchmarkParseOnly1MiB is the floor both converters stand on: parsing the
// page with golang.org/x/net/html.
func BenchmarkParseOnly1MiB(b *testing.B) {
	page := bigPage(b, 1<<20)
	b.SetBytes(int64(len(page)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := html.Parse(bytes.NewReader(page)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkConvertHTMLSmall is the tool's common case: one article page.
func BenchmarkConvertHTMLSmall(b *testing.B) {
	page, err := os.ReadFile(filepath.Join("testdata", "news-article.html"))
	if err != nil {
		b.Fatal(err)
	}
	u := mustURL(b, "https://www.valleyherald.example/news/2026/11/flood-barrier-approved")
	b.SetBytes(int64(len(page)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ConvertHTML(strings.NewReader(string(page)), u); err != nil {
			b.Fatal(err)
		}
	}
}

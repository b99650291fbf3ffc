package fetch

import (
	"io"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/PuerkitoBio/goquery"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// Page is an HTML page converted to markdown.
type Page struct {
	// Title is the page's title: <title>, else og:title, else the first
	// <h1>. Empty when it has none.
	Title string
	// Markdown is the page's main content as CommonMark with GitHub tables.
	Markdown string
}

// ConvertHTML parses an HTML document and renders its main content as
// markdown: headings, paragraphs, emphasis, links made absolute against
// pageURL (or the page's <base href>), lists, code blocks with their
// language, tables, block quotes, and images as image links. Scripts, styles,
// forms controls, hidden elements and navigation boilerplate (nav, aside,
// site headers and footers, cookie banners, share bars) are dropped, and
// the page's main element or article is preferred to the whole body.
// pageURL may be nil, in which case relative links stay relative.
func ConvertHTML(r io.Reader, pageURL *url.URL) (*Page, error) {
	doc, err := goquery.NewDocumentFromReader(r)
	if err != nil {
		return nil, err
	}
	return convertDocument(doc, pageURL), nil
}

func convertDocument(doc *goquery.Document, pageURL *url.URL) *Page {
	base := pageURL
	if href, ok := doc.Find("base[href]").First().Attr("href"); ok && base != nil {
		if u, err := base.Parse(strings.TrimSpace(href)); err == nil {
			base = u
		}
	}
	page := &Page{Title: collapseSpace(doc.Find("title").First().Text())}
	if page.Title == "" {
		page.Title = collapseSpace(doc.Find(`meta[property="og:title"]`).AttrOr("content", ""))
	}
	if page.Title == "" {
		page.Title = collapseSpace(doc.Find("h1").First().Text())
	}
	root := pickRoot(doc)
	if root == nil {
		return page
	}
	c := &converter{base: base, page: pageURL, furniture: map[*html.Node]int{}, open: map[string]bool{}}
	c.rootLen, _ = c.measure(root)
	w := c.newWriter(false)
	c.children(w, root)
	page.Markdown = w.finish()
	return page
}

// pickRoot chooses the element holding the page's main content: <main> or
// role=main, else the largest <article> when it holds a good part of the
// page, else the body.
func pickRoot(doc *goquery.Document) *html.Node {
	body := doc.Find("body").First()
	if body.Length() == 0 {
		return nil
	}
	bodyNode := body.Get(0)
	if n := largest(doc.Find(`main, [role="main"]`)); n != nil && textLen(n) > 0 {
		return n
	}
	bodyLen := textLen(bodyNode)
	for _, sel := range []string{"article", `[itemprop="articleBody"]`, "#content, #main-content, .post-content, .entry-content, .article-body"} {
		if n := largest(doc.Find(sel)); n != nil {
			if l := textLen(n); l > 0 && l*5 >= bodyLen*2 {
				return n
			}
		}
	}
	return bodyNode
}

func largest(sel *goquery.Selection) *html.Node {
	var best *html.Node
	bestLen := -1
	for _, n := range sel.Nodes {
		if l := textLen(n); l > bestLen {
			best, bestLen = n, l
		}
	}
	return best
}

// textLen counts the visible text bytes under n, without allocating.
func textLen(n *html.Node) int {
	total := 0
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		switch c.Type {
		case html.TextNode:
			total += len(strings.TrimSpace(c.Data))
		case html.ElementNode:
			if !invisible[c.DataAtom] {
				total += textLen(c)
			}
		}
	}
	return total
}

// invisible elements never contribute text.
var invisible = map[atom.Atom]bool{
	atom.Script: true, atom.Style: true, atom.Noscript: true, atom.Template: true,
	atom.Head: true, atom.Title: true, atom.Meta: true, atom.Link: true,
	atom.Iframe: true, atom.Object: true, atom.Embed: true, atom.Svg: true,
	atom.Canvas: true, atom.Math: true, atom.Button: true, atom.Input: true,
	atom.Select: true, atom.Option: true, atom.Textarea: true, atom.Audio: true,
	atom.Video: true, atom.Source: true, atom.Track: true, atom.Map: true,
	atom.Area: true, atom.Dialog: true,
}

// boilerplate elements are navigation and page furniture.
var boilerplate = map[atom.Atom]bool{atom.Nav: true, atom.Aside: true, atom.Footer: true}

var boilerplateRoles = map[string]bool{
	"navigation": true, "banner": true, "contentinfo": true, "complementary": true,
	"search": true, "menu": true, "menubar": true, "toolbar": true, "tablist": true,
	"dialog": true, "alertdialog": true,
}

// boilerplateTokens are class and id words of page furniture.
var boilerplateTokens = map[string]bool{
	"cookie": true, "cookies": true, "consent": true, "gdpr": true,
	"breadcrumb": true, "breadcrumbs": true, "skip": true, "skiplink": true,
	"sidebar": true, "share": true, "sharing": true, "social": true,
	"newsletter": true, "subscribe": true, "advert": true, "advertisement": true,
	"ads": true, "ad": true, "promo": true, "popup": true, "modal": true,
	"related": true, "recommended": true, "comments": true, "footer": true,
	"navbar": true, "nav": true, "navigation": true, "menu": true, "toc": true,
	"pagination": true, "pager": true, "masthead": true, "banner": true,
	"sronly": true, "visually": true,
}

// block elements start a new block.
var block = map[atom.Atom]bool{
	atom.Address: true, atom.Article: true, atom.Aside: true, atom.Blockquote: true,
	atom.Body: true, atom.Center: true, atom.Dd: true, atom.Details: true,
	atom.Div: true, atom.Dl: true, atom.Dt: true, atom.Fieldset: true,
	atom.Figcaption: true, atom.Figure: true, atom.Footer: true, atom.Form: true,
	atom.H1: true, atom.H2: true, atom.H3: true, atom.H4: true, atom.H5: true,
	atom.H6: true, atom.Header: true, atom.Hgroup: true, atom.Hr: true,
	atom.Li: true, atom.Main: true, atom.Nav: true, atom.Ol: true, atom.P: true,
	atom.Pre: true, atom.Section: true, atom.Summary: true, atom.Table: true,
	atom.Tr: true, atom.Ul: true, atom.Legend: true, atom.Caption: true,
	atom.Html: true,
}

// Limits that keep hostile pages from costing more than realistic ones.
const (
	maxDepth       = 512      // elements nested deeper are dropped
	maxIndentDepth = 16       // lists and quotes nested deeper are not indented further
	maxOutput      = 32 << 20 // bytes of markdown written before rendering stops
)

type converter struct {
	base    *url.URL
	page    *url.URL
	rootLen int
	// furniture holds the text length of elements whose class or id names
	// page furniture, measured once.
	furniture map[*html.Node]int
	depth     int // element nesting
	indent    int // list and quote nesting
	written   int // bytes written by all writers
	open      map[string]bool
}

// measure returns the text length under n and whether it holds a
// document's title or main content (an h1, main, article or role=main). It
// records the length of elements whose class or id looks like page
// furniture, unless they hold such content ("wy-nav-content-wrap").
func (c *converter) measure(n *html.Node) (int, bool) {
	total, content := 0, false
	for ch := n.FirstChild; ch != nil; ch = ch.NextSibling {
		switch ch.Type {
		case html.TextNode:
			total += len(strings.TrimSpace(ch.Data))
		case html.ElementNode:
			if invisible[ch.DataAtom] {
				continue
			}
			l, has := c.measure(ch)
			has = has || ch.DataAtom == atom.H1 || ch.DataAtom == atom.Main || ch.DataAtom == atom.Article
			for _, a := range ch.Attr {
				if a.Key == "role" && a.Val == "main" {
					has = true
				}
			}
			if !has {
				for _, a := range ch.Attr {
					if (a.Key == "class" || a.Key == "id") && hasBoilerplateToken(a.Val) {
						c.furniture[ch] = l
						break
					}
				}
			}
			total += l
			content = content || has
		}
	}
	return total, content
}

// skip reports whether an element is left out of the output.
func (c *converter) skip(n *html.Node) bool {
	if invisible[n.DataAtom] {
		return true
	}
	if boilerplate[n.DataAtom] {
		return true
	}
	var role string
	for _, a := range n.Attr {
		switch a.Key {
		case "hidden":
			return true
		case "aria-hidden":
			if a.Val == "true" {
				return true
			}
		case "style":
			if hiddenStyle(a.Val) {
				return true
			}
		case "role":
			role = a.Val
		}
	}
	if boilerplateRoles[strings.ToLower(strings.TrimSpace(role))] {
		return true
	}
	if n.DataAtom == atom.Header && !insideContent(n) {
		return true
	}
	if l, ok := c.furniture[n]; ok {
		// A wrapper named "has-sidebar" may hold the whole page: only drop
		// what is a small part of it.
		return l*10 < c.rootLen*3
	}
	return false
}

func hiddenStyle(s string) bool {
	s = strings.ToLower(s)
	s = strings.ReplaceAll(s, " ", "")
	return strings.Contains(s, "display:none") || strings.Contains(s, "visibility:hidden")
}

// insideContent reports whether a header belongs to an article or main
// element (and so carries the content's title), not to the site.
func insideContent(n *html.Node) bool {
	for p := n.Parent; p != nil; p = p.Parent {
		if p.DataAtom == atom.Article || p.DataAtom == atom.Main {
			return true
		}
	}
	return false
}

func hasBoilerplateToken(s string) bool {
	start := -1
	for i := 0; i <= len(s); i++ {
		alnum := i < len(s) && (s[i] >= 'a' && s[i] <= 'z' || s[i] >= 'A' && s[i] <= 'Z' || s[i] >= '0' && s[i] <= '9')
		if alnum && start < 0 {
			start = i
		}
		if !alnum && start >= 0 {
			if boilerplateTokens[strings.ToLower(s[start:i])] {
				return true
			}
			start = -1
		}
	}
	return false
}

// children renders the children of n.
func (c *converter) children(w *writer, n *html.Node) {
	for ch := n.FirstChild; ch != nil; ch = ch.NextSibling {
		c.node(w, ch)
	}
}

func (c *converter) node(w *writer, n *html.Node) {
	switch n.Type {
	case html.TextNode:
		w.text(n.Data)
		return
	case html.ElementNode:
	default:
		return
	}
	if c.depth >= maxDepth || c.written > maxOutput || c.skip(n) {
		return
	}
	c.depth++
	defer func() { c.depth-- }()
	if w.inline {
		c.inlineElement(w, n)
		return
	}
	switch n.DataAtom {
	case atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6:
		text := c.inlineText(n)
		if text == "" {
			return
		}
		level := int(n.Data[1] - '0')
		w.block()
		w.raw(strings.Repeat("#", level) + " ")
		w.raw(text)
		w.block()
	case atom.P, atom.Div, atom.Section, atom.Article, atom.Main, atom.Header,
		atom.Figure, atom.Figcaption, atom.Address, atom.Center, atom.Details,
		atom.Summary, atom.Fieldset, atom.Form, atom.Hgroup, atom.Legend, atom.Dl,
		atom.Caption, atom.Body, atom.Html:
		w.block()
		c.children(w, n)
		w.block()
	case atom.Dt:
		text := c.inlineText(n)
		if text != "" {
			w.block()
			w.raw("**" + text + "**")
			w.block()
		}
	case atom.Dd:
		c.indented(w, n, ": ", "  ")
	case atom.Hr:
		w.block()
		w.raw("---")
		w.block()
	case atom.Pre:
		c.pre(w, n)
	case atom.Blockquote:
		c.indented(w, n, "> ", "> ")
	case atom.Ul, atom.Ol:
		c.list(w, n)
	case atom.Li:
		// A list item outside a list: render it as one.
		c.indented(w, n, "- ", "  ")
	case atom.Table:
		c.table(w, n)
	case atom.Tr, atom.Td, atom.Th, atom.Tbody, atom.Thead, atom.Tfoot:
		// Table parts outside a table.
		w.block()
		c.children(w, n)
		w.block()
	default:
		c.inlineElement(w, n)
	}
}

// indented renders n's content as blocks with its lines prefixed: the
// first with first, the others with rest. Past maxIndentDepth the content
// is rendered without prefixes.
func (c *converter) indented(w *writer, n *html.Node, first, rest string) {
	w.block()
	if c.indent >= maxIndentDepth {
		c.children(w, n)
	} else {
		c.indent++
		w.raw(indentLines(c.subBlocks(n), first, rest))
		c.indent--
	}
	w.block()
}

// inlineElement renders an element in running text.
func (c *converter) inlineElement(w *writer, n *html.Node) {
	switch n.DataAtom {
	case atom.Br:
		w.lineBreak()
	case atom.A:
		c.link(w, n)
	case atom.Img:
		c.image(w, n)
	case atom.Strong, atom.B:
		c.wrap(w, n, "**")
	case atom.Em, atom.I, atom.Cite, atom.Dfn:
		c.wrap(w, n, "*")
	case atom.Del, atom.S, atom.Strike:
		c.wrap(w, n, "~~")
	case atom.Code, atom.Kbd, atom.Samp, atom.Tt:
		w.code(rawText(n))
	case atom.Pre:
		w.code(rawText(n))
	case atom.Hr:
		w.space()
	default:
		if block[n.DataAtom] {
			w.space()
			c.children(w, n)
			w.space()
			return
		}
		c.children(w, n)
	}
}

// wrap renders n's content between emphasis markers, keeping surrounding
// spaces outside them.
func (c *converter) wrap(w *writer, n *html.Node, marker string) {
	if c.open[marker] {
		// <b><b>x</b></b> is bold once.
		c.children(w, n)
		return
	}
	c.open[marker] = true
	sub := c.newWriter(true)
	c.children(sub, n)
	c.open[marker] = false
	s := sub.String()
	inner := strings.TrimSpace(s)
	if inner == "" {
		if s != "" {
			w.space()
		}
		return
	}
	if isSpace(s[0]) {
		w.space()
	}
	w.raw(marker + inner + marker)
	if isSpace(s[len(s)-1]) {
		w.space()
	}
}

func (c *converter) link(w *writer, n *html.Node) {
	sub := c.newWriter(true)
	c.children(sub, n)
	s := sub.String()
	text := strings.TrimSpace(s)
	href, _ := attr(n, "href")
	if strings.HasPrefix(strings.TrimSpace(href), "#") && isPermalinkMark(text) {
		return // the ¶ after a documentation heading
	}
	dest := c.resolve(href, true)
	if text == "" {
		if dest == "" {
			return
		}
		text = c.titleOf(n)
		if text == "" {
			return
		}
	}
	if len(s) > 0 && isSpace(s[0]) {
		w.space()
	}
	if dest == "" {
		w.raw(text)
	} else {
		w.raw("[" + text + "](" + dest + ")")
	}
	if len(s) > 0 && isSpace(s[len(s)-1]) {
		w.space()
	}
}

func isPermalinkMark(s string) bool {
	switch s {
	case "¶", "#", "§", "🔗", "\\#":
		return true
	}
	return false
}

func (c *converter) titleOf(n *html.Node) string {
	for _, k := range []string{"aria-label", "title"} {
		if v, ok := attr(n, k); ok {
			if v = collapseSpace(v); v != "" {
				return escapeInline(v)
			}
		}
	}
	return ""
}

func (c *converter) image(w *writer, n *html.Node) {
	src := ""
	for _, k := range []string{"src", "data-src", "data-lazy-src", "data-original"} {
		if v, ok := attr(n, k); ok && strings.TrimSpace(v) != "" && !strings.HasPrefix(strings.TrimSpace(v), "data:") {
			src = v
			break
		}
	}
	if wd, _ := attr(n, "width"); wd == "1" {
		if h, _ := attr(n, "height"); h == "1" {
			return // a tracking pixel
		}
	}
	alt, _ := attr(n, "alt")
	alt = escapeInline(collapseSpace(alt))
	dest := c.resolve(src, false)
	if dest == "" {
		if alt != "" {
			w.raw(alt)
		}
		return
	}
	w.raw("![" + alt + "](" + dest + ")")
}

// resolve makes a link destination absolute and safe to put in markdown
// parentheses. It returns "" for links that lead nowhere useful: script
// URLs, data URLs, and (for links) anchors on the same page.
func (c *converter) resolve(ref string, isLink bool) string {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return ""
	}
	u, err := url.Parse(ref)
	if err != nil {
		return ""
	}
	switch strings.ToLower(u.Scheme) {
	case "javascript", "vbscript", "data", "blob":
		return ""
	}
	if c.base != nil {
		u = c.base.ResolveReference(u)
	}
	if isLink && u.Fragment != "" && c.page != nil && sameDocument(u, c.page) {
		return ""
	}
	if isLink && ref[0] == '#' && c.base == nil {
		return ""
	}
	return escapeDestination(u.String())
}

func sameDocument(a, b *url.URL) bool {
	return a.Scheme == b.Scheme && a.Host == b.Host && a.Path == b.Path && a.RawQuery == b.RawQuery
}

func escapeDestination(s string) string {
	if !strings.ContainsAny(s, "() <>") {
		return s
	}
	r := strings.NewReplacer("(", "%28", ")", "%29", " ", "%20", "<", "%3C", ">", "%3E")
	return r.Replace(s)
}

// inlineText renders n's content as one line of inline markdown.
func (c *converter) inlineText(n *html.Node) string {
	sub := c.newWriter(true)
	c.children(sub, n)
	return strings.TrimSpace(sub.String())
}

// subBlocks renders n's content as blocks on their own.
func (c *converter) subBlocks(n *html.Node) string {
	sub := c.newWriter(false)
	c.children(sub, n)
	return sub.finish()
}

func (c *converter) list(w *writer, n *html.Node) {
	if c.indent >= maxIndentDepth {
		w.block()
		c.children(w, n)
		w.block()
		return
	}
	c.indent++
	defer func() { c.indent-- }()
	ordered := n.DataAtom == atom.Ol
	num := 1
	if ordered {
		if s, ok := attr(n, "start"); ok {
			if v, err := strconv.Atoi(strings.TrimSpace(s)); err == nil && v >= 0 && v < 1e9 {
				num = v
			}
		}
	}
	var items []string
	loose := false
	for ch := n.FirstChild; ch != nil; ch = ch.NextSibling {
		if ch.Type == html.ElementNode && c.skip(ch) {
			continue
		}
		var body string
		switch {
		case ch.Type == html.ElementNode && ch.DataAtom == atom.Li:
			sub := c.newWriter(false)
			sub.tight = !hasChild(ch, atom.P)
			c.children(sub, ch)
			body = sub.finish()
		case ch.Type == html.ElementNode && (ch.DataAtom == atom.Ul || ch.DataAtom == atom.Ol):
			// A list nested directly in a list belongs to the previous item.
			sub := c.newWriter(false)
			c.list(sub, ch)
			if nested := sub.finish(); nested != "" && len(items) > 0 {
				items[len(items)-1] += "\n" + nested
			}
			continue
		case ch.Type == html.TextNode && strings.TrimSpace(ch.Data) == "":
			continue
		default:
			sub := c.newWriter(false)
			c.node(sub, ch)
			body = sub.finish()
		}
		if body == "" {
			continue
		}
		if strings.Contains(body, "\n\n") {
			loose = true
		}
		items = append(items, body)
	}
	if len(items) == 0 {
		return
	}
	var b strings.Builder
	for i, item := range items {
		marker := "- "
		if ordered {
			marker = strconv.Itoa(num+i) + ". "
		}
		if i > 0 {
			b.WriteString("\n")
			if loose {
				b.WriteString("\n")
			}
		}
		b.WriteString(indentLines(item, marker, strings.Repeat(" ", len(marker))))
	}
	w.block()
	w.raw(b.String())
	w.block()
}

func (c *converter) pre(w *writer, n *html.Node) {
	text := rawText(n)
	text = strings.TrimPrefix(text, "\n")
	text = strings.TrimRight(text, " \t\n\r")
	if strings.TrimSpace(text) == "" {
		return
	}
	// The language is on the pre, its code child, or a highlighting
	// wrapper around it (<div class="highlight-python"><div class="highlight"><pre>).
	lang := codeLanguage(n)
	for ch := n.FirstChild; lang == "" && ch != nil; ch = ch.NextSibling {
		if ch.Type == html.ElementNode && ch.DataAtom == atom.Code {
			lang = codeLanguage(ch)
		}
	}
	for p, i := n.Parent, 0; lang == "" && p != nil && i < 2; p, i = p.Parent, i+1 {
		lang = codeLanguage(p)
	}
	fence := strings.Repeat("`", max(3, longestRun(text, '`')+1))
	w.block()
	w.raw(fence + lang + "\n" + text + "\n" + fence)
	w.block()
}

// codeLanguage reads a code block's language from its class (language-go,
// lang-go, highlight-source-go) or data-lang attribute.
func codeLanguage(n *html.Node) string {
	if v, ok := attr(n, "data-lang"); ok && validLang(v) {
		return strings.ToLower(v)
	}
	class, _ := attr(n, "class")
	for _, f := range strings.Fields(class) {
		for _, p := range []string{"language-", "lang-", "highlight-source-", "highlight-"} {
			if strings.HasPrefix(f, p) && validLang(f[len(p):]) {
				return strings.ToLower(f[len(p):])
			}
		}
	}
	return ""
}

func validLang(s string) bool {
	if s == "" || len(s) > 30 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '+' || c == '#' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

func longestRun(s string, b byte) int {
	best, cur := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] == b {
			cur++
			best = max(best, cur)
		} else {
			cur = 0
		}
	}
	return best
}

// rawText is the text under n with its whitespace as written; <br> is a
// newline.
func rawText(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		for ch := n.FirstChild; ch != nil; ch = ch.NextSibling {
			switch ch.Type {
			case html.TextNode:
				b.WriteString(ch.Data)
			case html.ElementNode:
				if ch.DataAtom == atom.Br {
					b.WriteByte('\n')
				} else if !invisible[ch.DataAtom] {
					walk(ch)
				}
			}
		}
	}
	walk(n)
	return b.String()
}

func (c *converter) table(w *writer, n *html.Node) {
	var rows [][]string
	var caption string
	nested := false
	var walkRows func(*html.Node)
	walkRows = func(p *html.Node) {
		for ch := p.FirstChild; ch != nil; ch = ch.NextSibling {
			if ch.Type != html.ElementNode {
				continue
			}
			switch ch.DataAtom {
			case atom.Caption:
				caption = c.inlineText(ch)
			case atom.Thead, atom.Tbody, atom.Tfoot:
				walkRows(ch)
			case atom.Tr:
				var row []string
				for cell := ch.FirstChild; cell != nil; cell = cell.NextSibling {
					if cell.Type != html.ElementNode || (cell.DataAtom != atom.Td && cell.DataAtom != atom.Th) {
						continue
					}
					if hasDescendant(cell, atom.Table) {
						nested = true
					}
					text := strings.ReplaceAll(c.inlineText(cell), "|", `\|`)
					row = append(row, text)
					if span, ok := attr(cell, "colspan"); ok {
						if k, err := strconv.Atoi(span); err == nil {
							for i := 1; i < min(k, 50); i++ {
								row = append(row, "")
							}
						}
					}
				}
				if len(row) == 0 {
					continue
				}
				rows = append(rows, row)
			}
		}
	}
	walkRows(n)
	cols := 0
	for _, r := range rows {
		cols = max(cols, len(r))
	}
	if len(rows) == 0 {
		return
	}
	if nested || cols == 1 {
		// A layout table: its cells are content, not data.
		w.block()
		c.children(w, n)
		w.block()
		return
	}
	var b strings.Builder
	if caption != "" {
		b.WriteString("*" + caption + "*\n\n")
	}
	writeRow := func(r []string) {
		b.WriteString("|")
		for i := 0; i < cols; i++ {
			cell := ""
			if i < len(r) {
				cell = r[i]
			}
			b.WriteString(" " + cell + " |")
		}
		b.WriteString("\n")
	}
	// GFM tables have exactly one header row: the first.
	writeRow(rows[0])
	b.WriteString("|")
	for range cols {
		b.WriteString(" --- |")
	}
	b.WriteString("\n")
	for _, r := range rows[1:] {
		writeRow(r)
	}
	w.block()
	w.raw(strings.TrimRight(b.String(), "\n"))
	w.block()
}

func hasChild(n *html.Node, a atom.Atom) bool {
	for ch := n.FirstChild; ch != nil; ch = ch.NextSibling {
		if ch.Type == html.ElementNode && ch.DataAtom == a {
			return true
		}
	}
	return false
}

func hasDescendant(n *html.Node, a atom.Atom) bool {
	for ch := n.FirstChild; ch != nil; ch = ch.NextSibling {
		if ch.Type == html.ElementNode && (ch.DataAtom == a || hasDescendant(ch, a)) {
			return true
		}
	}
	return false
}

func attr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

// indentLines prefixes the first line of s with first and the others with
// rest; empty lines get rest without trailing spaces.
func indentLines(s, first, rest string) string {
	if s == "" {
		return ""
	}
	var b strings.Builder
	b.Grow(len(s) + len(first) + 8*strings.Count(s, "\n"))
	trimmedRest := strings.TrimRight(rest, " ")
	for i, line := range strings.Split(s, "\n") {
		if i > 0 {
			b.WriteByte('\n')
		}
		switch {
		case i == 0:
			b.WriteString(first)
		case line == "":
			b.WriteString(trimmedRest)
			continue
		default:
			b.WriteString(rest)
		}
		b.WriteString(line)
	}
	return b.String()
}

func collapseSpace(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\u00a0", " ")), " ")
}

func isSpace(b byte) bool {
	return b == ' ' || b == '\t' || b == '\n' || b == '\r' || b == '\f'
}

// writer accumulates markdown. In block mode it separates blocks with a
// blank line; in inline mode (link text, table cells, headings) blocks
// become spaces and everything stays on one line.
type writer struct {
	buf          []byte
	written      *int // the converter's output counter; nil for scratch use
	inline       bool
	tight        bool // blocks are separated by a newline, not a blank line
	pendingSpace bool // whitespace seen since the last output
	pendingBlock bool // a block boundary since the last output
	lineStart    bool // the next text starts a line
}

func (c *converter) newWriter(inline bool) *writer {
	return &writer{inline: inline, lineStart: !inline, written: &c.written}
}

func (w *writer) count(n int) {
	if w.written != nil {
		*w.written += n
	}
}

func (w *writer) String() string {
	s := string(w.buf)
	if w.pendingSpace && s != "" {
		s += " "
	}
	return s
}

// finish returns the block output, trimmed.
func (w *writer) finish() string {
	return strings.TrimSpace(string(w.buf))
}

// block marks a block boundary.
func (w *writer) block() {
	if w.inline {
		w.space()
		return
	}
	w.pendingBlock = true
	w.pendingSpace = false
}

func (w *writer) space() { w.pendingSpace = true }

// flush writes pending separators before new content.
func (w *writer) flush() {
	if w.pendingBlock {
		w.pendingBlock = false
		w.pendingSpace = false
		if len(w.buf) > 0 {
			w.trimTrailingSpace()
			w.buf = append(w.buf, '\n')
			if !w.tight {
				w.buf = append(w.buf, '\n')
			}
		}
		w.lineStart = true
		return
	}
	if w.pendingSpace {
		w.pendingSpace = false
		// An inline writer keeps a leading space: its caller decides
		// whether the text before it needs one.
		if (len(w.buf) > 0 || w.inline) && !w.lineStart {
			w.buf = append(w.buf, ' ')
		}
	}
}

func (w *writer) trimTrailingSpace() {
	for len(w.buf) > 0 && (w.buf[len(w.buf)-1] == ' ' || w.buf[len(w.buf)-1] == '\n') {
		w.buf = w.buf[:len(w.buf)-1]
	}
}

func (w *writer) lineBreak() {
	if w.inline {
		w.space()
		return
	}
	if len(w.buf) == 0 || w.lineStart {
		return
	}
	w.pendingSpace = false
	w.trimTrailingSpace()
	w.buf = append(w.buf, ' ', ' ', '\n')
	w.lineStart = true
}

// raw writes markdown syntax as is.
func (w *writer) raw(s string) {
	if s == "" {
		return
	}
	w.flush()
	w.count(len(s))
	w.buf = append(w.buf, s...)
	w.lineStart = s[len(s)-1] == '\n'
}

// text writes a text node: whitespace collapsed, markdown escaped.
func (w *writer) text(s string) {
	i := 0
	for i < len(s) {
		// Whitespace run.
		j := i
		for j < len(s) && (isSpace(s[j]) || s[j] == 0xc2 && j+1 < len(s) && s[j+1] == 0xa0) {
			if s[j] == 0xc2 {
				j++
			}
			j++
		}
		if j > i {
			w.pendingSpace = true
			i = j
			continue
		}
		// Word run.
		for j < len(s) && !isSpace(s[j]) && !(s[j] == 0xc2 && j+1 < len(s) && s[j+1] == 0xa0) {
			j++
		}
		w.flush()
		w.word(s[i:j])
		i = j
	}
}

// word writes one whitespace-free run of text, escaping what markdown would
// otherwise read as syntax.
func (w *writer) word(s string) {
	w.count(len(s))
	if w.lineStart {
		w.lineStart = false
		if esc := lineStartEscape(s); esc >= 0 {
			w.appendEscaped(s[:esc])
			w.buf = append(w.buf, '\\', s[esc])
			s = s[esc+1:]
		}
	}
	w.appendEscaped(s)
}

// lineStartEscape returns the index in s where a backslash must go so a
// line starting with s is not read as a heading, quote, list item or rule;
// -1 when none is needed.
func lineStartEscape(s string) int {
	switch s[0] {
	case '>':
		return 0
	case '#', '=', '-', '+', '*':
		// "#" to "######" start headings, "-" a list item, "---" or "==="
		// underline a heading.
		if strings.Trim(s, s[:1]) == "" {
			return 0
		}
	case '~':
		if strings.HasPrefix(s, "~~~") {
			return 0
		}
	}
	// "1." or "1)" ending the word: an ordered list marker.
	k := 0
	for k < len(s) && k < 10 && s[k] >= '0' && s[k] <= '9' {
		k++
	}
	if k > 0 && k == len(s)-1 && (s[k] == '.' || s[k] == ')') {
		return k
	}
	return -1
}

func (w *writer) appendEscaped(s string) {
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch ch {
		case '\\':
			if i+1 < len(s) && isASCIIPunct(s[i+1]) {
				w.buf = append(w.buf, '\\')
			}
		case '`', '[', ']':
			w.buf = append(w.buf, '\\')
		case '*', '_':
			var prev, next byte = ' ', ' '
			if i > 0 {
				prev = s[i-1]
			} else if len(w.buf) > 0 {
				prev = w.buf[len(w.buf)-1]
			}
			if i+1 < len(s) {
				next = s[i+1]
			}
			if ch == '_' && isAlnum(prev) && isAlnum(next) {
				break // snake_case is safe
			}
			if !isSpace(prev) || !isSpace(next) {
				w.buf = append(w.buf, '\\')
			}
		case '<':
			if i+1 < len(s) && (isAlpha(s[i+1]) || s[i+1] == '/' || s[i+1] == '!' || s[i+1] == '?') {
				w.buf = append(w.buf, '\\')
			}
		case '&':
			if entityAhead(s[i+1:]) {
				w.buf = append(w.buf, '\\')
			}
		}
		w.buf = append(w.buf, ch)
	}
}

func entityAhead(s string) bool {
	for i := 0; i < len(s) && i < 32; i++ {
		c := s[i]
		if c == ';' {
			return i > 0
		}
		if !(isAlnum(c) || c == '#') {
			return false
		}
	}
	return false
}

// code writes inline code.
func (w *writer) code(s string) {
	s = collapseSpace(s)
	if s == "" {
		return
	}
	fence := strings.Repeat("`", longestRun(s, '`')+1)
	if s[0] == '`' || s[len(s)-1] == '`' {
		s = " " + s + " "
	}
	w.raw(fence + s + fence)
}

// escapeInline escapes text for use inside link or image brackets.
func escapeInline(s string) string {
	w := &writer{inline: true}
	w.appendEscaped(s)
	return string(w.buf)
}

func isASCIIPunct(c byte) bool {
	return c >= '!' && c <= '/' || c >= ':' && c <= '@' || c >= '[' && c <= '`' || c >= '{' && c <= '~'
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func isAlnum(c byte) bool { return isAlpha(c) || c >= '0' && c <= '9' || c >= utf8.RuneSelf }

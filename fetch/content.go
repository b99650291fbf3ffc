package fetch

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/mark3labs/mcp-go/mcp"
	"golang.org/x/net/html/charset"

	"github.com/mcp-oauth-gateway/gateway/fetch/safehttp"
)

// content is a response body as read.
type content struct {
	body      []byte
	truncated bool // the body went past the size cap; body is its beginning
	limit     int64
}

func readContent(resp *http.Response, limit int64) (*content, error) {
	body, err := io.ReadAll(resp.Body)
	c := &content{body: body, limit: limit}
	if errors.Is(err, safehttp.ErrBodyTooLarge) {
		c.truncated = true
	} else if err != nil {
		return nil, err
	}
	return c, nil
}

// contentKind is how a media type is shown.
type contentKind int

const (
	kindBinary contentKind = iota
	kindHTML
	kindJSON
	kindText
	kindImage
)

// imageTypes are the image formats MCP clients display.
var imageTypes = map[string]bool{"image/png": true, "image/jpeg": true, "image/gif": true, "image/webp": true}

var textTypes = map[string]bool{
	"application/xml": true, "application/javascript": true, "application/ecmascript": true,
	"application/x-javascript": true, "application/yaml": true, "application/x-yaml": true,
	"application/toml": true, "application/x-sh": true, "application/sql": true,
	"application/graphql": true, "application/x-www-form-urlencoded": true,
	"application/x-ndjson": true, "application/csv": true, "application/x-tex": true,
}

func classifyMedia(mediaType string, body []byte) contentKind {
	switch {
	case mediaType == "text/html" || mediaType == "application/xhtml+xml":
		return kindHTML
	case mediaType == "application/json" || mediaType == "text/json" || strings.HasSuffix(mediaType, "+json"):
		return kindJSON
	case imageTypes[mediaType]:
		return kindImage
	case strings.HasPrefix(mediaType, "text/") || strings.HasSuffix(mediaType, "+xml") || textTypes[mediaType]:
		return kindText
	}
	// Unknown or generic types: text if it looks like text.
	sniffed, _, _ := mime.ParseMediaType(http.DetectContentType(body))
	switch {
	case sniffed == "text/html":
		return kindHTML
	case sniffed == "text/plain" && utf8.Valid(body[:validPrefix(body)]):
		return kindText
	case imageTypes[sniffed] && mediaType == "":
		return kindImage
	}
	return kindBinary
}

// validPrefix is how much of b to check for UTF-8: all of it but a rune cut
// by the size cap.
func validPrefix(b []byte) int {
	n := len(b)
	for i := 0; i < utf8.UTFMax && n > 0 && !utf8.RuneStart(b[n-1]); i++ {
		n--
	}
	if n > 0 && !utf8.FullRune(b[n-1:]) {
		n--
	}
	return n
}

// decodeText turns a body into UTF-8 text using the charset of the
// Content-Type, the HTML meta tags, or a byte order mark.
func decodeText(body []byte, contentType string, isHTML bool) string {
	var name string
	if isHTML {
		_, name, _ = charset.DetermineEncoding(body, contentType)
	} else if _, params, err := mime.ParseMediaType(contentType); err == nil && params["charset"] != "" {
		_, name = charset.Lookup(params["charset"])
	}
	if name != "" && name != "utf-8" {
		if enc, _ := charset.Lookup(name); enc != nil {
			if out, err := enc.NewDecoder().Bytes(body); err == nil {
				return string(out)
			}
		}
	}
	body = bytes.TrimPrefix(body, []byte("\xef\xbb\xbf"))
	return strings.ToValidUTF8(string(body), "\uFFFD")
}

// shape turns a response into the tool result.
func (t *Tools) shape(c *call, resp *http.Response, body *content) *mcp.CallToolResult {
	final := resp.Request.URL
	contentType := resp.Header.Get("Content-Type")
	mediaType, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		mediaType = ""
	}
	res := &Result{URL: final.String(), Status: resp.StatusCode, ContentType: mediaType, StartIndex: c.startIndex, Truncated: body.truncated}
	failed := resp.StatusCode >= 400
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		if loc, err := resp.Location(); err == nil {
			// Only reached when redirects are not followed.
			r := mcp.NewToolResultStructured(res, fmt.Sprintf("HTTP %s from %s: it redirects to %s, which was not followed because redirects are turned off. Fetch that URL to continue.",
				resp.Status, final, loc))
			return r
		}
	}
	kind := classifyMedia(mediaType, body.body)
	if res.ContentType == "" && len(body.body) > 0 {
		res.ContentType, _, _ = mime.ParseMediaType(http.DetectContentType(body.body))
	}

	var text string
	switch kind {
	case kindImage:
		if failed {
			break
		}
		if body.truncated {
			return errorResult(res, fmt.Sprintf("The image at %s is larger than the %s size limit and was not returned.", final, formatBytes(body.limit)))
		}
		r := mcp.NewToolResultImage(
			fmt.Sprintf("Image from %s (%s, %s).", final, res.ContentType, formatBytes(int64(len(body.body)))),
			base64.StdEncoding.EncodeToString(body.body), res.ContentType)
		r.StructuredContent = res
		return r
	case kindBinary:
		if failed {
			break
		}
		return errorResult(res, fmt.Sprintf("The response from %s is binary content (%s, %s) that the fetch tool cannot show. It returns web pages, text, JSON and PNG, JPEG, GIF or WebP images.",
			final, orUnknown(res.ContentType), formatBytes(int64(len(body.body)))))
	case kindHTML:
		html := decodeText(body.body, contentType, true)
		if c.raw {
			text = html
			break
		}
		page, err := ConvertHTML(strings.NewReader(html), final)
		if err != nil {
			text = html // the parser gave up (absurd nesting): the source is still useful
			break
		}
		res.Title, text = page.Title, page.Markdown
	case kindJSON:
		text = decodeText(body.body, contentType, false)
		if !c.raw && !body.truncated {
			var out bytes.Buffer
			if json.Indent(&out, []byte(text), "", "  ") == nil {
				text = out.String()
			}
		}
	case kindText:
		text = decodeText(body.body, contentType, false)
	}
	if failed && text == "" && kind != kindHTML && kind != kindJSON && kind != kindText {
		text = "(the error response has no text body)"
	}

	part, total := runeSlice(text, c.startIndex, c.maxLength)
	res.Length = total
	var b strings.Builder
	switch {
	case failed:
		fmt.Fprintf(&b, "HTTP %s from %s.", resp.Status, final)
		if part != "" {
			b.WriteString(" The response said:\n\n")
		}
	case total == 0:
		fmt.Fprintf(&b, "The response from %s (HTTP %d) has no content.", final, resp.StatusCode)
	case c.startIndex >= total:
		return errorResult(res, fmt.Sprintf("start_index %d is past the end of the content of %s, which has %d characters.", c.startIndex, final, total))
	default:
		fmt.Fprintf(&b, "Contents of %s:\n\n", final)
	}
	b.WriteString(part)
	if end := c.startIndex + utf8.RuneCountInString(part); end < total && part != "" {
		res.NextStartIndex = &end
		fmt.Fprintf(&b, "\n\n[Content cut at character %d of %d. Call fetch with start_index=%d to get more.]", end, total, end)
	}
	if body.truncated {
		fmt.Fprintf(&b, "\n\n[The response is larger than the %s size limit; only its beginning was read.]", formatBytes(body.limit))
	}
	r := mcp.NewToolResultStructured(res, b.String())
	r.IsError = failed
	return r
}

func errorResult(res *Result, msg string) *mcp.CallToolResult {
	r := mcp.NewToolResultError(msg)
	r.StructuredContent = res
	return r
}

// runeSlice returns at most n characters of s from character start, and the
// number of characters in s.
func runeSlice(s string, start, n int) (string, int) {
	total := utf8.RuneCountInString(s)
	if start >= total {
		return "", total
	}
	from := byteOffset(s, 0, start)
	to := byteOffset(s, from, n)
	return s[from:to], total
}

// byteOffset returns the byte offset n characters after byte offset from.
func byteOffset(s string, from, n int) int {
	i := from
	for ; n > 0 && i < len(s); n-- {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return i
}

func formatBytes(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown type"
	}
	return s
}

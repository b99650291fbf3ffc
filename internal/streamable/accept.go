package streamable

import (
	"net/http"
	"strings"
)

// Accepts reads the Accept header of h as media ranges (RFC 9110 §12.5.1)
// and reports whether an application/json and a text/event-stream answer
// are acceptable. The most specific range that matches a type decides
// (type/subtype over type/* over */*), and q=0 excludes it. No Accept
// header accepts both; ranges that are not type/subtype are ignored.
func Accepts(h http.Header) (jsonOK, sseOK bool) {
	values := h.Values("Accept")
	if len(values) == 1 && values[0] == "application/json, text/event-stream" {
		return true, true // what MCP clients send
	}
	var j, s match
	blank := true
	for _, v := range values {
		for v != "" {
			var part string
			part, v, _ = strings.Cut(v, ",")
			mediaRange, params, _ := strings.Cut(part, ";")
			mediaRange = strings.TrimSpace(mediaRange)
			if mediaRange == "" {
				continue
			}
			blank = false
			typ, sub, ok := strings.Cut(mediaRange, "/")
			if !ok || typ == "" || sub == "" {
				continue
			}
			zero := qIsZero(params)
			j.consider(typ, sub, "application", "json", zero)
			s.consider(typ, sub, "text", "event-stream", zero)
		}
	}
	if blank {
		return true, true
	}
	return j.ok(), s.ok()
}

// match is the most specific media range seen so far for one type.
type match struct {
	specificity int // 0 none, 1 */*, 2 type/*, 3 type/subtype
	zero        bool
}

func (m *match) consider(typ, sub, wantType, wantSub string, zero bool) {
	var spec int
	switch {
	case strings.EqualFold(typ, wantType) && strings.EqualFold(sub, wantSub):
		spec = 3
	case strings.EqualFold(typ, wantType) && sub == "*":
		spec = 2
	case typ == "*" && sub == "*":
		spec = 1
	default:
		return
	}
	switch {
	case spec > m.specificity:
		m.specificity, m.zero = spec, zero
	case spec == m.specificity && !zero:
		m.zero = false // of two equal ranges, the one that accepts wins
	}
}

func (m match) ok() bool { return m.specificity > 0 && !m.zero }

// qIsZero reports whether the parameters of a media range give it q=0 (or
// 0.0, 0.00, 0.000).
func qIsZero(params string) bool {
	for params != "" {
		var p string
		p, params, _ = strings.Cut(params, ";")
		name, value, ok := strings.Cut(p, "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(name), "q") {
			continue
		}
		value = strings.TrimSpace(value)
		if value == "" || value[0] != '0' {
			return false
		}
		return strings.Trim(value[1:], ".0") == "" && strings.Count(value, ".") <= 1
	}
	return false
}

// IsJSON reports whether a Content-Type names application/json, with
// parameters (charset) or without.
func IsJSON(contentType string) bool {
	if contentType == "application/json" {
		return true
	}
	mediaType, _, _ := strings.Cut(contentType, ";")
	return strings.EqualFold(strings.TrimSpace(mediaType), "application/json")
}

package stdiobridge

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
)

// The proxy relays JSON-RPC messages as raw bytes. It reads only the few
// top-level members it routes on (id, method, params, result, error) by
// scanning the message once, and when it must change a value (an id it
// remapped, a progress token) it splices the new bytes in place of the old
// ones. Everything else reaches the other side byte for byte.

// kind is what a JSON-RPC message is.
type kind uint8

const (
	kindRequest kind = iota + 1
	kindNotification
	kindResponse
)

// span is the position of a JSON value inside a message: raw[start:end].
// The zero span means the member is absent.
type span struct{ start, end int }

func (s span) ok() bool { return s.end > s.start }

// message is a scanned JSON-RPC message. raw is never modified.
type message struct {
	raw    []byte
	kind   kind
	method string
	id     span
	params span
	result span
	err    span
}

func (m *message) idBytes() []byte     { return m.raw[m.id.start:m.id.end] }
func (m *message) paramsBytes() []byte { return m.raw[m.params.start:m.params.end] }

var (
	errNotObject = errors.New("message is not a JSON object")
	errBadJSON   = errors.New("message is not valid JSON")
)

// invalidError is a message that is valid JSON but not a valid JSON-RPC
// message; it maps to -32600 Invalid Request.
type invalidError string

func (e invalidError) Error() string { return string(e) }

// parseMessage scans raw, which must hold exactly one JSON-RPC message. It
// checks that raw is valid JSON; errBadJSON and errNotObject map to -32700
// Parse error, an invalidError to -32600 Invalid Request.
func parseMessage(raw []byte) (message, error) {
	m := message{raw: raw}
	if !json.Valid(raw) {
		return m, errBadJSON
	}
	i := skipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		return m, errNotObject
	}
	var method span
	seen := 0
	err := eachMember(raw, span{i, len(raw)}, func(key []byte, v span) bool {
		var bit int
		var dst *span
		if bytes.IndexByte(key, '\\') >= 0 {
			key = []byte(keyString(key))
		}
		switch string(key) {
		case "id":
			bit, dst = 1, &m.id
		case "method":
			bit, dst = 2, &method
		case "params":
			bit, dst = 4, &m.params
		case "result":
			bit, dst = 8, &m.result
		case "error":
			bit, dst = 16, &m.err
		default:
			return true
		}
		if seen&bit != 0 {
			seen |= 1 << 10 // duplicate member
			return false
		}
		seen |= bit
		*dst = v
		return true
	})
	if err != nil {
		return m, err
	}
	if seen&(1<<10) != 0 {
		return m, invalidError("duplicate JSON-RPC member")
	}
	if m.id.ok() {
		switch raw[m.id.start] {
		case '"':
		case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		default:
			return m, invalidError("id must be a string or a number")
		}
	}
	switch {
	case method.ok():
		if raw[method.start] != '"' {
			return m, invalidError("method must be a string")
		}
		if q := raw[method.start+1 : method.end-1]; plainASCII(q) {
			m.method = string(q)
		} else if err := json.Unmarshal(raw[method.start:method.end], &m.method); err != nil {
			return m, invalidError("method must be a string")
		}
		if m.params.ok() && raw[m.params.start] != '{' && raw[m.params.start] != '[' {
			return m, invalidError("params must be an object or an array")
		}
		if m.id.ok() {
			m.kind = kindRequest
		} else {
			m.kind = kindNotification
		}
	case m.id.ok() && (m.result.ok() || m.err.ok()):
		m.kind = kindResponse
	default:
		return m, invalidError("not a JSON-RPC request, notification or response")
	}
	return m, nil
}

// plainASCII reports whether a JSON string's content needs no decoding.
func plainASCII(b []byte) bool {
	for _, c := range b {
		if c == '\\' || c >= 0x80 {
			return false
		}
	}
	return true
}

// keyIs reports whether the raw member name key is name.
func keyIs(key []byte, name string) bool {
	if bytes.IndexByte(key, '\\') < 0 {
		return string(key) == name
	}
	return keyString(key) == name
}

// keyString returns a member name; escaped names are decoded so that
// "\u0069d" is seen as "id", as every JSON parser behind the proxy will see
// it.
func keyString(key []byte) string {
	if bytes.IndexByte(key, '\\') < 0 {
		return string(key)
	}
	var s string
	if json.Unmarshal(append(append([]byte{'"'}, key...), '"'), &s) != nil {
		return ""
	}
	return s
}

// eachMember calls fn for every member of the JSON object at obj (which must
// be valid JSON) with the raw member name (without quotes) and the span of
// its value, until fn returns false.
func eachMember(raw []byte, obj span, fn func(key []byte, v span) bool) error {
	i := skipSpace(raw, obj.start)
	if i >= obj.end || raw[i] != '{' {
		return errNotObject
	}
	i = skipSpace(raw, i+1)
	if i < obj.end && raw[i] == '}' {
		return nil
	}
	for i < obj.end {
		if raw[i] != '"' {
			return errBadJSON
		}
		kend := skipString(raw, i)
		if kend < 0 {
			return errBadJSON
		}
		key := raw[i+1 : kend-1]
		i = skipSpace(raw, kend)
		if i >= obj.end || raw[i] != ':' {
			return errBadJSON
		}
		i = skipSpace(raw, i+1)
		vend := skipValue(raw, i)
		if vend < 0 {
			return errBadJSON
		}
		if !fn(key, span{i, vend}) {
			return nil
		}
		i = skipSpace(raw, vend)
		if i >= obj.end {
			return errBadJSON
		}
		if raw[i] == '}' {
			return nil
		}
		if raw[i] != ',' {
			return errBadJSON
		}
		i = skipSpace(raw, i+1)
	}
	return errBadJSON
}

// withoutMember returns raw without the member named key of the object at
// obj (and its separating comma), and whether there was one.
func withoutMember(raw []byte, obj span, key string) ([]byte, bool) {
	if !obj.ok() || raw[obj.start] != '{' {
		return raw, false
	}
	prevEnd := -1 // end of the previous member's value
	var cut span
	_ = eachMember(raw, obj, func(k []byte, v span) bool {
		// The key's opening quote: k is a subslice of raw.
		kstart := cap(raw) - cap(k) - 1
		if keyIs(k, key) {
			if prevEnd >= 0 {
				cut = span{prevEnd, v.end} // ,"key":value
			} else {
				end := skipSpace(raw, v.end)
				if end < obj.end && raw[end] == ',' {
					end++
				}
				cut = span{kstart, end} // "key":value,
			}
			return false
		}
		prevEnd = v.end
		return true
	})
	if !cut.ok() {
		return raw, false
	}
	return splice(raw, cut, nil, ""), true
}

// member returns the span of the value of the member named key in the object
// at obj, if obj is an object that has it.
func member(raw []byte, obj span, key string) (span, bool) {
	if !obj.ok() || raw[obj.start] != '{' {
		return span{}, false
	}
	var found span
	_ = eachMember(raw, obj, func(k []byte, v span) bool {
		if keyIs(k, key) {
			found = v
		}
		return true // the last one wins, as in encoding/json
	})
	return found, found.ok()
}

// path follows a chain of member names from the object at obj.
func path(raw []byte, obj span, keys ...string) (span, bool) {
	v := obj
	for _, k := range keys {
		var ok bool
		if v, ok = member(raw, v, k); !ok {
			return span{}, false
		}
	}
	return v, true
}

func skipSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// skipString returns the index just past the string that starts at b[i], or
// -1 when it is not terminated.
func skipString(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return -1
}

// skipValue returns the index just past the JSON value that starts at b[i],
// or -1 when there is none. b must be valid JSON.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				e := skipString(b, j)
				if e < 0 {
					return -1
				}
				j = e - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	default:
		j := i
		for j < len(b) {
			switch b[j] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return j
			}
			j++
		}
		if j == i {
			return -1
		}
		return j
	}
}

// splice returns a copy of raw with raw[s.start:s.end] replaced by repl,
// followed by tail (the framing newline, or nothing).
func splice(raw []byte, s span, repl []byte, tail string) []byte {
	out := make([]byte, 0, len(raw)-(s.end-s.start)+len(repl)+len(tail))
	out = append(out, raw[:s.start]...)
	out = append(out, repl...)
	out = append(out, raw[s.end:]...)
	return append(out, tail...)
}

// line returns raw framed for stdio: one line, ending in a newline. Pretty
// printed JSON from an HTTP client is compacted (whitespace only; values are
// untouched) so that it cannot break the line framing.
func line(raw []byte) []byte {
	if bytes.IndexByte(raw, '\n') >= 0 || bytes.IndexByte(raw, '\r') >= 0 {
		var b bytes.Buffer
		b.Grow(len(raw) + 1)
		if json.Compact(&b, raw) == nil {
			b.WriteByte('\n')
			return b.Bytes()
		}
	}
	out := make([]byte, len(raw)+1)
	copy(out, raw)
	out[len(raw)] = '\n'
	return out
}

// errorCode returns the code of a JSON-RPC error response, or 0.
func errorCode(m *message) int {
	if !m.err.ok() {
		return 0
	}
	c, ok := member(m.raw, m.err, "code")
	if !ok {
		return 0
	}
	n, err := strconv.Atoi(string(m.raw[c.start:c.end]))
	if err != nil {
		return 0
	}
	return n
}

// childID reads an id the proxy gave a request to the child: a decimal
// integer. ok is false for anything else.
func childID(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

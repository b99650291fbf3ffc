package echo

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// jwt is a JSON Web Token split and decoded, its signature not verified.
type jwt struct {
	header, claims map[string]any
	parts          [3]string // the base64url header, payload and signature
}

// decodeJWT splits a compact JWS and decodes its header and payload. It
// checks nothing else: the echo tools show what a token says, never whether
// to believe it.
func decodeJWT(token string) (*jwt, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("expected 3 dot-separated parts, got %d", len(parts))
	}
	header, err := decodeSegment(parts[0])
	if err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	claims, err := decodeSegment(parts[1])
	if err != nil {
		return nil, fmt.Errorf("payload: %w", err)
	}
	return &jwt{header: header, claims: claims, parts: [3]string{parts[0], parts[1], parts[2]}}, nil
}

// decodeSegment decodes one base64url JSON object (padding tolerated).
func decodeSegment(seg string) (map[string]any, error) {
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(seg, "="))
	if err != nil {
		return nil, errors.New("not base64url")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil || m == nil {
		return nil, errors.New("not a JSON object")
	}
	if dec.More() {
		return nil, errors.New("trailing data after the JSON object")
	}
	return m, nil
}

// claimString renders a claim for a report: strings as they are, anything
// else as compact JSON, cut at 200 characters.
func claimString(v any) string {
	s, ok := v.(string)
	if !ok {
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Sprint(v)
		}
		s = string(b)
	}
	return truncate(printable(s), 200)
}

// printable replaces control characters, which could forge lines of a
// report, with U+FFFD.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == 0x2028 || r == 0x2029 {
			return '\ufffd'
		}
		return r
	}, s)
}

// audience renders the aud claim: one string or a list.
func audience(v any) string {
	if list, ok := v.([]any); ok {
		out := make([]string, len(list))
		for i, a := range list {
			out[i] = claimString(a)
		}
		return strings.Join(out, ", ")
	}
	return claimString(v)
}

// numericDate reads a NumericDate claim (seconds since the epoch).
func numericDate(v any) (time.Time, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return time.Time{}, false
	}
	f, err := n.Float64()
	if err != nil || f < 0 || f > 1e11 {
		return time.Time{}, false
	}
	sec := int64(f)
	return time.Unix(sec, int64((f-float64(sec))*1e9)).UTC(), true
}

// bearerToken returns the token of a Bearer Authorization header.
func bearerToken(authorization string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(authorization), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "..."
}

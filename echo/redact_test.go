package echo

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestRedact(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "(empty)"},
		{"short", "*** [redacted, 5 chars]"},
		{"fifteen-chars-x", "*** [redacted, 15 chars]"},
		{"sixteen-chars-xy", "sixt...s-xy [redacted, 16 chars]"},
		{"ünïcödé-sëcrët-välüe", "ünïc...älüe [redacted, 20 chars]"},
	} {
		if got := redact(tc.in); got != tc.want {
			t.Errorf("redact(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestRedactHeader(t *testing.T) {
	for _, tc := range []struct{ name, value, want string }{
		{"Authorization", "Bearer abcdefghijklmnopqrstuvwxyz", "Bearer abcd...wxyz [redacted, 26 chars]"},
		{"Authorization", "Basic dXNlcjpwYXNz", "Basic *** [redacted, 12 chars]"},
		{"Authorization", "token-without-scheme-0123", "toke...0123 [redacted, 25 chars]"},
		{"Proxy-Authorization", "Negotiate x", "Negotiate *** [redacted, 1 chars]"},
		{"Cookie", "a=1; session=secret; =odd; flag", "a=***; session=***; flag=***"},
		{"Mcp-Session-Id", "0123456789abcdef0123456789abcdef", "01234567..."},
		{"X-Api-Key", "k", "*** [redacted, 1 chars]"},
		{"X-Client-Secret", "0123456789abcdefXYZ", "0123...fXYZ [redacted, 19 chars]"},
		{"X-Upstream", "https://user:pa55word@example.com/path", "https://user:***@example.com/path"},
		{"X-Upstream", "https://user@example.com/path", "https://user@example.com/path"},
		{"User-Agent", "curl/8.0", "curl/8.0"},
		{"Keep-Alive", "timeout=5", "timeout=5"},
	} {
		if got := redactHeader(tc.name, tc.value); got != tc.want {
			t.Errorf("redactHeader(%q, %q) = %q, want %q", tc.name, tc.value, got, tc.want)
		}
	}
}

func TestStripQuery(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"https://a.example/p", "https://a.example/p"},
		{"https://a.example/cb?code=SECRET&state=1", "https://a.example/cb [query redacted]"},
		{"https://u:p@a.example/#frag", "https://a.example/ [query redacted]"},
		{"%zz", "(unparsable, not shown)"},
	} {
		if got := stripQuery(tc.in); got != tc.want {
			t.Errorf("stripQuery(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestDecodeJWTErrors(t *testing.T) {
	obj := base64.RawURLEncoding.EncodeToString([]byte(`{"a":1}`))
	arr := base64.RawURLEncoding.EncodeToString([]byte(`[1]`))
	two := base64.RawURLEncoding.EncodeToString([]byte(`{"a":1}{"b":2}`))
	for _, tc := range []struct{ token, want string }{
		{"a.b", "expected 3 dot-separated parts, got 2"},
		{"a.b.c.d.e", "expected 3 dot-separated parts, got 5"},
		{"***." + obj + ".s", "header: not base64url"},
		{arr + "." + obj + ".s", "header: not a JSON object"},
		{obj + "." + two + ".s", "payload: trailing data after the JSON object"},
		{obj + "." + base64.RawURLEncoding.EncodeToString([]byte("null")) + ".s", "payload: not a JSON object"},
	} {
		if _, err := decodeJWT(tc.token); err == nil || err.Error() != tc.want {
			t.Errorf("decodeJWT(%q) = %v, want %q", tc.token, err, tc.want)
		}
	}
	// Padding is tolerated.
	if tok, err := decodeJWT(obj + "==." + obj + "=.sig"); err != nil || tok.claims["a"] == nil {
		t.Errorf("padded segments: %v", err)
	}
}

// FuzzDecodeJWT feeds bearerDecode's parser and report arbitrary tokens: no
// panic, and a decoded token's report never shows a long signature whole.
func FuzzDecodeJWT(f *testing.F) {
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	f.Add(enc(`{"alg":"RS256","kid":"k"}`) + "." + enc(`{"sub":"a","exp":1700000000,"aud":["x",1]}`) + ".c2lnbmF0dXJlLXNpZ25hdHVyZQ")
	f.Add(enc(`{}`) + "." + enc(`{"exp":"soon","nbf":1e300,"iat":-5,"x":{"y":[null]}}`) + ".")
	f.Add("a.b.c")
	f.Add("..")
	f.Fuzz(func(t *testing.T, token string) {
		tok, err := decodeJWT(token)
		if err != nil {
			return
		}
		if strings.Join(tok.parts[:], ".") != token {
			t.Fatalf("parts %q do not make up the token %q", tok.parts, token)
		}
		r := newReport("t", 1)
		writeJWT(r, tok, time.Unix(1_800_000_000, 0), true)
		out := r.String()
		sig := tok.parts[2]
		if utf8.RuneCountInString(sig) >= 12 && strings.Contains(out, sig) &&
			!strings.Contains(tok.parts[0]+tok.parts[1], sig) && !claimsMention(tok, sig) {
			t.Fatalf("report shows the signature %q whole:\n%s", sig, out)
		}
	})
}

func claimsMention(tok *jwt, s string) bool {
	b1, _ := json.Marshal(tok.header)
	b2, _ := json.Marshal(tok.claims)
	return strings.Contains(string(b1)+string(b2), s) || strings.Contains(fmtAny(tok.header)+fmtAny(tok.claims), s)
}

func fmtAny(m map[string]any) string {
	var b strings.Builder
	for k, v := range m {
		b.WriteString(k)
		b.WriteString(claimString(v))
		b.WriteString(claimJSON(v))
	}
	return b.String()
}

// FuzzCheckArgs feeds the argument checker arbitrary JSON: no panic, and
// accepted arguments are exactly those the parameters allow.
func FuzzCheckArgs(f *testing.F) {
	f.Add(`{"message":"hi"}`)
	f.Add(`{"message":1,"x":null}`)
	f.Add(`[1,2]`)
	f.Add(`null`)
	params := []param{{name: "message", required: true}, {name: "flag", boolean: true}}
	f.Fuzz(func(t *testing.T, raw string) {
		var v any
		if json.Unmarshal([]byte(raw), &v) != nil {
			return
		}
		args, err := checkArgs("tool", params, v)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "tool: ") {
				t.Fatalf("error %q does not name the tool", err)
			}
			return
		}
		if _, ok := args["message"].(string); !ok {
			t.Fatalf("accepted %s without a string message", raw)
		}
		for k, v := range args {
			if k == "flag" {
				if _, ok := v.(bool); !ok && v != nil {
					t.Fatalf("accepted flag %v", v)
				}
			} else if k != "message" {
				t.Fatalf("accepted unknown argument %q", k)
			}
		}
	})
}

func FuzzRedact(f *testing.F) {
	f.Add("")
	f.Add("0123456789abcdef")
	f.Add("ü")
	f.Fuzz(func(t *testing.T, s string) {
		out := redact(s)
		n := utf8.RuneCountInString(s)
		if !strings.HasSuffix(out, " chars]") && s != "" {
			t.Fatalf("redact(%q) = %q: no length", s, out)
		}
		shown, _, _ := strings.Cut(out, " [redacted")
		if n < revealMin && shown != "***" && s != "" {
			t.Fatalf("redact(%q) shows %q of a short secret", s, shown)
		}
		if n >= revealMin {
			r := []rune(s)
			if want := string(r[:4]) + "..." + string(r[n-4:]); shown != want {
				t.Fatalf("redact(%q) shows %q, want %q", s, shown, want)
			}
		}
	})
}

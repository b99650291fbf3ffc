package streamable

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

func TestAccepts(t *testing.T) {
	cases := []struct {
		accept    []string // header lines; nil: none
		json, sse bool
	}{
		{nil, true, true},
		{[]string{""}, true, true},
		{[]string{"  "}, true, true},
		{[]string{"application/json, text/event-stream"}, true, true},
		{[]string{"application/json"}, true, false},
		{[]string{"text/event-stream"}, false, true},
		{[]string{"application/json", "text/event-stream"}, true, true},
		{[]string{"APPLICATION/JSON;charset=utf-8"}, true, false},
		{[]string{"*/*"}, true, true},
		{[]string{"application/*"}, true, false},
		{[]string{"text/*"}, false, true},
		{[]string{"text/html"}, false, false},
		{[]string{"not a media type"}, false, false},
		{[]string{"application/json;q=0, text/event-stream"}, false, true},
		{[]string{"application/json; q=0.000, */*"}, false, true},
		{[]string{"text/event-stream;q=0, */*"}, true, false},
		{[]string{"*/*;q=0, application/json"}, true, false},
		{[]string{"application/*;q=0, application/json"}, true, false},
		{[]string{"application/json;q=0, application/*"}, false, false},
		{[]string{"application/json;q=0.5, text/event-stream;q=0.1"}, true, true},
		{[]string{"application/json;q=0.001"}, true, false},
		{[]string{"application/json;q=0", "application/json"}, true, false},
		{[]string{"application/json;level=1;q=0"}, false, false},
		{[]string{",,application/json,,"}, true, false},
		{[]string{"/json, application/"}, false, false},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.accept, " | "), func(t *testing.T) {
			h := http.Header{}
			for _, v := range tc.accept {
				h.Add("Accept", v)
			}
			j, s := Accepts(h)
			if j != tc.json || s != tc.sse {
				t.Errorf("Accepts = json %v, sse %v; want %v, %v", j, s, tc.json, tc.sse)
			}
		})
	}
}

func TestIsJSON(t *testing.T) {
	for ct, want := range map[string]bool{
		"application/json": true, "Application/JSON; charset=utf-8": true, " application/json ;x=y": true,
		"": false, "text/plain": false, "application/json-seq": false, "application/json, text/plain": false,
		"application/jsonx": false,
	} {
		if got := IsJSON(ct); got != want {
			t.Errorf("IsJSON(%q) = %v, want %v", ct, got, want)
		}
	}
}

// FuzzAccepts: any Accept header is read without a panic, and the order
// of its ranges does not matter.
func FuzzAccepts(f *testing.F) {
	for _, s := range []string{"application/json, text/event-stream", "*/*;q=0.5", "text/*;q=0", "a/b;q=;;", ";;,,/", "application/json;Q=0.0, application/json"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, accept string) {
		j, s := Accepts(http.Header{"Accept": {accept}})
		ranges := strings.Split(accept, ",")
		slices.Reverse(ranges)
		reversed := strings.Join(ranges, ",")
		if j2, s2 := Accepts(http.Header{"Accept": {reversed}}); j2 != j || s2 != s {
			t.Fatalf("%q: json %v, sse %v; reversed %q: json %v, sse %v", accept, j, s, reversed, j2, s2)
		}
		_ = IsJSON(accept)
	})
}

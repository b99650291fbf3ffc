package stdiobridge

import (
	"encoding/json"
	"testing"
)

func TestWithoutMember(t *testing.T) {
	cases := []struct{ in, key, want string }{
		{`{"a":1,"b":2,"c":3}`, "b", `{"a":1,"c":3}`},
		{`{"a":1,"b":2}`, "a", `{"b":2}`},
		{`{"a":1,"b":2}`, "b", `{"a":1}`},
		{`{"a":{"x":[1,2]}}`, "a", `{}`},
		{`{ "a" : 1 , "b" : 2 }`, "a", `{  "b" : 2 }`},
		{`{"a":1}`, "z", `{"a":1}`},
		{`{"\u0061":1,"b":2}`, "a", `{"b":2}`},
	}
	for _, c := range cases {
		got, _ := withoutMember([]byte(c.in), span{0, len(c.in)}, c.key)
		if string(got) != c.want || !json.Valid(got) {
			t.Errorf("withoutMember(%s, %q) = %s, want %s", c.in, c.key, got, c.want)
		}
	}
}

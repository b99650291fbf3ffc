package stdiobridge

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzParseMessage checks the scanner against encoding/json: whatever it
// accepts, encoding/json reads the same id and method, and an id spliced in
// leaves valid JSON with the new id.
func FuzzParseMessage(f *testing.F) {
	for _, s := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","_meta":{"progressToken":"t"}}}`,
		`{"jsonrpc":"2.0","id":"a\"b","result":{"content":[]}}`,
		`{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":7,"progress":1}}`,
		`{"i\u0064":3,"method":"x"}`,
		` { "id" : -1.5e3 , "method" : "m" , "params" : [ 1 , { } ] } `,
		`{"id":1,"id":2,"method":"m"}`,
		`[1,2]`, `"s"`, `{}`, `{"id":null,"method":"m"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := parseMessage(raw)
		if err != nil {
			return
		}
		var ref struct {
			ID     json.RawMessage `json:"id"`
			Method *string         `json:"method"`
		}
		if err := json.Unmarshal(raw, &ref); err != nil {
			t.Fatalf("accepted what encoding/json rejects: %v", err)
		}
		if (ref.Method != nil) != (m.kind != kindResponse) {
			t.Fatalf("kind %v but method %v", m.kind, ref.Method)
		}
		if ref.Method != nil && *ref.Method != m.method {
			t.Fatalf("method %q, encoding/json reads %q", m.method, *ref.Method)
		}
		if m.id.ok() {
			if !bytes.Equal(bytes.TrimSpace(ref.ID), m.idBytes()) {
				t.Fatalf("id %s, encoding/json reads %s", m.idBytes(), ref.ID)
			}
			out := splice(raw, m.id, []byte("123"), "")
			var back struct {
				ID json.RawMessage `json:"id"`
			}
			if err := json.Unmarshal(out, &back); err != nil || string(back.ID) != "123" {
				t.Fatalf("splice broke the message: %s (%v)", out, err)
			}
		}
		if m.params.ok() {
			_, _ = path(raw, m.params, "_meta", "progressToken")
			_, _ = withoutMember(raw, m.params, "name")
		}
		_ = line(raw)
		_ = markComplete(raw)
	})
}

func TestParseMessage(t *testing.T) {
	cases := []struct {
		in     string
		kind   kind
		method string
		id     string
		err    bool
	}{
		{`{"jsonrpc":"2.0","id":1,"method":"ping"}`, kindRequest, "ping", "1", false},
		{`{"jsonrpc":"2.0","method":"notifications/x"}`, kindNotification, "notifications/x", "", false},
		{`{"jsonrpc":"2.0","id":"x","result":{}}`, kindResponse, "", `"x"`, false},
		{`{"jsonrpc":"2.0","id":"x","error":{"code":1,"message":"m"}}`, kindResponse, "", `"x"`, false},
		{`{"i\u0064":3,"method":"m"}`, kindRequest, "m", "3", false},
		{`{"id":1,"id":2,"method":"m"}`, 0, "", "", true},
		{`{"id":null,"method":"m"}`, 0, "", "", true},
		{`{"id":{},"method":"m"}`, 0, "", "", true},
		{`{"id":1,"method":3}`, 0, "", "", true},
		{`{"id":1,"method":"m","params":"p"}`, 0, "", "", true},
		{`{"id":1}`, 0, "", "", true},
		{`not json`, 0, "", "", true},
	}
	for _, c := range cases {
		m, err := parseMessage([]byte(c.in))
		if (err != nil) != c.err {
			t.Errorf("%s: err %v", c.in, err)
			continue
		}
		if err != nil {
			continue
		}
		id := ""
		if m.id.ok() {
			id = string(m.idBytes())
		}
		if m.kind != c.kind || m.method != c.method || id != c.id {
			t.Errorf("%s: kind %v method %q id %q", c.in, m.kind, m.method, id)
		}
	}
}

func TestMarkComplete(t *testing.T) {
	for in, want := range map[string]string{
		`{"jsonrpc":"2.0","id":1,"result":{}}`:                              `{"jsonrpc":"2.0","id":1,"result":{"resultType":"complete"}}`,
		`{"jsonrpc":"2.0","id":1,"result":{"a":1}}`:                         `{"jsonrpc":"2.0","id":1,"result":{"resultType":"complete","a":1}}`,
		`{"jsonrpc":"2.0","id":1,"result":{"resultType":"input_required"}}`: `{"jsonrpc":"2.0","id":1,"result":{"resultType":"input_required"}}`,
	} {
		if got := string(markComplete([]byte(in))); got != want {
			t.Errorf("markComplete(%s) = %s", in, got)
		}
	}
}

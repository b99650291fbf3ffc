package oauth

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestClientMetadataRoundTrip(t *testing.T) {
	in := `{"redirect_uris":["https://a.example/cb"],"client_name":"A","client_name#ja-Jpan-JP":"エー",` +
		`"x_vendor":{"b":[1,2,{"c":null}]},"token_endpoint_auth_method":"none","jwks":{"keys":[]}}`
	var m ClientMetadata
	if err := json.Unmarshal([]byte(in), &m); err != nil {
		t.Fatal(err)
	}
	if len(m.RedirectURIs) != 1 || m.ClientName != "A" || m.TokenEndpointAuthMethod != "none" || string(m.JWKS) != `{"keys":[]}` {
		t.Fatalf("named fields: %+v", m)
	}
	if string(m.Extra["client_name#ja-Jpan-JP"]) != `"エー"` || string(m.Extra["x_vendor"]) != `{"b":[1,2,{"c":null}]}` || len(m.Extra) != 2 {
		t.Fatalf("extra members: %v", m.Extra)
	}
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var back, orig map[string]any
	if err := json.Unmarshal(out, &back); err != nil {
		t.Fatalf("output %s is not JSON: %v", out, err)
	}
	_ = json.Unmarshal([]byte(in), &orig)
	a, _ := json.Marshal(back)
	b, _ := json.Marshal(orig)
	if !bytes.Equal(a, b) {
		t.Fatalf("round trip changed the document:\n in  %s\n out %s", in, out)
	}
}

func TestClientMetadataNamesAreCaseSensitive(t *testing.T) {
	var m ClientMetadata
	if err := json.Unmarshal([]byte(`{"Redirect_URIs":["https://evil.example/"],"redirect_uris":["https://good.example/cb"]}`), &m); err != nil {
		t.Fatal(err)
	}
	if len(m.RedirectURIs) != 1 || m.RedirectURIs[0] != "https://good.example/cb" {
		t.Fatalf("redirect_uris = %v; a differently cased member leaked into it", m.RedirectURIs)
	}
	if _, ok := m.Extra["Redirect_URIs"]; !ok {
		t.Fatalf("the differently cased member is not kept as an extension: %v", m.Extra)
	}
}

func TestClientMetadataErrors(t *testing.T) {
	for _, in := range []string{`[]`, `"x"`, `{"redirect_uris":"https://a.example/cb"}`, `{"scope":1}`, `{`} {
		var m ClientMetadata
		err := json.Unmarshal([]byte(in), &m)
		if err == nil {
			t.Errorf("%s: accepted", in)
			continue
		}
		if strings.Contains(in, "redirect_uris") && !strings.Contains(err.Error(), "redirect_uris") {
			t.Errorf("%s: error %q does not name the member", in, err)
		}
	}
	// Extra members that are not JSON are never written.
	m := ClientMetadata{ClientName: "A", Extra: map[string]json.RawMessage{"bad": json.RawMessage(`{`), "scope": json.RawMessage(`"x"`)}}
	out, err := json.Marshal(m)
	if err != nil || string(out) != `{"client_name":"A"}` {
		t.Fatalf("marshal with bad extras: %s, %v", out, err)
	}
}

// decodeMetadataSlowly is the reference decoder: every member on its own.
func decodeMetadataSlowly(data []byte) (ClientMetadata, error) {
	var all map[string]json.RawMessage
	var d ClientMetadata
	if err := json.Unmarshal(data, &all); err != nil {
		return d, err
	}
	for k, v := range all {
		if p := d.member(k); p != nil {
			if err := json.Unmarshal(v, p); err != nil {
				return d, err
			}
			continue
		}
		if d.Extra == nil {
			d.Extra = map[string]json.RawMessage{}
		}
		d.Extra[k] = v
	}
	return d, nil
}

func FuzzClientMetadataJSON(f *testing.F) {
	f.Add([]byte(`{"redirect_uris":["https://a.example/cb"],"x":{"y":[1,"2",null]},"client_name#fr":"é"}`))
	f.Add([]byte(`{"jwks":{"keys":[]},"contacts":null,"REDIRECT_URIS":[]}`))
	f.Add([]byte(`{"\u0073cope":"a","scope":"b","a\"b":[{"}":"]"}],"n":-1.5e3,"t":true}`))
	f.Add([]byte(`{"ſcope":"x","redirect_uris":["u"],"redirect_uris":["v"]}`))
	f.Add([]byte(` { "client_name" : "x" , "e" : { } } `))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var m ClientMetadata
		err := json.Unmarshal(data, &m)
		ref, refErr := decodeMetadataSlowly(data)
		if (err == nil) != (refErr == nil) {
			if refErr == nil || json.Valid(data) && bytes.HasPrefix(bytes.TrimSpace(data), []byte("{")) {
				t.Fatalf("decode error %v, reference error %v", err, refErr)
			}
		}
		if err != nil {
			return
		}
		got, err := json.Marshal(m)
		if err != nil {
			t.Fatalf("decoded metadata does not encode: %v", err)
		}
		if refErr == nil {
			want, _ := json.Marshal(ref)
			if !bytes.Equal(got, want) {
				t.Fatalf("decoders disagree on %s:\n got  %s\n want %s", data, got, want)
			}
		}
		var again ClientMetadata
		if err := json.Unmarshal(got, &again); err != nil {
			t.Fatalf("encoded metadata %s does not decode: %v", got, err)
		}
		out2, err := json.Marshal(again)
		if err != nil || !bytes.Equal(got, out2) {
			t.Fatalf("not stable:\n %s\n %s", got, out2)
		}
	})
}

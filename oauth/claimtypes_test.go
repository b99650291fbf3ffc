package oauth

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestClaimTypesJSON: access token claims read the JSON forms RFC 7519
// allows (aud as a string or an array, dates as numbers, fractional ones
// too) and refuse any other, and write one audience as a string, as
// tokens minted before did.
func TestClaimTypesJSON(t *testing.T) {
	for _, tc := range []struct {
		json   string
		ok     bool
		aud    []string
		exp    int64
		hasExp bool
		hasNbf bool
	}{
		{`{"aud":"https://a.example/mcp","exp":1700000000}`, true, []string{"https://a.example/mcp"}, 1700000000, true, false},
		{`{"aud":["a","b"],"exp":1700000000.9}`, true, []string{"a", "b"}, 1700000000, true, false},
		{`{"aud":[],"exp":1e9}`, true, []string{}, 1000000000, true, false},
		{`{"aud":"a","exp":null,"nbf":-1}`, true, []string{"a"}, 0, false, true},
		{`{"aud":"a","exp":"1700000000"}`, false, nil, 0, false, false},
		{`{"aud":"a","exp":true}`, false, nil, 0, false, false},
		{`{"aud":"a","exp":1e300}`, false, nil, 0, false, false},
		{`{"aud":"a","nbf":-9223372036854775808}`, false, nil, 0, false, false},
		{`{"aud":"a","exp":9223372036854775807}`, false, nil, 0, false, false},
		{`{"aud":1}`, false, nil, 0, false, false},
		{`{"aud":["a",1]}`, false, nil, 0, false, false},
		{`{"aud":["a",null]}`, false, nil, 0, false, false},
		{`{"aud":{"a":1}}`, false, nil, 0, false, false},
		{`{"aud":null}`, true, nil, 0, false, false},
	} {
		var c AccessTokenClaims
		err := json.Unmarshal([]byte(tc.json), &c)
		if (err == nil) != tc.ok {
			t.Errorf("%s: error %v, want ok=%v", tc.json, err, tc.ok)
			continue
		}
		if !tc.ok {
			continue
		}
		if !slices.Equal(c.Audience, tc.aud) || (c.Expiry != nil) != tc.hasExp || (c.NotBefore != nil) != tc.hasNbf {
			t.Errorf("%s: aud %q exp %v nbf %v", tc.json, c.Audience, c.Expiry, c.NotBefore)
		}
		if tc.hasExp && c.Expiry.Time().Unix() != tc.exp {
			t.Errorf("%s: exp %v, want %d", tc.json, c.Expiry.Time().Unix(), tc.exp)
		}
	}

	at := time.Unix(1700000000, 500)
	one, _ := json.Marshal(AccessTokenClaims{Audience: Audience{"https://a.example/mcp"}, Expiry: NewNumericDate(at)})
	two, _ := json.Marshal(AccessTokenClaims{Audience: Audience{"a", "b"}})
	for _, tc := range []struct{ got, want string }{
		{string(one), `"aud":"https://a.example/mcp","exp":1700000000,"iat":null`},
		{string(two), `"aud":["a","b"],"exp":null`},
	} {
		if !strings.Contains(tc.got, tc.want) {
			t.Errorf("marshalled %s, want it to contain %s", tc.got, tc.want)
		}
	}
	if NewNumericDate(time.Time{}) != nil || (*NumericDate)(nil).Time() != (time.Time{}) {
		t.Error("the zero time is not a nil date")
	}
}

// FuzzAccessTokenClaimsJSON: any JSON decodes into claims or fails, never
// panics, and what decoded writes back to the same claims.
func FuzzAccessTokenClaimsJSON(f *testing.F) {
	for _, s := range []string{
		`{"iss":"https://auth.example.com","sub":"1","aud":"https://a.example/mcp","exp":1700000000,"iat":1699999000,"jti":"x","client_id":"c"}`,
		`{"aud":["a","b"],"exp":1.5,"nbf":-3,"auth_time":0}`,
		`{"aud":[null],"exp":"1"}`,
		`{"aud":"\u00e9","exp":1e12}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var c AccessTokenClaims
		if json.Unmarshal(b, &c) != nil {
			return
		}
		out, err := json.Marshal(c)
		if err != nil {
			t.Fatalf("claims decoded from %q do not encode: %v", b, err)
		}
		var again AccessTokenClaims
		if err := json.Unmarshal(out, &again); err != nil {
			t.Fatalf("%s does not decode again: %v", out, err)
		}
		if !slices.Equal(c.Audience, again.Audience) || c.Expiry.Time() != again.Expiry.Time() || c.NotBefore.Time() != again.NotBefore.Time() {
			t.Fatalf("round trip changed the claims: %s", out)
		}
	})
}

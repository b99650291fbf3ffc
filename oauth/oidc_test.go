package oauth

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"slices"
	"strings"
	"testing"
)

// TestOIDCClaims: how ID token and UserInfo claims become the identity,
// as providers send them (Keycloak's nested roles, Auth0's URL-named
// claims, Entra's overage and xms_edov, email_verified as a string).
func TestOIDCClaims(t *testing.T) {
	cases := []struct {
		name   string
		opts   OIDCOptions
		claims string
		want   Identity
		warns  bool
	}{
		{"standard", OIDCOptions{}, `{"email":"a@b.c","email_verified":true,"name":"A B","preferred_username":"ab","groups":["x","y"]}`,
			Identity{Subject: "s", Email: "a@b.c", EmailVerified: true, Name: "A B", Login: "ab", Groups: []string{"x", "y"}}, false},
		{"verified as a string", OIDCOptions{}, `{"email":"a@b.c","email_verified":"True"}`, Identity{Subject: "s", Email: "a@b.c", EmailVerified: true}, false},
		{"verified as a number", OIDCOptions{}, `{"email":"a@b.c","email_verified":1}`, Identity{Subject: "s", Email: "a@b.c"}, false},
		{"not said", OIDCOptions{}, `{"email":"a@b.c"}`, Identity{Subject: "s", Email: "a@b.c"}, false},
		{"verified without an email", OIDCOptions{}, `{"email_verified":true}`, Identity{Subject: "s"}, false},
		{"Entra xms_edov", OIDCOptions{EmailVerifiedClaim: "xms_edov"}, `{"email":"a@b.c","email_verified":false,"xms_edov":true}`,
			Identity{Subject: "s", Email: "a@b.c", EmailVerified: true}, false},
		{"one group as a string", OIDCOptions{}, `{"groups":"admins"}`, Identity{Subject: "s", Groups: []string{"admins"}}, false},
		{"entries that are not strings", OIDCOptions{}, `{"groups":["a",7,{"x":1},"",null,"b"]}`, Identity{Subject: "s", Groups: []string{"a", "b"}}, false},
		{"groups of another type", OIDCOptions{}, `{"groups":{"a":true}}`, Identity{Subject: "s"}, false},
		{"Keycloak realm roles", OIDCOptions{GroupsClaim: "realm_access.roles"}, `{"realm_access":{"roles":["r1","r2"]}}`,
			Identity{Subject: "s", Groups: []string{"r1", "r2"}}, false},
		{"a claim named with dots", OIDCOptions{GroupsClaim: "https://example.com/groups"}, `{"https://example.com/groups":["g"]}`,
			Identity{Subject: "s", Groups: []string{"g"}}, false},
		{"no groups claim", OIDCOptions{GroupsClaim: "-"}, `{"groups":["g"]}`, Identity{Subject: "s"}, false},
		{"Entra groups overage", OIDCOptions{}, `{"_claim_names":{"groups":"src1"},"_claim_sources":{"src1":{"endpoint":"https://graph.microsoft.com/v1.0/users/x/getMemberObjects"}}}`,
			Identity{Subject: "s"}, true},
		{"other claim names", OIDCOptions{LoginClaim: "nickname", NameClaim: "given_name"}, `{"nickname":"nick","given_name":"Given","name":"Full","preferred_username":"pu"}`,
			Identity{Subject: "s", Login: "nick", Name: "Given"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			tc.opts.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			o, err := NewOIDC("corp", "https://idp.example.com", "client", "secret", &tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			var claims claimSet
			if err := json.Unmarshal([]byte(tc.claims), &claims); err != nil {
				t.Fatal(err)
			}
			got := o.identity("s", claims, nil)
			if got.Subject != tc.want.Subject || got.Email != tc.want.Email || got.EmailVerified != tc.want.EmailVerified ||
				got.Name != tc.want.Name || got.Login != tc.want.Login || !slices.Equal(got.Groups, tc.want.Groups) {
				t.Errorf("identity %+v, want %+v", *got, tc.want)
			}
			if warned := strings.Contains(logs.String(), "left the user's groups out"); warned != tc.warns {
				t.Errorf("warned %v, want %v: %s", warned, tc.warns, logs.String())
			}
		})
	}
}

// TestOIDCClaimsAtRefresh: a check again whose claims lack the email or
// the name keeps the recorded ones; groups are always the answer's.
func TestOIDCClaimsAtRefresh(t *testing.T) {
	o, err := NewOIDC("corp", "https://idp.example.com", "client", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	recorded := &Identity{Subject: "oidc:corp:s", Email: "a@b.c", EmailVerified: true, Name: "A", Login: "a", Groups: []string{"old"}}
	got := o.identity("s", claimSet{}, recorded)
	if got.Email != "a@b.c" || !got.EmailVerified || got.Name != "A" || got.Login != "a" || got.Groups != nil {
		t.Fatalf("claims without email, name or groups: %+v", *got)
	}
	got = o.identity("s", claimSet{"email": json.RawMessage(`"new@b.c"`), "groups": json.RawMessage(`["new"]`)}, recorded)
	if got.Email != "new@b.c" || got.EmailVerified || !slices.Equal(got.Groups, []string{"new"}) {
		t.Fatalf("a new, unverified address and new groups: %+v", *got)
	}
}

func TestOIDCRequireClaims(t *testing.T) {
	o, err := NewOIDC("google", "https://accounts.google.com", "client", "secret", &OIDCOptions{RequireClaims: map[string]string{"hd": "example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	for claims, ok := range map[string]bool{`{"hd":"example.com"}`: true, `{"hd":"evil.com"}`: false, `{}`: false, `{"hd":["example.com"]}`: false} {
		var c claimSet
		_ = json.Unmarshal([]byte(claims), &c)
		if err := o.required(c); (err == nil) != ok {
			t.Errorf("claims %s: %v, want ok %v", claims, err, ok)
		}
	}
}

func TestNewOIDCSettings(t *testing.T) {
	for _, tc := range []struct {
		name, issuer, client string
		ok                   bool
	}{
		{"corp", "https://idp.example.com/realms/r", "c", true},
		{"corp", "http://127.0.0.1:8080", "c", true},
		{"corp", "http://idp.example.com", "c", false}, // http beyond loopback
		{"corp", "https://idp.example.com?x=1", "c", false},
		{"corp", "idp.example.com", "c", false},
		{"corp", "https://idp.example.com", "", false},
		{"Corp", "https://idp.example.com", "c", false},
		{"co rp", "https://idp.example.com", "c", false},
		{"-corp", "https://idp.example.com", "c", false},
		{"", "https://idp.example.com", "c", false},
		{strings.Repeat("a", 33), "https://idp.example.com", "c", false},
	} {
		o, err := NewOIDC(tc.name, tc.issuer, tc.client, "", nil)
		if (err == nil) != tc.ok {
			t.Errorf("NewOIDC(%q, %q, %q): %v, want ok %v", tc.name, tc.issuer, tc.client, err, tc.ok)
		}
		if err == nil && (o.ID() != "oidc:"+tc.name || o.Name() == "") {
			t.Errorf("ID %q, name %q", o.ID(), o.Name())
		}
	}
	if _, err := NewOIDC("corp", "https://idp.example.com", "c", "", &OIDCOptions{Scopes: []string{"openid", "bad scope"}}); err == nil {
		t.Error("a scope with a space was accepted")
	}
}

// FuzzClaims: any claims from a provider map to an identity without a
// panic, and an email counts as verified only with a true claim.
func FuzzClaims(f *testing.F) {
	for _, s := range []string{`{}`, `{"email":"a@b","email_verified":"true","groups":["x"]}`, `{"realm_access":{"roles":"r"}}`,
		`{"_claim_names":{"groups":"s"}}`, `{"groups":[1,2,"x"]}`} {
		f.Add(s)
	}
	o, _ := NewOIDC("corp", "https://idp.example.com", "c", "", &OIDCOptions{GroupsClaim: "realm_access.roles", Logger: slog.New(slog.DiscardHandler)})
	f.Fuzz(func(t *testing.T, data string) {
		var c claimSet
		if json.Unmarshal([]byte(data), &c) != nil {
			return
		}
		id := o.identity("s", c, nil)
		if id.EmailVerified && (id.Email == "" || !c.boolean("email_verified")) {
			t.Fatalf("verified without a true email_verified: %s", data)
		}
	})
}

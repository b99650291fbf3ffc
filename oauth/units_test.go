package oauth

import (
	"strings"
	"testing"
)

func TestPKCE(t *testing.T) {
	// RFC 7636 appendix B.
	const verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	const challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
	if !verifyPKCE(verifier, challenge) || !validChallenge(challenge) {
		t.Fatal("RFC 7636 example fails")
	}
	for name, v := range map[string]string{"short": "abc", "too long": strings.Repeat("a", 129), "bad char": verifier[:42] + "+", "other": strings.Repeat("a", 43)} {
		if verifyPKCE(v, challenge) {
			t.Errorf("%s verifier accepted", name)
		}
	}
	if verifyPKCE(challenge, challenge) {
		t.Error("plain (verifier == challenge) accepted")
	}
	for _, c := range []string{"", challenge + "A", challenge[:42], challenge[:42] + "="} {
		if validChallenge(c) {
			t.Errorf("challenge %q accepted", c)
		}
	}
}

func TestRedirectURIRules(t *testing.T) {
	valid := []string{
		"https://app.example.com/cb", "https://app.example.com:8443/cb?x=1", "http://localhost/cb", "http://localhost:1/cb",
		"http://127.0.0.1:65535/", "http://[::1]:3000/cb", "com.example.app:/oauth", "com.example.app://callback",
		"HTTPS://app.example.com/cb",
	}
	for _, u := range valid {
		if err := validateRedirectURI(u, nil); err != nil {
			t.Errorf("%q refused: %v", u, err)
		}
	}
	invalid := []string{
		"", "/cb", "cb", "javascript:alert(1)", "JavaScript:alert(1)", "data:text/html,x", "file:///etc/passwd", "vbscript:x",
		"http://example.com/cb", "http://localhost.example.com/cb", "http://127.0.0.2/cb", "http://127.0.0.1.nip.io/cb",
		"http://localhost@evil.com/", "https://user:pw@app.example.com/", "https://app.example.com/cb#", "https://app.example.com/cb#x",
		"https:///cb", "https:app.example.com", "myapp://cb", "https://app.example.com/c\tb", `https://app.example.com\@evil.com`,
		"http://[::2]/cb", "ws://localhost/cb",
	}
	for _, u := range invalid {
		if err := validateRedirectURI(u, nil); err == nil {
			t.Errorf("%q accepted", u)
		}
	}
	if err := validateRedirectURI("cursor://x/cb", []string{"cursor"}); err != nil {
		t.Errorf("allowed extra scheme refused: %v", err)
	}
	if err := validateRedirectURI("javascript:alert(1)", []string{"javascript"}); err == nil {
		t.Error("an operator cannot allow javascript:")
	}
}

func TestRedirectMatch(t *testing.T) {
	cases := []struct {
		reg, req string
		want     bool
	}{
		{"https://a.example.com/cb", "https://a.example.com/cb", true},
		{"https://a.example.com/cb", "https://a.example.com/cb/", false},
		{"https://a.example.com/cb", "https://a.example.com/cbx", false},
		{"https://a.example.com/cb", "https://A.example.com/cb", false},
		{"https://a.example.com/cb", "https://a.example.com:443/cb", false},
		{"https://a.example.com/cb", "https://a.example.com/cb?x=1", false},
		{"http://127.0.0.1/cb", "http://127.0.0.1:4000/cb", true},
		{"http://127.0.0.1:3000/cb", "http://127.0.0.1:4000/cb", true},
		{"http://localhost:3000/cb", "http://localhost:4000/cb", true},
		{"http://[::1]/cb", "http://[::1]:4000/cb", true},
		{"http://127.0.0.1/cb", "http://localhost:4000/cb", false},
		{"http://127.0.0.1/cb", "http://127.0.0.1:4000/cb/x", false},
		{"http://127.0.0.1/cb", "http://127.0.0.1:4000/cb?x", false},
		{"http://127.0.0.1/cb", "http://127.0.0.1:99999/cb", false},
		{"http://127.0.0.1/cb", "http://127.0.0.1:0/cb", false},
		{"http://127.0.0.1/cb", "http://u@127.0.0.1:4000/cb", false},
		{"http://127.0.0.1/cb", "http://127.0.0.1:4000/cb#f", false},
		{"http://127.0.0.1/cb", "https://127.0.0.1:4000/cb", false},
		{"http://127.0.0.1:33418", "http://127.0.0.1:40000/", true},
		{"http://127.0.0.1:33418", "http://127.0.0.1:40000/x", false},
		{"https://a.example.com", "https://a.example.com/", false},
		{"com.example.app:/cb", "com.example.app:/cb", true},
		{"com.example.app:/cb", "com.example.app:/cb2", false},
	}
	for _, tc := range cases {
		if got := matchRedirectURI(tc.reg, tc.req); got != tc.want {
			t.Errorf("match(%q, %q) = %v", tc.reg, tc.req, got)
		}
	}
}

func TestPolicy(t *testing.T) {
	id := func(login string, orgs ...string) *Identity { return &Identity{Login: login, Orgs: orgs} }
	cases := []struct {
		policy string
		id     *Identity
		want   bool
	}{
		{"", id("alice"), false},
		{" , ,", id("alice"), false},
		{"alice", id("alice"), true},
		{" Alice , bob", id("ALICE"), true},
		{"alice", id("alice2"), false},
		{"alice", id("ali"), false},
		{"alice", id(""), false},
		{"*", id("anyone"), true},
		{"org:acme", id("carol", "Acme"), true},
		{"org:acme", id("carol", "acme-evil"), false},
		{"org:acme", id("acme"), false},
		{"alice", nil, false},
		// Bare logins are GitHub's (and the development login's), never
		// another provider's preferred_username.
		{"alice", &Identity{Login: "alice", Provider: "github"}, true},
		{"alice", &Identity{Login: "alice", Provider: "github:ghe"}, true},
		{"alice", &Identity{Login: "alice", Provider: "dev"}, true},
		{"alice", &Identity{Login: "alice", Provider: "oidc:corp", Subject: "oidc:corp:alice"}, false},
		{"id:oidc:corp:alice", &Identity{Login: "alice", Provider: "oidc:corp", Subject: "oidc:corp:alice"}, true},
		{"id:alice", &Identity{Login: "alice", Provider: "oidc:corp", Subject: "oidc:corp:alice"}, false},
		// Email rules admit verified addresses only.
		{"email:Alice@Example.com", &Identity{Email: "alice@example.COM", EmailVerified: true}, true},
		{"email:alice@example.com", &Identity{Email: "alice@example.com"}, false},
		{"email:alice@example.com", &Identity{Email: "alice@example.com.evil", EmailVerified: true}, false},
		{"domain:example.com", &Identity{Email: "bob@EXAMPLE.com", EmailVerified: true}, true},
		{"domain:@example.com", &Identity{Email: "bob@example.com", EmailVerified: true}, true},
		{"domain:example.com", &Identity{Email: "bob@example.com", EmailVerified: false}, false},
		{"domain:example.com", &Identity{Email: "bob@sub.example.com", EmailVerified: true}, false},
		{"domain:example.com", &Identity{Email: "bob@notexample.com", EmailVerified: true}, false},
		{"domain:example.com", &Identity{Email: "example.com", EmailVerified: true}, false},
		{"domain:example.com", &Identity{Login: "bob@example.com", Provider: "github"}, false},
		// Groups compare exactly; organizations are GitHub's, groups are not.
		{"group:admins", &Identity{Groups: []string{"staff", "admins"}}, true},
		{"group:admins", &Identity{Groups: []string{"Admins"}}, false},
		{"group:admins", &Identity{Orgs: []string{"admins"}}, false},
		{"org:admins", &Identity{Groups: []string{"admins"}}, false},
		{"GROUP:admins, EMAIL:x@y.z", &Identity{Groups: []string{"admins"}}, true},
	}
	for _, tc := range cases {
		if got := ParsePolicy(tc.policy).Allows(tc.id); got != tc.want {
			t.Errorf("policy %q allows %+v = %v", tc.policy, tc.id, got)
		}
	}
	if !ParsePolicy(" ").Empty() || !ParsePolicy("email:, domain: ,group:").Empty() || ParsePolicy("*").Empty() || ParsePolicy("org:x").Empty() ||
		ParsePolicy("email:a@b.c").Empty() || ParsePolicy("domain:b.c").Empty() || ParsePolicy("group:g").Empty() {
		t.Error("Empty")
	}
	if s := ParsePolicy("a, *,org:b, group:g, domain:d.e, email:x@d.e, id:oidc:p:1").String(); s != "*,a,id:oidc:p:1,org:b,email:x@d.e,domain:d.e,group:g" {
		t.Errorf("String = %q", s)
	}
}

func TestScopes(t *testing.T) {
	s := &Server{scopes: []string{"read", "write"}}
	c := &Client{}
	// A client that registered no scope and asks for none gets the
	// server's default scope only, never every scope offered.
	if got, err := s.grantScope("", c); err != nil || got != "read" {
		t.Fatalf("default: %q %v", got, err)
	}
	if got, _ := (&Server{scopes: []string{"admin", "mcp"}}).grantScope("", c); got != "mcp" {
		t.Fatalf("default with mcp offered: %q", got)
	}
	if got, err := s.grantScope("write  read write", c); err != nil || got != "write read" {
		t.Fatalf("dedupe: %q %v", got, err)
	}
	if _, err := s.grantScope("admin", c); err == nil {
		t.Fatal("unknown scope granted")
	}
	c.Metadata.Scope = "read"
	if _, err := s.grantScope("write", c); err == nil {
		t.Fatal("scope beyond the client's registration granted")
	}
	if got, _ := s.grantScope("", c); got != "read" {
		t.Fatalf("client default: %q", got)
	}
	c.Metadata.Scope = "read retired"
	if got, _ := s.grantScope("", c); got != "read" {
		t.Fatalf("a scope the server dropped is still granted: %q", got)
	}
	if _, err := parseScope(`a"b`); err == nil {
		t.Fatal("bad scope token accepted")
	}
}

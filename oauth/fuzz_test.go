package oauth

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// Fuzz targets for every parser of untrusted input. Run one with, e.g.,
// go test -fuzz FuzzRedirectURI ./oauth

func FuzzRedirectURI(f *testing.F) {
	for _, s := range []string{"https://a.example.com/cb", "http://127.0.0.1:3000/cb", "com.example.app:/cb", "javascript:alert(1)",
		"http://localhost.evil.com/", "http://[::1]/x", "https://a/b#c", "http://localhost@evil.com"} {
		f.Add(s, "http://127.0.0.1:4000/cb")
	}
	f.Fuzz(func(t *testing.T, reg, req string) {
		err := validateRedirectURI(reg, nil)
		if err == nil {
			u, perr := url.Parse(reg)
			if perr != nil || strings.Contains(reg, "#") || u.User != nil {
				t.Fatalf("accepted %q", reg)
			}
			switch strings.ToLower(u.Scheme) {
			case "javascript", "data", "file", "vbscript":
				t.Fatalf("accepted scheme of %q", reg)
			case "http":
				if !isLoopbackHost(u.Host) {
					t.Fatalf("accepted non-loopback http %q", reg)
				}
			}
		}
		if matchRedirectURI(reg, req) {
			if reg != req {
				// Only a loopback port may differ.
				r, _ := url.Parse(reg)
				q, _ := url.Parse(req)
				if r.Hostname() != q.Hostname() || pathOrSlash(r) != pathOrSlash(q) || r.RawQuery != q.RawQuery || !isLoopbackHost(q.Host) || strings.Contains(req, "#") || q.User != nil {
					t.Fatalf("match(%q, %q)", reg, req)
				}
			}
		}
	})
}

func FuzzScope(f *testing.F) {
	for _, s := range []string{"", "mcp", "a b  c", `a"b`, "\x00", strings.Repeat("x ", 100)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		toks, err := parseScope(s)
		if err != nil {
			return
		}
		for _, tok := range toks {
			if !validScopeToken(tok) || strings.Contains(tok, " ") {
				t.Fatalf("token %q from %q", tok, s)
			}
		}
		again, err := parseScope(strings.Join(toks, " "))
		if err != nil || len(again) != len(toks) {
			t.Fatalf("not stable: %q", s)
		}
	})
}

func FuzzResource(f *testing.F) {
	for _, s := range []string{"https://mcp.example.com/mcp", "/x", "https://a#b", "urn:x", "http://", "https://a/<script>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if validateResource(s) == nil {
			u, err := url.Parse(s)
			if err != nil || u.Scheme == "" || strings.Contains(s, "#") {
				t.Fatalf("accepted %q", s)
			}
		}
	})
}

func FuzzPolicy(f *testing.F) {
	for _, s := range []string{"", "*", "alice,bob", "org:acme, Alice", " , org: ,", "org:", "id:4242", "ID: 7, id:", "id:org:x", "email:a@b.c", "domain:b.c, group:x", "group:", "domain:@b.c"} {
		f.Add(s, "alice")
	}
	f.Fuzz(func(t *testing.T, policy, login string) {
		p := ParsePolicy(policy)
		if p.Empty() && (p.Allows(&Identity{Login: login}) || p.Allows(&Identity{Subject: login}) ||
			p.Allows(&Identity{Email: login, EmailVerified: true}) || p.Allows(&Identity{Groups: []string{login}})) {
			t.Fatalf("empty policy %q allows %q", policy, login)
		}
		if p.Allows(&Identity{Email: login}) && !p.Everyone {
			t.Fatalf("policy %q allows the unverified email %q", policy, login)
		}
		if q := ParsePolicy(p.String()); q.String() != p.String() {
			t.Fatalf("String does not round-trip: %q -> %q", p.String(), q.String())
		}
	})
}

func FuzzUserCode(f *testing.F) {
	for _, s := range []string{"BCDF-GHJK", "bcdf ghjk", "", "ÄÖ-Ü", strings.Repeat("B", 100)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := normalizeUserCode(s)
		for _, c := range n {
			if !strings.ContainsRune(userCodeAlphabet, c) {
				t.Fatalf("%q normalised to %q", s, n)
			}
		}
		if normalizeUserCode(n) != n {
			t.Fatalf("not idempotent: %q", s)
		}
	})
}

// FuzzRegister feeds registration bodies through the whole handler: any
// input gets 201 or an OAuth error, never a panic, and what is accepted is
// valid.
func FuzzRegister(f *testing.F) {
	for _, s := range []string{
		`{"redirect_uris":["https://a.example.com/cb"]}`,
		`{"redirect_uris":["http://127.0.0.1/cb"],"token_endpoint_auth_method":"none","grant_types":["authorization_code"],"x":{"y":[1]}}`,
		`{"redirect_uris":"x"}`, `[]`, `null`, `{"client_name":"<script>"}`, `{"grant_types":["urn:ietf:params:oauth:grant-type:device_code"]}`,
	} {
		f.Add(s)
	}
	st := NewMemoryStore(&MemoryStoreOptions{SweepInterval: -1})
	defer st.Close()
	d, _ := NewDevLogin(nil)
	srv, err := NewServer(f.Context(), "http://127.0.0.1:1", st, d, &Options{SigningKey: testKey, SigningAlgorithm: ES256, RegistrationLimit: -1,
		Limits: Limits{MaxRegistrations: -1}, Logger: discardLogger()})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest("POST", "/register", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		var m map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
			t.Fatalf("status %d, body not JSON: %q", rec.Code, rec.Body.Bytes())
		}
		switch rec.Code {
		case 201:
			var meta ClientMetadata
			raw, _ := json.Marshal(m)
			if err := json.Unmarshal(raw, &meta); err != nil {
				t.Fatal(err)
			}
			for _, u := range meta.RedirectURIs {
				if validateRedirectURI(u, nil) != nil {
					t.Fatalf("registered invalid redirect %q", u)
				}
			}
		case 400, 413:
			if m["error"] == nil {
				t.Fatalf("error without code: %v", m)
			}
		default:
			t.Fatalf("status %d: %s", rec.Code, bytes.TrimSpace(rec.Body.Bytes()))
		}
	})
}

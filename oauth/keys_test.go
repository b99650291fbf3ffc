package oauth

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"sync"
	"testing"
	"time"
)

// storedKeyServer is a server on st whose keys live in the store.
func storedKeyServer(t *testing.T, st *MemoryStore, c *clock, alg string, rotation time.Duration) *Server {
	t.Helper()
	d, _ := NewDevLogin(&DevLoginOptions{User: "robot"})
	s, err := NewServer(t.Context(), "http://127.0.0.1:1", st, d, &Options{
		SigningAlgorithm: alg, KeyRotation: rotation, Now: c.Now, Policy: ParsePolicy("robot"), Logger: discardLogger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mint(t *testing.T, s *Server) string {
	t.Helper()
	at, err := s.mintAccessToken(t.Context(), "client", "family", Identity{Subject: "1", Login: "robot"}, "mcp", nil, s.now())
	if err != nil {
		t.Fatal(err)
	}
	return at.raw
}

func jwksKids(t *testing.T, s *Server) []string {
	t.Helper()
	st, err := s.keys.current(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var set struct {
		Keys []struct {
			Kid string `json:"kid"`
			D   string `json:"d"`
			P   string `json:"p"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(st.jwks, &set); err != nil {
		t.Fatal(err)
	}
	var kids []string
	for _, k := range set.Keys {
		if k.D != "" || k.P != "" {
			t.Fatal("JWKS leaks a private key")
		}
		kids = append(kids, k.Kid)
	}
	return kids
}

// TestKeysSurviveRestart: generated keys are kept in the store; a new
// server on the same store verifies the old tokens and signs with the
// same key.
func TestKeysSurviveRestart(t *testing.T) {
	for _, alg := range []string{RS256, ES256, EdDSA} {
		t.Run(alg, func(t *testing.T) {
			c := newClock()
			st := NewMemoryStore(&MemoryStoreOptions{Now: c.Now, SweepInterval: -1})
			defer st.Close()
			s1 := storedKeyServer(t, st, c, alg, 0)
			tok := mint(t, s1)
			s2 := storedKeyServer(t, st, c, alg, 0)
			claims, err := s2.VerifyAccessToken(t.Context(), tok)
			if err != nil || claims.Subject != "1" {
				t.Fatalf("restarted server: %v", err)
			}
			if k1, k2 := jwksKids(t, s1), jwksKids(t, s2); len(k2) != 1 || k1[0] != k2[0] {
				t.Fatalf("kids %v then %v", k1, k2)
			}
			keys, _ := st.ListKeys(t.Context())
			if len(keys) != 1 || keys[0].Algorithm != alg {
				t.Fatalf("stored keys: %d", len(keys))
			}
		})
	}
}

// TestConcurrentFirstStart: replicas starting together agree on one key.
func TestConcurrentFirstStart(t *testing.T) {
	c := newClock()
	st := NewMemoryStore(&MemoryStoreOptions{Now: c.Now, SweepInterval: -1})
	defer st.Close()
	var wg sync.WaitGroup
	servers := make([]*Server, 6)
	for i := range servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			servers[i] = storedKeyServer(t, st, c, ES256, 0)
		}()
	}
	wg.Wait()
	keys, _ := st.ListKeys(t.Context())
	if len(keys) != 1 {
		t.Fatalf("%d keys after concurrent starts", len(keys))
	}
	tok := mint(t, servers[0])
	for _, s := range servers {
		if _, err := s.VerifyAccessToken(t.Context(), tok); err != nil {
			t.Fatal(err)
		}
	}
}

// TestKeyRotation: after the rotation period a new key signs; the old one
// stays in the JWKS while its tokens live, then leaves.
func TestKeyRotation(t *testing.T) {
	c := newClock()
	st := NewMemoryStore(&MemoryStoreOptions{Now: c.Now, SweepInterval: -1})
	defer st.Close()
	s := storedKeyServer(t, st, c, ES256, 24*time.Hour)
	old := mint(t, s)
	oldKids := jwksKids(t, s)

	c.Advance(24*time.Hour + time.Second)
	fresh := mint(t, s)
	kids := jwksKids(t, s)
	if len(kids) != 2 || kids[1] != oldKids[0] {
		t.Fatalf("after rotation JWKS %v (old %v)", kids, oldKids)
	}
	if headerKid(t, fresh) == headerKid(t, old) {
		t.Fatal("rotation did not change the signing key")
	}
	// The old token is expired by now, but its key must stay until the
	// access lifetime has passed since the rotation.
	c.Advance(DefaultAccessTokenLifetime + keyReloadInterval + 2*time.Minute)
	mint(t, s)
	if kids := jwksKids(t, s); len(kids) != 1 || kids[0] != headerKid(t, fresh) {
		t.Fatalf("retired key still published: %v", kids)
	}
	// Another replica learns of a new key by its kid.
	other := storedKeyServer(t, st, c, ES256, 24*time.Hour)
	if err := other.RotateKeys(t.Context()); err != nil {
		t.Fatal(err)
	}
	tok := mint(t, other)
	c.Advance(keyMissInterval + time.Second)
	if _, err := s.VerifyAccessToken(t.Context(), tok); err != nil {
		t.Fatalf("replica does not find the new key: %v", err)
	}
}

func headerKid(t *testing.T, raw string) string {
	t.Helper()
	var h struct {
		Kid string `json:"kid"`
	}
	b, _ := base64.RawURLEncoding.DecodeString(raw[:indexByte(raw, '.')])
	_ = json.Unmarshal(b, &h)
	return h.Kid
}

func indexByte(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}

func TestParsePrivateKey(t *testing.T) {
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	pkcs8 := func(k any) []byte {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	}
	pkcs1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaKey)})
	ecDER, _ := x509.MarshalECPrivateKey(ecKey)
	sec1 := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: ecDER})
	cases := []struct {
		name string
		data []byte
		alg  string
	}{
		{"pkcs1 rsa", pkcs1, RS256},
		{"pkcs1 rsa base64 (JWT_PRIVATE_KEY_B64)", []byte(base64.StdEncoding.EncodeToString(pkcs1)), RS256},
		{"pkcs8 rsa", pkcs8(rsaKey), RS256},
		{"sec1 ec", sec1, ES256},
		{"pkcs8 ec", pkcs8(ecKey), ES256},
		{"pkcs8 ed25519", pkcs8(edKey), EdDSA},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			k, err := ParsePrivateKey(tc.data)
			if err != nil {
				t.Fatal(err)
			}
			if err := algForKey(tc.alg, k); err != nil {
				t.Fatal(err)
			}
			// The key signs tokens a server verifies.
			st := NewMemoryStore(nil)
			defer st.Close()
			d, _ := NewDevLogin(&DevLoginOptions{User: "robot"})
			s, err := NewServer(t.Context(), "http://127.0.0.1:1", st, d, &Options{SigningKey: k, SigningAlgorithm: tc.alg, Logger: discardLogger()})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.VerifyAccessToken(t.Context(), mint(t, s)); err != nil {
				t.Fatal(err)
			}
			if err := s.RotateKeys(t.Context()); err == nil {
				t.Fatal("a configured key was rotated")
			}
		})
	}
	for name, data := range map[string][]byte{"garbage": []byte("hello"), "bad base64 pem": []byte(base64.StdEncoding.EncodeToString([]byte("nope"))),
		"certificate": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1}})} {
		if _, err := ParsePrivateKey(data); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if err := algForKey(ES256, rsaKey); err == nil {
		t.Error("RSA key accepted for ES256")
	}
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	if err := algForKey(RS256, small); err == nil {
		t.Error("1024-bit RSA key accepted")
	}
}

// TestVerifyAccessToken refuses forged and foreign tokens.
func TestVerifyAccessToken(t *testing.T) {
	e := newEnv(t)
	c := e.register(nil)
	tok := str(e.tokens(c, nil)["access_token"])
	other := storedKeyServer(t, NewMemoryStore(nil), newClock(), ES256, 0)
	foreign := mint(t, other) // another issuer's key
	parts := splitDots(tok)
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"admin"}`)) + "." + parts[2]
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"at+jwt"}`)) + "." + parts[1] + "."
	for name, raw := range map[string]string{"foreign key": foreign, "tampered": tampered, "alg none": none, "garbage": "x.y.z", "empty": ""} {
		if _, err := e.srv.VerifyAccessToken(t.Context(), raw); err == nil {
			t.Errorf("%s: verified", name)
		}
	}
	if _, err := e.srv.VerifyAccessToken(t.Context(), tok); err != nil {
		t.Fatal(err)
	}
}

func splitDots(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

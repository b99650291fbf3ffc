package oauth

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestCodeGrantErrors(t *testing.T) {
	e := newEnv(t)
	c := e.register(nil)
	other := e.register(nil)
	conf := e.register(map[string]any{"redirect_uris": []string{"https://app.example.com/cb"}, "token_endpoint_auth_method": "client_secret_basic"})
	post := e.register(map[string]any{"redirect_uris": []string{"https://app.example.com/cb"}, "token_endpoint_auth_method": "client_secret_post"})

	type result struct {
		status int
		code   string
	}
	// Each case gets a fresh code for client c (verifier v) and sends the
	// form returned by its function.
	cases := []struct {
		name  string
		extra url.Values // for the authorization request
		form  func(code, v string) url.Values
		basic []string
		want  result
	}{
		{"missing verifier", nil, func(code, v string) url.Values {
			return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {c.Redirect}, "client_id": {c.ID}}
		}, nil, result{400, "invalid_grant"}},
		{"wrong verifier", nil, func(code, v string) url.Values {
			return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {c.Redirect}, "client_id": {c.ID}, "code_verifier": {strings.Repeat("a", 43)}}
		}, nil, result{400, "invalid_grant"}},
		{"verifier is the challenge (plain)", nil, func(code, v string) url.Values {
			return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {c.Redirect}, "client_id": {c.ID}, "code_verifier": {s256(v)}}
		}, nil, result{400, "invalid_grant"}},
		{"redirect mismatch", nil, func(code, v string) url.Values {
			return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {c.Redirect + "x"}, "client_id": {c.ID}, "code_verifier": {v}}
		}, nil, result{400, "invalid_grant"}},
		{"redirect missing", nil, func(code, v string) url.Values {
			return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "client_id": {c.ID}, "code_verifier": {v}}
		}, nil, result{400, "invalid_grant"}},
		{"another client's code", nil, func(code, v string) url.Values {
			return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {c.Redirect}, "client_id": {other.ID}, "code_verifier": {v}}
		}, nil, result{400, "invalid_grant"}},
		{"unknown code", nil, func(code, v string) url.Values {
			return url.Values{"grant_type": {"authorization_code"}, "code": {code + "x"}, "redirect_uri": {c.Redirect}, "client_id": {c.ID}, "code_verifier": {v}}
		}, nil, result{400, "invalid_grant"}},
		{"unknown client", nil, func(code, v string) url.Values {
			return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {c.Redirect}, "client_id": {"nope"}, "code_verifier": {v}}
		}, nil, result{401, "invalid_client"}},
		{"no client", nil, func(code, v string) url.Values {
			return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {c.Redirect}, "code_verifier": {v}}
		}, nil, result{401, "invalid_client"}},
		{"resource not granted", url.Values{"resource": {"https://a.example.com/mcp"}}, func(code, v string) url.Values {
			return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {c.Redirect}, "client_id": {c.ID}, "code_verifier": {v}, "resource": {"https://b.example.com/mcp"}}
		}, nil, result{400, "invalid_target"}},
		{"unsupported grant", nil, func(code, v string) url.Values {
			return url.Values{"grant_type": {"password"}, "username": {"a"}, "password": {"b"}, "client_id": {c.ID}}
		}, nil, result{400, "unsupported_grant_type"}},
		{"client_credentials", nil, func(code, v string) url.Values {
			return url.Values{"grant_type": {"client_credentials"}, "client_id": {c.ID}}
		}, nil, result{400, "unsupported_grant_type"}},
		{"no grant type", nil, func(code, v string) url.Values {
			return url.Values{"code": {code}, "client_id": {c.ID}}
		}, nil, result{400, "invalid_request"}},
		{"repeated parameter", nil, func(code, v string) url.Values {
			return url.Values{"grant_type": {"authorization_code"}, "code": {code, code}, "redirect_uri": {c.Redirect}, "client_id": {c.ID}, "code_verifier": {v}}
		}, nil, result{400, "invalid_request"}},
		{"public client sends a secret", nil, func(code, v string) url.Values {
			return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {c.Redirect}, "client_id": {c.ID}, "client_secret": {"guess"}, "code_verifier": {v}}
		}, nil, result{401, "invalid_client"}},
		// Confidential clients must authenticate with their registered method.
		{"confidential: no secret", nil, func(code, v string) url.Values {
			return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "client_id": {conf.ID}}
		}, nil, result{401, "invalid_client"}},
		{"confidential: wrong secret", nil, func(code, v string) url.Values {
			return url.Values{"grant_type": {"authorization_code"}, "code": {code}}
		}, []string{conf.ID, conf.Secret + "x"}, result{401, "invalid_client"}},
		{"confidential: another client's secret", nil, func(code, v string) url.Values {
			return url.Values{"grant_type": {"authorization_code"}, "code": {code}}
		}, []string{conf.ID, post.Secret}, result{401, "invalid_client"}},
		{"confidential: post instead of basic", nil, func(code, v string) url.Values {
			return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "client_id": {conf.ID}, "client_secret": {conf.Secret}}
		}, nil, result{401, "invalid_client"}},
		{"confidential: basic instead of post", nil, func(code, v string) url.Values {
			return url.Values{"grant_type": {"authorization_code"}, "code": {code}}
		}, []string{post.ID, post.Secret}, result{401, "invalid_client"}},
		{"confidential: two methods", nil, func(code, v string) url.Values {
			return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "client_secret": {conf.Secret}}
		}, []string{conf.ID, conf.Secret}, result{400, "invalid_request"}},
		{"confidential: right secret, another client's code", nil, func(code, v string) url.Values {
			return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {c.Redirect}, "code_verifier": {v}}
		}, []string{conf.ID, conf.Secret}, result{400, "invalid_grant"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v, ch := pkcePair()
			code := e.codeFor(c, ch, tc.extra)
			resp, m := e.postForm("/token", tc.form(code, v), tc.basic...)
			wantOAuthError(t, resp, m, tc.want.status, tc.want.code)
			if tc.want.status == 401 && len(tc.basic) == 2 && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic") {
				t.Error("401 to a Basic client without WWW-Authenticate")
			}
		})
	}

	t.Run("confidential clients succeed with their method", func(t *testing.T) {
		for _, cl := range []registered{conf, post} {
			v, ch := pkcePair()
			code := e.codeFor(cl, ch, nil)
			form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {cl.Redirect}, "code_verifier": {v}}
			var basic []string
			if cl.ID == conf.ID {
				basic = []string{cl.ID, cl.Secret}
			} else {
				form.Set("client_id", cl.ID)
				form.Set("client_secret", cl.Secret)
			}
			if resp, m := e.postForm("/token", form, basic...); resp.StatusCode != 200 {
				t.Fatalf("%s: %v", cl.ID, m)
			}
		}
	})
	t.Run("expired code", func(t *testing.T) {
		v, ch := pkcePair()
		code := e.codeFor(c, ch, nil)
		e.clock.Advance(DefaultCodeLifetime + time.Second)
		resp, m := e.exchange(c, code, v, nil)
		wantOAuthError(t, resp, m, 400, "invalid_grant")
	})
	t.Run("oversized body", func(t *testing.T) {
		form := url.Values{"grant_type": {"authorization_code"}, "code": {strings.Repeat("a", DefaultMaxBodyBytes)}}
		resp, m := e.postForm("/token", form)
		wantOAuthError(t, resp, m, 413, "invalid_request")
	})
	t.Run("json body", func(t *testing.T) {
		resp, m := e.postJSON("POST", "/token", map[string]string{"grant_type": "authorization_code"}, "")
		wantOAuthError(t, resp, m, 400, "invalid_request")
	})
	t.Run("GET", func(t *testing.T) {
		resp, _ := e.get(e.issuer + "/token?grant_type=authorization_code")
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Fatalf("status %d", resp.StatusCode)
		}
	})
}

// TestCodeReplayRevokes: a second redemption fails and revokes the tokens
// the first one produced.
func TestCodeReplayRevokes(t *testing.T) {
	e := newEnv(t)
	c := e.register(nil)
	v, ch := pkcePair()
	code := e.codeFor(c, ch, nil)
	resp, tok := e.exchange(c, code, v, nil)
	if resp.StatusCode != 200 {
		t.Fatal(tok)
	}
	resp, m := e.exchange(c, code, v, nil)
	wantOAuthError(t, resp, m, 400, "invalid_grant")
	if _, err := e.srv.VerifyAccessToken(t.Context(), str(tok["access_token"])); err == nil {
		t.Error("access token of a replayed code still valid")
	}
	resp, m = e.refresh(c, str(tok["refresh_token"]), nil)
	wantOAuthError(t, resp, m, 400, "invalid_grant")
}

// TestCodeRedeemedOnceConcurrently: of many simultaneous redemptions of one
// code at most one gets tokens, and the replays revoke them (the winner may
// even lose the race against the revocation and get none).
func TestCodeRedeemedOnceConcurrently(t *testing.T) {
	e := newEnv(t)
	c := e.register(nil)
	v, ch := pkcePair()
	code := e.codeFor(c, ch, nil)
	const n = 8
	var wg sync.WaitGroup
	results := make([]map[string]any, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if resp, m := e.exchange(c, code, v, nil); resp.StatusCode == 200 {
				results[i] = m
			}
		}()
	}
	wg.Wait()
	ok := 0
	for _, m := range results {
		if m == nil {
			continue
		}
		ok++
		if _, err := e.srv.VerifyAccessToken(t.Context(), str(m["access_token"])); err == nil {
			t.Error("access token of a replayed code survives")
		}
		if resp, _ := e.refresh(c, str(m["refresh_token"]), nil); resp.StatusCode != 400 {
			t.Error("refresh token of a replayed code survives")
		}
	}
	if ok > 1 {
		t.Fatalf("%d redemptions succeeded", ok)
	}
}

func TestRefresh(t *testing.T) {
	t.Run("another client's refresh token", func(t *testing.T) {
		e := newEnv(t)
		c, other := e.register(nil), e.register(nil)
		tok := e.tokens(c, nil)
		resp, m := e.refresh(other, str(tok["refresh_token"]), nil)
		wantOAuthError(t, resp, m, 400, "invalid_grant")
		// The owner still can.
		if resp, m := e.refresh(c, str(tok["refresh_token"]), nil); resp.StatusCode != 200 {
			t.Fatalf("owner refresh: %v", m)
		}
	})
	t.Run("reuse after the grace window revokes the family", func(t *testing.T) {
		e := newEnv(t)
		c := e.register(nil)
		tok := e.tokens(c, nil)
		_, t2 := e.refresh(c, str(tok["refresh_token"]), nil)
		e.clock.Advance(DefaultRefreshGrace + time.Second)
		resp, m := e.refresh(c, str(tok["refresh_token"]), nil)
		wantOAuthError(t, resp, m, 400, "invalid_grant")
		// The successor dies with the family, and so do the access tokens.
		resp, m = e.refresh(c, str(t2["refresh_token"]), nil)
		wantOAuthError(t, resp, m, 400, "invalid_grant")
		for _, at := range []string{str(tok["access_token"]), str(t2["access_token"])} {
			if _, err := e.srv.VerifyAccessToken(t.Context(), at); err == nil {
				t.Error("access token survived the family revocation")
			}
		}
	})
	t.Run("using the successor ends the grace at once", func(t *testing.T) {
		e := newEnv(t)
		c := e.register(nil)
		tok := e.tokens(c, nil)
		_, t2 := e.refresh(c, str(tok["refresh_token"]), nil)
		if resp, m := e.refresh(c, str(t2["refresh_token"]), nil); resp.StatusCode != 200 {
			t.Fatal(m)
		}
		resp, m := e.refresh(c, str(tok["refresh_token"]), nil) // still inside the window
		wantOAuthError(t, resp, m, 400, "invalid_grant")
	})
	t.Run("no grace: the second use revokes", func(t *testing.T) {
		e := newEnv(t, withOptions(func(o *Options) { o.RefreshGrace = -1 }))
		c := e.register(nil)
		tok := e.tokens(c, nil)
		e.refresh(c, str(tok["refresh_token"]), nil)
		resp, m := e.refresh(c, str(tok["refresh_token"]), nil)
		wantOAuthError(t, resp, m, 400, "invalid_grant")
	})
	t.Run("scope may narrow, never widen", func(t *testing.T) {
		e := newEnv(t, withOptions(func(o *Options) { o.Scopes = []string{"read", "write"} }))
		c := e.register(nil)
		tok := e.tokens(c, url.Values{"scope": {"read"}})
		resp, m := e.refresh(c, str(tok["refresh_token"]), url.Values{"scope": {"read write"}})
		wantOAuthError(t, resp, m, 400, "invalid_scope")
		tok = e.tokens(c, url.Values{"scope": {"read write"}})
		resp, m = e.refresh(c, str(tok["refresh_token"]), url.Values{"scope": {"write"}})
		if resp.StatusCode != 200 || m["scope"] != "write" {
			t.Fatalf("narrowing: %v", m)
		}
		// The new refresh token keeps the full scope (RFC 6749 §6).
		resp, m = e.refresh(c, str(m["refresh_token"]), nil)
		if resp.StatusCode != 200 || m["scope"] != "read write" {
			t.Fatalf("after narrowing: %v", m)
		}
	})
	t.Run("resource may narrow the audience", func(t *testing.T) {
		e := newEnv(t)
		c := e.register(nil)
		a, b := "https://a.example.com/mcp", "https://b.example.com/mcp"
		tok := e.tokens(c, url.Values{"resource": {a, b}})
		claims, _ := e.srv.VerifyAccessToken(t.Context(), str(tok["access_token"]))
		if len(claims.Audience) != 2 {
			t.Fatalf("audience %v", claims.Audience)
		}
		resp, m := e.refresh(c, str(tok["refresh_token"]), url.Values{"resource": {b}})
		if resp.StatusCode != 200 {
			t.Fatal(m)
		}
		claims, _ = e.srv.VerifyAccessToken(t.Context(), str(m["access_token"]))
		if len(claims.Audience) != 1 || claims.Audience[0] != b {
			t.Fatalf("narrowed audience %v", claims.Audience)
		}
		resp, m = e.refresh(c, str(m["refresh_token"]), url.Values{"resource": {"https://c.example.com/mcp"}})
		wantOAuthError(t, resp, m, 400, "invalid_target")
	})
	t.Run("expired refresh token", func(t *testing.T) {
		e := newEnv(t, withOptions(func(o *Options) { o.RefreshTokenLifetime = time.Hour }))
		c := e.register(nil)
		tok := e.tokens(c, nil)
		e.clock.Advance(time.Hour + time.Second)
		resp, m := e.refresh(c, str(tok["refresh_token"]), nil)
		wantOAuthError(t, resp, m, 400, "invalid_grant")
	})
	t.Run("client without refresh_token grant", func(t *testing.T) {
		e := newEnv(t)
		c := e.register(map[string]any{"redirect_uris": []string{"http://127.0.0.1:9999/cb"}, "token_endpoint_auth_method": "none", "grant_types": []string{"authorization_code"}})
		tok := e.tokens(c, nil)
		if tok["refresh_token"] != nil {
			t.Fatal("refresh token issued to a client without the grant")
		}
	})
}

// TestConcurrentRefreshInGrace: many simultaneous refreshes with one token
// (two egress nodes, a retry after a lost response) all get the same new
// pair, and the family survives.
func TestConcurrentRefreshInGrace(t *testing.T) {
	e := newEnv(t)
	c := e.register(nil)
	tok := e.tokens(c, nil)
	const n = 10
	var wg sync.WaitGroup
	results := make([]map[string]any, n)
	statuses := make([]int, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, m := e.refresh(c, str(tok["refresh_token"]), nil)
			statuses[i], results[i] = resp.StatusCode, m
		}()
	}
	wg.Wait()
	for i := range n {
		if statuses[i] != 200 {
			t.Fatalf("refresh %d: %d %v", i, statuses[i], results[i])
		}
		if results[i]["refresh_token"] != results[0]["refresh_token"] || results[i]["access_token"] != results[0]["access_token"] {
			t.Fatalf("refresh %d got a different pair", i)
		}
	}
	next := str(results[0]["refresh_token"])
	if resp, m := e.refresh(c, next, nil); resp.StatusCode != 200 {
		t.Fatalf("the shared successor does not work: %v", m)
	}
}

// TestGraceBlob: the stored retry blob is useless without the old token.
func TestGraceBlob(t *testing.T) {
	b := &graceBlob{AccessToken: "access-token-in-the-blob", RefreshToken: "refresh-token-in-the-blob", Expiry: 42}
	sealed, err := sealGrace("old-token", b)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(sealed), "token-in-the-blob") {
		t.Error("blob holds the tokens in plain text")
	}
	if _, err := openGrace("other-token", sealed); err == nil {
		t.Fatal("opened with the wrong token")
	}
	got, err := openGrace("old-token", sealed)
	if err != nil || *got != *b {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	if _, err := openGrace("old-token", sealed[:5]); err == nil {
		t.Fatal("opened a truncated blob")
	}
}

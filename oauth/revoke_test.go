package oauth

import (
	"net/url"
	"testing"
	"time"
)

func TestRevokeAndIntrospect(t *testing.T) {
	e := newEnv(t)
	c, other := e.register(nil), e.register(nil)
	conf := e.register(map[string]any{"redirect_uris": []string{"https://app.example.com/cb"}, "token_endpoint_auth_method": "client_secret_basic"})

	t.Run("access token revocation", func(t *testing.T) {
		tok := e.tokens(c, nil)
		at := str(tok["access_token"])
		resp, _ := e.postForm("/revoke", url.Values{"token": {at}, "client_id": {c.ID}, "token_type_hint": {"access_token"}})
		if resp.StatusCode != 200 {
			t.Fatalf("revoke: %d", resp.StatusCode)
		}
		if _, in := e.postForm("/introspect", url.Values{"token": {at}, "client_id": {c.ID}}); in["active"] != false {
			t.Fatalf("revoked token active: %v", in)
		}
		// Revoking one access token leaves the refresh token alone.
		if resp, m := e.refresh(c, str(tok["refresh_token"]), nil); resp.StatusCode != 200 {
			t.Fatalf("refresh after access revocation: %v", m)
		}
	})
	t.Run("only the owner acts", func(t *testing.T) {
		tok := e.tokens(c, nil)
		at, rt := str(tok["access_token"]), str(tok["refresh_token"])
		resp, m := e.postForm("/revoke", url.Values{"token": {at}, "client_id": {other.ID}})
		wantOAuthError(t, resp, m, 400, "unauthorized_client")
		// Another client's refresh token is unknown to it: 200, no effect.
		if resp, _ := e.postForm("/revoke", url.Values{"token": {rt}, "client_id": {other.ID}}); resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		for _, tk := range []string{at, rt} {
			if _, in := e.postForm("/introspect", url.Values{"token": {tk}, "client_id": {other.ID}}); in["active"] != false {
				t.Fatalf("another client sees the token: %v", in)
			}
			if _, in := e.postForm("/introspect", url.Values{"token": {tk}, "client_id": {c.ID}}); in["active"] != true {
				t.Fatalf("token hurt by another client: %v", in)
			}
		}
	})
	t.Run("unknown tokens are fine", func(t *testing.T) {
		for _, tk := range []string{"garbage", "a.b.c", "eyJhbGciOiJub25lIn0.e30."} {
			if resp, _ := e.postForm("/revoke", url.Values{"token": {tk}, "client_id": {c.ID}}); resp.StatusCode != 200 {
				t.Fatalf("revoke %q: %d", tk, resp.StatusCode)
			}
			if _, in := e.postForm("/introspect", url.Values{"token": {tk}, "client_id": {c.ID}}); in["active"] != false || len(in) != 1 {
				t.Fatalf("introspect %q: %v", tk, in)
			}
		}
	})
	t.Run("client authentication required", func(t *testing.T) {
		tok := e.tokens(c, nil)
		for _, path := range []string{"/revoke", "/introspect"} {
			resp, m := e.postForm(path, url.Values{"token": {str(tok["access_token"])}})
			wantOAuthError(t, resp, m, 401, "invalid_client")
			resp, m = e.postForm(path, url.Values{"token": {str(tok["access_token"])}}, conf.ID, "wrong")
			wantOAuthError(t, resp, m, 401, "invalid_client")
			resp, m = e.postForm(path, url.Values{"client_id": {c.ID}})
			wantOAuthError(t, resp, m, 400, "invalid_request")
		}
	})
	t.Run("expired access token is inactive", func(t *testing.T) {
		tok := e.tokens(c, nil)
		e.clock.Advance(DefaultAccessTokenLifetime + time.Minute)
		if _, in := e.postForm("/introspect", url.Values{"token": {str(tok["access_token"])}, "client_id": {c.ID}}); in["active"] != false {
			t.Fatalf("expired token active: %v", in)
		}
	})
	t.Run("rotated refresh token is inactive", func(t *testing.T) {
		tok := e.tokens(c, nil)
		e.refresh(c, str(tok["refresh_token"]), nil)
		if _, in := e.postForm("/introspect", url.Values{"token": {str(tok["refresh_token"])}, "client_id": {c.ID}}); in["active"] != false {
			t.Fatalf("rotated token active: %v", in)
		}
	})
}

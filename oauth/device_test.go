package oauth

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func startDevice(t *testing.T, e *testEnv, c registered, extra url.Values) map[string]any {
	t.Helper()
	form := url.Values{"client_id": {c.ID}}
	for k, v := range extra {
		form[k] = v
	}
	resp, m := e.postForm("/device_authorization", form)
	if resp.StatusCode != 200 {
		t.Fatalf("device authorization: %d %v", resp.StatusCode, m)
	}
	return m
}

func pollDevice(e *testEnv, c registered, dc string) (*http.Response, map[string]any) {
	return e.postForm("/token", url.Values{"grant_type": {GrantTypeDeviceCode}, "device_code": {dc}, "client_id": {c.ID}})
}

// enterCode plays the user: the device page, the code, consent, GitHub.
func (e *testEnv) enterCode(t *testing.T, code, decision string) (*http.Response, []byte) {
	t.Helper()
	resp, page := e.get(e.issuer + "/device")
	if resp.StatusCode != 200 {
		t.Fatalf("device page: %d", resp.StatusCode)
	}
	action, f := formFields(t, page)
	f.Set("user_code", strings.ToLower(code)) // users type sloppily
	resp, page = e.browserPost(action, f)
	if resp.StatusCode != 200 || !strings.Contains(string(page), "Authorize access") {
		return resp, page
	}
	action, f = formFields(t, page)
	f.Set("decision", decision)
	resp, page = e.browserPost(action, f)
	for i := 0; i < 5 && resp.StatusCode/100 == 3; i++ {
		resp, page = e.get(resp.Header.Get("Location"))
	}
	return resp, page
}

func TestDeviceFlow(t *testing.T) {
	e := newEnv(t)
	c := e.register(map[string]any{"client_name": "CLI", "grant_types": []string{GrantTypeDeviceCode, "refresh_token"}, "token_endpoint_auth_method": "none"})
	d := startDevice(t, e, c, url.Values{"resource": {"https://mcp.example.com/mcp"}})
	if d["verification_uri"] != e.issuer+"/device" || !strings.Contains(str(d["verification_uri_complete"]), "user_code=") ||
		d["interval"].(float64) != 5 || d["expires_in"].(float64) != 600 || len(str(d["user_code"])) != 9 {
		t.Fatalf("device response: %v", d)
	}
	dc := str(d["device_code"])

	resp, m := pollDevice(e, c, dc)
	wantOAuthError(t, resp, m, 400, "authorization_pending")
	resp, m = pollDevice(e, c, dc) // at once again: too fast
	wantOAuthError(t, resp, m, 400, "slow_down")

	resp, page := e.enterCode(t, str(d["user_code"]), "approve")
	if resp.StatusCode != 200 || !strings.Contains(string(page), "Device connected") {
		t.Fatalf("user side: %d %s", resp.StatusCode, page)
	}
	e.clock.Advance(11 * time.Second)
	resp, tok := pollDevice(e, c, dc)
	if resp.StatusCode != 200 || str(tok["refresh_token"]) == "" {
		t.Fatalf("token: %d %v", resp.StatusCode, tok)
	}
	claims, err := e.srv.VerifyAccessToken(t.Context(), str(tok["access_token"]))
	if err != nil || claims.Login != "octocat" || claims.Audience[0] != "https://mcp.example.com/mcp" {
		t.Fatalf("claims %+v %v", claims, err)
	}
	// Single use.
	e.clock.Advance(10 * time.Second)
	resp, m = pollDevice(e, c, dc)
	wantOAuthError(t, resp, m, 400, "invalid_grant")
}

func TestDeviceErrors(t *testing.T) {
	e := newEnv(t)
	c := e.register(map[string]any{"grant_types": []string{GrantTypeDeviceCode}, "token_endpoint_auth_method": "none"})
	codeOnly := e.register(nil)

	t.Run("client without the grant", func(t *testing.T) {
		resp, m := e.postForm("/device_authorization", url.Values{"client_id": {codeOnly.ID}})
		wantOAuthError(t, resp, m, 400, "unauthorized_client")
	})
	t.Run("unknown client", func(t *testing.T) {
		resp, m := e.postForm("/device_authorization", url.Values{"client_id": {"nope"}})
		wantOAuthError(t, resp, m, 401, "invalid_client")
	})
	t.Run("bad scope", func(t *testing.T) {
		resp, m := e.postForm("/device_authorization", url.Values{"client_id": {c.ID}, "scope": {"admin"}})
		wantOAuthError(t, resp, m, 400, "invalid_scope")
	})
	t.Run("denied", func(t *testing.T) {
		d := startDevice(t, e, c, nil)
		resp, _ := e.enterCode(t, str(d["user_code"]), "deny")
		if resp.StatusCode != 403 {
			t.Fatalf("deny page: %d", resp.StatusCode)
		}
		resp, m := pollDevice(e, c, str(d["device_code"]))
		wantOAuthError(t, resp, m, 400, "access_denied")
	})
	t.Run("refused by policy", func(t *testing.T) {
		e.gh.SetLogin("mallory")
		defer e.gh.SetLogin("octocat")
		d := startDevice(t, e, c, nil)
		e.enterCode(t, str(d["user_code"]), "approve")
		resp, m := pollDevice(e, c, str(d["device_code"]))
		wantOAuthError(t, resp, m, 400, "access_denied")
	})
	t.Run("expired", func(t *testing.T) {
		d := startDevice(t, e, c, nil)
		e.clock.Advance(DefaultDeviceCodeLifetime + time.Second)
		resp, m := pollDevice(e, c, str(d["device_code"]))
		wantOAuthError(t, resp, m, 400, "expired_token")
		resp, page := e.enterCode(t, str(d["user_code"]), "approve")
		if resp.StatusCode != 400 || !strings.Contains(string(page), "unknown or expired") {
			t.Fatalf("expired code accepted on the page: %d", resp.StatusCode)
		}
	})
	t.Run("another client's device code", func(t *testing.T) {
		other := e.register(map[string]any{"grant_types": []string{GrantTypeDeviceCode}, "token_endpoint_auth_method": "none"})
		d := startDevice(t, e, c, nil)
		resp, m := pollDevice(e, other, str(d["device_code"]))
		wantOAuthError(t, resp, m, 400, "invalid_grant")
	})
	t.Run("unknown user code", func(t *testing.T) {
		resp, _ := e.enterCode(t, "BBBB-BBBB", "approve")
		if resp.StatusCode != 400 {
			t.Fatalf("status %d", resp.StatusCode)
		}
	})
	t.Run("form without csrf", func(t *testing.T) {
		d := startDevice(t, e, c, nil)
		resp, _ := e.browserPost(e.issuer+"/device", url.Values{"user_code": {str(d["user_code"])}})
		if resp.StatusCode != 403 {
			t.Fatalf("status %d", resp.StatusCode)
		}
	})
	t.Run("code guessing is rate limited", func(t *testing.T) {
		var last *http.Response
		for i := 0; i <= deviceEntryLimit; i++ {
			action, f := formFields(t, mustBody(t, e, e.issuer+"/device"))
			f.Set("user_code", "ZZZZ-ZZZZ")
			last, _ = e.browserPost(action, f)
		}
		if last.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("status %d after %d guesses", last.StatusCode, deviceEntryLimit+1)
		}
	})
}

func mustBody(t *testing.T, e *testEnv, u string) []byte {
	t.Helper()
	_, b := e.get(u)
	return b
}

func TestDeviceAutoApprove(t *testing.T) {
	d, _ := NewDevLogin(&DevLoginOptions{User: "robot"})
	e := newEnv(t, withIDP(d), withOptions(func(o *Options) { o.Policy = ParsePolicy("robot") }))
	c := e.register(map[string]any{"grant_types": []string{GrantTypeDeviceCode}, "token_endpoint_auth_method": "none"})
	dev := startDevice(t, e, c, nil)
	resp, page := e.get(str(dev["verification_uri_complete"]))
	if resp.StatusCode != 200 || !strings.Contains(string(page), "Device connected") {
		t.Fatalf("auto approval: %d %s", resp.StatusCode, page)
	}
	resp, tok := pollDevice(e, c, str(dev["device_code"]))
	if resp.StatusCode != 200 {
		t.Fatal(tok)
	}
}

func TestUserCode(t *testing.T) {
	for range 100 {
		c := newUserCode()
		if len(c) != userCodeLen || normalizeUserCode(displayUserCode(c)) != c || normalizeUserCode(strings.ToLower(c)) != c {
			t.Fatalf("user code %q", c)
		}
	}
	if got := normalizeUserCode(" bcdf-ghjk "); got != "BCDFGHJK" {
		t.Fatalf("normalize: %q", got)
	}
}

// TestDeviceConsentWarnsOfRemotePhishing: whoever starts a device flow can
// send the code to someone else (RFC 8628 §5.4), so the consent page of
// every device flow, a registered client's or a Client ID Metadata
// Document's, leads with the warning, and a document's publisher is not
// presented as vouching for the device. A browser sign-in shows no such
// warning.
func TestDeviceConsentWarnsOfRemotePhishing(t *testing.T) {
	const warning = "If someone sent you this code or a link to this page"
	d := newDocServer(t)
	e := cimdEnv(t, d, nil)
	d.set("/cli.json", docAnswer{body: d.doc("/cli.json", func(m map[string]any) {
		m["client_name"] = "Trusted CLI"
		m["grant_types"] = []string{GrantTypeDeviceCode, "refresh_token"}
	})})
	host := strings.TrimPrefix(d.URL, "https://")
	cli := e.register(map[string]any{"client_name": "CLI", "grant_types": []string{GrantTypeDeviceCode}, "token_endpoint_auth_method": "none"})

	consent := func(t *testing.T, clientID string) string {
		t.Helper()
		dev := startDevice(t, e, registered{ID: clientID}, nil)
		_, page := e.get(e.issuer + "/device")
		action, f := formFields(t, page)
		f.Set("user_code", str(dev["user_code"]))
		resp, page := e.browserPost(action, f)
		if resp.StatusCode != 200 || !strings.Contains(string(page), "Authorize access") {
			t.Fatalf("consent page: %d %s", resp.StatusCode, page)
		}
		if !strings.Contains(string(page), "<code>"+str(dev["user_code"])+"</code>") {
			t.Errorf("the page does not show the code %s as the device does", dev["user_code"])
		}
		return string(page)
	}
	for name, id := range map[string]string{"registered client": cli.ID, "metadata document client": d.URL + "/cli.json"} {
		t.Run(name, func(t *testing.T) {
			page := consent(t, id)
			w := strings.Index(page, warning)
			if w < 0 {
				t.Fatalf("no remote-phishing warning:\n%s", page)
			}
			if w > strings.Index(page, "asks to access") {
				t.Error("the warning comes after the client's description")
			}
			if strings.Contains(page, "trust <code>"+host+"</code>") {
				t.Error("the page asks the user to trust the publisher of the document for a device")
			}
		})
	}
	t.Run("browser sign-in", func(t *testing.T) {
		c := e.register(nil)
		_, ch := pkcePair()
		_, page := e.get(e.issuer + "/authorize?" + authQuery(c, ch, nil).Encode())
		if strings.Contains(string(page), warning) {
			t.Fatal("a browser sign-in shows the device warning")
		}
	})
}

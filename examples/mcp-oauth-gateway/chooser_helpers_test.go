package main

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
)

// chooserClient is a browser-like client (cookies, no redirects followed)
// that has been sent to the gateway's consent page for resources and chose
// provider there. It returns the client, the authorization server's
// metadata, the page's provider buttons ("VALUE=TEXT") and the consent
// form's answer, a redirect to the provider.
func chooserClient(t *testing.T, clientName, provider string, resources ...string) (c *client, as map[string]any, offered []string, sent *http.Response) {
	t.Helper()
	c = newClient(t)
	jar, _ := cookiejar.New(nil)
	c.http.Jar = jar
	resp, err := c.http.Post(resources[0], "application/json", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	m := resourceMetadataParam.FindStringSubmatch(resp.Header.Get("WWW-Authenticate"))
	if m == nil {
		t.Fatalf("no challenge from %s: %d", resources[0], resp.StatusCode)
	}
	issuer := c.getJSON(m[1])["authorization_servers"].([]any)[0].(string)
	as = c.getJSON(issuer + "/.well-known/oauth-authorization-server")
	r := c.postJSON(as["registration_endpoint"].(string), map[string]any{"client_name": clientName,
		"redirect_uris": []string{"http://127.0.0.1:9/cb"}, "token_endpoint_auth_method": "none"})
	c.clientID, _ = r["client_id"].(string)
	c.verifier = base64.RawURLEncoding.EncodeToString(randomBytes(32))
	sum := sha256.Sum256([]byte(c.verifier))
	q := url.Values{"response_type": {"code"}, "client_id": {c.clientID}, "redirect_uri": {"http://127.0.0.1:9/cb"}, "state": {"st"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}, "resource": resources}
	resp, err = c.http.Get(as["authorization_endpoint"].(string) + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	doc, err := goquery.NewDocumentFromReader(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("consent page: %d %v", resp.StatusCode, err)
	}
	doc.Find("button[name=provider]").Each(func(_ int, b *goquery.Selection) {
		v, _ := b.Attr("value")
		offered = append(offered, v+"="+strings.TrimSpace(b.Text()))
	})
	form := url.Values{"provider": {provider}}
	doc.Find("form input[type=hidden]").Each(func(_ int, s *goquery.Selection) {
		name, _ := s.Attr("name")
		value, _ := s.Attr("value")
		form.Set(name, value)
	})
	action, _ := doc.Find("form").Attr("action")
	if sent, err = c.http.PostForm(action, form); err != nil {
		t.Fatal(err)
	}
	sent.Body.Close()
	return c, as, offered, sent
}

package main

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/mcp-oauth-gateway/gateway/internal/testenv"
	"github.com/mcp-oauth-gateway/gateway/oauth"
)

// TestLimitSettings: the quota flags and variables reach the options;
// flags win, "off" and 0 turn a limit off, bad values are clear errors.
func TestLimitSettings(t *testing.T) {
	env := map[string]string{
		"OAUTH_PENDING_PER_ADDRESS": "7", "OAUTH_MAX_PENDING": "900", "OAUTH_DEVICES_PER_ADDRESS": "off",
		"OAUTH_MAX_DEVICES": "0", "OAUTH_REGISTRATIONS_PER_ADDRESS": "5", "OAUTH_MAX_REGISTRATIONS": "50",
		"OAUTH_METADATA_FETCHES_PER_ADDRESS": "2", "OAUTH_MAX_METADATA_FETCHES": "20",
		"OAUTH_TRUSTED_PROXIES": "10.0.0.0/8, 192.0.2.7", "OAUTH_FORWARDED_HEADER": "Forwarded",
	}
	getenv := func(k string) string { return env[k] }
	c, err := parseConfig([]string{"--dev-login", "--max-pending", "1000"}, getenv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := oauth.Limits{PendingPerAddress: 7, MaxPending: 1000, DevicesPerAddress: -1, MaxDevices: -1,
		MaxRegistrations: 50, MetadataFetchesPerAddress: 2, MaxMetadataFetches: 20}
	if c.Options.Limits != want || c.Options.RegistrationLimit != 5 {
		t.Fatalf("limits %+v registrations per address %d; want %+v and 5", c.Options.Limits, c.Options.RegistrationLimit, want)
	}
	if fmt.Sprint(c.Options.TrustedProxies) != "[10.0.0.0/8 192.0.2.7/32]" || c.Options.ForwardedHeader != "Forwarded" {
		t.Fatalf("proxies %v header %q", c.Options.TrustedProxies, c.Options.ForwardedHeader)
	}
	c, err = parseConfig([]string{"--dev-login"}, func(string) string { return "" }, io.Discard)
	if err != nil || c.Options.Limits != (oauth.Limits{}) || c.Options.RegistrationLimit != 0 || c.Options.TrustedProxies != nil {
		t.Fatalf("defaults: %+v %v", c.Options, err)
	}
	for _, bad := range [][]string{
		{"--max-pending", "many"},
		{"--trusted-proxies", "proxy.local"},
		{"--forwarded-header", "X-Real-IP"},
	} {
		if _, err := parseConfig(append([]string{"--dev-login"}, bad...), func(string) string { return "" }, io.Discard); err == nil ||
			!strings.Contains(err.Error(), strings.TrimPrefix(bad[0], "--")) {
			t.Errorf("%v: %v", bad, err)
		}
	}
}

// TestAuthorizeFloodThroughTheBinary: the defect as it was found, against
// the real binary on its file store: GET /authorize from one address
// stores at most --pending-per-address sign-ins (429 with Retry-After
// after), many addresses behind a trusted proxy at most --max-pending (503),
// and the file does not grow with the flood.
func TestAuthorizeFloodThroughTheBinary(t *testing.T) {
	db := filepath.Join(t.TempDir(), "oauth.db")
	s := start(t, testenv.Port(t), "--dev-login", "--store", db, "--pending-per-address", "5", "--max-pending", "40",
		"--trusted-proxies", "127.0.0.1")
	reg := postJSON(t, s.issuer+"/register", map[string]any{"redirect_uris": []string{"http://127.0.0.1:9/cb"}, "token_endpoint_auth_method": "none"})
	sum := sha256.Sum256([]byte(strings.Repeat("v", 43)))
	q := url.Values{"response_type": {"code"}, "client_id": {reg["client_id"].(string)}, "redirect_uri": {"http://127.0.0.1:9/cb"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
		"state": {strings.Repeat("s", 2000)}}
	authorize := func(from string) (int, string) {
		req, _ := http.NewRequest("GET", s.issuer+"/authorize?"+q.Encode(), nil)
		if from != "" {
			req.Header.Set("X-Forwarded-For", from)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Retry-After")
	}
	statuses := map[int]int{}
	for range 200 {
		code, retry := authorize("203.0.113.9")
		statuses[code]++
		if code == 429 {
			if n, err := strconv.Atoi(retry); err != nil || n <= 0 {
				t.Fatalf("429 without Retry-After: %q", retry)
			}
		}
	}
	if statuses[200] != 5 || statuses[429] != 195 {
		t.Fatalf("one address, 200 requests: %v; want 5 sign-ins and 195 refusals", statuses)
	}
	statuses = map[int]int{}
	for i := range 200 {
		code, retry := authorize(fmt.Sprintf("2001:db8:%x::1", i))
		statuses[code]++
		if code == 503 && retry == "" {
			t.Fatal("503 without Retry-After")
		}
	}
	if statuses[200] != 15 || statuses[503] != 185 {
		t.Fatalf("200 addresses: %v; want 15 more sign-ins (20 per window, the cap of 40 alive) and 185 refusals", statuses)
	}
	s.stop(t)
	if fi, err := os.Stat(db); err != nil || fi.Size() > 1<<20 {
		t.Fatalf("store file after 400 requests: %v %v", fi.Size(), err)
	}
}

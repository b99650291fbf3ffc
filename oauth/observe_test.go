package oauth

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// events collects what an Observer receives.
type events struct {
	mu  sync.Mutex
	all []Event
}

func (e *events) observe(ev Event) {
	e.mu.Lock()
	e.all = append(e.all, ev)
	e.mu.Unlock()
}

func (e *events) take() []Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := e.all
	e.all = nil
	return out
}

// secretsIn reports which of the secrets appear in any field of evs.
func secretsIn(evs []Event, secrets ...string) []string {
	var found []string
	for _, ev := range evs {
		all := strings.Join([]string{string(ev.Step), ev.ClientID, ev.Error, ev.Description, ev.GrantType, ev.Resource, ev.Subject, ev.Address, ev.UserAgent}, "\n")
		for _, s := range secrets {
			if s != "" && strings.Contains(all, s) {
				found = append(found, s)
			}
		}
	}
	return found
}

// TestObserveTokens: the token endpoint reports each issue and refusal
// with its client, grant type, user and OAuth error code, and never a
// secret; metadata fetches are reported unattributed.
func TestObserveTokens(t *testing.T) {
	var got events
	e := newEnv(t, withOptions(func(o *Options) { o.Observe = got.observe }))
	e.get(e.issuer + "/.well-known/oauth-authorization-server")
	c := e.register(nil)
	evs := got.take()
	if len(evs) != 2 || evs[0].Step != StepMetadata || evs[0].ClientID != "" || evs[1].Step != StepRegister || evs[1].ClientID != c.ID || evs[1].Status != 201 {
		t.Fatalf("discovery and registration events %+v", evs)
	}
	tok := e.tokens(c, nil)
	evs = got.take()
	var steps []Step
	for _, ev := range evs {
		steps = append(steps, ev.Step)
		if ev.ClientID != c.ID || !ev.OK() {
			t.Errorf("event %+v", ev)
		}
	}
	if fmt.Sprint(steps) != "[authorize consent login token]" {
		t.Fatalf("steps %v", steps)
	}
	if issued := evs[3]; issued.GrantType != "authorization_code" || issued.Subject != "4242" || issued.Status != 200 || evs[2].Subject != "4242" {
		t.Fatalf("token event %+v, login %+v", issued, evs[2])
	}
	// A refused login and an unknown client at /authorize.
	e.gh.SetLogin("mallory")
	_, ch := pkcePair()
	e.authorize(authQuery(c, ch, nil))
	e.get(e.issuer + "/authorize?client_id=nobody&response_type=code")
	evs = got.take()
	steps = nil
	for _, ev := range evs {
		steps = append(steps, ev.Step)
	}
	if fmt.Sprint(steps) != "[authorize consent login authorize]" || evs[2].Error != ErrorAccessDenied || evs[2].Subject != "666" ||
		evs[3].Error != ErrorInvalidClient || evs[3].ClientID != "" {
		t.Fatalf("refusals %+v", evs)
	}
	e.gh.SetLogin("octocat")
	resp, m := e.refresh(c, "mrf_not-a-token", nil)
	wantOAuthError(t, resp, m, 400, ErrorInvalidGrant)
	resp, m = e.refresh(c, str(tok["refresh_token"]), nil)
	if resp.StatusCode != 200 {
		t.Fatalf("refresh: %v", m)
	}
	e.postForm("/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}, "client_id": {"nobody"}})
	evs = got.take()
	if len(evs) != 3 {
		t.Fatalf("events %+v", evs)
	}
	if evs[0].Error != ErrorInvalidGrant || evs[0].ClientID != c.ID || evs[0].Status != 400 || evs[0].GrantType != "refresh_token" {
		t.Errorf("refused refresh %+v", evs[0])
	}
	if !evs[1].OK() || evs[1].Subject != "4242" || evs[1].GrantType != "refresh_token" {
		t.Errorf("refresh %+v", evs[1])
	}
	if evs[2].Error != ErrorInvalidClient || evs[2].ClientID != "" {
		t.Errorf("unknown client %+v", evs[2])
	}
	if s := secretsIn(evs, str(tok["access_token"]), str(tok["refresh_token"]), str(m["refresh_token"]), str(m["access_token"])); len(s) > 0 {
		t.Errorf("events carry secrets %v", s)
	}
}

// TestObserveResource: a protected resource reports its metadata fetches
// and each verdict with the refusal reason, and the client and user of a
// verified token only.
func TestObserveResource(t *testing.T) {
	var got events
	e := newEnv(t)
	v, err := NewVerifier(e.srv.Issuer(), e.srv, &VerifierOptions{Revocations: e.store, Observe: got.observe, Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	const res = "https://mcp.example.com/mcp"
	pr, err := NewProtectedResource(v, Resource{URL: res, RequiredScopes: []string{"mcp"}})
	if err != nil {
		t.Fatal(err)
	}
	other, _ := NewProtectedResource(v, Resource{URL: "https://other.example.com/mcp"})
	c := e.register(nil)
	tok := str(e.tokens(c, url.Values{"resource": {res}})["access_token"])
	call := func(p *ProtectedResource, auth string) {
		req := httptest.NewRequest("POST", res, nil)
		req.Header.Set("User-Agent", "claude-code/2.0")
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		p.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})).ServeHTTP(httptest.NewRecorder(), req)
	}
	pr.MetadataHandler().ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", pr.MetadataURL(), nil))
	call(pr, "")
	call(pr, "Bearer "+tok)
	call(other, "Bearer "+tok)
	call(pr, "Bearer "+tok[:len(tok)-4]+"AAAA")
	evs := got.take()
	want := []struct {
		step     Step
		reason   string
		clientID string
		status   int
	}{
		{StepResourceMetadata, "", "", 200},
		{StepResource, RefusedNoToken, "", 401},
		{StepResource, "", c.ID, 0},
		{StepResource, RefusedAudience, c.ID, 401},
		{StepResource, RefusedInvalid, "", 401},
	}
	if len(evs) != len(want) {
		t.Fatalf("events %+v", evs)
	}
	for i, w := range want {
		ev := evs[i]
		if ev.Step != w.step || ev.Error != w.reason || ev.ClientID != w.clientID || ev.Status != w.status || ev.UserAgent != "claude-code/2.0" && ev.Step == StepResource {
			t.Errorf("event %d: %+v, want %+v", i, ev, w)
		}
	}
	if evs[2].Subject != "4242" || evs[2].Resource != res {
		t.Errorf("verified call %+v", evs[2])
	}
	if s := secretsIn(evs, tok); len(s) > 0 {
		t.Error("an event carries the token")
	}
}

// TestObserveForwardAuth: /verify reports its verdicts like a
// ProtectedResource, with the client of a verified token.
func TestObserveForwardAuth(t *testing.T) {
	var got events
	e := newEnv(t)
	v, err := NewVerifier(e.srv.Issuer(), e.srv, &VerifierOptions{Observe: got.observe, Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	fa, err := NewForwardAuth(v, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := e.register(nil)
	tok := str(e.tokens(c, url.Values{"resource": {"https://mcp.example.com/mcp"}})["access_token"])
	for _, auth := range []string{"", "Bearer " + tok} {
		req := httptest.NewRequest("GET", "http://127.0.0.1/verify", nil)
		req.Header.Set("X-Forwarded-Proto", "https")
		req.Header.Set("X-Forwarded-Host", "mcp.example.com")
		req.Header.Set("X-Forwarded-Uri", "/mcp")
		req.Header.Set("X-Forwarded-Method", "POST")
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		fa.ServeHTTP(httptest.NewRecorder(), req)
	}
	evs := got.take()
	if len(evs) != 2 || evs[0].Error != RefusedNoToken || evs[1].Error != "" || evs[1].ClientID != c.ID || evs[1].Resource != "https://mcp.example.com/mcp" {
		t.Fatalf("events %+v", evs)
	}
}

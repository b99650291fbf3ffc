// Command loadgen is the load generator of scripts/bench/gateway-load.sh:
// CLIENTS concurrent MCP clients, each with its own keep-alive connection
// and (with -login) its own bearer token, calling tools/call on one
// endpoint for a while. It prints one JSON line: requests, errors,
// throughput and latency percentiles.
//
//	loadgen -url http://127.0.0.1:8080/echo-stateless/mcp -login -clients 200 -duration 10s
//
// With -login it first gets a token for each client the way an MCP client
// does against a gateway running with --dev-user: one registration (the
// server limits registrations per address), then one PKCE authorization
// and code exchange per client, for the endpoint's resource. Without it the
// requests carry no Authorization header (the baseline: the same echo
// served without OAuth). Loopback only: it refuses any other address.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	target := flag.String("url", "", "the MCP endpoint")
	clients := flag.Int("clients", 200, "concurrent clients")
	duration := flag.Duration("duration", 10*time.Second, "how long to send requests (after -warmup)")
	warmup := flag.Duration("warmup", 2*time.Second, "requests sent first and not counted")
	login := flag.Bool("login", false, "get a bearer token for each client (the gateway must run with --dev-user)")
	flag.Parse()
	if err := run(*target, *clients, *warmup, *duration, *login); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

// result is the JSON line printed.
type result struct {
	Clients   int     `json:"clients"`
	Requests  int64   `json:"requests"`
	Errors    int64   `json:"errors"`
	Seconds   float64 `json:"seconds"`
	PerSecond float64 `json:"per_second"`
	P50ms     float64 `json:"p50_ms"`
	P99ms     float64 `json:"p99_ms"`
	// FirstError describes one failed request, if any.
	FirstError string `json:"first_error,omitempty"`
}

func run(target string, clients int, warmup, duration time.Duration, login bool) error {
	u, err := url.Parse(target)
	if err != nil || u.Host == "" {
		return fmt.Errorf("-url %q: want an absolute URL", target)
	}
	if ip := net.ParseIP(u.Hostname()); u.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("-url %q: loopback addresses only", target)
	}
	if clients < 1 {
		return errors.New("-clients must be at least 1")
	}
	tr := &http.Transport{MaxIdleConns: clients * 2, MaxIdleConnsPerHost: clients * 2, IdleConnTimeout: time.Minute}
	hc := &http.Client{Transport: tr, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	tokens := make([]string, clients)
	if login {
		if tokens, err = getTokens(hc, target, clients); err != nil {
			return err
		}
	}

	var (
		counting atomic.Bool
		requests atomic.Int64
		failures atomic.Int64
		firstErr atomic.Value
		wg       sync.WaitGroup
		lat      = make([][]time.Duration, clients)
	)
	ctx, cancel := context.WithCancel(context.Background())
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			msg := fmt.Sprintf("load %d", i)
			body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": "tools/call",
				"params": map[string]any{"name": "echo", "arguments": map[string]any{"message": msg}}})
			for n := 0; ctx.Err() == nil; n++ {
				start := time.Now()
				err := call(ctx, hc, target, tokens[i], body, msg)
				d := time.Since(start)
				if ctx.Err() != nil {
					return
				}
				if !counting.Load() {
					continue
				}
				requests.Add(1)
				lat[i] = append(lat[i], d)
				if err != nil {
					failures.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				}
			}
		}()
	}
	time.Sleep(warmup)
	counting.Store(true)
	began := time.Now()
	time.Sleep(duration)
	counting.Store(false)
	elapsed := time.Since(began)
	cancel()
	wg.Wait()

	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	slices.Sort(all)
	r := result{Clients: clients, Requests: requests.Load(), Errors: failures.Load(), Seconds: elapsed.Seconds()}
	r.PerSecond = float64(r.Requests) / r.Seconds
	if len(all) > 0 {
		r.P50ms = ms(all[len(all)*50/100])
		r.P99ms = ms(all[len(all)*99/100])
	}
	if e, ok := firstErr.Load().(string); ok {
		r.FirstError = e
	}
	return json.NewEncoder(os.Stdout).Encode(r)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// call sends one tools/call and checks its answer echoes msg.
func call(ctx context.Context, hc *http.Client, target, token string, body []byte, msg string) error {
	req, _ := http.NewRequestWithContext(ctx, "POST", target, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("MCP-Protocol-Version", "2025-11-25")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != 200 {
		return fmt.Errorf("status %d: %.200s", resp.StatusCode, b)
	}
	if !bytes.Contains(b, []byte(msg)) || bytes.Contains(b, []byte(`"isError":true`)) || bytes.Contains(b, []byte(`"error":{`)) {
		return fmt.Errorf("unexpected answer: %.200s", b)
	}
	return nil
}

var resourceMetadata = regexp.MustCompile(`resource_metadata="([^"]+)"`)

// getTokens follows the endpoint's 401 to its authorization server,
// registers one client and gets n tokens for the endpoint.
func getTokens(hc *http.Client, target string, n int) ([]string, error) {
	resp, err := hc.Post(target, "application/json", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	m := resourceMetadata.FindStringSubmatch(resp.Header.Get("WWW-Authenticate"))
	if resp.StatusCode != 401 || m == nil {
		return nil, fmt.Errorf("%s answered %d without a challenge: is it the gateway?", target, resp.StatusCode)
	}
	var prm struct {
		Resource string   `json:"resource"`
		AS       []string `json:"authorization_servers"`
	}
	if err := getJSON(hc, m[1], &prm); err != nil || len(prm.AS) == 0 {
		return nil, fmt.Errorf("protected-resource metadata: %v", err)
	}
	var as struct {
		Authorize string `json:"authorization_endpoint"`
		Token     string `json:"token_endpoint"`
		Register  string `json:"registration_endpoint"`
	}
	if err := getJSON(hc, strings.TrimRight(prm.AS[0], "/")+"/.well-known/oauth-authorization-server", &as); err != nil {
		return nil, err
	}
	const redirect = "http://127.0.0.1:9/cb"
	reg, _ := json.Marshal(map[string]any{"client_name": "loadgen", "redirect_uris": []string{redirect}, "token_endpoint_auth_method": "none"})
	var client struct {
		ID string `json:"client_id"`
	}
	if err := postJSON(hc, as.Register, "application/json", bytes.NewReader(reg), &client); err != nil || client.ID == "" {
		return nil, fmt.Errorf("registration: %v", err)
	}
	tokens := make([]string, n)
	for i := range tokens {
		verifier := randomString()
		sum := sha256.Sum256([]byte(verifier))
		q := url.Values{"response_type": {"code"}, "client_id": {client.ID}, "redirect_uri": {redirect}, "state": {"s"}, "scope": {"mcp"},
			"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}, "resource": {prm.Resource}}
		resp, err := hc.Get(as.Authorize + "?" + q.Encode())
		if err != nil {
			return nil, err
		}
		resp.Body.Close()
		loc, _ := url.Parse(resp.Header.Get("Location"))
		code := loc.Query().Get("code")
		if code == "" {
			return nil, fmt.Errorf("authorization %d: status %d (is --dev-user set?)", i, resp.StatusCode)
		}
		form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirect},
			"code_verifier": {verifier}, "client_id": {client.ID}, "resource": {prm.Resource}}
		var tok struct {
			Access string `json:"access_token"`
		}
		if err := postJSON(hc, as.Token, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()), &tok); err != nil || tok.Access == "" {
			return nil, fmt.Errorf("token %d: %v", i, err)
		}
		tokens[i] = tok.Access
	}
	return tokens, nil
}

func getJSON(hc *http.Client, u string, v any) error {
	resp, err := hc.Get(u)
	if err != nil {
		return err
	}
	return decode(resp, v)
}

func postJSON(hc *http.Client, u, ctype string, body io.Reader, v any) error {
	resp, err := hc.Post(u, ctype, body)
	if err != nil {
		return err
	}
	return decode(resp, v)
}

func decode(resp *http.Response, v any) error {
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s: status %d: %.300s", resp.Request.URL.Path, resp.StatusCode, b)
	}
	return json.Unmarshal(b, v)
}

func randomString() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

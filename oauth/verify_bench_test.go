package oauth

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Benchmarks of the verification hot path, in one run with their
// baselines:
//
//	go test -run '^$' -bench 'Verify' -benchmem -count 5 ./oauth/
//
// Goals (issue 4): /verify with a warm token keeps at least 0.8x the
// throughput of a no-op handler over loopback HTTP (compare
// BenchmarkVerifyHTTP/noop-baseline and /warm: ns/op is the inverse of
// throughput; cpu-ns/op, the CPU time of client and server per request,
// is the steadier measure on a shared machine), and a cold /verify costs at
// most 1.3x a bare go-jose RS256 verification (compare
// BenchmarkVerifyCPU/bare-go-jose-RS256 and /cold).
// The machine's load varies: compare medians of several runs.

var (
	benchRSAOnce sync.Once
	benchRSA     *rsa.PrivateKey
)

func benchRSAKey(b *testing.B) *rsa.PrivateKey {
	benchRSAOnce.Do(func() {
		var err error
		if benchRSA, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
	})
	return benchRSA
}

// benchVerify is a /verify handler in front of an RS256 server, with the
// revocation feed up and a thousand revocations in its set, and a token
// for testResource.
type benchVerify struct {
	srv   *Server
	v     *Verifier
	fa    *ForwardAuth
	token string
}

func newBenchVerify(b *testing.B) *benchVerify {
	b.Helper()
	store := NewMemoryStore(&MemoryStoreOptions{SweepInterval: -1})
	b.Cleanup(func() { store.Close() })
	idp, _ := NewDevLogin(&DevLoginOptions{User: "bench"})
	srv, err := NewServer(context.Background(), "http://127.0.0.1:8000", store, idp, &Options{
		Policy: ParsePolicy("bench"), SigningAlgorithm: RS256, SigningKey: benchRSAKey(b), Logger: discardLogger(),
	})
	if err != nil {
		b.Fatal(err)
	}
	v, err := NewVerifier(srv.Issuer(), srv, &VerifierOptions{Revocations: store, Logger: discardLogger()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { v.Close() })
	deadline := time.Now().Add(5 * time.Second)
	for !v.feedUp.Load() && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	for i := 0; i < 1000; i++ {
		v.revoked.add(Revocation{Kind: RevokedToken, ClientID: "c", ID: randomString("", 8), ExpiresAt: time.Now().Add(time.Hour)})
	}
	fa, err := NewForwardAuth(v, nil)
	if err != nil {
		b.Fatal(err)
	}
	at, err := srv.mintAccessToken(context.Background(), "client-1", "family-1",
		Identity{Subject: "4242", Login: "octocat", Name: "The Octocat", Email: "octo@example.com"}, "mcp", []string{testResource}, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	return &benchVerify{srv: srv, v: v, fa: fa, token: at.raw}
}

// traefikRequest is what Traefik sends to /verify for a client's POST.
func traefikRequest(method, url, token string) *http.Request {
	r, _ := http.NewRequest(method, url, nil)
	h := r.Header
	h.Set("Authorization", "Bearer "+token)
	h.Set("Content-Type", "application/json")
	h.Set("Accept", "application/json, text/event-stream")
	h.Set("Mcp-Protocol-Version", "2025-11-25")
	h.Set("X-Forwarded-For", "203.0.113.7")
	h.Set("X-Forwarded-Method", "POST")
	h.Set("X-Forwarded-Proto", "https")
	h.Set("X-Forwarded-Host", "mcp.example.com")
	h.Set("X-Forwarded-Uri", "/mcp")
	return r
}

// runHTTP drives h over loopback HTTP with keep-alive connections from
// parallel clients, each sending what Traefik sends.
func runHTTP(b *testing.B, h http.Handler, token string) {
	ts := httptest.NewServer(h)
	defer ts.Close()
	tr := &http.Transport{MaxIdleConnsPerHost: 4 * runtime.GOMAXPROCS(0)}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	b.ReportAllocs()
	cpu0 := processCPU()
	b.ResetTimer()
	defer func() {
		// CPU time of the whole process (client and server) per request:
		// what bounds the throughput of a loaded machine, and steadier
		// than wall time when other processes compete for the cores.
		b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
	}()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := client.Do(traefikRequest("GET", ts.URL+"/verify", token))
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
}

// BenchmarkVerifyHTTP is /verify's throughput over loopback HTTP, from
// parallel keep-alive clients sending what Traefik sends, next to its
// baseline in the same run: a no-op handler (answers 200, nothing else)
// behind the same server and client, receiving the same requests. warm:
// the token was verified before; cold: the token cache is emptied before
// every request.
func BenchmarkVerifyHTTP(b *testing.B) {
	bv := newBenchVerify(b)
	b.Run("noop-baseline", func(b *testing.B) {
		runHTTP(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) }), bv.token)
	})
	b.Run("warm", func(b *testing.B) {
		runHTTP(b, bv.fa, bv.token)
	})
	b.Run("cold", func(b *testing.B) {
		runHTTP(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			bv.v.cache.clear()
			bv.fa.ServeHTTP(w, r)
		}), bv.token)
	})
}

// discardWriter is a ResponseWriter that keeps only the headers.
type discardWriter struct {
	h    http.Header
	code int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(code int)        { w.code = code }

// BenchmarkVerifyCPU is /verify's own cost per request, without the HTTP
// transport, next to its baseline in the same run: bare-go-jose-RS256
// parses and verifies the same RS256 token with go-jose and decodes its
// claims, as a hand-written verifier would, with nothing else. cold: the
// token cache is emptied before every request, so each one hashes, parses,
// verifies the signature, checks the claims, asks the revocation store and
// caches the result; warm: the token is in the cache.
func BenchmarkVerifyCPU(b *testing.B) {
	bv := newBenchVerify(b)
	b.Run("bare-go-jose-RS256", func(b *testing.B) {
		pub := &benchRSAKey(b).PublicKey
		algs := []jose.SignatureAlgorithm{jose.RS256}
		b.ReportAllocs()
		for b.Loop() {
			tok, err := jwt.ParseSigned(bv.token, algs)
			if err != nil {
				b.Fatal(err)
			}
			var c AccessTokenClaims
			if err := tok.Claims(pub, &c); err != nil {
				b.Fatal(err)
			}
		}
	})
	req := traefikRequest("GET", "http://auth.internal/verify", bv.token)
	w := &discardWriter{h: make(http.Header)}
	for _, mode := range []string{"cold", "warm"} {
		b.Run(mode, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if mode == "cold" {
					bv.v.cache.clear()
				}
				clear(w.h)
				bv.fa.ServeHTTP(w, req)
				if w.code != 200 {
					b.Fatalf("status %d", w.code)
				}
			}
		})
	}
}

// BenchmarkVerifierVerify is Verifier.Verify alone, warm.
func BenchmarkVerifierVerify(b *testing.B) {
	bv := newBenchVerify(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := bv.v.verify(ctx, bv.token); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

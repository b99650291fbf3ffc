package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mcp-oauth-gateway/gateway/internal/testenv"
)

// selfSigned writes a certificate for 127.0.0.1 and its key, and returns
// their paths and a pool that trusts it.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "gateway test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalPKCS8PrivateKey(key)
	certFile, keyFile = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestTLSFromFiles: with tls.cert_file and key_file the gateway serves
// https, its issuer and services are https URLs, and a client follows the
// whole flow over TLS (HTTP/2 offered).
func TestTLSFromFiles(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, pool := selfSigned(t, dir)
	conf := writeConfig(t, "tls:\n  cert_file: "+certFile+"\n  key_file: "+keyFile+"\n")
	port := testenv.Port(t)
	p := &proc{port: port, stdout: &testenv.Output{}, stderr: &testenv.Output{}, done: make(chan error, 1)}
	p.cmd = command(t, nil, "--port", port, "--dev-user", "robot", "--store", "memory", "--config", conf)
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() { _ = p.cmd.Process.Kill(); <-p.done })
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}
	c := newClient(t)
	c.http.Transport = tr
	base := "https://127.0.0.1:" + port
	waitFor(t, "https /health", func() bool {
		resp, err := c.http.Get(base + "/health")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200 && resp.ProtoMajor == 2
	})
	c.login(base+"/echo-stateless/mcp", false)
	s := &mcp{c: c, url: base + "/echo-stateless/mcp"}
	if text, _ := s.callTool("echo", map[string]any{"message": "over tls"}); text != "over tls" {
		t.Fatalf("echo %q", text)
	}
	if !strings.Contains(p.stdout.String(), "TLS:") {
		t.Errorf("summary %s", p.stdout)
	}
}

// TestACMEConfiguration: automatic certificates are asked only for the
// gateway's own hosts, answer TLS-ALPN-01 challenges, serve HTTP-01 ones
// and redirect the rest to https on the HTTP port; IP addresses and
// loopback names are refused. No certificate authority is contacted.
func TestACMEConfiguration(t *testing.T) {
	ts, err := newTLS(&tlsConfig{ACME: &acmeConfig{AcceptTOS: true, CacheDir: t.TempDir()}},
		[]string{"auth.example.com", "echo.example.com", "auth.example.com"}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(ts.config.NextProtos, "acme-tls/1") || !slices.Contains(ts.config.NextProtos, "h2") {
		t.Errorf("NextProtos %v", ts.config.NextProtos)
	}
	if ts.label != "automatic (ACME) for auth.example.com, echo.example.com" || ts.httpPort != 80 || ts.challenge == nil {
		t.Errorf("setup %+v", ts)
	}
	if _, err := ts.config.GetCertificate(&tls.ClientHelloInfo{ServerName: "evil.example.net"}); err == nil || !strings.Contains(err.Error(), "not configured") {
		t.Errorf("a host of no service: %v", err)
	}
	rec := httptest.NewRecorder()
	ts.challenge.ServeHTTP(rec, httptest.NewRequest("GET", "http://echo.example.com/mcp?x=1", nil))
	if rec.Code != http.StatusFound || rec.Header().Get("Location") != "https://echo.example.com/mcp?x=1" {
		t.Errorf("http redirect %d %q", rec.Code, rec.Header().Get("Location"))
	}
	rec = httptest.NewRecorder()
	ts.challenge.ServeHTTP(rec, httptest.NewRequest("GET", "http://echo.example.com/.well-known/acme-challenge/unknown", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("unknown challenge %d", rec.Code)
	}
	zero := 0
	ts, err = newTLS(&tlsConfig{ACME: &acmeConfig{AcceptTOS: true, HTTPPort: &zero, Hosts: []string{"mcp.example.org"}}}, []string{"ignored.example.com"}, t.TempDir())
	if err != nil || ts.challenge != nil || ts.label != "automatic (ACME) for mcp.example.org" {
		t.Errorf("http_port 0 and hosts: %+v %v", ts, err)
	}
	for _, h := range []string{"127.0.0.1", "localhost", "echo.localhost", "intranet"} {
		if _, err := newTLS(&tlsConfig{ACME: &acmeConfig{AcceptTOS: true}}, []string{h}, t.TempDir()); err == nil {
			t.Errorf("%s accepted", h)
		}
	}
}

package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"

	"golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"

	"github.com/mcp-oauth-gateway/gateway/internal/cli"
)

// tlsSetup is the TLS of the main listener.
type tlsSetup struct {
	config *tls.Config
	// challenge serves ACME HTTP-01 challenges and redirects the rest to
	// https, on httpPort; nil without ACME or with http_port 0.
	challenge http.Handler
	httpPort  int
	// reload re-reads certificate files (SIGHUP); nil for ACME.
	reload func() error
	label  string
}

// newTLS builds the TLS of tc: certificates from files, or automatic
// certificates for hosts (every host the gateway serves, unless the file
// names them). storeDir is where the ACME cache goes by default.
func newTLS(tc *tlsConfig, hosts []string, storeDir string) (*tlsSetup, error) {
	if tc == nil {
		return nil, nil
	}
	if tc.ACME == nil {
		var cert atomic.Pointer[tls.Certificate]
		load := func() error {
			c, err := tls.LoadX509KeyPair(tc.CertFile, tc.KeyFile)
			if err != nil {
				return fmt.Errorf("tls: %w", err)
			}
			cert.Store(&c)
			return nil
		}
		if err := load(); err != nil {
			return nil, cli.Usage(err)
		}
		return &tlsSetup{
			config: &tls.Config{
				MinVersion: tls.VersionTLS12,
				NextProtos: []string{"h2", "http/1.1"},
				GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
					return cert.Load(), nil
				},
			},
			reload: load,
			label:  "files " + tc.CertFile,
		}, nil
	}
	a := tc.ACME
	if len(a.Hosts) > 0 {
		hosts = a.Hosts
	}
	hosts = slices.Compact(slices.Sorted(slices.Values(hosts)))
	for _, h := range hosts {
		if err := publicName(h); err != nil {
			return nil, cli.Usagef("tls.acme: %s: %v; automatic certificates need public DNS names (list them in tls.acme.hosts)", h, err)
		}
	}
	cache := a.CacheDir
	if cache == "" {
		cache = filepath.Join(storeDir, "acme")
	}
	m := &autocert.Manager{
		Prompt:     autocert.AcceptTOS,
		Cache:      autocert.DirCache(cache),
		HostPolicy: autocert.HostWhitelist(hosts...),
		Email:      a.Email,
	}
	if a.DirectoryURL != "" {
		m.Client = &acme.Client{DirectoryURL: a.DirectoryURL}
	}
	cfg := m.TLSConfig() // with acme-tls/1 for TLS-ALPN-01 challenges
	cfg.MinVersion = tls.VersionTLS12
	s := &tlsSetup{config: cfg, httpPort: 80, label: "automatic (ACME) for " + strings.Join(hosts, ", ")}
	if a.HTTPPort != nil {
		s.httpPort = *a.HTTPPort
	}
	if s.httpPort != 0 {
		s.challenge = m.HTTPHandler(nil)
	}
	return s, nil
}

// publicName refuses what no public CA certifies: IP addresses, loopback
// and single-label names.
func publicName(h string) error {
	switch {
	case net.ParseIP(strings.Trim(h, "[]")) != nil:
		return errors.New("an IP address")
	case cli.LoopbackName(h):
		return errors.New("a loopback name")
	case !strings.Contains(strings.Trim(h, "."), "."):
		return errors.New("not a fully qualified name")
	}
	return nil
}

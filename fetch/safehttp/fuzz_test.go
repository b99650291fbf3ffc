package safehttp

import (
	"errors"
	"net/url"
	"testing"
)

// FuzzCheckURL feeds arbitrary URLs to the guard's URL check: it must never
// panic, and whenever it accepts a host that is an IP address in any
// spelling, that address must pass the address policy on its own.
func FuzzCheckURL(f *testing.F) {
	for _, s := range []string{
		"http://example.com/", "https://127.0.0.1/", "http://2130706433/", "http://0x7f.1/",
		"http://[::ffff:127.0.0.1]/", "http://[fe80::1%25eth0]/", "http://ⓛⓞⓒⓐⓛⓗⓞⓢⓣ/",
		"http://１２７.０.０.１/", "http://a@b@127.0.0.1:80/", "http://8.8.8.8:8080/x",
		"http://0x/", "http://1.2.3.4.5/", "http://xn--bcher-kva.example./", "ftp://x/",
		"http://[64:ff9b::808:808]/", "http://example.com:0/", "http://.../", "http://0.0.0.0.",
	} {
		f.Add(s)
	}
	tp, err := NewTransport(&Options{BlockedDomains: []string{"blocked.example"}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := url.Parse(raw)
		if err != nil {
			return
		}
		err = tp.CheckURL(u)
		if err != nil {
			if !errors.Is(err, ErrRefused) {
				t.Fatalf("CheckURL(%q) = %v, not an ErrRefused", raw, err)
			}
			return
		}
		host, err := normalizeHost(u.Hostname())
		if err != nil {
			t.Fatalf("CheckURL accepted %q but its host does not normalize: %v", raw, err)
		}
		if ip, isIP, _ := hostIP(host); isIP {
			if err := CheckIP(ip); err != nil {
				t.Fatalf("CheckURL accepted %q whose host is %s, which CheckIP refuses: %v", raw, ip, err)
			}
		}
		if host == "localhost" || tp.blocked.match(host) {
			t.Fatalf("CheckURL accepted %q (host %q)", raw, host)
		}
	})
}

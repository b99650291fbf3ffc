package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// DefaultHost is where every binary listens unless told otherwise:
// loopback, so that nothing is exposed to the network by accident.
const DefaultHost = "127.0.0.1"

// Listen is a listen address: the --host and --port settings.
type Listen struct {
	c        *Command
	host     *string
	port     *int
	resolved bool
	loopback bool
}

// Listen registers --host (default 127.0.0.1) and --port (default
// defPort), read from the variables hostEnv and portEnv when they are not
// empty.
func (c *Command) Listen(defPort int, hostEnv, portEnv string) *Listen {
	l := &Listen{c: c, host: new(string)}
	*l.host = DefaultHost
	c.add(&setting{flag: "host", env: nonEmpty(hostEnv), def: DefaultHost, placeholder: "HOST",
		usage: "address to listen on: an IP address or a host name; 0.0.0.0 or :: listen on every interface, which exposes the server to the network",
		parse: func(v string) (err error) { *l.host, err = parseHost(v); return err }})
	l.port = c.Port("port", defPort, "port to listen on; 0 picks a free one", nonEmpty(portEnv)...)
	return l
}

func nonEmpty(names ...string) []string {
	var out []string
	for _, n := range names {
		if n != "" {
			out = append(out, n)
		}
	}
	return out
}

// Host is the host to listen on, IPv6 literals without brackets.
func (l *Listen) Host() string { return *l.host }

// Port is the port to listen on (0: any free one).
func (l *Listen) Port() int { return *l.port }

// Addr is host:port for net.Listen.
func (l *Listen) Addr() string { return net.JoinHostPort(*l.host, strconv.Itoa(*l.port)) }

// Loopback reports whether every address the host stands for is a
// loopback one, resolving a host name (localhost and *.localhost are
// loopback without a lookup). 0.0.0.0 and :: are not loopback. A name that
// does not resolve is a SettingError of --host.
func (l *Listen) Loopback(ctx context.Context) (bool, error) {
	if l.resolved {
		return l.loopback, nil
	}
	host := *l.host
	var loopback bool
	if net.ParseIP(host) != nil || LoopbackName(host) {
		loopback = LoopbackName(host)
	} else {
		addrs, err := net.DefaultResolver.LookupIPAddr(ctx, host)
		if err != nil || len(addrs) == 0 {
			if err == nil {
				err = errors.New("no address")
			}
			return false, l.c.Bad("host", fmt.Errorf("cannot resolve it: %w", unwrapDNS(err)))
		}
		loopback = true
		for _, a := range addrs {
			loopback = loopback && a.IP.IsLoopback()
		}
	}
	l.resolved, l.loopback = true, loopback
	return loopback, nil
}

// unwrapDNS keeps a resolver error short: "no such host" rather than
// "lookup x on 10.0.0.2:53: no such host".
func unwrapDNS(err error) error {
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return errors.New(dns.Err)
	}
	return err
}

// Listen resolves the host (see Loopback) and listens on the address. A
// host that does not resolve is a SettingError of --host (exit status 2);
// an address in use or not permitted is an error of its own (status 1).
// The listener found is checked against the loopback decision, so that a
// name that changed its addresses in between cannot expose the server.
func (l *Listen) Listen(ctx context.Context) (net.Listener, error) {
	loopback, err := l.Loopback(ctx)
	if err != nil {
		return nil, err
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", l.Addr())
	if err != nil {
		var dns *net.DNSError
		if errors.As(err, &dns) {
			return nil, l.c.Bad("host", fmt.Errorf("cannot resolve it: %s", dns.Err))
		}
		return nil, fmt.Errorf("listen on %s: %w", l.Addr(), err)
	}
	if tcp, ok := ln.Addr().(*net.TCPAddr); ok && loopback && !tcp.IP.IsLoopback() {
		ln.Close()
		return nil, l.c.Bad("host", fmt.Errorf("it resolved to loopback, then to %s", tcp.IP))
	}
	return ln, nil
}

// LoopbackName reports whether a host name or IP literal (IPv6 with or
// without brackets) is a loopback one: localhost, *.localhost, 127.0.0.0/8
// or ::1. It does not resolve names.
func LoopbackName(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"), "."))
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Package guardflags holds the browser-facing settings every MCP server
// binary shares: --allowed-origins, --allowed-hosts and --allow-any-host,
// checked with mcpserver's own rules, and the rule that a server listening
// beyond loopback must name the hosts it serves (or say that any will do),
// against DNS rebinding.
package guardflags

import (
	"context"
	"errors"

	"github.com/mcp-oauth-gateway/gateway/internal/cli"
	"github.com/mcp-oauth-gateway/gateway/mcpserver"
)

// AnyHostEnv is the variable of --allow-any-host in every binary.
const AnyHostEnv = "MCP_ALLOW_ANY_HOST"

// Settings are the three settings, after Parse.
type Settings struct {
	c       *cli.Command
	origins *[]string
	hosts   *[]string
	anyHost *bool
}

// Register adds the settings to c, with originsEnv and hostsEnv as the
// variables of --allowed-origins and --allowed-hosts.
func Register(c *cli.Command, originsEnv, hostsEnv []string) *Settings {
	return &Settings{
		c: c,
		origins: c.List("allowed-origins", nil, "browser origins (scheme://host[:port]) allowed to call the MCP endpoint, * for any; "+
			"loopback origins always are, and so is the server's own origin on an allowed host", originsEnv...),
		hosts: c.List("allowed-hosts", nil, "Host header values (host, or host:port) the MCP endpoint answers besides loopback names, "+
			"against DNS rebinding; required when --host is not loopback, unless --allow-any-host", hostsEnv...),
		anyHost: c.Bool("allow-any-host", false, "answer every Host header: only behind a reverse proxy that routes by host name "+
			"(the Origin check stays)", AnyHostEnv),
	}
}

// Check validates the lists with mcpserver's rules and refuses a listen
// address beyond loopback with neither --allowed-hosts nor
// --allow-any-host. It resolves l's host (see cli.Listen.Loopback).
func (s *Settings) Check(ctx context.Context, l *cli.Listen) error {
	if err := s.Validate(); err != nil {
		return err
	}
	loopback, err := l.Loopback(ctx)
	if err != nil {
		return err
	}
	if !loopback && len(*s.hosts) == 0 && !*s.anyHost {
		return cli.Usage(errors.New(
			"the listen address " + l.Host() + " (" + s.c.Names("host") + ") is not loopback, so pages on any web site could reach the server " +
				"through DNS rebinding: name the hosts clients use with " + s.c.Names("allowed-hosts") +
				", or accept any Host with " + s.c.Names("allow-any-host") + " behind a proxy that checks it"))
	}
	return nil
}

// Validate checks the lists with mcpserver's rules, without the rule on
// the listen address: for a binary that knows the hosts it serves (the
// gateway allows its issuer's and services' hosts by itself).
func (s *Settings) Validate() error {
	if _, err := mcpserver.NewGuard(&mcpserver.GuardOptions{AllowedOrigins: *s.origins}); err != nil {
		return s.c.Bad("allowed-origins", err)
	}
	if _, err := mcpserver.NewGuard(&mcpserver.GuardOptions{AllowedHosts: *s.hosts}); err != nil {
		if errors.Is(err, mcpserver.ErrAnyHostInList) {
			err = errors.New("* is not a host; " + s.c.Names("allow-any-host") + " accepts every Host")
		}
		return s.c.Bad("allowed-hosts", err)
	}
	return nil
}

// Origins is --allowed-origins.
func (s *Settings) Origins() []string { return *s.origins }

// Hosts is --allowed-hosts.
func (s *Settings) Hosts() []string { return *s.hosts }

// AnyHost is --allow-any-host.
func (s *Settings) AnyHost() bool { return *s.anyHost }

// Apply sets the guard fields of an mcpserver.Options.
func (s *Settings) Apply(o *mcpserver.Options) {
	o.AllowedOrigins, o.AllowedHosts, o.AllowAnyHost = s.Origins(), s.Hosts(), s.AnyHost()
}

package main

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/mcp-oauth-gateway/gateway/oauth"
)

// openStore opens the store named by --store: "memory", a redis:// or
// rediss:// URL, or the path of the embedded store's file.
func openStore(ctx context.Context, cfg *config) (oauth.Store, func(), error) {
	switch {
	case cfg.store == "memory":
		s := oauth.NewMemoryStore(nil)
		return s, func() { s.Close() }, nil
	case strings.HasPrefix(cfg.store, "redis://"), strings.HasPrefix(cfg.store, "rediss://"):
		return nil, nil, fmt.Errorf("--store %s: the Redis store is not available yet", storeLabel(cfg.store))
	default:
		return nil, nil, fmt.Errorf("--store %s: the embedded file store is not available yet; use --store memory", cfg.store)
	}
}

// storeLabel is the store for logs: a Redis URL without its password.
func storeLabel(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || len(u.Scheme) == 1 {
		return s
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/mcp-oauth-gateway/gateway/oauth"
	"github.com/mcp-oauth-gateway/gateway/oauth/filestore"
)

// openStore opens the store named by --store: "memory", a redis://,
// rediss:// or unix:// URL, or the path of the embedded store's file.
func openStore(ctx context.Context, cfg *config) (oauth.Store, func(), error) {
	switch {
	case cfg.store == "memory":
		s := oauth.NewMemoryStore(nil)
		return s, func() { s.Close() }, nil
	case isRedisURL(cfg.store):
		return openRedis(ctx, cfg)
	default:
		if dir := filepath.Dir(cfg.store); dir != "." {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return nil, nil, fmt.Errorf("--store: %w", err)
			}
		}
		s, err := filestore.Open(cfg.store, &filestore.Options{Logger: cfg.opts.Logger})
		if err != nil {
			return nil, nil, err
		}
		return s, func() { s.Close() }, nil
	}
}

func isRedisURL(s string) bool {
	for _, p := range []string{"redis://", "rediss://", "unix://"} {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// storeLabel is the store for logs: a URL without its password.
func storeLabel(s string) string {
	if !isRedisURL(s) {
		return s
	}
	u, err := url.Parse(s)
	if err != nil {
		return "(invalid URL)"
	}
	return u.Redacted()
}

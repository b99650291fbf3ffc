package authcmd

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/mcp-oauth-gateway/gateway/oauth"
	"github.com/mcp-oauth-gateway/gateway/oauth/filestore"
)

// OpenStore opens the store named by --store (spec): "memory", a
// redis://, rediss:// or unix:// URL (with redisPassword, when set, instead
// of the URL's), or the path of the embedded store's file (its directory
// is created). closeStore releases it.
func OpenStore(ctx context.Context, spec, redisPassword string, log *slog.Logger) (store oauth.Store, closeStore func(), err error) {
	switch {
	case spec == "memory":
		s := oauth.NewMemoryStore(nil)
		return s, func() { s.Close() }, nil
	case IsRedisURL(spec):
		return openRedis(ctx, spec, redisPassword, log)
	default:
		if dir := filepath.Dir(spec); dir != "." {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return nil, nil, fmt.Errorf("--store: %w", err)
			}
		}
		s, err := filestore.Open(spec, &filestore.Options{Logger: log})
		if err != nil {
			return nil, nil, err
		}
		return s, func() { s.Close() }, nil
	}
}

// IsRedisURL reports whether a --store value names Redis.
func IsRedisURL(s string) bool {
	for _, p := range []string{"redis://", "rediss://", "unix://"} {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// StoreLabel is the store for logs: a URL without its password.
func StoreLabel(s string) string {
	if !IsRedisURL(s) {
		return s
	}
	u, err := url.Parse(s)
	if err != nil {
		return "(invalid URL)"
	}
	return u.Redacted()
}

package redisstore_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/mcp-oauth-gateway/gateway/internal/redistest"
	"github.com/mcp-oauth-gateway/gateway/oauth"
	"github.com/mcp-oauth-gateway/gateway/oauth/redisstore"
	"github.com/mcp-oauth-gateway/gateway/oauth/storetest"
)

// BenchmarkRedisStore measures the store's hot operations against its
// baseline, one PING round trip on the same server and client: every
// hot-path operation should cost about one round trip plus its decoding.
func BenchmarkRedisStore(b *testing.B) {
	srv := redistest.Start(b)
	ctx := context.Background()
	b.Run("Baseline/Ping", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			if err := srv.Client.Ping(ctx).Err(); err != nil {
				b.Fatal(err)
			}
		}
	})
	var n atomic.Int64
	storetest.Bench(b, func(b *testing.B) oauth.Store {
		s, err := redisstore.New(srv.Client, &redisstore.Options{Prefix: fmt.Sprintf("b%d:", n.Add(1))})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = s.Close() })
		return s
	})
}

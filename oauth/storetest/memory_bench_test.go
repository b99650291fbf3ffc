package storetest_test

import (
	"sync"
	"testing"

	"github.com/mcp-oauth-gateway/gateway/oauth"
	"github.com/mcp-oauth-gateway/gateway/oauth/storetest"
)

// BenchmarkMemoryStore measures the memory store's hot operations against
// its baseline, the floor of an in-memory store operation: a lock, a map
// write, a map delete and one record copy.
func BenchmarkMemoryStore(b *testing.B) {
	b.Run("Baseline/MapPutDelete", func(b *testing.B) {
		var mu sync.Mutex
		m := map[string]*oauth.Grant{}
		g := &oauth.Grant{ClientID: "c1", Resources: []string{"https://mcp.example/mcp"}}
		b.ReportAllocs()
		for range b.N {
			mu.Lock()
			m["h:code"] = g.Clone()
			delete(m, "h:code")
			mu.Unlock()
		}
	})
	storetest.Bench(b, func(b *testing.B) oauth.Store {
		s := oauth.NewMemoryStore(nil)
		b.Cleanup(func() { _ = s.Close() })
		return s
	})
}

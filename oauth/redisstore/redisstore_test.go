package redisstore_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mcp-oauth-gateway/gateway/internal/redistest"
	"github.com/mcp-oauth-gateway/gateway/oauth"
	"github.com/mcp-oauth-gateway/gateway/oauth/redisstore"
	"github.com/mcp-oauth-gateway/gateway/oauth/storetest"
)

// TestContract runs the contract suite on one redis-server; each test has
// its own key prefix, and the replica is a second Store on a second
// connection, as another server process would be.
func TestContract(t *testing.T) {
	srv := redistest.Start(t)
	var n atomic.Int64
	open := func(t *testing.T, prefix string, now func() time.Time) *redisstore.Store {
		s, err := redisstore.New(srv.NewClient(t), &redisstore.Options{Prefix: prefix, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	storetest.Run(t, func(t *testing.T, now func() time.Time) oauth.Store {
		return open(t, fmt.Sprintf("t%d:", n.Add(1)), now)
	}, &storetest.Options{
		Replica: func(t *testing.T, s oauth.Store, now func() time.Time) oauth.Store {
			return open(t, s.(*redisstore.Store).Prefix(), now)
		},
	})
}

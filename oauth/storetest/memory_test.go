package storetest_test

import (
	"testing"
	"time"

	"github.com/mcp-oauth-gateway/gateway/oauth"
	"github.com/mcp-oauth-gateway/gateway/oauth/storetest"
)

func TestMemoryStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T, now func() time.Time) oauth.Store {
		s := oauth.NewMemoryStore(&oauth.MemoryStoreOptions{Now: now})
		t.Cleanup(func() { _ = s.Close() })
		return s
	}, nil)
}

func TestMemoryStoreAdmin(t *testing.T) {
	storetest.RunAdmin(t, func(t *testing.T, now func() time.Time) oauth.Store {
		s := oauth.NewMemoryStore(&oauth.MemoryStoreOptions{Now: now})
		t.Cleanup(func() { _ = s.Close() })
		return s
	}, nil)
}

package filestore_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/mcp-oauth-gateway/gateway/oauth"
	"github.com/mcp-oauth-gateway/gateway/oauth/filestore"
	"github.com/mcp-oauth-gateway/gateway/oauth/storetest"
)

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T, now func() time.Time) oauth.Store {
		s, err := filestore.Open(filepath.Join(t.TempDir(), "store.db"), &filestore.Options{Now: now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}, nil)
}

func TestAdminContract(t *testing.T) {
	storetest.RunAdmin(t, func(t *testing.T, now func() time.Time) oauth.Store {
		s, err := filestore.Open(filepath.Join(t.TempDir(), "store.db"), &filestore.Options{Now: now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}, nil)
}

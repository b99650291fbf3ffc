package filestore_test

import (
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/mcp-oauth-gateway/gateway/oauth"
	"github.com/mcp-oauth-gateway/gateway/oauth/filestore"
	"github.com/mcp-oauth-gateway/gateway/oauth/storetest"
)

// BenchmarkFileStore measures the store's hot operations against its
// baselines on the same disk: one bbolt write transaction of one small
// record, synced to disk (Baseline/Update), and one read transaction
// (Baseline/View). A change costs about one Update; a read about one View
// plus decoding.
func BenchmarkFileStore(b *testing.B) {
	db, err := bolt.Open(filepath.Join(b.TempDir(), "base.db"), 0o600, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	bucket := []byte("b")
	value := make([]byte, 300)
	b.Run("Baseline/Update", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			err := db.Update(func(tx *bolt.Tx) error {
				bk, err := tx.CreateBucketIfNotExists(bucket)
				if err != nil {
					return err
				}
				return bk.Put([]byte("key"), value)
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Baseline/View", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			err := db.View(func(tx *bolt.Tx) error {
				_ = tx.Bucket(bucket).Get([]byte("key"))
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	storetest.Bench(b, func(b *testing.B) oauth.Store {
		s, err := filestore.Open(filepath.Join(b.TempDir(), "store.db"), nil)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = s.Close() })
		return s
	})
}

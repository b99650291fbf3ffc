package filestore_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/mcp-oauth-gateway/gateway/oauth"
	"github.com/mcp-oauth-gateway/gateway/oauth/filestore"
)

// A registration survives a restart of the process that holds the file.
func Example() {
	dir, _ := os.MkdirTemp("", "filestore-example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "oauth.db")
	ctx := context.Background()

	s, err := filestore.Open(path, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = s.CreateClient(ctx, &oauth.Client{
		ID:       "client-1",
		IssuedAt: time.Now(),
		Metadata: oauth.ClientMetadata{ClientName: "Inspector", RedirectURIs: []string{"http://127.0.0.1:6274/cb"}},
	})
	_ = s.Close()

	s, err = filestore.Open(path, nil) // the restart
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	c, err := s.GetClient(ctx, "client-1")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(c.Metadata.ClientName, c.Metadata.RedirectURIs)
	// Output: Inspector [http://127.0.0.1:6274/cb]
}

package redisstore_test

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/mcp-oauth-gateway/gateway/oauth/redisstore"
)

// NewClient turns REDIS_URL and REDIS_PASSWORD into a client; the
// password from the environment wins over the one in the URL.
func ExampleNewClient() {
	rdb, err := redisstore.NewClient("redis://:in-url@redis.internal:6379/2", "from-env")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer rdb.Close()
	o := rdb.(*redis.Client).Options()
	fmt.Println(o.Addr, o.DB, o.Password)
	// Output: redis.internal:6379 2 from-env
}

// Several replicas share one Redis: each opens a Store with the same
// prefix, and a revocation recorded by one reaches the others' feeds.
func ExampleNew() {
	rdb, err := redisstore.NewClient("redis://127.0.0.1:6379/0", "")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer rdb.Close()
	s, err := redisstore.New(rdb, &redisstore.Options{Prefix: "mcp-oauth:"})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	feed, err := s.SubscribeRevocations(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	for r := range feed {
		fmt.Println("revoked:", r.Kind, r.ClientID, r.ID)
	}
}

package main

import (
	"context"
	"fmt"

	"github.com/mcp-oauth-gateway/gateway/oauth"
)

func openRedis(ctx context.Context, cfg *config) (oauth.Store, func(), error) {
	return nil, nil, fmt.Errorf("--store %s: Redis support lands with oauth/redisstore", storeLabel(cfg.store))
}

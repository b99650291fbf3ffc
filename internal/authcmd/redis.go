package authcmd

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mcp-oauth-gateway/gateway/oauth"
	"github.com/mcp-oauth-gateway/gateway/oauth/redisstore"
)

// openRedis connects to REDIS_URL (or --store redis://...) with
// REDIS_PASSWORD, and checks the connection before the server starts.
func openRedis(ctx context.Context, spec, password string, log *slog.Logger) (oauth.Store, func(), error) {
	// go-redis logs connection trouble on its own; send it through our
	// logger at debug level (the errors reach us anyway).
	redis.SetLogger(redisLog{log})
	rdb, err := redisstore.NewClient(spec, password)
	if err != nil {
		return nil, nil, err
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := rdb.Ping(pingCtx).Err(); err != nil {
		rdb.Close()
		return nil, nil, fmt.Errorf("redis %s: %w", StoreLabel(spec), err)
	}
	s, err := redisstore.New(rdb, nil)
	if err != nil {
		rdb.Close()
		return nil, nil, err
	}
	return s, func() { s.Close(); rdb.Close() }, nil
}

type redisLog struct{ log *slog.Logger }

func (l redisLog) Printf(ctx context.Context, format string, v ...any) {
	if l.log != nil {
		l.log.DebugContext(ctx, "redis: "+fmt.Sprintf(format, v...))
	}
}

// Package redisstore is an oauth.Store in Redis, for authorization servers
// that run as several replicas.
//
// It takes a go-redis v9 UniversalClient, so a standalone server, Sentinel
// (failover) and Cluster all work. Every hot-path operation is one round
// trip: single-key reads, MULTI transactions and Lua scripts for changes
// that span keys. The keys a change spans share a Cluster hash slot: a
// client's refresh tokens, families and revocations carry the client id as
// their {hash tag}; device authorizations share the {dev} tag, and the
// quota counters of AllowAll the {q} tag (one script checks a client
// address's counter and the global one). Records and counters expire with
// Redis TTLs; the revocation feed is Redis pub/sub.
//
//	rdb, err := redisstore.NewClient("redis://redis:6379/0", os.Getenv("REDIS_PASSWORD"))
//	if err != nil {
//		return err
//	}
//	defer rdb.Close()
//	s, err := redisstore.New(rdb, &redisstore.Options{Prefix: "mcp-oauth:"})
//	if err != nil {
//		return err
//	}
//	defer s.Close()
//
// Times are compared at millisecond precision. The store's clock
// (Options.Now) decides expiry, so replicas should keep their clocks in
// sync (NTP), as they must anyway for JWT expiry.
package redisstore

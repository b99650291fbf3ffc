// Package redistest starts a real redis-server for tests and benchmarks.
//
// Start runs redis-server on a free loopback port in a temporary directory,
// with persistence off, waits until it answers and stops it when the test
// ends. A missing redis-server fails the test with a clear message; it is
// never skipped (install the Debian package redis-server, or put the binary
// on PATH, or name it in $REDIS_SERVER).
//
//	func TestSomething(t *testing.T) {
//		srv := redistest.Start(t)
//		rdb := srv.Client             // a *redis.Client, closed at cleanup
//		other := srv.NewClient(t)     // a second replica's connection
//		_ = srv.URL                   // "redis://127.0.0.1:PORT/0"
//	}
package redistest

// Package filestore is an oauth.Store kept in one local file: the embedded,
// persistent store the gateway's binaries use by default. A restart keeps
// every client registration, signing key, refresh token, revocation and
// device authorization; no server is needed.
//
// The file is a bbolt database (go.etcd.io/bbolt), created with mode 0600
// because it holds private signing keys. Only one process can open it at a
// time: a second one gets an error after Options.LockTimeout. Several
// replicas need oauth/redisstore instead.
//
//	s, err := filestore.Open("/var/lib/mcp-oauth/store.db", nil)
//	if err != nil {
//		return err // locked by another process, corrupt, no permission...
//	}
//	defer s.Close()
//	srv, err := oauth.NewServer(ctx, issuer, s, idp, opts)
//
// Every change is one transaction written to disk before the call returns.
// Expired records are invisible at once and removed by a periodic sweep
// (Options.SweepInterval, every minute). Quota counters (the per-address
// limits and global caps of the server) are kept in memory, not in the
// file: one process holds the file, so there is nobody to share them
// with, counting a request costs no disk write, and a flood of refused
// requests writes nothing. A restart starts the counters afresh.
//
// # Compaction
//
// bbolt reuses the space of deleted records but never shrinks its file:
// after a flood of sign-ins that were swept since, the file stays as large
// as it was at the peak. The store therefore compacts the file: at Open,
// and after each periodic sweep, when at least half of it is free
// (Options.CompactRatio) and it is at least 1 MiB (Options.CompactMinBytes);
// Store.Compact does it on demand. A compaction copies the live records
// into path+".compact", syncs it, and renames it over the store's file:
//
//   - Requests wait meanwhile (the store's lock is held exclusively), so
//     no change is lost and no reader sees the file change; a compaction
//     takes about as long as reading the live records once.
//   - It is crash-safe: until the rename the old file is untouched, the
//     rename replaces it atomically, and the directory is synced after. A
//     crash before the rename leaves the old file and a stray
//     path+".compact" that the next compaction removes.
//   - The file lock stays held: the new file is opened and locked before
//     the rename and the store goes on with it, so another process cannot
//     open the file in between. (On Windows, which cannot replace an open
//     file, the store closes both files for the rename and opens its file
//     again.)
//
// Store.Stats reports the records per kind, the file's size and how much
// of it is free.
package filestore

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
// Expired records are invisible at once and removed by a periodic sweep.
package filestore

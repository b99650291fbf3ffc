// Package admincmd is the "admin" subcommand of mcp-oauth-server and
// mcp-oauth-gateway: the operator's tools on the store (the embedded file,
// Redis or memory), through oauth.AdminStore and oauth.TraceStore.
//
//	clients                     list the registered clients
//	client ID                   show one, with its grants
//	delete-client ID            revoke every token of the client and delete it
//	grants [--client ID] [--user SUB|LOGIN]   list grants (token families)
//	revoke --client ID | --user SUB|LOGIN | --client ID --family FAMILY
//	counts                      how many records of each kind
//	purge                       remove expired records now
//	backup FILE|-               write clients, grants, revocations and signing keys to a JSON file
//	restore FILE|-              put them into the store (another store kind is fine)
//	trace [CLIENT]              where a client's connection stopped; without CLIENT, the recent unattributed events
//
// The embedded file is locked by the server that uses it (bbolt holds an
// exclusive lock), so while a server runs the commands go through its admin
// socket: a Unix socket next to the file (FILE.admin.sock, mode 0600, in
// the file's 0700 directory, so only whoever may read the file may use
// it), on which the server runs the same command on its open store. When
// no server answers there, the command opens the file itself; a file
// locked by a process that does not answer is a clear error. Redis is
// shared: the commands talk to it directly.
package admincmd

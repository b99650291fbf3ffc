package oauth

import (
	"context"
	"time"
)

// AdminStore is what operator tools (the admin subcommands of the
// binaries) need of a store beyond Store: listing what it holds, purging
// expired records, and putting records back from a backup. It is optional;
// the memory store, oauth/filestore and oauth/redisstore implement it, and
// oauth/storetest checks the contract.
//
// Listings skip expired records and call fn once per record, in no
// particular order; an error from fn stops the listing and is returned.
// The memory and file stores list a consistent snapshot; Redis lists with
// SCAN, so a record changed during the listing may be seen or not.
// Records given to fn belong to it.
type AdminStore interface {
	// Clients lists the registered clients.
	Clients(ctx context.Context, fn func(*Client) error) error
	// RefreshTokens lists the refresh tokens with the hash they are stored
	// under, rotated ones (Successor set) included.
	RefreshTokens(ctx context.Context, fn func(hash string, t *RefreshToken) error) error
	// Revocations lists the recorded revocations.
	Revocations(ctx context.Context, fn func(Revocation) error) error
	// Purge removes the expired records now and returns how many it
	// removed (Redis expires keys by itself: 0).
	Purge(ctx context.Context) (int, error)

	// RestoreClient stores c as it is, replacing a client with its ID.
	RestoreClient(ctx context.Context, c *Client) error
	// RestoreRefresh stores t under hash as it is, its rotation fields
	// included, in its family. An expired t is not stored.
	RestoreRefresh(ctx context.Context, hash string, t *RefreshToken) error
	// RestoreRevocation records r as it was (its At and ExpiresAt) and
	// announces it on the revocation feed.
	RestoreRevocation(ctx context.Context, r Revocation) error
}

// TraceStore keeps connection traces (see Tracer), shared by every
// replica: for each client, the latest event of each step, and the recent
// events no client could be named for, in one list of at most
// MaxUnattributedTrace entries. Everything expires keep after it was last
// written. Implemented by the same stores as AdminStore.
type TraceStore interface {
	// PutTraceStep records e as the latest event under key (a step, such
	// as "login" or "token/refresh_token") of the client's trace. With
	// clientID "" it adds e to the unattributed list instead (key unused),
	// dropping the oldest entries beyond MaxUnattributedTrace.
	PutTraceStep(ctx context.Context, clientID, key string, e Event, keep time.Duration) error
	// TraceSteps returns the client's trace by key; for clientID "", the
	// unattributed events under their index ("0" the newest). Empty when
	// there is none.
	TraceSteps(ctx context.Context, clientID string) (map[string]Event, error)
}

// MaxUnattributedTrace is how many unattributed trace events a TraceStore
// keeps.
const MaxUnattributedTrace = 100

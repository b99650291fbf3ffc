package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mcp-oauth-gateway/gateway/internal/redistest"
	"github.com/mcp-oauth-gateway/gateway/oauth"
	"github.com/mcp-oauth-gateway/gateway/oauth/redisstore"
	"github.com/mcp-oauth-gateway/gateway/oauth/storetest"
)

// runContract runs the contract suite with stores on clients from
// newClient; each test has its own key prefix, and its replica is a second
// Store on a second connection, as another server process would be.
func runContract(t *testing.T, newClient func(t *testing.T) redis.UniversalClient) {
	var n atomic.Int64
	open := func(t *testing.T, prefix string, now func() time.Time) *redisstore.Store {
		s, err := redisstore.New(newClient(t), &redisstore.Options{Prefix: prefix, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	storetest.Run(t, func(t *testing.T, now func() time.Time) oauth.Store {
		return open(t, fmt.Sprintf("t%d:", n.Add(1)), now)
	}, &storetest.Options{
		Replica: func(t *testing.T, s oauth.Store, now func() time.Time) oauth.Store {
			return open(t, s.(*redisstore.Store).Prefix(), now)
		},
	})
	t.Run("Admin", func(t *testing.T) {
		storetest.RunAdmin(t, func(t *testing.T, now func() time.Time) oauth.Store {
			return open(t, fmt.Sprintf("a%d*[x]:", n.Add(1)), now) // glob characters in the prefix too
		}, &storetest.AdminOptions{SelfExpiring: true})
	})
}

func TestContract(t *testing.T) {
	srv := redistest.Start(t)
	runContract(t, func(t *testing.T) redis.UniversalClient { return srv.NewClient(t) })
}

// TestContractOnCluster runs the suite through a Cluster client on a
// cluster node, which refuses any script or transaction whose keys span
// hash slots.
func TestContractOnCluster(t *testing.T) {
	srv := redistest.StartCluster(t)
	runContract(t, func(t *testing.T) redis.UniversalClient { return srv.NewClusterClient(t) })
}

func newStore(t *testing.T, rdb redis.UniversalClient, opts *redisstore.Options) *redisstore.Store {
	t.Helper()
	s, err := redisstore.New(rdb, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestRecordsExpireInRedis checks the TTLs themselves: with the real clock,
// expired records leave Redis instead of only being hidden.
func TestRecordsExpireInRedis(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	s := newStore(t, srv.Client, &redisstore.Options{Prefix: "ttl:"})
	now := time.Now()
	exp := now.Add(300 * time.Millisecond)
	must(t, s.CreateClient(ctx, &oauth.Client{ID: "c1", IssuedAt: now, ExpiresAt: exp}))
	must(t, s.CreateClient(ctx, &oauth.Client{ID: "forever", IssuedAt: now}))
	must(t, s.PutPending(ctx, "p1", &oauth.PendingAuthorization{ClientID: "c1", CreatedAt: now, ExpiresAt: exp}))
	must(t, s.IssueRefresh(ctx, "h:rt", &oauth.RefreshToken{ClientID: "c1", FamilyID: "f1", IssuedAt: now, ExpiresAt: exp}))
	must(t, s.RevokeToken(ctx, "c1", "jti", exp))
	if _, err := s.AllowAll(ctx, []oauth.Quota{{Key: "ip", Limit: 5, Window: 300 * time.Millisecond}}); err != nil {
		t.Fatal(err)
	}
	keys := func() []string {
		k, err := srv.Client.Keys(ctx, "ttl:*").Result()
		must(t, err)
		slices.Sort(k)
		return k
	}
	if k := keys(); len(k) < 7 {
		t.Fatalf("keys after writing: %v", k)
	}
	deadline := time.Now().Add(3 * time.Second)
	for {
		k := keys()
		if len(k) == 1 && k[0] == "ttl:client:forever" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("keys left after expiry: %v, want only the client without expiry", k)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestHashTags checks that all keys of one client's refresh tokens and
// revocations carry the same hash tag, even for a client id with braces.
func TestHashTags(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	s := newStore(t, srv.Client, &redisstore.Options{Prefix: "tags:"})
	now := time.Now()
	for _, client := range []string{"c1", "we{ird}%7B"} {
		must(t, s.IssueRefresh(ctx, "h:"+client, &oauth.RefreshToken{ClientID: client, FamilyID: "f", IssuedAt: now, ExpiresAt: now.Add(time.Hour)}))
		must(t, s.RevokeToken(ctx, client, "jti", now.Add(time.Hour)))
		must(t, s.RevokeClient(ctx, client, now.Add(time.Hour)))
		must(t, s.IssueRefresh(ctx, "h2:"+client, &oauth.RefreshToken{ClientID: client, FamilyID: "g", IssuedAt: now, ExpiresAt: now.Add(time.Hour)}))
	}
	must(t, s.PutDevice(ctx, "h:dev", "UC-1", &oauth.DeviceAuthorization{ClientID: "c1", IssuedAt: now, ExpiresAt: now.Add(time.Hour)}))
	keys, err := srv.Client.Keys(ctx, "tags:*").Result()
	must(t, err)
	// Scripts reach keys they compute (a token's successor, a family's
	// members), which a cluster node does not check against the declared
	// keys' slot: the tags must be right by construction.
	tags := map[string]int{}
	for _, k := range keys {
		open := strings.IndexByte(k, '{')
		end := strings.IndexByte(k[open+1:], '}')
		if open < 0 || end <= 0 {
			t.Fatalf("key %q has no hash tag", k)
		}
		tags[k[open+1:open+1+end]]++
	}
	want := map[string]bool{"c1": true, "we%7Bird%7D%257B": true, "dev": true}
	if len(tags) != len(want) {
		t.Fatalf("hash tags %v in keys %v, want one per client and dev", tags, keys)
	}
	for tag := range tags {
		if !want[tag] {
			t.Fatalf("unexpected hash tag %q in keys %v", tag, keys)
		}
	}
}

func TestPrefixIsolation(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	a := newStore(t, srv.Client, &redisstore.Options{Prefix: "a:"})
	b := newStore(t, srv.Client, &redisstore.Options{Prefix: "b:"})
	must(t, a.CreateClient(ctx, &oauth.Client{ID: "c1", IssuedAt: time.Now()}))
	if _, err := b.GetClient(ctx, "c1"); err == nil {
		t.Fatal("a client of prefix a: is visible under prefix b:")
	}
	must(t, b.CreateClient(ctx, &oauth.Client{ID: "c1", IssuedAt: time.Now()}))

	// Revocations stay in their deployment too.
	feed, err := b.SubscribeRevocations(ctx)
	must(t, err)
	must(t, a.RevokeToken(ctx, "c1", "jti", time.Now().Add(time.Hour)))
	must(t, b.RevokeToken(ctx, "c1", "jti-b", time.Now().Add(time.Hour)))
	select {
	case r := <-feed:
		if r.ID != "jti-b" {
			t.Fatalf("prefix b: feed got %+v", r)
		}
	case <-time.After(time.Second):
		t.Fatal("no revocation on b's feed")
	}
}

func TestNewValidates(t *testing.T) {
	if _, err := redisstore.New(nil, nil); err == nil {
		t.Error("New accepted a nil client")
	}
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer rdb.Close()
	if _, err := redisstore.New(rdb, &redisstore.Options{Prefix: "x{y}:"}); err == nil {
		t.Error("New accepted a prefix with braces")
	}
	s, err := redisstore.New(rdb, nil)
	must(t, err)
	if s.Prefix() != redisstore.DefaultPrefix {
		t.Errorf("default prefix %q", s.Prefix())
	}
}

// TestFeedSurvivesReconnect kills the subscription's connection: the feed
// announces a reset when the connection breaks (events may be lost from
// now on) and another once it is subscribed again, then carries on.
func TestFeedSurvivesReconnect(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	s := newStore(t, srv.NewClient(t), &redisstore.Options{Prefix: "re:"})
	other := newStore(t, srv.NewClient(t), &redisstore.Options{Prefix: "re:"})
	feed, err := s.SubscribeRevocations(ctx)
	must(t, err)
	must(t, srv.Client.Do(ctx, "CLIENT", "KILL", "TYPE", "pubsub").Err())

	deadline := time.After(5 * time.Second)
	for resets := 0; resets < 2; {
		select {
		case r := <-feed:
			if r.Kind != oauth.RevocationReset {
				t.Fatalf("got %+v, want a reset", r)
			}
			resets++
		case <-deadline:
			t.Fatalf("%d resets after the subscription's connection was killed, want 2 (broken, back)", resets)
		}
	}
	must(t, other.RevokeToken(ctx, "c1", "after", time.Now().Add(time.Hour)))
	select {
	case r := <-feed:
		if r.Kind != oauth.RevokedToken || r.ID != "after" {
			t.Fatalf("after reconnect got %+v", r)
		}
	case <-time.After(time.Second):
		t.Fatal("no revocation after the reconnect")
	}
}

func TestRedisDown(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv := redistest.Start(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr, MaxRetries: -1})
	defer rdb.Close()
	s := newStore(t, rdb, nil)
	must(t, srv.Stop())
	_, err := s.GetClient(ctx, "c1")
	if err == nil || !strings.Contains(err.Error(), `redisstore: get client "c1"`) {
		t.Fatalf("GetClient with Redis down: %v", err)
	}
	if _, err := s.RedeemCode(ctx, "h:code"); err == nil || errors.Is(err, oauth.ErrNotFound) {
		t.Fatalf("RedeemCode with Redis down: %v; want a connection error, not ErrNotFound", err)
	}
}

// TestLegacyRecords: records an earlier version wrote, before
// oauth.Identity and oauth.User were one type, still read.
func TestLegacyRecords(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.NewClient(t)
	s := newStore(t, rdb, &redisstore.Options{Prefix: "legacy:"})
	storetest.LegacyRecords(t, s, func(t *testing.T, edit func([]byte) []byte) oauth.Store {
		ctx := t.Context()
		keys, err := rdb.Keys(ctx, "legacy:*").Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			if typ, _ := rdb.Type(ctx, k).Result(); typ != "hash" {
				continue
			}
			fields, err := rdb.HGetAll(ctx, k).Result()
			if err != nil {
				t.Fatal(err)
			}
			for f, v := range fields {
				if js := edit([]byte(v)); js != nil {
					if err := rdb.HSet(ctx, k, f, js).Err(); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
		return s
	})
}

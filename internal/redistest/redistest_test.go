package redistest

import (
	"context"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
)

func TestStartServesTwoClients(t *testing.T) {
	ctx := context.Background()
	srv := Start(t)
	if err := srv.Client.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatalf("set: %v", err)
	}
	other := srv.NewClient(t)
	got, err := other.Get(ctx, "k").Result()
	if err != nil || got != "v" {
		t.Fatalf("second client: got %q, %v; want the first client's value", got, err)
	}
	opts, err := redis.ParseURL(srv.URL)
	if err != nil || opts.Addr != srv.Addr {
		t.Fatalf("URL %q: addr %v, %v; want %s", srv.URL, opts, err, srv.Addr)
	}
	// Persistence is off: a save point would write dump.rdb into the test dir.
	cfg, err := srv.Client.ConfigGet(ctx, "save").Result()
	if err != nil || cfg["save"] != "" {
		t.Fatalf("save config = %v, %v; want empty", cfg, err)
	}
}

func TestServersAreIndependent(t *testing.T) {
	ctx := context.Background()
	a, b := Start(t), Start(t)
	if a.Addr == b.Addr {
		t.Fatalf("both servers on %s", a.Addr)
	}
	if err := a.Client.Set(ctx, "k", "a", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if n, err := b.Client.Exists(ctx, "k").Result(); err != nil || n != 0 {
		t.Fatalf("key written to a is visible on b: %d, %v", n, err)
	}
}

func TestStopEndsServer(t *testing.T) {
	srv := Start(t)
	if err := srv.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	c := redis.NewClient(&redis.Options{Addr: srv.Addr, MaxRetries: -1})
	defer c.Close()
	if err := c.Ping(context.Background()).Err(); err == nil {
		t.Fatal("ping after Stop succeeded")
	}
	if err := srv.Stop(); err != nil {
		t.Fatalf("second stop: %v", err)
	}
}

func TestMissingBinaryFails(t *testing.T) {
	t.Setenv("REDIS_SERVER", "/nonexistent/redis-server")
	ft := &fatalRecorder{TB: t}
	func() {
		defer func() { _ = recover() }()
		Start(ft)
	}()
	if !ft.failed {
		t.Fatal("Start with a missing binary did not fail the test")
	}
}

// fatalRecorder records Fatalf instead of ending the real test.
type fatalRecorder struct {
	testing.TB
	failed bool
}

func (f *fatalRecorder) Fatalf(format string, args ...any) {
	f.failed = true
	panic("fatal")
}

func (f *fatalRecorder) Helper() {}

func TestClusterRefusesCrossSlot(t *testing.T) {
	ctx := context.Background()
	srv := StartCluster(t)
	c := srv.NewClusterClient(t)
	if err := c.MSet(ctx, "{a}x", 1, "{a}y", 2).Err(); err != nil {
		t.Fatalf("same-slot MSET: %v", err)
	}
	// The node serves every slot, yet keys of two slots in one command are
	// refused, as on a real cluster.
	err := srv.Client.MSet(ctx, "{a}x", 1, "{b}y", 2).Err()
	if err == nil || !strings.Contains(err.Error(), "CROSSSLOT") {
		t.Fatalf("cross-slot MSET: %v, want CROSSSLOT", err)
	}
}

// A server started with a password refuses a client without it and
// serves one with it.
func TestStartWithPassword(t *testing.T) {
	ctx := context.Background()
	srv := StartWithPassword(t, "s3cret pass")
	if err := srv.Client.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatalf("the server's own client: %v", err)
	}
	bare := redis.NewClient(&redis.Options{Addr: srv.Addr, MaxRetries: -1})
	defer bare.Close()
	if err := bare.Get(ctx, "k").Err(); err == nil || !strings.Contains(err.Error(), "NOAUTH") {
		t.Fatalf("a client without the password: %v, want NOAUTH", err)
	}
	wrong := redis.NewClient(&redis.Options{Addr: srv.Addr, Password: "wrong", MaxRetries: -1})
	defer wrong.Close()
	if err := wrong.Ping(ctx).Err(); err == nil {
		t.Fatal("a client with the wrong password was served")
	}
}

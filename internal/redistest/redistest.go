package redistest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mcp-oauth-gateway/gateway/internal/testenv"
)

// Server is a running redis-server owned by one test.
type Server struct {
	// Addr is the server's "127.0.0.1:port".
	Addr string
	// URL is "redis://127.0.0.1:port/0", for code that takes a URL.
	URL string
	// Client is connected to the server and closed when the test ends.
	Client *redis.Client

	password string // what the server requires (--requirepass); "" for none

	cmd    *exec.Cmd
	exited chan error // receives the exit status once
	log    *testenv.Output
	once   sync.Once
}

// startTimeout bounds how long the server may take to answer PING.
const startTimeout = 10 * time.Second

// Start starts a redis-server for tb and stops it at tb's cleanup. It fails
// tb (never skips it) when the server cannot be found or started.
func Start(tb testing.TB) *Server {
	tb.Helper()
	return startServer(tb, false, "")
}

// StartWithPassword starts a redis-server like Start that refuses every
// client until it authenticates with password (--requirepass). The
// server's Client and NewClient authenticate; its URL carries no password.
func StartWithPassword(tb testing.TB, password string) *Server {
	tb.Helper()
	if password == "" {
		tb.Fatal("redistest: StartWithPassword needs a password")
	}
	return startServer(tb, false, password)
}

// StartCluster starts a redis-server in cluster mode that owns every hash
// slot: a one-node Redis Cluster. Commands and scripts whose keys span hash
// slots fail on it with CROSSSLOT errors as on a real cluster, so a store
// that passes its tests here keeps its multi-key operations on one slot.
// Talk to it with NewClusterClient.
func StartCluster(tb testing.TB) *Server {
	tb.Helper()
	return startServer(tb, true, "")
}

func startServer(tb testing.TB, cluster bool, password string) *Server {
	tb.Helper()
	bin := os.Getenv("REDIS_SERVER")
	if bin == "" {
		bin = "redis-server"
	}
	path, err := exec.LookPath(bin)
	if err != nil {
		tb.Fatalf("redistest: %s not found (%v): the Redis store tests need a real redis-server; "+
			"install it (apt-get install redis-server, or scripts/setup.sh) or set REDIS_SERVER to its path", bin, err)
	}
	dir := tb.TempDir()
	var lastErr error
	// The free port is found by listening and closing; another process may
	// take it in between, so a failed start is retried on a fresh port.
	for range 3 {
		s, err := start(path, dir, cluster, password)
		if err == nil {
			tb.Cleanup(func() { s.stop(tb) })
			s.Client = s.NewClient(tb)
			return s
		}
		lastErr = err
	}
	tb.Fatalf("redistest: %v", lastErr)
	return nil
}

func start(path, dir string, cluster bool, password string) (*Server, error) {
	port, err := testenv.FreePort()
	if err != nil {
		return nil, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	args := []string{
		"--port", strconv.Itoa(port),
		"--bind", "127.0.0.1",
		"--protected-mode", "yes",
		"--save", "",
		"--appendonly", "no",
		"--dir", dir,
		"--daemonize", "no",
		"--logfile", "",
		"--loglevel", "warning",
	}
	if password != "" {
		args = append(args, "--requirepass", password)
	}
	if cluster {
		args = append(args, "--cluster-enabled", "yes", "--cluster-config-file", filepath.Join(dir, "nodes-"+strconv.Itoa(port)+".conf"))
	}
	cmd := exec.Command(path, args...)
	logs := &testenv.Output{}
	cmd.Stdout = logs
	cmd.Stderr = logs
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", path, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	s := &Server{Addr: addr, URL: "redis://" + addr + "/0", password: password, cmd: cmd, exited: exited, log: logs}
	probe := redis.NewClient(&redis.Options{Addr: addr, Password: password, MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	defer probe.Close()
	deadline := time.Now().Add(startTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		err := probe.Ping(ctx).Err()
		if err == nil && cluster {
			err = claimSlots(ctx, probe)
		}
		cancel()
		if err == nil {
			return s, nil
		}
		select {
		case werr := <-exited:
			return nil, fmt.Errorf("redis-server on %s exited (%v): %s", addr, werr, strings.TrimSpace(logs.String()))
		default:
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-exited
			return nil, fmt.Errorf("redis-server on %s did not answer within %v: %v: %s", addr, startTimeout, err, strings.TrimSpace(logs.String()))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// claimSlots gives a fresh cluster node every hash slot and reports
// whether the cluster is ready.
func claimSlots(ctx context.Context, c *redis.Client) error {
	info, err := c.ClusterInfo(ctx).Result()
	if err != nil {
		return err
	}
	if strings.Contains(info, "cluster_state:ok") {
		return nil
	}
	if strings.Contains(info, "cluster_slots_assigned:0") {
		if err := c.Do(ctx, "CLUSTER", "ADDSLOTSRANGE", 0, 16383).Err(); err != nil {
			return err
		}
	}
	return errors.New("cluster not ready yet")
}

// NewClusterClient returns a Redis Cluster client of a server started with
// StartCluster, closed when tb ends.
func (s *Server) NewClusterClient(tb testing.TB) *redis.ClusterClient {
	tb.Helper()
	c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{s.Addr}, Password: s.password})
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

// NewClient returns another client of the server, closed when tb ends: two
// clients stand for two replicas sharing one Redis.
func (s *Server) NewClient(tb testing.TB) *redis.Client {
	tb.Helper()
	c := redis.NewClient(&redis.Options{Addr: s.Addr, Password: s.password})
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

// Logs returns what the server printed so far.
func (s *Server) Logs() string { return s.log.String() }

// Stop kills the server now, e.g. to test what a store does when Redis goes
// away. Cleanup does it too. Nothing is lost that a test could want: the
// server keeps no data on disk.
func (s *Server) Stop() error {
	var err error
	s.once.Do(func() {
		_ = s.cmd.Process.Kill()
		err = <-s.exited
		var exit *exec.ExitError
		if errors.As(err, &exit) && !exit.Exited() {
			err = nil // ended by our signal
		}
	})
	return err
}

func (s *Server) stop(tb testing.TB) {
	if err := s.Stop(); err != nil {
		tb.Logf("redistest: redis-server on %s: %v: %s", s.Addr, err, s.Logs())
	}
}

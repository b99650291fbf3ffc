// Package testenv holds what the tests that run real parts (a redis-server,
// hydra, the binaries as child processes) need around them: a loopback port
// for a process that binds it later, and a buffer for a child's output that
// the test reads while the child writes.
package testenv

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// lowestPort is where FreePort starts looking: above the ports services
// commonly use on a developer's machine.
const lowestPort = 10000

// FreePort returns a loopback TCP port that was free a moment ago, for a
// process that binds it later. Where the kernel's ephemeral range is known
// (Linux), the port comes from below it: the ports the kernel hands to
// outgoing connections and to listeners on port 0 come from that range, so
// none of those can take the port in between, as one did on a busy machine
// ("bind: address already in use"); only another process choosing a port
// at random could.
func FreePort() (int, error) {
	if first := ephemeralFirst(); first > lowestPort+1000 {
		for range 100 {
			port := lowestPort + rand.IntN(first-lowestPort)
			if l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port)); err == nil {
				l.Close()
				return port, nil
			}
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("testenv: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Port is FreePort as a string, for flags and addresses; it ends the test
// when no port is found.
func Port(tb testing.TB) string {
	tb.Helper()
	port, err := FreePort()
	if err != nil {
		tb.Fatal(err)
	}
	return strconv.Itoa(port)
}

// ephemeralFirst is the first port of the kernel's ephemeral range; 0 when
// it is not known.
func ephemeralFirst() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return 0
	}
	first, _ := strconv.Atoi(f[0])
	return first
}

// Output collects a child's output, safe to read while the child writes.
// With Limit set, what comes after the first Limit bytes is dropped (a
// chatty child's log stays readable and small); the zero value keeps all.
type Output struct {
	Limit int

	mu sync.Mutex
	b  bytes.Buffer
}

func (o *Output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.Limit > 0 && o.b.Len() >= o.Limit {
		return len(p), nil
	}
	return o.b.Write(p)
}

// String returns what was written so far.
func (o *Output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.String()
}

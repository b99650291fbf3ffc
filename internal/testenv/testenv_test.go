package testenv

import (
	"net"
	"strings"
	"sync"
	"testing"
)

// The port is free: a listener can take it.
func TestPortIsFree(t *testing.T) {
	port := Port(t)
	l, err := net.Listen("tcp", "127.0.0.1:"+port)
	if err != nil {
		t.Fatalf("port %s was handed out but cannot be bound: %v", port, err)
	}
	l.Close()
}

// On Linux the port comes from below the ephemeral range, which port-0
// listeners and outgoing connections use.
func TestPortBelowTheEphemeralRange(t *testing.T) {
	first := ephemeralFirst()
	if first <= lowestPort+1000 {
		t.Skipf("ephemeral range starts at %d here; FreePort falls back to port 0", first)
	}
	for range 20 {
		p, err := FreePort()
		if err != nil {
			t.Fatal(err)
		}
		if p < lowestPort || p >= first {
			t.Fatalf("port %d, want one in [%d, %d)", p, lowestPort, first)
		}
	}
}

// Writers and a reader at once (run with -race); a limit keeps the head.
func TestOutput(t *testing.T) {
	var o Output
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 100 {
				o.Write([]byte("x"))
				_ = o.String()
			}
		})
	}
	wg.Wait()
	if n := len(o.String()); n != 400 {
		t.Fatalf("kept %d bytes, want 400", n)
	}

	limited := Output{Limit: 5}
	for _, s := range []string{"abc", "def", "ghi"} {
		if n, err := limited.Write([]byte(s)); n != 3 || err != nil {
			t.Fatalf("Write = %d, %v; a dropped write still reports success", n, err)
		}
	}
	if got := limited.String(); !strings.HasPrefix(got, "abc") || len(got) != 6 {
		t.Fatalf("limited output %q, want the first writes up to the limit", got)
	}
}

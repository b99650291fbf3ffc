package echo

import (
	"fmt"
	"runtime"
	"runtime/metrics"
)

// runtimeStats are Go runtime figures read from runtime/metrics, which does
// not stop the world (runtime.ReadMemStats does).
type runtimeStats struct {
	goroutines  uint64
	heapInUse   uint64 // bytes of live and not yet swept heap objects
	heapObjects uint64
	totalMemory uint64 // bytes mapped from the OS by the runtime
	gcCycles    uint64
	gomaxprocs  uint64
}

var runtimeMetricNames = [...]string{
	"/sched/goroutines:goroutines",
	"/memory/classes/heap/objects:bytes",
	"/gc/heap/objects:objects",
	"/memory/classes/total:bytes",
	"/gc/cycles/total:gc-cycles",
	"/sched/gomaxprocs:threads",
}

func readRuntime() runtimeStats {
	var samples [len(runtimeMetricNames)]metrics.Sample
	for i, name := range runtimeMetricNames {
		samples[i].Name = name
	}
	metrics.Read(samples[:])
	v := func(i int) uint64 {
		if samples[i].Value.Kind() == metrics.KindUint64 {
			return samples[i].Value.Uint64()
		}
		return 0
	}
	st := runtimeStats{
		goroutines:  v(0),
		heapInUse:   v(1),
		heapObjects: v(2),
		totalMemory: v(3),
		gcCycles:    v(4),
		gomaxprocs:  v(5),
	}
	if st.goroutines == 0 {
		st.goroutines = uint64(runtime.NumGoroutine())
	}
	if st.gomaxprocs == 0 {
		st.gomaxprocs = uint64(runtime.GOMAXPROCS(0))
	}
	return st
}

// mib renders a byte count in MiB.
func mib(n uint64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

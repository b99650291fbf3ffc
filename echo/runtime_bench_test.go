package echo

import (
	"runtime"
	"testing"
)

// BenchmarkRuntimeFigures compares what healthProbe reads (runtime/metrics)
// with the baseline it avoids: runtime.ReadMemStats, which stops the world.
func BenchmarkRuntimeFigures(b *testing.B) {
	b.Run("baseline=ReadMemStats", func(b *testing.B) {
		b.ReportAllocs()
		var m runtime.MemStats
		for b.Loop() {
			runtime.ReadMemStats(&m)
		}
	})
	b.Run("runtime-metrics", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = readRuntime()
		}
	})
}

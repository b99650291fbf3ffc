#!/usr/bin/env bash
# Benchmark of the client direction (not part of the test command: it takes a minute and wants a
# quiet machine).
#
#   stdiobridge/bench/client.sh            BENCHTIME=1s COUNT=7 by default
#
# Runs BenchmarkClientToolCall (tools/call of the stateless echo server over loopback, called
# directly with an HTTP client, through the bridge, and through the minimal stdin-to-HTTP relay,
# in the benchmark's process and in a process of their own, one at a time and with 16 in flight)
# in rounds, each round running every variant once so that the machine's drift weighs on all
# alike, and prints the medians, the ratios and their spread over the rounds.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
out=$(mktemp)
bin=$(mktemp)
trap 'rm -f "$out" "$bin"' EXIT
go test -c -o "$bin" ./stdiobridge/
for round in $(seq "${COUNT:-7}"); do
  echo "bench: round $round of ${COUNT:-7}" >&2
  "$bin" -test.run '^$' -test.bench "${BENCH:-BenchmarkClientToolCall}" -test.benchtime "${BENCHTIME:-1s}" -test.benchmem | tee -a "$out" >&2
done
awk '/^BenchmarkClientToolCall\// {
  name=$1; sub(/-[0-9]+$/, "", name); sub(/^BenchmarkClientToolCall\//, "", name)
  mode=name; sub(/.*\//, "", mode); base=name; sub(/\/[a-z]+$/, "", base)
  for (i=2; i<=NF; i++) {
    if ($(i+1)=="calls/s") { v[name]=v[name] " " $i; cur=$i }
    if ($(i+1)=="wakeups/call") w[name]=w[name] " " $i
    if ($(i+1)=="allocs/op") a[name]=a[name] " " $i
    if ($(i+1)=="relay-cpu-µs/call") c[name]=c[name] " " $i
  }
  # The ratio to direct of each round, for their spread.
  if (base == "direct") d[mode]=cur
  else if (d[mode] > 0) r[name]=r[name] " " cur/d[mode]
}
function median(s,   a, n, i, j, t) { n=split(s, a, " "); if (n==0) return 0; for (i=1;i<=n;i++) for (j=i+1;j<=n;j++) if (a[j]+0<a[i]+0) {t=a[i];a[i]=a[j];a[j]=t}; return a[int((n+1)/2)] }
function lo(s,   a, n, i, m) { n=split(s, a, " "); m=a[1]; for (i=2;i<=n;i++) if (a[i]+0<m+0) m=a[i]; return m }
function hi(s,   a, n, i, m) { n=split(s, a, " "); m=a[1]; for (i=2;i<=n;i++) if (a[i]+0>m+0) m=a[i]; return m }
END {
  split("seq par", ms, " ")
  split("bridge minimal process/bridge process/minimal", vs, " ")
  for (i=1;i<=2;i++) { md=ms[i]
    printf "%s: direct %.0f calls/s", md, median(v["direct/" md])
    for (j=1;j<=4;j++) { k=vs[j] "/" md; printf ", %s %.0f (%.2fx direct, rounds %.2f..%.2f)", vs[j], median(v[k]), median(r[k]), lo(r[k]), hi(r[k]) }
    printf "\n"
    printf "%s: bridge/minimal %.2f in process, %.2f as processes; relay CPU per call: bridge %.0f µs, minimal %.0f µs\n", md,
      median(v["bridge/" md])/median(v["minimal/" md]), median(v["process/bridge/" md])/median(v["process/minimal/" md]),
      median(c["process/bridge/" md]), median(c["process/minimal/" md])
    printf "%s: in process, per call: wake-ups (estimated) direct %.1f, bridge %.1f, minimal %.1f; allocations direct %s, bridge %s, minimal %s\n", md,
      median(w["direct/" md]), median(w["bridge/" md]), median(w["minimal/" md]), median(a["direct/" md]), median(a["bridge/" md]), median(a["minimal/" md])
  }
}' "$out"

#!/usr/bin/env bash
# Benchmarks and load test of the stdio proxy (not part of the test command: they take a
# minute and want a quiet machine).
#
#   stdiobridge/bench/run.sh            BENCHTIME=3s COUNT=3 by default
#
# It installs the npm supergateway 4.0.0 (only for this comparison) next to the test
# dependencies, runs BenchmarkToolCall (the stdiotest server called directly over stdio, through
# the proxy in process and in a process of its own with GOMAXPROCS=1 and 2, through the lean
# relay on net/http and on a bare TCP loop, and through supergateway; the same for
# @modelcontextprotocol/server-everything), prints the medians and the ratios, then runs the load
# test (100 sessions x 50 calls). BENCH narrows the benchmarks (a -test.bench pattern).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
eval "$(scripts/setup.sh)"
sg=$MCP_TEST_HOME/supergateway-4.0.0
if [ ! -f "$sg/.installed" ]; then
  echo "bench: installing supergateway@4.0.0 into $sg" >&2
  rm -rf "$sg" && mkdir -p "$sg"
  (cd "$sg" && npm init -y >/dev/null && npm install --no-fund --no-audit --silent supergateway@4.0.0 >&2)
  touch "$sg/.installed"
fi
export STDIOBRIDGE_SUPERGATEWAY=$sg/node_modules/supergateway/dist/index.js
out=$(mktemp)
bin=$(mktemp)
trap 'rm -f "$out" "$bin"' EXIT
go test -c -o "$bin" ./stdiobridge/
# Rounds rather than -count: every round runs each variant once, so that the machine's drift
# over the minutes of the run weighs on all of them alike.
for round in $(seq "${COUNT:-3}"); do
  echo "bench: round $round of ${COUNT:-3}" >&2
  "$bin" -test.run '^$' -test.bench "${BENCH:-BenchmarkToolCall}" -test.benchtime "${BENCHTIME:-3s}" -test.benchmem | tee -a "$out"
done
# Median calls/s (and CPU per call) of each benchmark, and the ratios the goals are about.
awk '/^BenchmarkToolCall\// {
  name=$1; sub(/-[0-9]+$/, "", name); sub(/^BenchmarkToolCall\//, "", name)
  for (i=2; i<=NF; i++) {
    if ($(i+1)=="calls/s") v[name]=v[name] " " $i
    if ($(i+1)=="proxy-cpu-µs/call") cpu[name]=cpu[name] " " $i
  }
}
function median(s,   a, n, i, j, t) { n=split(s, a, " "); if (n==0) return 0; for (i=1;i<=n;i++) for (j=i+1;j<=n;j++) if (a[j]+0<a[i]+0) {t=a[i];a[i]=a[j];a[j]=t}; return a[int((n+1)/2)] }
function ratio(a, b) { return b > 0 ? a/b : 0 }
END {
  for (k in v) m[k]=median(v[k])
  for (k in cpu) c[k]=median(cpu[k])
  split("seq par", ms, " ")
  for (i=1;i<=2;i++) { md=ms[i]
    printf "%s: direct %.0f, proxy %.0f, lean relay %.0f, raw relay %.0f, supergateway %.0f calls/s\n", md, m["direct/" md], m["proxy/" md], m["lean/" md], m["raw/" md], m["supergateway/" md]
    printf "%s: proxy/lean %.2f (goal >= 0.9), proxy/direct %.2f, lean/direct %.2f, raw/direct %.2f, proxy/supergateway %.1f (goal >= 2)\n", md, ratio(m["proxy/" md], m["lean/" md]), ratio(m["proxy/" md], m["direct/" md]), ratio(m["lean/" md], m["direct/" md]), ratio(m["raw/" md], m["direct/" md]), ratio(m["proxy/" md], m["supergateway/" md])
    printf "%s, proxy in a process of its own: GOMAXPROCS=1 %.0f calls/s, %.0f µs CPU/call; GOMAXPROCS=2 %.0f calls/s, %.0f µs CPU/call; p1/p2 %.2f\n", md, m["proxy-process/p1/" md], c["proxy-process/p1/" md], m["proxy-process/p2/" md], c["proxy-process/p2/" md], ratio(m["proxy-process/p1/" md], m["proxy-process/p2/" md])
    printf "%s, server-everything: direct %.0f, proxy %.0f calls/s; proxy/direct %.2f\n", md, m["everything-direct/" md], m["everything-proxy/" md], ratio(m["everything-proxy/" md], m["everything-direct/" md])
  }
}' "$out"
STDIOBRIDGE_LOAD=1 go test -count=1 -run '^TestLoad$' -v ./stdiobridge/ | grep -E '^load:|^(ok|FAIL|---)'

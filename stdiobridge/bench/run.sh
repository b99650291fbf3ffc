#!/usr/bin/env bash
# Benchmarks and load test of the stdio proxy (not part of the test command: they take a
# minute and want a quiet machine).
#
#   stdiobridge/bench/run.sh            BENCHTIME=3s COUNT=3 by default
#
# It installs the npm supergateway 4.0.0 (only for this comparison) next to the test
# dependencies, runs BenchmarkToolCall (the stdiotest server called directly over stdio, through
# the proxy, through a minimal relay on net/http and on a bare TCP loop, and through
# supergateway; the same for @modelcontextprotocol/server-everything), prints the ratios, then
# runs the load test (100 sessions x 50 calls).
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
  "$bin" -test.run '^$' -test.bench BenchmarkToolCall -test.benchtime "${BENCHTIME:-3s}" -test.benchmem | tee -a "$out"
done
# Median calls/s of each benchmark, and the ratios the goals are about.
awk '/^BenchmarkToolCall\// {
  name=$1; sub(/-[0-9]+$/, "", name); sub(/^BenchmarkToolCall\//, "", name)
  for (i=2; i<=NF; i++) if ($(i+1)=="calls/s") v[name]=v[name] " " $i
}
function median(s,   a, n, i, j, t) { n=split(s, a, " "); for (i=1;i<=n;i++) for (j=i+1;j<=n;j++) if (a[j]+0<a[i]+0) {t=a[i];a[i]=a[j];a[j]=t}; return a[int((n+1)/2)] }
END {
  for (k in v) m[k]=median(v[k])
  split("seq par", ms, " ")
  for (i=1;i<=2;i++) { md=ms[i]
    printf "%s: direct %.0f, proxy %.0f, supergateway %.0f calls/s; proxy/direct %.2f (goal >= 0.7), proxy/supergateway %.1f (goal >= 2)\n", md, m["direct/" md], m["proxy/" md], m["supergateway/" md], m["proxy/" md]/m["direct/" md], (m["supergateway/" md] > 0 ? m["proxy/" md]/m["supergateway/" md] : 0)
    printf "%s, bounds: minimal net/http relay %.0f calls/s (%.2f of direct; proxy/minimal %.2f), raw TCP relay %.0f calls/s (%.2f of direct)\n", md, m["minimal/" md], m["minimal/" md]/m["direct/" md], m["proxy/" md]/m["minimal/" md], m["raw/" md], m["raw/" md]/m["direct/" md]
    printf "%s, server-everything: direct %.0f, proxy %.0f calls/s; proxy/direct %.2f\n", md, m["everything-direct/" md], m["everything-proxy/" md], m["everything-proxy/" md]/m["everything-direct/" md]
    printf "%s, proxy in a process of its own: %.0f calls/s; proxy/direct %.2f\n", md, m["proxy-process/" md], m["proxy-process/" md]/m["direct/" md]
  }
}' "$out"
STDIOBRIDGE_LOAD=1 go test -count=1 -run '^TestLoad$' -v ./stdiobridge/ | grep -E '^load:|^(ok|FAIL|---)'

#!/usr/bin/env bash
# Load on loopback: CLIENTS concurrent MCP clients, each with its own bearer token and
# connection, calling tools/call on the stateless echo through mcp-oauth-gateway, against
# the same echo served without OAuth (mcp-echo-streamablehttp-server-stateless) in the same
# run. Prints, per round and as medians: requests per second of both, their ratio, p50 and
# p99 latency, errors, and the gateway's memory (resident set size after the load, and its
# peak).
#
#   scripts/bench/gateway-load.sh             # 3 rounds of 10 s each, 200 clients; fails
#                                             # on any error or a median ratio below 0.6
#   scripts/bench/gateway-load.sh --smoke     # 1 round of 2 s; fails on any error only
#
# CLIENTS, SECONDS and ROUNDS override the defaults. The baseline and the gateway run one
# after the other, alternately, so both see the same machine; compare the ratio, not the
# absolute figures, which depend on the machine and whatever else runs on it.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
smoke=0
[ "${1:-}" = --smoke ] && smoke=1
clients=${CLIENTS:-200}
if [ $smoke = 1 ]; then
  seconds=${SECONDS_PER_RUN:-2}
  rounds=1
else
  seconds=${SECONDS_PER_RUN:-10}
  rounds=${ROUNDS:-3}
fi
min_ratio=0.6

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

(cd "$root" && go build -o "$work/gateway" ./examples/mcp-oauth-gateway &&
  go build -o "$work/echo" ./examples/mcp-echo-streamablehttp-server-stateless &&
  go build -o "$work/loadgen" ./scripts/bench/loadgen)
(cd "$root/deploy" && go build -o "$work/checktool" ./checktool)

read -r -d '' echo_port gw_port < <("$work/checktool" freeport 2) || true
wait_health() { # wait_health URL NAME
  for _ in $(seq 1 300); do
    if curl -sf -o /dev/null "$1"; then return 0; fi
    sleep 0.1
  done
  echo "$2 did not start; its log:" >&2
  tail -20 "$work/$2.log" >&2
  exit 1
}
"$work/echo" --host 127.0.0.1 --port "$echo_port" >"$work/echo.log" 2>&1 &
pids+=($!)
mkdir -p "$work/home"
HOME="$work/home" XDG_CONFIG_HOME="$work/home/.config" "$work/gateway" --host 127.0.0.1 --port "$gw_port" \
  --dev-user robot --store "$work/gateway.db" >"$work/gateway.out" 2>"$work/gateway.log" &
gw_pid=$!
pids+=($gw_pid)
wait_health "http://127.0.0.1:$echo_port/health" echo
wait_health "http://127.0.0.1:$gw_port/health" gateway

field() { "$work/checktool" json "$1" <<<"$2"; }
kib() { awk -v k="$1" '$1 == k":" { print $2 }' "/proc/$gw_pid/status"; }
base_rps=() gw_rps=() ratios=() gw_p50=() gw_p99=() base_p50=() base_p99=()
errors=0
echo "clients $clients, $seconds s per run, $rounds round(s); GOMAXPROCS default on $(nproc) cores"
for r in $(seq 1 "$rounds"); do
  base=$("$work/loadgen" -url "http://127.0.0.1:$echo_port/mcp" -clients "$clients" -duration "${seconds}s")
  gw=$("$work/loadgen" -login -url "http://127.0.0.1:$gw_port/echo-stateless/mcp" -clients "$clients" -duration "${seconds}s")
  for run in base gw; do
    e=$(field errors "${!run}")
    if [ "$e" != 0 ]; then
      echo "round $r: $run: $e errors, first: $(field first_error "${!run}")" >&2
      errors=$((errors + e))
    fi
  done
  b=$(field per_second "$base")
  g=$(field per_second "$gw")
  ratio=$(awk -v g="$g" -v b="$b" 'BEGIN { printf "%.3f", g / b }')
  base_rps+=("$b") gw_rps+=("$g") ratios+=("$ratio")
  base_p50+=("$(field p50_ms "$base")") base_p99+=("$(field p99_ms "$base")")
  gw_p50+=("$(field p50_ms "$gw")") gw_p99+=("$(field p99_ms "$gw")")
  printf 'round %d: without OAuth %.0f req/s (p50 %s ms, p99 %s ms, %s requests); gateway %.0f req/s (p50 %s ms, p99 %s ms, %s requests); ratio %s\n' \
    "$r" "$b" "${base_p50[-1]}" "${base_p99[-1]}" "$(field requests "$base")" "$g" "${gw_p50[-1]}" "${gw_p99[-1]}" "$(field requests "$gw")" "$ratio"
done
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
rss=$(kib VmRSS)
hwm=$(kib VmHWM)
ratio=$(median "${ratios[@]}")
printf 'median: without OAuth %.0f req/s, p50 %s ms, p99 %s ms; gateway %.0f req/s, p50 %s ms, p99 %s ms; ratio %s (minimum %s)\n' \
  "$(median "${base_rps[@]}")" "$(median "${base_p50[@]}")" "$(median "${base_p99[@]}")" \
  "$(median "${gw_rps[@]}")" "$(median "${gw_p50[@]}")" "$(median "${gw_p99[@]}")" "$ratio" "$min_ratio"
printf 'gateway memory: %d MiB resident after the load, %d MiB at its peak\n' $((rss / 1024)) $((hwm / 1024))
if [ "$errors" != 0 ]; then
  echo "FAIL: $errors errors" >&2
  tail -5 "$work/gateway.log" >&2
  exit 1
fi
if [ $smoke = 0 ] && awk -v r="$ratio" -v m="$min_ratio" 'BEGIN { exit !(r < m) }'; then
  echo "FAIL: the gateway's throughput is below ${min_ratio}x the echo's without OAuth" >&2
  exit 1
fi
echo "ok: zero errors$([ $smoke = 0 ] && echo ", ratio $ratio >= $min_ratio")"

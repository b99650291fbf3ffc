# Helpers for conformance targets; sourced by scripts/conformance/targets/*.sh.
#
#   start_server NAME PORT CMD...   starts CMD in the background (logs in $out/NAME.log) and
#                                   waits until 127.0.0.1:PORT accepts connections
#   suite NAME ARGS...              runs scripts/conformance/run.sh ARGS..., output in $out/NAME.txt,
#                                   and prints the suite's "Total" line
#   free_port                       prints a free loopback TCP port
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out=${CONFORMANCE_OUT:-$root/.conformance}
bin=${CONFORMANCE_BIN:-$out/bin}
mkdir -p "$out" "$bin"
pids=()
cleanup() { for p in "${pids[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

build() { (cd "$root" && go build -o "$bin/$(basename "$1")" "./$1"); echo "$bin/$(basename "$1")"; }

start_server() {
  local name=$1 port=$2; shift 2
  "$@" >"$out/$name.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "conformance: $name did not listen on port $port; its log:" >&2
  cat "$out/$name.log" >&2
  return 1
}

suite() {
  local name=$1; shift
  local rc=0
  "$root/scripts/conformance/run.sh" "$@" >"$out/$name.txt" 2>&1 || rc=$?
  # A whole-suite run ends with "Total: N passed, M failed", a one-scenario run with "Passed: N/M".
  printf 'conformance %-40s %s\n' "$name" "$(grep -E 'Total: |^Passed: ' "$out/$name.txt" | tail -1)"
  if [ $rc -ne 0 ]; then
    echo "conformance: $name failed (exit $rc); its output:" >&2
    tail -60 "$out/$name.txt" >&2
  fi
  return $rc
}

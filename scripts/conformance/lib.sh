# Helpers for conformance targets; sourced by scripts/conformance/targets/*.sh.
#
#   start_server NAME PORT CMD...   starts CMD in the background (logs in $out/NAME.log) and
#                                   waits until 127.0.0.1:PORT accepts connections
#   suite NAME ARGS...              runs scripts/conformance/run.sh ARGS..., output in $out/NAME.txt,
#                                   and prints its summary (see summary)
#   free_port                       prints a free loopback TCP port
#   json_field NAME                 prints the string member NAME of the JSON object on stdin
#
# They need bash and Node 22 (installed by scripts/setup.sh), nothing else: no python3, no jq.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out=${CONFORMANCE_OUT:-$root/.conformance}
bin=${CONFORMANCE_BIN:-$out/bin}
mkdir -p "$out" "$bin"
if [ -z "${MCP_NODE22:-}" ] || [ ! -x "$MCP_NODE22" ]; then eval "$("$root/scripts/setup.sh")"; fi
pids=()
cleanup() { for p in "${pids[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

free_port() {
  "$MCP_NODE22" -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}

json_field() {
  "$MCP_NODE22" -e '
    let data = "";
    process.stdin.on("data", (c) => (data += c)).on("end", () => {
      const v = JSON.parse(data)[process.argv[1]];
      if (typeof v !== "string" || v === "") { console.error("no string member " + process.argv[1] + " in " + data); process.exit(1); }
      console.log(v);
    });' "$1"
}

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

# summary OUTPUT [EXPECTED_FAILURES_FILE] prints what a suite's output says: "N passed, M failed"
# for a whole run, "Passed: N/M ..." for one scenario. With the expected-failures file the run
# was checked against, the failures of the scenarios it lists are counted as expected, with the
# file's "# reason:" line: "164 passed, 30 expected failures in 9 scenarios (REASON; see FILE),
# 0 unexpected".
summary() {
  local file=$1 expected=${2:-}
  if [ -z "$expected" ]; then
    grep -E 'Total: |^Passed: ' "$file" | tail -1 | sed 's/^Total: //'
    return
  fi
  local reason listed
  reason=$(sed -n 's/^# reason: //p' "$expected" | head -1)
  listed=$(sed -n 's/^[[:space:]]*-[[:space:]]*\([^[:space:]#]*\).*/\1/p' "$expected" | tr '\n' ' ')
  awk -v listed="$listed" -v reason="${reason:-no reason given}" -v file="${expected#"$root/"}" '
    BEGIN {
      n = split(listed, entries, " ")
      for (i = 1; i <= n; i++) {
        if (split(entries[i], part, ":") > 1) checks[part[1]]++  # scenario:check-id: one check
        else whole[entries[i]] = 1
      }
    }
    /^(✓|✗) [^ ]+: [0-9]+ passed, [0-9]+ failed$/ {
      s = $2; sub(/:$/, "", s); f = $(NF - 1) + 0
      e = 0
      if (s in whole) e = f
      else if (s in checks) e = (f < checks[s]) ? f : checks[s]
      if (e > 0) { ef += e; es++ }
      if ((s in whole) && f == 0) stale = stale (stale ? ", " : "") s
      if (f > e) { uf += f - e; us = us (us ? ", " : "") s }
    }
    /^Total: / { passed = $2 }
    END {
      line = passed + 0 " passed, " ef + 0 " expected failures in " es + 0 " scenarios (" reason "; see " file "), " uf + 0 " unexpected"
      if (uf) line = line " (" us ")"
      if (stale) line = line "; listed as expected but passing: " stale
      print line
    }' "$file"
}

suite() {
  local name=$1; shift
  local rc=0 expected="" prev=""
  for a in "$@"; do
    if [ "$prev" = --expected-failures ]; then expected=$a; fi
    prev=$a
  done
  "$root/scripts/conformance/run.sh" "$@" >"$out/$name.txt" 2>&1 || rc=$?
  printf 'conformance %-40s %s\n' "$name" "$(summary "$out/$name.txt" "$expected")"
  if [ $rc -ne 0 ]; then
    echo "conformance: $name failed (exit $rc); its output:" >&2
    tail -60 "$out/$name.txt" >&2
  fi
  return $rc
}

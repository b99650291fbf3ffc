#!/usr/bin/env bash
# Runs every conformance target (scripts/conformance/targets/*.sh) and fails if any fails.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
failed=()
for t in "$here"/targets/*.sh; do
  [ -e "$t" ] || continue
  bash "$t" || failed+=("$(basename "$t" .sh)")
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "conformance: failed targets: ${failed[*]}" >&2
  exit 1
fi
echo "conformance: all targets passed"

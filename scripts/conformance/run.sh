#!/usr/bin/env bash
# Runs the official MCP conformance suite (npm @modelcontextprotocol/conformance) with Node 22.
#
#   run.sh server --url http://127.0.0.1:PORT/mcp [--scenario NAME] [--suite all] [--expected-failures FILE]
#   run.sh --next server --url ... --requirements 2026-07-28     (the 2026-07-28 pre-release)
#   run.sh --next authorization --url ISSUER ...
#
# The suites are installed by scripts/setup.sh (pinned); this script installs them itself when
# they are missing. Exit status is the suite's: non-zero on any unexpected failure.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=${MCP_CONFORMANCE_STABLE:-}
if [ "${1:-}" = "--next" ]; then dir=${MCP_CONFORMANCE_NEXT:-}; shift; next=1; else next=0; fi
if [ -z "$dir" ] || [ ! -d "$dir/node_modules/@modelcontextprotocol/conformance" ]; then
  eval "$("$here/../setup.sh")"
  if [ "$next" = 1 ]; then dir=$MCP_CONFORMANCE_NEXT; else dir=$MCP_CONFORMANCE_STABLE; fi
fi
export PATH="$dir/node_modules/.bin:$PATH"
exec node "$dir/node_modules/@modelcontextprotocol/conformance/dist/index.js" "$@"

#!/usr/bin/env bash
# The echo diagnostic servers (examples/mcp-echo-streamablehttp-server-stateful and -stateless):
# each binary, on a free loopback port with its default settings, against the stable suite's
# scenarios server-initialize, ping, tools-list and dns-rebinding-protection.
source "$(dirname "$0")/../lib.sh"
scenarios=(server-initialize ping tools-list dns-rebinding-protection)
rc=0
for mode in stateful stateless; do
  binary=$(build "examples/mcp-echo-streamablehttp-server-$mode")
  port=$(free_port)
  start_server "echo-$mode" "$port" env -u MCP_ECHO_HOST -u MCP_ECHO_PORT "$binary" --host 127.0.0.1 --port "$port"
  for scenario in "${scenarios[@]}"; do
    suite "echo-$mode-$scenario" server --url "http://localhost:$port/mcp" --scenario "$scenario" || rc=1
  done
done
exit $rc

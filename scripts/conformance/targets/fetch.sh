#!/usr/bin/env bash
# mcp-fetch-streamablehttp-server on a localhost URL: the stable suite's server scenarios
# that concern a server with tools only (server-initialize, ping, tools-list) and its
# DNS-rebinding protection.
source "$(dirname "$0")/../lib.sh"
server=$(build examples/mcp-fetch-streamablehttp-server)
port=$(free_port)
start_server fetch "$port" "$server" -host 127.0.0.1 -port "$port"
rc=0
for scenario in server-initialize ping tools-list dns-rebinding-protection; do
  suite "fetch-$scenario" server --url "http://localhost:$port/mcp" --scenario "$scenario" || rc=1
done
exit $rc

#!/usr/bin/env bash
# The conformance fixture (internal/conformance, built only from mcpserver's public API):
# the stable suite (all scenarios) against the stateful and the stateless server, and the
# 2026-07-28 pre-release requirements, with the expected failures listed and explained in
# internal/conformance/expected-failures-2026-07-28.yml.
source "$(dirname "$0")/../lib.sh"
fixture=$(build internal/conformance/fixture)
port=$(free_port)
start_server fixture-stateful "$port" "$fixture" --addr "127.0.0.1:$port"
suite fixture-stateful-0.1.16 server --url "http://localhost:$port/mcp" --suite all
suite fixture-stateful-2026-07-28 --next server --url "http://localhost:$port/mcp" --requirements 2026-07-28 \
  --expected-failures "$root/internal/conformance/expected-failures-2026-07-28.yml"
port2=$(free_port)
start_server fixture-stateless "$port2" "$fixture" --addr "127.0.0.1:$port2" --stateless
suite fixture-stateless-0.1.16 server --url "http://localhost:$port2/mcp" --suite all

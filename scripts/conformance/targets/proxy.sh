#!/usr/bin/env bash
# The stdio proxy (examples/mcp-streamablehttp-proxy) in front of the conformance fixture served
# over stdio (fixture --stdio): the same suites and expected failures as the fixture served
# directly over HTTP (targets/fixture.sh), so the pass lists must match. Then the proxy forced to
# translate 2026-07-28 requests for a server it treats as predating them, with the failures that
# translation cannot avoid listed in stdiobridge/testdata/conformance-translate-2026-07-28.yml.
source "$(dirname "$0")/../lib.sh"
fixture=$(build internal/conformance/fixture)
proxy=$(build examples/mcp-streamablehttp-proxy)
port=$(free_port)
start_server proxy-fixture "$port" "$proxy" --host 127.0.0.1 --port "$port" --log-level warning -- "$fixture" --stdio
suite proxy-fixture-0.1.16 server --url "http://localhost:$port/mcp" --suite all
suite proxy-fixture-2026-07-28 --next server --url "http://localhost:$port/mcp" --requirements 2026-07-28 \
  --expected-failures "$root/internal/conformance/expected-failures-2026-07-28.yml"
port2=$(free_port)
start_server proxy-fixture-translate "$port2" "$proxy" --host 127.0.0.1 --port "$port2" --log-level warning \
  --protocol-2026 translate -- "$fixture" --stdio
suite proxy-fixture-translate-2026-07-28 --next server --url "http://localhost:$port2/mcp" --requirements 2026-07-28 \
  --expected-failures "$root/stdiobridge/testdata/conformance-translate-2026-07-28.yml"

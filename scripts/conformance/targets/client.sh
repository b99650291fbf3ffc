#!/usr/bin/env bash
# The client side: mcp-streamablehttp-client (the stdio bridge with its OAuth client,
# oauth/mcpauth) driven by internal/conformance/clientdriver, a small stdio MCP client that does
# what each scenario asks. The stable suite's core client scenarios (initialize, tools_call,
# elicitation defaults, sse-retry and every auth scenario), the 2025-03-26 and draft auth
# scenarios that the suites leave out, and the 2026-07-28 client requirements of the pre-release,
# with the failures that are not ours to fix listed in
# internal/conformance/clientdriver/expected-failures-2026-07-28.yml.
source "$(dirname "$0")/../lib.sh"
driver=$(build internal/conformance/clientdriver)
bridge=$(build examples/mcp-streamablehttp-client)
cmd="$driver --bridge $bridge"
rc=0
suite client-core-0.1.16 client --command "$cmd" --suite core || rc=1
for s in auth/2025-03-26-oauth-metadata-backcompat auth/2025-03-26-oauth-endpoint-fallback auth/resource-mismatch \
  auth/offline-access-scope auth/offline-access-not-supported; do
  suite "client-${s//\//-}" client --command "$cmd" --scenario "$s" || rc=1
done
suite client-2026-07-28 --next client --command "$cmd" --requirements 2026-07-28 \
  --expected-failures "$root/internal/conformance/clientdriver/expected-failures-2026-07-28.yml" || rc=1
exit $rc

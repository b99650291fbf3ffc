#!/usr/bin/env bash
# The conformance pre-release's `authorization` runner against mcp-oauth-server.
#
# The server runs on a loopback issuer with --dev-user, so /authorize approves at once
# (no login, no consent page) and redirects straight to the runner's callback. The
# runner needs a registered client: this script registers one with dynamic client
# registration (RFC 7591), public (PKCE only), with the runner's callback
# http://127.0.0.1:<port>/callback. The runner prints the authorization URL and waits
# for a browser; curl plays the browser.
source "$(dirname "$0")/../lib.sh"
server=$(build examples/mcp-oauth-server)
port=$(free_port)
cbport=$(free_port)
issuer="http://127.0.0.1:$port"
state=$(mktemp -d)
trap 'cleanup; rm -rf "$state"' EXIT

start_server oauth-authorization "$port" "$server" --host 127.0.0.1 --port "$port" --issuer "$issuer" \
  --dev-user conformance --store "$state/oauth.db"

client_id=$(curl -sS --fail-with-body -X POST "$issuer/register" -H 'Content-Type: application/json' \
  -d "{\"client_name\":\"MCP conformance runner\",\"application_type\":\"native\",\"token_endpoint_auth_method\":\"none\",\"redirect_uris\":[\"http://127.0.0.1:$cbport/callback\"]}" |
  json_field client_id)

name=oauth-authorization
log="$out/$name.txt"
"$root/scripts/conformance/run.sh" --next authorization --url "$issuer" --client-id "$client_id" \
  --port "$cbport" --resource "$issuer/mcp" >"$log" 2>&1 &
runner=$!
pids+=("$runner")

# Play the browser: open the authorization URL the runner prints, follow the redirect
# to its callback.
opened=0
for _ in $(seq 1 300); do
  if ! kill -0 "$runner" 2>/dev/null; then break; fi
  url=$(grep -m1 -E "^$issuer/authorize\\?" "$log" || true)
  if [ -n "$url" ]; then
    curl -sS -L --max-redirs 3 --retry 10 --retry-connrefused --retry-delay 1 -o /dev/null "$url" || true
    opened=1
    break
  fi
  sleep 0.1
done
rc=0
wait "$runner" || rc=$?
printf 'conformance %-40s %s\n' "$name" "$(summary "$log")"
if [ "$opened" = 0 ]; then
  echo "conformance: $name: the runner printed no authorization URL" >&2
  rc=1
fi
if [ $rc -ne 0 ]; then
  echo "conformance: $name failed (exit $rc); its output:" >&2
  tail -60 "$log" >&2
fi
exit $rc

#!/usr/bin/env bash
# Runs the gateway on loopback behind a real nginx or Caddy, with the configuration files of
# this directory, and checks what an MCP client sees through the proxy:
#
#   deploy/check.sh nginx     # needs nginx with auth_request (apt-get install nginx-light)
#   deploy/check.sh caddy     # needs caddy (apt-get install caddy)
#
# The stack: mcp-oauth-server (--dev-user robot: approves at once) on its own port, the
# stateless echo server (trusting the gateway's identity headers) and the proxy serving the
# MCP host mcp.localhost:PORT, with the echo service at /mcp and an admin service, which
# needs the "admin" scope, at /admin/mcp. Everything listens on 127.0.0.1 and stops at exit.
# It prints one line per check and exits non-zero when one fails.
set -euo pipefail
proxy=${1:-}
case "$proxy" in
nginx | caddy) ;;
*)
  echo "usage: $0 nginx|caddy" >&2
  exit 2
  ;;
esac
command -v "$proxy" >/dev/null || {
  echo "$0: $proxy is not installed (apt-get install ${proxy/nginx/nginx-light})" >&2
  exit 2
}
deploy=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$deploy/.." && pwd)
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "$2 did not listen on port $1; its log:" >&2
  cat "$work/$2.log" >&2
  exit 1
}

(cd "$root" && go build -o "$work/mcp-oauth-server" ./examples/mcp-oauth-server &&
  go build -o "$work/echo" ./examples/mcp-echo-streamablehttp-server-stateless)

auth_port=$(free_port)
echo_port=$(free_port)
proxy_port=$(free_port)
issuer="http://127.0.0.1:$auth_port"
mcp="http://mcp.localhost:$proxy_port"

cat >"$work/resources.json" <<JSON
{"resources": [
  {"url": "$mcp/mcp", "name": "Echo"},
  {"url": "$mcp/admin/mcp", "name": "Admin", "required_scopes": ["admin"]}
]}
JSON
"$work/mcp-oauth-server" --host 127.0.0.1 --port "$auth_port" --issuer "$issuer" --dev-user robot \
  --store memory --scopes "mcp admin" --resource-config "$work/resources.json" >"$work/auth.log" 2>&1 &
pids+=($!)
"$work/echo" --host 127.0.0.1 --port "$echo_port" --trust-gateway-headers \
  --allowed-hosts "mcp.localhost:$proxy_port" --allowed-origins https://inspector.example >"$work/echo.log" 2>&1 &
pids+=($!)
wait_port "$auth_port" auth
wait_port "$echo_port" echo

case "$proxy" in
nginx)
  mkdir -p "$work/nginx"
  cat >"$work/nginx/nginx.conf" <<CONF
daemon off;
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events {}
http {
    access_log off;
    client_body_temp_path $work/nginx/body;
    proxy_temp_path $work/nginx/proxy;
    fastcgi_temp_path $work/nginx/fastcgi;
    uwsgi_temp_path $work/nginx/uwsgi;
    scgi_temp_path $work/nginx/scgi;
    upstream mcp_oauth { server 127.0.0.1:$auth_port; }
    upstream echo { server 127.0.0.1:$echo_port; }
    server {
        listen 127.0.0.1:$proxy_port;
        server_name mcp.localhost;
        include $deploy/nginx/mcp-oauth-verify.conf;
        location /mcp {
            include $deploy/nginx/mcp-oauth-protect.conf;
            proxy_pass http://echo;
        }
        location /admin/mcp {
            include $deploy/nginx/mcp-oauth-protect.conf;
            proxy_pass http://echo/mcp;
        }
    }
}
CONF
  nginx -t -q -p "$work/nginx" -c "$work/nginx/nginx.conf"
  # The production file too: its certificates replaced by a throwaway one, its snippets
  # taken from this directory.
  openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=example.com -days 1 \
    -keyout "$work/nginx/key.pem" -out "$work/nginx/cert.pem" 2>/dev/null
  sed -e "s#/etc/letsencrypt/live/[^/]*/fullchain.pem#$work/nginx/cert.pem#" \
    -e "s#/etc/letsencrypt/live/[^/]*/privkey.pem#$work/nginx/key.pem#" \
    -e "s#/etc/nginx/snippets/#$deploy/nginx/#" "$deploy/nginx/mcp-gateway.conf" >"$work/nginx/gateway.conf"
  printf 'pid %s;\nerror_log %s warn;\nevents {}\nhttp {\n    include %s;\n}\n' \
    "$work/nginx/t.pid" "$work/nginx/t.log" "$work/nginx/gateway.conf" >"$work/nginx/prod.conf"
  nginx -t -q -p "$work/nginx" -c "$work/nginx/prod.conf"
  echo "ok    deploy/nginx/mcp-gateway.conf passes nginx -t"
  nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" >"$work/nginx.log" 2>&1 &
  pids+=($!)
  ;;
caddy)
  # The production form (the defaults: example.com hosts, automatic HTTPS) must validate.
  XDG_DATA_HOME="$work" XDG_CONFIG_HOME="$work" caddy validate --adapter caddyfile --config "$deploy/caddy/Caddyfile" >"$work/validate.log" 2>&1 ||
    { cat "$work/validate.log" >&2; exit 1; }
  echo "ok    deploy/caddy/Caddyfile (production defaults) passes caddy validate"
  CADDY_ADMIN=off MCP_HOST="$mcp" AUTH_HOST="http://auth.localhost:$(free_port)" MCP_OAUTH_UPSTREAM="127.0.0.1:$auth_port" \
    ECHO_UPSTREAM="127.0.0.1:$echo_port" XDG_DATA_HOME="$work" XDG_CONFIG_HOME="$work" \
    caddy run --adapter caddyfile --config "$deploy/caddy/Caddyfile" >"$work/caddy.log" 2>&1 &
  pids+=($!)
  ;;
esac
wait_port "$proxy_port" "$proxy"

# From here on a failed condition is a failed check, not the end of the script.
set +e
failed=0
check() { # check NAME CONDITION-RESULT DETAIL
  if [ "$2" = 0 ]; then
    printf 'ok    %s\n' "$1"
  else
    printf 'FAIL  %s: %s\n' "$1" "$3"
    failed=1
  fi
}
header() { grep -i "^$1:" "$2" | head -1 | cut -d' ' -f2- | tr -d '\r'; }
initialize='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"check","version":"1"}}}'
post() { # post URL BODY [curl args...]
  local u=$1 body=$2
  shift 2
  curl -s -D "$work/h" -o "$work/b" -X POST "$u" -H 'Content-Type: application/json' \
    -H 'Accept: application/json, text/event-stream' -H 'MCP-Protocol-Version: 2025-11-25' -d "$body" "$@" || true
}

# 1. No token: 401 with the challenge pointing at this host's metadata, readable cross-origin.
post "$mcp/mcp" "$initialize" -H 'Origin: https://inspector.example'
status=$(head -1 "$work/h" | cut -d' ' -f2)
challenge=$(header WWW-Authenticate "$work/h")
want="Bearer resource_metadata=\"$mcp/.well-known/oauth-protected-resource/mcp\", scope=\"mcp\""  # the default scope, not every scope offered
[ "$status" = 401 ] && [ "$challenge" = "$want" ] && [ "$(grep -ci '^WWW-Authenticate:' "$work/h")" = 1 ] &&
  [ "$(header Access-Control-Allow-Origin "$work/h")" = "*" ]
check "no token: 401 with one challenge, resource_metadata on the MCP host" $? "status $status, challenge '$challenge', headers: $(tr '\r\n' '  ' <"$work/h")"

# 2. The protected-resource metadata and the authorization-server metadata, on the MCP host.
meta=$(curl -s "$mcp/.well-known/oauth-protected-resource/mcp")
[ "$(jq -r .resource <<<"$meta")" = "$mcp/mcp" ] && [ "$(jq -r '.authorization_servers[0]' <<<"$meta")" = "$issuer" ]
check "RFC 9728 metadata at $mcp/.well-known/oauth-protected-resource/mcp" $? "$meta"
asmeta=$(curl -s "$mcp/.well-known/oauth-authorization-server")
[ "$(jq -r .issuer <<<"$asmeta")" = "$issuer" ]
check "RFC 8414 metadata on the MCP host (2025-03-26 clients)" $? "$asmeta"

# 3. A token for the echo resource, through registration, PKCE and the code exchange.
token() { # token RESOURCE SCOPE
  local client verifier challenge code
  client=$(curl -s -X POST "$issuer/register" -H 'Content-Type: application/json' \
    -d '{"client_name":"check","redirect_uris":["http://127.0.0.1:9/cb"],"token_endpoint_auth_method":"none"}' | jq -r .client_id)
  verifier=$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
  challenge=$(printf '%s' "$verifier" | openssl dgst -binary -sha256 | base64 | tr '+/' '-_' | tr -d '=\n')
  code=$(curl -s -o /dev/null -w '%{redirect_url}' "$issuer/authorize?response_type=code&client_id=$client&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcb&code_challenge=$challenge&code_challenge_method=S256&scope=$2&resource=$(jq -rn --arg r "$1" '$r|@uri')" |
    sed -n 's/.*[?&]code=\([^&]*\).*/\1/p')
  curl -s -X POST "$issuer/token" -d grant_type=authorization_code -d "code=$code" -d "code_verifier=$verifier" \
    -d client_id="$client" -d redirect_uri=http://127.0.0.1:9/cb | jq -r .access_token
}
at=$(token "$mcp/mcp" mcp)
call='{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"authContext","arguments":{}}}'
post "$mcp/mcp" "$call" -H "Authorization: Bearer $at" -H 'X-User-Id: spoofed' -H 'X-User-Name: spoofed' -H 'X-User-Email: spoofed@evil.example'
status=$(head -1 "$work/h" | cut -d' ' -f2)
[ "$status" = 200 ] && grep -q 'Name: robot' "$work/b" && ! grep -q spoofed "$work/b" && ! grep -q '{http\.' "$work/b"
check "good token: the service sees the verified user, not the client's X-User-* headers" $? "status $status: $(head -c 600 "$work/b")"
! grep -q "$at" "$work/b"
check "the bearer token is not passed on to the service" $? "the service saw the token"

# 4. A token for another resource is refused with invalid_token.
other=$(token "$mcp/admin/mcp" mcp)
post "$mcp/mcp" "$call" -H "Authorization: Bearer $other"
status=$(head -1 "$work/h" | cut -d' ' -f2)
[ "$status" = 401 ] && header WWW-Authenticate "$work/h" | grep -q 'error="invalid_token"'
check "token of another resource: 401 invalid_token" $? "status $status, $(header WWW-Authenticate "$work/h")"

# 5. The admin resource needs the admin scope: 403 with insufficient_scope and the scope to ask.
post "$mcp/admin/mcp" "$call" -H "Authorization: Bearer $other"
status=$(head -1 "$work/h" | cut -d' ' -f2)
challenge=$(header WWW-Authenticate "$work/h")
[ "$status" = 403 ] && [ "$(grep -ci '^WWW-Authenticate:' "$work/h")" = 1 ] && grep -q 'error="insufficient_scope"' <<<"$challenge" && grep -q 'scope="admin"' <<<"$challenge" &&
  grep -q "resource_metadata=\"$mcp/.well-known/oauth-protected-resource/admin/mcp\"" <<<"$challenge"
check "missing scope: 403 insufficient_scope with scope and resource_metadata" $? "status $status, challenge '$challenge'"
admin=$(token "$mcp/admin/mcp" "mcp+admin")
post "$mcp/admin/mcp" "$call" -H "Authorization: Bearer $admin"
status=$(head -1 "$work/h" | cut -d' ' -f2)
[ "$status" = 200 ]
check "token with the admin scope: 200" $? "status $status"

# 6. A CORS preflight passes without a token and is answered by the service.
status=$(curl -s -o /dev/null -w '%{http_code}' -X OPTIONS "$mcp/mcp" -H 'Origin: https://inspector.example' \
  -H 'Access-Control-Request-Method: POST' -H 'Access-Control-Request-Headers: authorization, content-type')
[ "$status" = 204 ] || [ "$status" = 200 ]
check "CORS preflight without a token" $? "status $status"

# 7. A client cannot choose what /verify checks: not the URI (a token of /mcp used on
#    /admin/mcp), not the method (a POST posing as a CORS preflight).
post "$mcp/admin/mcp" "$call" -H "Authorization: Bearer $at" -H 'X-Forwarded-Uri: /mcp' -H 'X-Original-URI: /mcp'
status=$(head -1 "$work/h" | cut -d' ' -f2)
[ "$status" = 401 ]
check "client-sent X-Forwarded-Uri / X-Original-URI are ignored" $? "status $status"
post "$mcp/mcp" "$call" -H 'Origin: https://inspector.example' -H 'Access-Control-Request-Method: POST' \
  -H 'X-Forwarded-Method: OPTIONS' -H 'X-Original-Method: OPTIONS'
status=$(head -1 "$work/h" | cut -d' ' -f2)
[ "$status" = 401 ]
check "a POST with a client-sent X-Forwarded-Method: OPTIONS is no preflight" $? "status $status"

# 8. Malformed authorization: 400 (401 through nginx, whose auth_request knows no 400).
post "$mcp/mcp" "$call" -H "Authorization: Bearer"
status=$(head -1 "$work/h" | cut -d' ' -f2)
{ [ "$status" = 400 ] || { [ "$proxy" = nginx ] && [ "$status" = 401 ]; }; } && header WWW-Authenticate "$work/h" | grep -q invalid_request
check "malformed Authorization: invalid_request" $? "status $status"

if [ $failed != 0 ]; then
  echo "--- auth log"; tail -20 "$work/auth.log"
  echo "--- $proxy log"; tail -20 "$work/$proxy.log" "$work/nginx/error.log" 2>/dev/null || true
  exit 1
fi
echo "all checks passed behind $proxy"

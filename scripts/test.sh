#!/usr/bin/env bash
# The project's one test command. On a fresh machine it first installs what the tests need
# (redis-server, nginx and Caddy from apt, Node 22 and the pinned MCP conformance suites and
# servers and clients from npm), then runs go vet, the race-enabled Go tests (the gateway's
# end-to-end tests with the TypeScript SDK, MCP Inspector's CLI, replicas behind nginx and
# Caddy, faults and the README's commands among them), the official MCP conformance suites,
# the gateway behind real nginx and Caddy with the configurations in deploy/, deploy/'s own
# module (compose file, Dockerfile, Traefik file) and a short load smoke test.
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
echo "== deploy/ (its own module: compose-go, the Dockerfile's build)"
(cd deploy && go vet ./... && go test -count=1 ./...)
echo "== load smoke (scripts/bench/gateway-load.sh --smoke: zero errors)"
scripts/bench/gateway-load.sh --smoke

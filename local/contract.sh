#!/usr/bin/env bash
# Contract test: starts the local service on free ports, runs schemathesis with openapi.yaml and
# schemathesis.toml against it as an admin, then stops what it started (by PID).
set -euo pipefail
cd "$(dirname "$0")/.."

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
api_port=$(free_port)
log=.local/logs/contract-service.log
mkdir -p .local/logs

ORDERS_API_PORT=$api_port DYNAMODB_PORT=$(free_port) MOTO_PORT=$(free_port) target/debug/orders-local up >"$log" 2>&1 &
service=$!
trap 'kill "$service" 2>/dev/null; wait "$service" 2>/dev/null || true' EXIT

for _ in $(seq 1 120); do
  curl -sf "http://127.0.0.1:$api_port/health" >/dev/null && break
  kill -0 "$service" 2>/dev/null || { echo "the local service did not start:"; tail -20 "$log"; exit 1; }
  sleep 0.5
done

ORDERS_TOKEN=$(target/debug/orders-local token contract-admin --admin) \
  .local/venv/bin/st run openapi.yaml --url "http://127.0.0.1:$api_port" --no-shrink --generation-deterministic "$@"

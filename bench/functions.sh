#!/usr/bin/env bash
# Per-request overhead of an operation function (Ottu and DynamoDB answering
# instantly) and the whole path against moto and the sandbox, with DynamoDB
# requests per first request and per replay.
set -euo pipefail
cd "$(dirname "$0")/.."
go test -run '^$' -bench '^Benchmark(RequestOverhead|RefundAgainstMotoAndSandbox)$' -benchmem -benchtime "${BENCHTIME:-200x}" ./dev/integration/ | grep -v '^{'

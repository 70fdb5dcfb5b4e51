#!/usr/bin/env bash
# The webhook's own time per callback (the secret, DynamoDB and Step
# Functions answering instantly; the contract wants well under 100 ms) and,
# against moto, DynamoDB requests per callback: first delivery and
# duplicate (one conditional PutItem, one conditional UpdateItem, one Query
# for waiting workflows per id the callback names).
set -euo pipefail
cd "$(dirname "$0")/.."
go test -run '^$' -bench 'Webhook' -benchmem -benchtime "${BENCHTIME:-200x}" ./dev/integration/ | grep -v '^{'

#!/usr/bin/env sh
# Benchmarks the Ottu client (per-call overhead against the in-process
# sandbox) and callback signing, and prints the results.
set -eu
cd "$(dirname "$0")/.."
exec go test -run '^$' -bench . -benchmem ./shared/ottu/

#!/usr/bin/env bash
# Builds every function's bootstrap as SAM does (linux/arm64, CGO off,
# lambda.norpc, stripped) and checks each stays under the 10 MB target.
set -euo pipefail
cd "$(dirname "$0")/.."
limit=$((10 * 1000 * 1000))
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
status=0
printf '%-20s %12s\n' function bytes
for dir in functions/*/; do
  name=$(basename "$dir")
  CGO_ENABLED=0 GOOS=linux GOARCH=arm64 go build -tags lambda.norpc -trimpath -ldflags "-s -w" -o "$out/$name" "./$dir"
  size=$(stat -c %s "$out/$name")
  flag=""
  if [ "$size" -ge "$limit" ]; then flag="  over the 10 MB target"; status=1; fi
  printf '%-20s %12d%s\n' "$name" "$size" "$flag"
done
exit $status

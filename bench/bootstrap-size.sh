#!/usr/bin/env bash
# Builds every function's bootstrap as SAM does (make's LAMBDA_BUILD:
# linux/arm64, CGO off, lambda.norpc and nethttpomithttp2, stripped) and
# checks each stays under the 8 MB target.
set -euo pipefail
cd "$(dirname "$0")/.."
limit=$((8 * 1000 * 1000))
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
status=0
printf '%-20s %12s\n' function bytes
for dir in functions/*/; do
  name=$(basename "$dir")
  CGO_ENABLED=0 GOOS=linux GOARCH=arm64 go build -tags lambda.norpc,nethttpomithttp2 -trimpath -ldflags "-s -w" -o "$out/$name" "./$dir"
  size=$(stat -c %s "$out/$name")
  flag=""
  if [ "$size" -ge "$limit" ]; then flag="  over the 8 MB target"; status=1; fi
  printf '%-20s %12d%s\n' "$name" "$size" "$flag"
done
exit $status

#!/usr/bin/env bash
# Regenerates crds/ from scripts/crds/schema.ts, then imports/ from crds/ with `cdk8s import` (offline: local files).
set -euo pipefail
cd "$(dirname "$0")/.."
npx ts-node --transpile-only scripts/crds/generate.ts
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# one multi-document file, so that the five kinds of the one group land in one module
for f in crds/*.yaml; do cat "$f"; echo '---'; done > "$tmp/kubeopencode.yaml"
rm -rf imports
npx cdk8s import "$tmp/kubeopencode.yaml" --language typescript --output imports --no-class-prefix >/dev/null
ls imports

#!/usr/bin/env bash
# Regenerate schemas/k8s-definitions.json: the OpenAPI v2 definitions of the Kubernetes built-in types
# (k8s.io/api as packaged by Debian sid, see scripts/apiserver/sid-versions.txt), generated with
# openapi-gen and dumped by our scripts/openapi/dump program. The JSON is committed as data and read by
# test/util/k8s-validate.ts; this script is how it is made. Needs the toolchain from
# scripts/apiserver/provision.sh (run here if needed; root on Debian for the first run).
#
# Usage: generate.sh [--check]   --check: fail if the committed file differs from a fresh generation
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
OUT_FILE="$REPO/schemas/k8s-definitions.json"

check=0
case "${1:-}" in
  "") ;;
  --check) check=1 ;;
  *) echo "generate.sh: unknown argument '$1' (use --check or nothing)" >&2; exit 2 ;;
esac

paths="$(bash "$REPO/scripts/apiserver/provision.sh")"
field() { node -e 'const p = JSON.parse(process.argv[1]); const v = process.argv[2].split(".").reduce((o, k) => o?.[k], p); if (v === undefined) process.exit(1); console.log(v)' "$paths" "$1"; }
dump="$(field oaDump)"
source_text="k8s.io/api $(field 'versions.golang-k8s-api-dev') and k8s.io/apiextensions-apiserver $(field 'versions.golang-k8s-apiextensions-apiserver-dev') (Debian sid), openapi-gen from kube-openapi $(field 'versions.kube-openapi')"

tmp="$(mktemp)"
trap 'rm -f "$tmp"' EXIT
"$dump" --source "$source_text" >"$tmp"
# sanity: refuse to write something that lost the types we validate against
node -e '
  const d = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).definitions;
  for (const n of ["io.k8s.api.apps.v1.Deployment", "io.k8s.api.core.v1.Pod", "io.k8s.api.batch.v1.CronJob",
                   "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition"]) {
    if (!d[n] || !d[n]["x-kubernetes-group-version-kind"]) { console.error("generate.sh: " + n + " missing or without GVK"); process.exit(1); }
  }
  console.error("generate.sh: " + Object.keys(d).length + " definitions");
' "$tmp"

if [[ $check -eq 1 ]]; then
  if cmp -s "$tmp" "$OUT_FILE"; then echo "generate.sh: $OUT_FILE is up to date"; exit 0; fi
  echo "generate.sh: $OUT_FILE differs from a fresh generation; run bash scripts/openapi/generate.sh" >&2; exit 1
fi
mkdir -p "$(dirname "$OUT_FILE")"
chmod 644 "$tmp"
mv "$tmp" "$OUT_FILE"
trap - EXIT
echo "generate.sh: wrote $OUT_FILE ($(wc -c <"$OUT_FILE") bytes)"

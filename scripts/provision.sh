#!/usr/bin/env bash
# Installs and builds everything the test suite needs that `npm ci` does not: Debian packages for the fixtures
# (git, openssl, curl, busybox, ripgrep), the real Kubernetes API server tier (etcd + our test-apiserver, built from
# Debian's Kubernetes Go sources) and the real node tier (podman + runc, images built locally: scripts/node/).
# Runs as the first step of `npm test`; everything is cached outside the clone, so a second run takes seconds.
#
# KUBEOPENCODE_USE_EXISTING_CLUSTER=1 with KUBECONFIG set skips the API server build (the suite then runs against that
# cluster; see README "Testing against a real cluster").
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)

bash scripts/fixtures/provision.sh          # git, openssl, curl, busybox for the init-script fixtures
bash scripts/fixtures/opencode-provision.sh # ripgrep, and the opencode binary of the opencode-ai package

if [ "${KUBEOPENCODE_USE_EXISTING_CLUSTER:-}" = 1 ] && [ -n "${KUBECONFIG:-}" ]; then
  echo "provision: using the existing cluster from KUBECONFIG=$KUBECONFIG; not building the test API server"
else
  # a build already in the cache needs no root; only building does
  bash scripts/apiserver/provision.sh --print-paths >/dev/null 2>&1 || bash scripts/apiserver/provision.sh >/dev/null
fi
# the node tier (test/node): podman + runc and the images the manifests name, built locally. When this host cannot
# run it, provisioning goes on and the tier's tests fail with the one line saying why (never a silent skip).
if [ "${KUBEOPENCODE_SKIP_NODE_TIER:-}" = 1 ]; then
  echo "provision: KUBEOPENCODE_SKIP_NODE_TIER=1: not provisioning the node tier (its tests are skipped and say so)"
elif bash scripts/node/provision.sh --check 2>/dev/null; then
  bash scripts/node/provision.sh >/dev/null
else
  bash scripts/node/provision.sh --check || true
fi
echo "provision: ready in $(( $(date +%s) - start ))s"

#!/usr/bin/env bash
# Provision the toolchain for integration tests against a real Kubernetes API server:
#   etcd (Debian sid's etcd-server) + our test-apiserver (scripts/apiserver/testapiserver, built
#   with Debian sid's Go toolchain and Kubernetes Go sources) + oa-dump (scripts/openapi/dump).
#
# Nothing of this exists as a binary package we can fetch, so we bootstrap a Debian sid rootfs with
# mmdebstrap (only Debian's archive is reachable), check the package versions we rely on, and build
# on the host in GOPATH mode (Debian's -dev packages are GOPATH trees; no module proxy needed).
#
# Everything is cached outside the clone:
#   $CACHE/rootfs-<rootfs key>   sid rootfs (~2.8 GB), keyed by what mmdebstrap was asked for
#   $CACHE/gocache-<rootfs key>  Go build cache (makes rebuilds after a source edit take seconds)
#   $CACHE/<key>/                bin/{etcd,test-apiserver,oa-dump}, paths.json, paths.env
# where CACHE=${KUBEOPENCODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cdk8s-kubeopencode}/apiserver and
# <key> hashes the pinned package versions, the openapi package list and our Go sources.
# A second run with the same inputs only hashes a few files and exits.
#
# Usage: provision.sh                 provision if needed, then print paths.json
#        provision.sh --print-paths   print paths.json if provisioned; exit 3 (never builds) otherwise
#        provision.sh --rebuild       rebuild the binaries (reuses the rootfs)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$REPO/scripts/apiserver"
CACHE="${KUBEOPENCODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cdk8s-kubeopencode}/apiserver"

SUITE=sid
MIRROR="http://deb.debian.org/debian"
INCLUDE="golang-go,golang-k8s-apiextensions-apiserver-dev,etcd-server,kube-openapi,ca-certificates"
# Bump when the bootstrap or build recipe below changes in a way the hashed inputs do not show.
ROOTFS_RECIPE=1
BUILD_RECIPE=1

die() { echo "provision.sh: $*" >&2; exit 1; }

mode=provision
case "${1:-}" in
  "") ;;
  --print-paths) mode=print ;;
  --rebuild) mode=rebuild ;;
  -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
  *) die "unknown argument '$1' (use --print-paths, --rebuild or nothing)" ;;
esac

# The pins can be overridden (only to exercise the version check in tests).
PINS="${KUBEOPENCODE_SID_VERSIONS_FILE:-$HERE/sid-versions.txt}"

sha() { sha256sum | cut -c1-16; }
ROOTFS_KEY="$(printf 'suite=%s\nmirror=%s\ninclude=%s\nrecipe=%s\n' "$SUITE" "$MIRROR" "$INCLUDE" "$ROOTFS_RECIPE" | sha)"
KEY="$(
  cd "$REPO"
  {
    printf 'rootfs=%s\nbuild=%s\npins=%s\n' "$ROOTFS_KEY" "$BUILD_RECIPE" "$(sha256sum <"$PINS")"
    sha256sum scripts/apiserver/openapi-packages.txt scripts/apiserver/testapiserver/*.go scripts/openapi/dump/*.go
  } | sha
)"
ROOTFS="$CACHE/rootfs-$ROOTFS_KEY"
GOCACHE_DIR="$CACHE/gocache-$ROOTFS_KEY"
OUT="$CACHE/$KEY"

provisioned() { [[ -f "$OUT/paths.json" && -x "$OUT/bin/etcd" && -x "$OUT/bin/test-apiserver" && -x "$OUT/bin/oa-dump" ]]; }

if [[ $mode == print ]]; then
  provisioned || { echo "provision.sh: test-apiserver not provisioned for this checkout (key $KEY): run 'bash scripts/apiserver/provision.sh'" >&2; exit 3; }
  cat "$OUT/paths.json"; exit 0
fi

# Provisioning needs root on Debian with apt (--print-paths above does not: anyone may use a build).
[[ $(id -u) -eq 0 ]] || die "must run as root to build the test API server once (mmdebstrap --mode=root and apt-get need it): run 'sudo bash scripts/apiserver/provision.sh', or test against an existing cluster with KUBECONFIG=<file> KUBEOPENCODE_USE_EXISTING_CLUSTER=1 npm test"
[[ -f /etc/debian_version ]] || die "needs a Debian host to build the test API server (apt-get and Debian's archive): run it on Debian, or test against an existing cluster with KUBECONFIG=<file> KUBEOPENCODE_USE_EXISTING_CLUSTER=1 npm test"
command -v apt-get >/dev/null || die "apt-get not found: needs a Debian host with apt"
command -v flock >/dev/null || die "flock not found (util-linux)"

if [[ $mode == provision ]] && provisioned; then
  cat "$OUT/paths.json"; exit 0
fi

mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9   # concurrent callers (CI stages, parallel shells) wait for one provisioner
if [[ $mode == provision ]] && provisioned; then cat "$OUT/paths.json"; exit 0; fi

t0=$SECONDS
log() { echo "provision.sh: [$((SECONDS - t0))s] $*" >&2; }

# ---- 1. sid rootfs
if [[ ! -f "$ROOTFS/.complete" ]]; then
  if ! command -v mmdebstrap >/dev/null; then
    log "installing mmdebstrap"
    apt-get update -qq >&2 || die "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mmdebstrap >&2 || die "apt-get install mmdebstrap failed"
  fi
  [[ -f /usr/share/keyrings/debian-archive-keyring.gpg ]] || die "missing /usr/share/keyrings/debian-archive-keyring.gpg (package debian-archive-keyring)"
  rm -rf "$ROOTFS.partial" "$ROOTFS"
  log "bootstrapping Debian $SUITE into $ROOTFS (about 1-2 min, ~2.8 GB)"
  # The mirror's sid Release file can be past its Valid-Until (a frozen snapshot), hence the aptopt.
  mmdebstrap --variant=minbase --mode=root --quiet \
    --aptopt='Acquire::Check-Valid-Until "false"' --aptopt='Acquire::Retries "3"' \
    --include="$INCLUDE" \
    "$SUITE" "$ROOTFS.partial" \
    "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $MIRROR $SUITE main" >&2 \
    || { rm -rf "$ROOTFS.partial"; die "mmdebstrap of Debian $SUITE failed (see above)"; }
  touch "$ROOTFS.partial/.complete"
  mv "$ROOTFS.partial" "$ROOTFS"
  log "rootfs ready"
fi

# ---- 2. exact versions of what we build against
installed="$(dpkg-query --admindir="$ROOTFS/var/lib/dpkg" -W -f '${Package} ${Version}\n')"
bad=0
while read -r pkg want _; do
  [[ -z $pkg || $pkg == \#* ]] && continue
  have="$(awk -v p="$pkg" '$1 == p { print $2 }' <<<"$installed")"
  # shellcheck disable=SC2053  # $want is a glob on purpose
  if [[ -z $have ]]; then
    echo "provision.sh: VERSION CHECK FAILED: sid package $pkg is not installed in $ROOTFS (expected $want)" >&2; bad=1
  elif [[ $have != $want ]]; then
    echo "provision.sh: VERSION CHECK FAILED: sid package $pkg is $have, expected $want (pinned in ${PINS#"$REPO"/})" >&2; bad=1
  fi
done <"$PINS"
[[ $bad -eq 0 ]] || die "Debian sid moved away from the pinned versions; re-test and update scripts/apiserver/sid-versions.txt, or delete $ROOTFS to re-bootstrap"

# ---- 3. build (into a temp dir, renamed when complete)
rm -rf "$OUT.partial"
B="$OUT.partial"
SRC="$B/gopath/src/kubeopencode.local"   # our GOPATH packages: openapi (generated), testapiserver, oadump
mkdir -p "$B/bin" "$SRC/openapi" "$SRC/testapiserver" "$SRC/oadump" "$GOCACHE_DIR"
cp "$HERE"/testapiserver/*.go "$SRC/testapiserver/"
cp "$REPO"/scripts/openapi/dump/*.go "$SRC/oadump/"

export PATH="$ROOTFS/usr/lib/go-1.27/bin:/usr/bin:/bin" GOROOT="$ROOTFS/usr/lib/go-1.27" \
  GO111MODULE=off GOPATH="$B/gopath:$ROOTFS/usr/share/gocode" CGO_ENABLED=0 GOTOOLCHAIN=local \
  GOFLAGS='' GOENV=off GOTELEMETRY=off GOCACHE="$GOCACHE_DIR"

mapfile -t PKGS < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$HERE/openapi-packages.txt")
: >"$B/hdr.txt"  # openapi-gen insists on a license header file; ours is empty
log "openapi-gen (${#PKGS[@]} packages)"
(cd "$SRC/openapi" && "$ROOTFS/usr/bin/openapi-gen" --go-header-file "$B/hdr.txt" \
  --output-dir . --output-pkg kubeopencode.local/openapi --output-file zz_generated.openapi.go \
  -r /dev/null "${PKGS[@]}") >&2 || die "openapi-gen failed"

log "building oa-dump"
go build -trimpath -ldflags='-s -w' -o "$B/bin/oa-dump" kubeopencode.local/oadump >&2 || die "go build of scripts/openapi/dump failed"
log "building test-apiserver (about 2-3 min cold)"
go build -trimpath -ldflags='-s -w' -o "$B/bin/test-apiserver" kubeopencode.local/testapiserver >&2 || die "go build of scripts/apiserver/testapiserver failed"
cp "$ROOTFS/usr/bin/etcd" "$B/bin/etcd"
"$B/bin/etcd" --version >/dev/null || die "the sid etcd binary does not run on this host"

# Versions actually built against, recorded for debugging.
awk 'NR==FNR { if ($1 !~ /^#/ && NF) want[$1]=1; next } ($1 in want)' "$PINS" - <<<"$installed" >"$B/versions.txt"
rm -rf "$SRC/testapiserver" "$SRC/oadump"

json_versions="$(awk '{ printf "%s\"%s\": \"%s\"", (NR>1 ? ", " : ""), $1, $2 }' "$B/versions.txt")"
cat >"$B/paths.json" <<EOF
{
  "key": "$KEY",
  "dir": "$OUT",
  "etcd": "$OUT/bin/etcd",
  "testApiserver": "$OUT/bin/test-apiserver",
  "oaDump": "$OUT/bin/oa-dump",
  "rootfs": "$ROOTFS",
  "versions": { $json_versions }
}
EOF
cat >"$B/paths.env" <<EOF
KUBEOPENCODE_APISERVER_KEY=$KEY
KUBEOPENCODE_ETCD_BIN=$OUT/bin/etcd
KUBEOPENCODE_TEST_APISERVER_BIN=$OUT/bin/test-apiserver
KUBEOPENCODE_OA_DUMP_BIN=$OUT/bin/oa-dump
EOF
rm -rf "$OUT"
mv "$B" "$OUT"
# Keep the three most recent builds (other checkouts/branches may use them); each is ~150 MB.
find "$CACHE" -mindepth 1 -maxdepth 1 -type d -regextype posix-extended -regex '.*/[0-9a-f]{16}' -printf '%T@ %p\n' \
  | sort -rn | tail -n +4 | cut -d' ' -f2- | xargs -r rm -rf
log "done: $OUT"
cat "$OUT/paths.json"

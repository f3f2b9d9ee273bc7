#!/usr/bin/env bash
# Provisions the "real node" test tier (test/node/): Debian's podman with runc as the OCI runtime, and the images
# the synthesized pods name, built locally (no registry is reachable from here):
#   1. apt: podman, runc, catatonit (crun is NOT used: it refuses this machine's hybrid cgroup v1 + unified layout);
#   2. a project-owned containers.conf and storage.conf (CONTAINERS_CONF / CONTAINERS_STORAGE_CONF point at them):
#      storage, run and tmp dirs under the cache, runc, cgroupfs, no default ulimits (the sandbox forbids raising
#      RLIMIT_NPROC). Nothing under /etc is edited;
#   3. a Debian bookworm base image (mmdebstrap rootfs, `podman import`ed), plus a node base (that + the host's
#      Node 20) for our controller image;
#   4. every image under test/node/images/<name>/Containerfile, and the controller image from the root Dockerfile,
#      tagged with the names in test/node/images/<name>/tags and the default images of src/api (IMAGES).
#
# Everything lives in ${KUBEOPENCODE_CACHE:-~/.cache/cdk8s-kubeopencode}/node/. Each image carries a label with the
# hash of its inputs (its Containerfile dir, the base image id, the opencode binary…): a changed input rebuilds that
# image, an unchanged one is only checked, so a warm run takes a few seconds.
#
# Usage: provision.sh               provision what is missing, then print the env file's path
#        provision.sh --print-env   print the env file's path if provisioned; exit 3 (never installs) otherwise
#        provision.sh --check       exit 0 when the host can run the tier, else one line on stderr saying why
# The env file (node.env) holds CONTAINERS_CONF / CONTAINERS_STORAGE_CONF / KUBEOPENCODE_NODE_* for the harness.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE="${KUBEOPENCODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cdk8s-kubeopencode}/node"
IMAGES_DIR="$REPO/test/node/images"
PACKAGES="podman runc catatonit iproute2 mmdebstrap"
BASE_SUITE=bookworm
BASE_MIRROR="http://deb.debian.org/debian"
# minbase + what the stand-in images need between them (one rootfs keeps the cold build to one mmdebstrap run)
BASE_INCLUDE="ca-certificates,git,curl,ripgrep"
BASE_TAG="localhost/kubeopencode-node/debian:$BASE_SUITE"
NODE_BASE_TAG="localhost/kubeopencode-node/node:20-$BASE_SUITE"
# Bump when a recipe below changes in a way the hashed inputs do not show.
RECIPE=1
LABEL=io.kubeopencode.test.inputs

log() { printf 'provision(node): %s\n' "$*" >&2; }
die() { printf 'provision(node): %s\n' "$*" >&2; exit 1; }
sha() { sha256sum | cut -c1-16; }

mode=provision
case "${1:-}" in
  "") ;;
  --print-env) mode=print ;;
  --check) mode=check ;;
  -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
  *) die "unknown argument '$1' (use --print-env, --check or nothing)" ;;
esac

ENV_FILE="$CACHE/node.env"
STAMP="$CACHE/ready"
# the content of what the controller image is built from (file contents, not git state: a commit of the same
# content must not rebuild the image)
controller_inputs_hash() {
  (cd "$REPO" && find Dockerfile package.json package-lock.json tsconfig.json src bin assets crds imports -type f -print0 \
    | sort -z | xargs -0 sha256sum | sha)
}

# the key of a provisioned state: the image recipes in the tree and the host's inputs
state_key() {
  {
    printf 'recipe=%s\n' "$RECIPE"
    (cd "$REPO" && find test/node/images Dockerfile scripts/node -type f -print0 | sort -z | xargs -0 sha256sum)
    controller_inputs_hash
    sed -n "s/^export const OPENCODE_VERSION = '\([^']*\)';$/\1/p; /^export const IMAGES/,/^}/p" "$REPO/src/api/names.ts"
    node --version
  } | sha
}

# --- can this host run the tier at all? --------------------------------------------------------------------------
why_not() {
  [[ $(id -u) -eq 0 ]] || { echo "the node tier runs containers with podman as root (network namespaces, runc); run npm test as root, or set KUBEOPENCODE_SKIP_NODE_TIER=1 to skip it"; return; }
  [[ $(uname -s) == Linux ]] || { echo "the node tier needs Linux (podman + runc); set KUBEOPENCODE_SKIP_NODE_TIER=1 to skip it"; return; }
  if ! command -v podman >/dev/null || ! command -v runc >/dev/null || ! [[ -x /usr/bin/catatonit ]]; then
    if ! command -v apt-get >/dev/null || ! [[ -f /etc/debian_version ]]; then
      echo "podman, runc or catatonit is missing and this is not Debian (no apt-get) to install them; install them, or set KUBEOPENCODE_SKIP_NODE_TIER=1 to skip the node tier"; return
    fi
  fi
}

if [[ $mode == check ]]; then
  r=$(why_not); [[ -z $r ]] || { echo "provision(node): $r" >&2; exit 1; }; exit 0
fi
if [[ $mode == print ]]; then
  if [[ -f $STAMP && $(cat "$STAMP") == "$(state_key)" && -f $ENV_FILE ]]; then echo "$ENV_FILE"; exit 0; fi
  echo "provision(node): the node tier is not provisioned for this checkout: run 'bash scripts/node/provision.sh'" >&2; exit 3
fi

r=$(why_not); [[ -z $r ]] || die "$r"
start=$(date +%s%N)
ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9   # parallel provisioners (two test runs) wait for one

# --- 1. packages -------------------------------------------------------------------------------------------------
missing=""
for p in $PACKAGES; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing="$missing $p"; done
if [[ -n $missing ]]; then
  t=$(date +%s%N)
  log "installing$missing"
  export DEBIAN_FRONTEND=noninteractive
  # runc named explicitly satisfies podman's "crun | runc", so crun is not pulled in
  # shellcheck disable=SC2086
  if ! apt-get install -y --no-install-recommends $missing >"$CACHE/apt.log" 2>&1; then
    apt-get update -qq >>"$CACHE/apt.log" 2>&1
    apt-get install -y --no-install-recommends $missing >>"$CACHE/apt.log" 2>&1 || die "apt-get install$missing failed; see $CACHE/apt.log"
  fi
  log "packages installed in $(ms "$t") ms"
fi

# --- 2. configuration --------------------------------------------------------------------------------------------
mkdir -p "$CACHE/etc" "$CACHE/storage" "$CACHE/run" "$CACHE/tmp" "$CACHE/networks" "$CACHE/build"
cat >"$CACHE/etc/containers.conf" <<EOF
# Generated by scripts/node/provision.sh for the node test tier; not used by anything else.
[containers]
# the sandbox forbids raising RLIMIT_NPROC, which podman's default ulimits would do
default_ulimits = []
# pods get their network from the harness (a loopback-only namespace); nothing else is configured
netns = "none"
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
tmp_dir = "$CACHE/tmp"
[network]
network_config_dir = "$CACHE/networks"
EOF
cat >"$CACHE/etc/storage.conf" <<EOF
# Generated by scripts/node/provision.sh for the node test tier; not used by anything else.
[storage]
driver = "overlay"
graphroot = "$CACHE/storage"
runroot = "$CACHE/run"
EOF
export CONTAINERS_CONF="$CACHE/etc/containers.conf" CONTAINERS_STORAGE_CONF="$CACHE/etc/storage.conf"
# a registries.conf of our own: no search registries, so a short name never goes to the network
cat >"$CACHE/etc/registries.conf" <<EOF
unqualified-search-registries = []
EOF
export CONTAINERS_REGISTRIES_CONF="$CACHE/etc/registries.conf"
# warm: the same inputs as the last complete run and every tag still there → nothing to do
key_now=$(state_key)
if [[ -f $STAMP && $(cat "$STAMP") == "$key_now" && -f $ENV_FILE ]]; then
  have=$(podman images --format '{{.Repository}}:{{.Tag}}' 2>/dev/null | sort -u)
  lacking=$(comm -23 <(sed -n 's/^KUBEOPENCODE_NODE_TAGS=//p' "$ENV_FILE" | tr ' ' '\n' | grep . | sort -u) <(echo "$have"))
  if [[ -z $lacking ]]; then
    log "ready (warm, $(ms "$start") ms)"
    echo "$ENV_FILE"; exit 0
  fi
fi
podman info --format '{{.Host.OCIRuntime.Name}} {{.Store.GraphDriverName}}' >"$CACHE/info.txt" 2>"$CACHE/info.err" \
  || die "podman does not start with the project's config ($(tail -n1 "$CACHE/info.err")); see $CACHE/info.err"

label_of() { podman image inspect --format "{{index .Config.Labels \"$LABEL\"}}" "$1" 2>/dev/null || true; }
image_id() { podman image inspect --format '{{.Id}}' "$1"; }

# --- 3. base images ----------------------------------------------------------------------------------------------
base_key="$(printf 'suite=%s\nmirror=%s\ninclude=%s\nrecipe=%s\n' "$BASE_SUITE" "$BASE_MIRROR" "$BASE_INCLUDE" "$RECIPE" | sha)"
if [[ $(label_of "$BASE_TAG") != "$base_key" ]]; then
  t=$(date +%s%N)
  log "bootstrapping the Debian $BASE_SUITE base image (mmdebstrap)"
  tarball="$CACHE/build/base-$base_key.tar"
  mmdebstrap --variant=minbase --include="$BASE_INCLUDE" --aptopt='Acquire::Retries "3"' \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin' \
    "$BASE_SUITE" "$tarball" "$BASE_MIRROR" >"$CACHE/build/mmdebstrap.log" 2>&1 \
    || die "mmdebstrap failed; see $CACHE/build/mmdebstrap.log"
  podman import --change "LABEL $LABEL=$base_key" --change 'CMD ["/bin/bash"]' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' "$tarball" "$BASE_TAG" >/dev/null
  rm -f "$tarball"
  log "base image $BASE_TAG in $(ms "$t") ms"
fi

# the node base: the Debian base + this host's Node 20 (node and npm), in place of docker.io/library/node:20-bookworm-slim
node_bin=$(command -v node); npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
node_key="$(printf 'base=%s\nnode=%s\nnpm=%s\nrecipe=%s\n' "$(image_id "$BASE_TAG")" "$(node --version)" "$(npm --version)" "$RECIPE" | sha)"
if [[ $(label_of "$NODE_BASE_TAG") != "$node_key" ]]; then
  t=$(date +%s%N)
  ctx="$CACHE/build/node-base"; rm -rf "$ctx"; mkdir -p "$ctx"
  cp "$node_bin" "$ctx/node"; cp -r "$npm_dir" "$ctx/npm"
  cat >"$ctx/Containerfile" <<EOF
FROM $BASE_TAG
COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx && node --version && npm --version
EOF
  podman build --network none --label "$LABEL=$node_key" -t "$NODE_BASE_TAG" "$ctx" >"$CACHE/build/node-base.log" 2>&1 \
    || die "building the node base failed; see $CACHE/build/node-base.log"
  rm -rf "$ctx"
  log "node base image $NODE_BASE_TAG in $(ms "$t") ms"
fi

# --- 4. the images the manifests name ----------------------------------------------------------------------------
# default images of the constructs (src/api IMAGES), one per line: "<key> <image>"
defaults=$(cd "$REPO" && node -r ts-node/register/transpile-only -e \
  "const { IMAGES } = require('./src/api/names'); for (const [k, v] of Object.entries(IMAGES)) console.log(k + ' ' + v)")
opencode_bin=$(bash "$REPO/scripts/fixtures/opencode-provision.sh" >/dev/null 2>&1; \
  cd "$REPO" && node -r ts-node/register/transpile-only -e "console.log(require('./test/fixtures/opencode').OPENCODE_BIN)")
[[ -x $opencode_bin ]] || die "the opencode binary is missing ($opencode_bin); run bash scripts/fixtures/opencode-provision.sh"
opencode_version=$("$opencode_bin" --version)

# the stand-in a default image maps to, by its repository's last path component
standin_of() {
  case "${1%%:*}" in
    */kubeopencode-agent-opencode) echo agent-opencode ;;
    */kubeopencode-agent-devbox) echo agent-devbox ;;
    */kubeopencode-agent-attach) echo agent-attach ;;
    */alpine/git) echo alpine-git ;;
    */curlimages/curl) echo curl ;;
    */controller | */kubeopencode) echo controller ;;
    *) echo "" ;;
  esac
}
tags_of() { # image dir name → every tag it gets
  { [[ -f $IMAGES_DIR/$1/tags ]] && grep -v '^\s*#' "$IMAGES_DIR/$1/tags" | grep -v '^\s*$'
    while read -r _ img; do if [[ $(standin_of "$img") == "$1" ]]; then echo "$img"; fi; done <<<"$defaults"
  } | sort -u || true
}

build_image() { # name context containerfile inputs-key extra-args...
  local name=$1 ctx=$2 file=$3 key=$4; shift 4
  local tags; tags=$(tags_of "$name")
  [[ -n $tags ]] || die "image $name has no tags (test/node/images/$name/tags)"
  local first; first=$(head -n1 <<<"$tags")
  if [[ $(label_of "$first") != "$key" ]]; then
    local t; t=$(date +%s%N)
    podman build --label "$LABEL=$key" -f "$file" -t "localhost/kubeopencode-node/$name:build" "$@" "$ctx" >"$CACHE/build/$name.log" 2>&1 \
      || die "building image $name failed; see $CACHE/build/$name.log"
    log "image $name in $(ms "$t") ms"
  else
    podman tag "$first" "localhost/kubeopencode-node/$name:build"
  fi
  while read -r tag; do
    [[ $(podman image inspect --format '{{.Id}}' "$tag" 2>/dev/null) == "$(image_id "localhost/kubeopencode-node/$name:build")" ]] \
      || podman tag "localhost/kubeopencode-node/$name:build" "$tag"
  done <<<"$tags"
}

dir_key() { (cd "$1" && find . -type f -print0 | sort -z | xargs -0 sha256sum) | sha; }
base_id=$(image_id "$BASE_TAG")
for dir in "$IMAGES_DIR"/*/; do
  [[ -f $dir/Containerfile ]] || continue
  name=$(basename "$dir")
  ctx="$CACHE/build/ctx-$name"; rm -rf "$ctx"; mkdir -p "$ctx"; cp -r "$dir". "$ctx/"
  extra=""
  if grep -q 'COPY opencode ' "$dir/Containerfile"; then
    cp "$opencode_bin" "$ctx/opencode"; extra="opencode=$opencode_version"
  fi
  key=$(printf 'dir=%s\nbase=%s\n%s\nrecipe=%s\n' "$(dir_key "$dir")" "$base_id" "$extra" "$RECIPE" | sha)
  build_image "$name" "$ctx" "$ctx/Containerfile" "$key" --network none --build-arg "BASE=$BASE_TAG" \
    --build-arg "OPENCODE_VERSION=$opencode_version"
  rm -rf "$ctx"
done

# our controller image, from the root Dockerfile with the local node base. The build stage's `npm ci` gets the
# host's npm cache read-only and runs offline (no registry access from the build); git for the final stage's
# `apt-get install git ca-certificates` is already in the base, so that step runs with the apt lists we ship empty:
# we give that step the host network only for Debian's archive (deb.debian.org), the one network use of the tier.
npm_cache=$(npm config get cache)
ctrl_key=$(printf 'tree=%s\nbase=%s\nrecipe=%s\n' \
  "$(controller_inputs_hash)" \
  "$(image_id "$NODE_BASE_TAG")" "$RECIPE" | sha)
ctrl_ctx="$CACHE/build/ctx-controller"
rm -rf "$ctrl_ctx"; mkdir -p "$ctrl_ctx"
(cd "$REPO" && cp -r Dockerfile package.json package-lock.json tsconfig.json src bin assets crds imports "$ctrl_ctx/")
build_image controller "$ctrl_ctx" "$ctrl_ctx/Dockerfile" "$ctrl_key" --build-arg "BASE=$NODE_BASE_TAG" \
  --build-arg npm_config_offline=true --volume "$npm_cache:/root/.npm" --network host
rm -rf "$ctrl_ctx"
# the build stage's layers stay (no prune): the next build reuses its `npm ci` layer while the lock file is unchanged
all_tags=$(for d in "$IMAGES_DIR"/*/ controller; do tags_of "$(basename "$d")"; done | sort -u | tr '\n' ' ')

# --- 5. the env file the harness reads ---------------------------------------------------------------------------
cat >"$ENV_FILE" <<EOF
CONTAINERS_CONF=$CONTAINERS_CONF
CONTAINERS_STORAGE_CONF=$CONTAINERS_STORAGE_CONF
CONTAINERS_REGISTRIES_CONF=$CONTAINERS_REGISTRIES_CONF
KUBEOPENCODE_NODE_CACHE=$CACHE
KUBEOPENCODE_NODE_BASE=$BASE_TAG
KUBEOPENCODE_NODE_TAGS=$all_tags
EOF
echo "$key_now" >"$STAMP"
log "ready in $(ms "$start") ms ($(cat "$CACHE/info.txt"))"
echo "$ENV_FILE"

#!/bin/sh
# git-sync: keep a symlink pointing at an up-to-date checkout of a Git ref (HotReload sidecar, and with
# GIT_SYNC_ONE_TIME=true its init container; image alpine/git). Design of git-sync v4: a bare repo in
# GIT_SYNC_ROOT, one worktree per synced commit in GIT_SYNC_ROOT/.worktrees/<hash>, and an atomic
# symlink flip (new temporary link renamed over the old one with `mv -T`, i.e. rename(2)), so a reader
# going through the link always sees one complete tree. The old worktree is removed after the flip.
# Emitted as `sh -c` text with common.sh prepended (src/pod/scripts.ts: gitSyncScript()).
#
# Environment (plus the common ones in common.sh: CONTEXT_NAME, CUSTOM_CA_CERT_PATH, proxies, RETRY_*):
#   GIT_REPO                required; http(s) URL of the repository
#   GIT_SYNC_ROOT           required; absolute directory holding the bare repo (.git) and .worktrees/
#   GIT_SYNC_LINK           required; absolute path of the symlink consumers use. Inside GIT_SYNC_ROOT
#                           its target is relative (.worktrees/<hash>), so the volume may be mounted
#                           anywhere; elsewhere it is the absolute worktree path, so consumers must
#                           mount GIT_SYNC_ROOT at the same path. A leftover empty directory at this
#                           path is replaced; anything else that is not a symlink is an error.
#   GIT_REF                 branch, tag, refs/... name or full commit SHA (default HEAD)
#   GIT_DEPTH               history depth (default 1; 0 = full history)
#   GIT_RECURSE_SUBMODULES  "true" to check out submodules recursively in each worktree (default false)
#   GIT_CREDENTIALS_DIR     optional directory with `username` (optional, default "git") and `password`,
#                           read by a credential helper at use time (see common.sh)
#   GIT_SYNC_INTERVAL       seconds between checks of the remote (default 300; fractions allowed)
#   GIT_SYNC_ONE_TIME       "true": sync once (with RETRY_ATTEMPTS/RETRY_DELAY) and exit (default false)
#   GIT_SYNC_MAX_FAILURES   loop mode: exit 1 after this many consecutive failed syncs (default -1 =
#                           never; failures are logged and retried at the next interval)
#
# Each check runs `git ls-remote` and fetches only when the remote hash differs from the hash the link
# points at. SIGTERM ends the loop (exit 143) without waiting for the interval.

KOC_NAME=git-sync
set -u
koc_traps

[ -n "${GIT_REPO:-}" ] || die "GIT_REPO is required"
[ -n "${GIT_SYNC_ROOT:-}" ] || die "GIT_SYNC_ROOT is required"
[ -n "${GIT_SYNC_LINK:-}" ] || die "GIT_SYNC_LINK is required"
case $GIT_SYNC_ROOT in
  /*) ;;
  *) die "GIT_SYNC_ROOT must be an absolute path (got '$GIT_SYNC_ROOT')" ;;
esac
case $GIT_SYNC_LINK in
  /*) ;;
  *) die "GIT_SYNC_LINK must be an absolute path (got '$GIT_SYNC_LINK')" ;;
esac
GIT_REF=${GIT_REF:-HEAD}
GIT_DEPTH=${GIT_DEPTH:-1}
is_uint "$GIT_DEPTH" || die "GIT_DEPTH must be a non-negative integer (got '$GIT_DEPTH')"
GIT_RECURSE_SUBMODULES=${GIT_RECURSE_SUBMODULES:-false}
GIT_SYNC_INTERVAL=${GIT_SYNC_INTERVAL:-300}
is_number "$GIT_SYNC_INTERVAL" || die "GIT_SYNC_INTERVAL must be a number of seconds (got '$GIT_SYNC_INTERVAL')"
GIT_SYNC_ONE_TIME=${GIT_SYNC_ONE_TIME:-false}
GIT_SYNC_MAX_FAILURES=${GIT_SYNC_MAX_FAILURES:--1}
case $GIT_SYNC_MAX_FAILURES in
  -1 | -[0-9]*) GIT_SYNC_MAX_FAILURES=-1 ;;
  *) is_uint "$GIT_SYNC_MAX_FAILURES" || die "GIT_SYNC_MAX_FAILURES must be an integer" ;;
esac
REPO_SHOWN=$(redact_url "$GIT_REPO")
DEPTH_ARG=
[ "$GIT_DEPTH" -gt 0 ] && DEPTH_ARG="--depth=$GIT_DEPTH"

# Normalise paths (no trailing slash) and decide the link target style.
ROOT=${GIT_SYNC_ROOT%/}
LINK=${GIT_SYNC_LINK%/}
LINK_DIR=${LINK%/*}
[ -n "$LINK_DIR" ] || LINK_DIR=/
LINK_BASE=${LINK##*/}
LINK_TMP="$LINK_DIR/.$LINK_BASE.kubeopencode-tmp"
GD="$ROOT/.git"
WT_DIR="$ROOT/.worktrees"

setup_ca
setup_git "$GIT_REPO" "$GD" "$WT_DIR/*"

g() {
  run_git --git-dir="$GD" "$@"
}

init_repo() {
  mkdir -p "$ROOT" "$WT_DIR" "$LINK_DIR" || die "cannot create $ROOT or $LINK_DIR"
  if ! git --git-dir="$GD" rev-parse --git-dir >/dev/null 2>&1; then
    rm -rf "$GD"
    g init -q --bare --template= || die "git init failed in $GD"
  fi
  rm -f "$LINK_TMP"
}

# Hash the link points at ("" when there is none or its worktree is gone).
current_hash() {
  koc_t=$(readlink "$LINK" 2>/dev/null) || koc_t=
  [ -n "$koc_t" ] || return 0
  koc_h=${koc_t##*/}
  if [ -d "$WT_DIR/$koc_h" ]; then
    printf '%s' "$koc_h"
  fi
}

# Remote hash of GIT_REF into REMOTE_HASH, and the name to fetch into FETCH_REF.
remote_hash() {
  REMOTE_HASH=
  FETCH_REF=$GIT_REF
  if is_full_sha "$GIT_REF"; then
    REMOTE_HASH=$GIT_REF
    return 0
  fi
  # Candidates in order of preference; "^{}" is the commit an annotated tag points at.
  case $GIT_REF in
    HEAD | refs/*)
      g ls-remote "$GIT_REPO" "$GIT_REF" "$GIT_REF^{}" || return 1
      koc_cands="$GIT_REF^{} $GIT_REF"
      ;;
    *)
      # without the "^{}" pattern git filters the peeled line out, and an annotated tag would compare as the tag object
      g ls-remote "$GIT_REPO" "refs/heads/$GIT_REF" "refs/tags/$GIT_REF" "refs/tags/$GIT_REF^{}" || return 1
      koc_cands="refs/heads/$GIT_REF refs/tags/$GIT_REF^{} refs/tags/$GIT_REF"
      ;;
  esac
  for koc_r in $koc_cands; do
    REMOTE_HASH=$(printf '%s\n' "$KOC_OUT" | awk -v r="$koc_r" '$2 == r && $1 ~ /^[0-9a-f]+$/ { print $1; exit }')
    if [ -n "$REMOTE_HASH" ]; then
      FETCH_REF=${koc_r%"^{}"}
      return 0
    fi
  done
  log "ref '$GIT_REF' not found in $REPO_SHOWN"
  KOC_PERMANENT=1
  return 1
}

# Point the link at a worktree: temporary symlink + rename over the link.
flip_link() {
  if [ "$LINK_DIR" = "$ROOT" ]; then
    koc_target=".worktrees/$1"
  else
    koc_target="$WT_DIR/$1"
  fi
  if [ -d "$LINK" ] && [ ! -L "$LINK" ]; then
    rmdir "$LINK" 2>/dev/null || {
      log "$LINK is a non-empty directory, not a symlink"
      KOC_PERMANENT=1
      return 1
    }
  fi
  rm -f "$LINK_TMP"
  ln -s "$koc_target" "$LINK_TMP" && mv -f -T "$LINK_TMP" "$LINK"
}

# Remove every worktree except the one for hash $1.
prune_worktrees() {
  for koc_d in "$WT_DIR"/* "$WT_DIR"/.[!.]*; do
    [ -e "$koc_d" ] || [ -L "$koc_d" ] || continue
    [ "${koc_d##*/}" = "$1" ] && continue
    rm -rf "$koc_d"
  done
  git --git-dir="$GD" worktree prune >/dev/null 2>&1
}

sync_once() {
  # The repository has no remote: every ls-remote and fetch names GIT_REPO. Its config is renewed whenever it is not
  # the one written last, so nothing written into it (url.*.insteadOf, http.*, filters) reaches a network operation.
  if [ "$(cat "$GD/config" 2>/dev/null)" != "$KOC_GD_CONFIG" ]; then
    reset_repo_config "$GD" true || {
      log "cannot reset the git config in $GD"
      return 1
    }
    KOC_GD_CONFIG=$(cat "$GD/config")
  fi
  remote_hash || return 1
  CURRENT=$(current_hash)
  if [ -n "$CURRENT" ] && [ "$CURRENT" = "$REMOTE_HASH" ]; then
    return 0
  fi
  # shellcheck disable=SC2086
  if ! g fetch -q --no-tags $DEPTH_ARG "$GIT_REPO" "$FETCH_REF"; then
    is_full_sha "$FETCH_REF" || return 1
    log "fetching commit $FETCH_REF directly failed; fetching all branches and tags"
    g fetch -q --no-tags "$GIT_REPO" '+refs/heads/*:refs/remotes/origin/*' '+refs/tags/*:refs/tags/*' || return 1
    g rev-parse --verify -q "$FETCH_REF^{commit}" || return 1
  else
    g rev-parse --verify -q "FETCH_HEAD^{commit}" || return 1
  fi
  NEW=$KOC_OUT
  if [ "$NEW" != "$REMOTE_HASH" ]; then
    log "the remote moved while fetching; syncing to $NEW"
    if [ -n "$CURRENT" ] && [ "$CURRENT" = "$NEW" ]; then
      return 0
    fi
  fi
  WT="$WT_DIR/$NEW"
  rm -rf "$WT"
  git --git-dir="$GD" worktree prune >/dev/null 2>&1
  g worktree add -q --detach -f "$WT" "$NEW" || return 1
  if [ "$GIT_RECURSE_SUBMODULES" = true ]; then
    # shellcheck disable=SC2086
    (cd "$WT" && run_git submodule update -q --init --recursive $DEPTH_ARG) || {
      rm -rf "$WT"
      return 1
    }
  fi
  flip_link "$NEW" || {
    log "cannot update the link $LINK"
    return 1
  }
  if [ -n "$CURRENT" ]; then
    log "synced $REPO_SHOWN $GIT_REF: $CURRENT -> $NEW"
  else
    log "synced $REPO_SHOWN $GIT_REF at $NEW"
  fi
  prune_worktrees "$NEW"
  git --git-dir="$GD" gc --auto -q >/dev/null 2>&1
  return 0
}

KOC_GD_CONFIG=
init_repo
# Leftovers of an interrupted run: worktrees the link does not point at.
prune_worktrees "$(current_hash)"

if [ "$GIT_SYNC_ONE_TIME" = true ]; then
  retry "sync" sync_once || die "cannot sync $REPO_SHOWN ($GIT_REF)"
  exit 0
fi

log "syncing $REPO_SHOWN ($GIT_REF) every ${GIT_SYNC_INTERVAL}s into $LINK"
FAILURES=0
while :; do
  if sync_once; then
    FAILURES=0
  else
    FAILURES=$((FAILURES + 1))
    log "sync of $REPO_SHOWN ($GIT_REF) failed ($FAILURES in a row); next try in ${GIT_SYNC_INTERVAL}s"
    if [ "$GIT_SYNC_MAX_FAILURES" -ge 0 ] && [ "$FAILURES" -gt "$GIT_SYNC_MAX_FAILURES" ]; then
      die "giving up after $FAILURES failed syncs of $REPO_SHOWN"
    fi
  fi
  # In the background, so that SIGTERM is handled at once.
  sleep "$GIT_SYNC_INTERVAL" &
  KOC_SLEEP=$!
  wait "$KOC_SLEEP"
done

#!/bin/sh
# git-init: check out one Git repository into a directory (init container; image alpine/git).
# Emitted as `sh -c` text with common.sh prepended (src/pod/scripts.ts: gitInitScript()).
#
# Environment (plus the common ones in common.sh: CONTEXT_NAME, CUSTOM_CA_CERT_PATH, proxies, RETRY_*):
#   GIT_REPO                required; http(s) URL of the repository (credentials do not belong here)
#   GIT_DEST                required; absolute directory to check out into. It may exist and hold other
#                           files (e.g. the workspace root): the checkout happens in place (git init +
#                           fetch + checkout); files the repository tracks are overwritten, others kept.
#   GIT_REF                 branch, tag, refs/... name or full commit SHA (default HEAD = the remote's
#                           default branch). A branch is checked out as a local branch tracking origin;
#                           a tag or commit as a detached HEAD. A name that is both a branch and a tag
#                           means the branch; abbreviated SHAs are not supported.
#   GIT_DEPTH               history depth (default 1; 0 = full history)
#   GIT_RECURSE_SUBMODULES  "true" to check out submodules recursively (same depth) (default false)
#   GIT_CREDENTIALS_DIR     optional directory with files `username` (optional, default "git") and
#                           `password` (a PAT), e.g. a mounted Secret. Read by a credential helper at use
#                           time: never in argv, .git/config, the remote URL or the log.
#   GIT_UPDATE_EXISTING     "true": when $GIT_DEST/.git exists, update that checkout to GIT_REF instead of
#                           skipping (Rollout contexts on a persisted workspace). Local changes to tracked
#                           files are stashed first (`git stash list` shows them); untracked files are kept
#                           unless the new commit tracks the same path. Default false.
#
# When $GIT_DEST/.git already exists (persisted workspace) and GIT_UPDATE_EXISTING is not "true", nothing
# is fetched: the log says "already present, skipping clone" and the script exits 0. An interrupted earlier attempt (marker
# file .git/kubeopencode-init-incomplete) is discarded and redone. Network operations are retried
# (RETRY_ATTEMPTS/RETRY_DELAY) unless the error is permanent (authentication, not found, TLS).
# Exit status: 0 on success or skip, 1 on error (the message names the context and the repository).

KOC_NAME=git-init
set -u
koc_traps

[ -n "${GIT_REPO:-}" ] || die "GIT_REPO is required"
[ -n "${GIT_DEST:-}" ] || die "GIT_DEST is required"
case $GIT_DEST in
  /*) ;;
  *) die "GIT_DEST must be an absolute path (got '$GIT_DEST')" ;;
esac
GIT_REF=${GIT_REF:-HEAD}
GIT_DEPTH=${GIT_DEPTH:-1}
is_uint "$GIT_DEPTH" || die "GIT_DEPTH must be a non-negative integer (got '$GIT_DEPTH')"
GIT_RECURSE_SUBMODULES=${GIT_RECURSE_SUBMODULES:-false}
REPO_SHOWN=$(redact_url "$GIT_REPO")
MARKER=.git/kubeopencode-init-incomplete
DEPTH_ARG=
[ "$GIT_DEPTH" -gt 0 ] && DEPTH_ARG="--depth=$GIT_DEPTH"

MODE=clone
if [ -e "$GIT_DEST/.git" ]; then
  if [ -e "$GIT_DEST/$MARKER" ]; then
    log "discarding an incomplete checkout left by an earlier attempt in $GIT_DEST"
    rm -rf "$GIT_DEST/.git" || die "cannot remove $GIT_DEST/.git"
  elif [ "${GIT_UPDATE_EXISTING:-false}" = true ]; then
    MODE=update
  else
    log "$GIT_DEST already present, skipping clone of $REPO_SHOWN"
    exit 0
  fi
fi

# fail MESSAGE [SUFFIX]: exit 1 with "MESSAGE <repository> SUFFIX" (plus a diagnosis of permanent errors),
# removing a clone that this run started.
fail() {
  [ -e "$GIT_DEST/$MARKER" ] && rm -rf "$GIT_DEST/.git"
  if [ "$KOC_PERMANENT" = 1 ]; then
    case $KOC_OUT in
      *"could not read Username"* | *"terminal prompts disabled"* | *"Authentication failed"* | \
        *"returned error: 401"* | *"returned error: 403"*)
        die "$1 $REPO_SHOWN: authentication failed or credentials missing (check the context's secretRef)"
        ;;
      *"certificate"*)
        die "$1 $REPO_SHOWN: TLS certificate verification failed (a private CA needs caBundle)"
        ;;
    esac
  fi
  die "$1 $REPO_SHOWN${2:+ $2}"
}

setup_ca
# GIT_DEST/*: the submodules' worktrees (a prefix pattern since git 2.46; a literal, harmless path before)
setup_git "$GIT_REPO" "$GIT_DEST" "$GIT_DEST/*"

mkdir -p "$GIT_DEST" || die "cannot create $GIT_DEST"
cd "$GIT_DEST" || die "cannot enter $GIT_DEST"
OLD=
if [ "$MODE" = clone ]; then
  # no template: sample hooks are of no use here, and copying them is most of `git init`'s time
  run_git init -q --template= . || fail "git init failed in $GIT_DEST for"
  : >"$MARKER"
  run_git remote add origin "$GIT_REPO" || fail "cannot add remote"
else
  # An interrupted update is simply redone next time: no marker. The checkout was writable by the agent: its config
  # is replaced by a fresh one before git reads anything else from it.
  [ -d .git ] && [ ! -L .git ] && [ ! -L .git/config ] || fail "$GIT_DEST/.git is not a directory; cannot update the checkout of"
  reset_repo_config .git false || fail "cannot reset the git config of the checkout of"
  run_git rev-parse -q --verify HEAD && OLD=$KOC_OUT
  run_git remote add origin "$GIT_REPO" || fail "cannot add remote"
  log "updating the existing checkout in $GIT_DEST (at ${OLD:-no commit}) to $GIT_REF"
  # full history asked for on a shallow checkout
  [ -z "$DEPTH_ARG" ] && [ -f .git/shallow ] && DEPTH_ARG=--unshallow
fi

# Resolve GIT_REF into KIND (branch|tag|commit|ref) and NAME. Every network operation names GIT_REPO itself, never a
# remote of the checkout's config.
ls_remote() {
  run_git ls-remote "$@"
}
# has_ref REFNAME: whether the last ls-remote output lists exactly REFNAME.
has_ref() {
  printf '%s\n' "$KOC_OUT" | awk -v r="$1" '$2 == r { f = 1 } END { exit !f }'
}

KIND=
NAME=
case $GIT_REF in
  HEAD)
    retry "ls-remote" ls_remote --symref "$GIT_REPO" HEAD || fail "cannot reach"
    NAME=$(printf '%s\n' "$KOC_OUT" | awk '$1 == "ref:" && $3 == "HEAD" && $2 ~ /^refs\/heads\// { print substr($2, 12); exit }')
    if [ -n "$NAME" ]; then
      KIND=branch
    else
      # The remote HEAD is detached (or not reported as a symref): take its commit.
      NAME=$(printf '%s\n' "$KOC_OUT" | awk '$2 == "HEAD" && $1 ~ /^[0-9a-f]+$/ { print $1; exit }')
      [ -n "$NAME" ] || fail "the remote reports no HEAD for"
      KIND=commit
    fi
    ;;
  refs/heads/*)
    KIND=branch
    NAME=${GIT_REF#refs/heads/}
    ;;
  refs/tags/*)
    KIND=tag
    NAME=${GIT_REF#refs/tags/}
    ;;
  refs/*)
    KIND=ref
    NAME=$GIT_REF
    ;;
  *)
    if is_full_sha "$GIT_REF"; then
      KIND=commit
      NAME=$GIT_REF
    else
      retry "ls-remote" ls_remote "$GIT_REPO" "refs/heads/$GIT_REF" "refs/tags/$GIT_REF" || fail "cannot reach"
      if has_ref "refs/heads/$GIT_REF"; then
        KIND=branch
      elif has_ref "refs/tags/$GIT_REF"; then
        KIND=tag
      else
        KOC_PERMANENT=0
        fail "ref '$GIT_REF' is not a branch or tag of" "(commits need the full SHA)"
      fi
      NAME=$GIT_REF
    fi
    ;;
esac

# Fetch.
fetch_full() {
  # shellcheck disable=SC2086
  run_git fetch -q --no-tags "$GIT_REPO" '+refs/heads/*:refs/remotes/origin/*' '+refs/tags/*:refs/tags/*'
}
case $KIND in
  branch)
    # shellcheck disable=SC2086
    retry "fetch" run_git fetch -q --no-tags $DEPTH_ARG "$GIT_REPO" "+refs/heads/$NAME:refs/remotes/origin/$NAME" ||
      fail "cannot fetch branch '$NAME' of"
    ;;
  tag)
    # shellcheck disable=SC2086
    retry "fetch" run_git fetch -q --no-tags $DEPTH_ARG "$GIT_REPO" "+refs/tags/$NAME:refs/tags/$NAME" ||
      fail "cannot fetch tag '$NAME' of"
    ;;
  ref)
    # shellcheck disable=SC2086
    retry "fetch" run_git fetch -q --no-tags $DEPTH_ARG "$GIT_REPO" "$NAME" || fail "cannot fetch '$NAME' of"
    ;;
  commit)
    # shellcheck disable=SC2086
    if ! retry "fetch" run_git fetch -q --no-tags $DEPTH_ARG "$GIT_REPO" "$NAME"; then
      # Servers that refuse fetching by id: fetch all branches and tags, then look for it.
      log "fetching commit $NAME directly failed; fetching all branches and tags"
      retry "fetch" fetch_full || fail "cannot fetch from"
    fi
    run_git cat-file -e "$NAME^{commit}" || fail "commit $NAME not found in"
    ;;
esac

# Update of an existing checkout: set local changes to tracked files aside first.
if [ "$MODE" = update ] && [ -n "$OLD" ]; then
  run_git status --porcelain --untracked-files=no || fail "cannot read the status of the checkout of"
  if [ -n "$KOC_OUT" ]; then
    run_git -c user.name=kubeopencode -c user.email=kubeopencode@localhost \
      stash push -q -m "kubeopencode git-init: local changes before updating to $GIT_REF" ||
      fail "cannot stash local changes in the checkout of"
    log "local changes to tracked files were stashed (git stash list)"
  fi
fi

# Check out (-f: files the repository tracks replace same-named files already in GIT_DEST).
case $KIND in
  branch)
    run_git checkout -q -f -B "$NAME" "refs/remotes/origin/$NAME" || fail "cannot check out branch '$NAME' of"
    run_git branch -q --set-upstream-to="origin/$NAME" "$NAME" || fail "cannot track branch '$NAME' of"
    ;;
  tag)
    run_git checkout -q -f --detach "refs/tags/$NAME^{commit}" || fail "cannot check out tag '$NAME' of"
    ;;
  ref)
    run_git checkout -q -f --detach FETCH_HEAD || fail "cannot check out '$NAME' of"
    ;;
  commit)
    run_git checkout -q -f --detach "$NAME" || fail "cannot check out commit $NAME of"
    ;;
esac

if [ "$GIT_RECURSE_SUBMODULES" = true ]; then
  # shellcheck disable=SC2086
  retry "submodule update" run_git submodule update -q --init --recursive $DEPTH_ARG ||
    fail "cannot check out the submodules of"
fi

run_git rev-parse HEAD || fail "cannot read HEAD of"
rm -f "$MARKER"
if [ "$MODE" = update ]; then
  log "updated $REPO_SHOWN in $GIT_DEST from ${OLD:-no commit} to $GIT_REF ($KOC_OUT)"
else
  log "checked out $REPO_SHOWN at $GIT_REF ($KOC_OUT) into $GIT_DEST"
fi

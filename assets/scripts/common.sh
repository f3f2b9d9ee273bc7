#!/bin/sh
# Shared preamble of the kubeopencode init/sidecar scripts. src/pod/scripts.ts prepends it to each
# script, so every emitted `sh -c` text is self-contained. It only defines variables and functions.
#
# POSIX sh: must run under dash and busybox ash (alpine/git, curlimages/curl). No `local`, no
# arrays, no pipefail, no heredocs (the emitted text has its full-line comments stripped).
#
# Common environment (all optional):
#   CONTEXT_NAME         shown in every log line: "<script>[<CONTEXT_NAME>]: ..." (default "default")
#   CUSTOM_CA_CERT_PATH  PEM file with extra CA certificates. When the file exists, the system bundle
#                        (if present) and this file are concatenated into a new file under TMPDIR,
#                        used as GIT_SSL_CAINFO by git and as --cacert by curl. When the file is
#                        missing a warning is logged and the default trust store is used.
#   SYSTEM_CA_BUNDLE     system bundle to extend (default /etc/ssl/certs/ca-certificates.crt)
#   TMPDIR               where the combined bundle is written (default /tmp); when it is not
#                        writable, only CUSTOM_CA_CERT_PATH is trusted (warning logged)
#   RETRY_ATTEMPTS       attempts for a network operation that failed transiently (default 3)
#   RETRY_DELAY          seconds between attempts (default 5; fractions work with GNU/busybox sleep)
#   GIT_HTTP_LOW_SPEED_LIMIT, GIT_HTTP_LOW_SPEED_TIME  (git scripts) stall detection, default 1 byte/s
#                        for 60 s: a transfer that slow fails (and is retried)
#   HTTP_PROXY, HTTPS_PROXY, NO_PROXY and their lowercase forms are inherited by git and curl.
#
# Each script sets KOC_NAME (git-init, url-fetch, git-sync) before calling anything here.

KOC_NAME=${KOC_NAME:-kubeopencode}
# Combined CA bundle (empty = use the tool's default trust store).
KOC_CA_BUNDLE=
# Temporary files to remove on exit.
KOC_CLEANUP=
# Set to 1 by a failed operation whose error retrying cannot fix (auth, not found, TLS verify).
KOC_PERMANENT=0
# Merged output of the last run_git call.
KOC_OUT=

log() {
  printf '%s[%s]: %s\n' "$KOC_NAME" "${CONTEXT_NAME:-default}" "$*" >&2
}

die() {
  log "error: $*"
  exit 1
}

# Replace the userinfo of URLs (https://user:token@host) with "***" in stdin.
redact() {
  sed -e 's#\(://\)[^/@[:space:]]*@#\1***@#g'
}

redact_url() {
  printf '%s\n' "$1" | redact
}

# Print multi-line text (e.g. a tool's error output) line by line through log, redacted.
log_lines() {
  printf '%s\n' "$1" | redact | while IFS= read -r koc_line; do
    [ -n "$koc_line" ] && log "  $koc_line"
  done
}

koc_cleanup() {
  if [ -n "$KOC_CLEANUP" ]; then
    # shellcheck disable=SC2086 # paths we created with mktemp: no spaces unless TMPDIR has some
    rm -rf $KOC_CLEANUP 2>/dev/null
  fi
}

# Exit cleanly on SIGTERM/SIGINT: a container's PID 1 ignores signals it does not handle, and the
# EXIT trap does not run on a default-handled signal.
koc_traps() {
  trap 'koc_cleanup' EXIT
  trap 'koc_stop 143' TERM
  trap 'koc_stop 130' INT
}

# PID of a background `sleep` the script waits for (git-sync's interval), ended with the script.
KOC_SLEEP=
koc_stop() {
  log "terminating"
  [ -n "$KOC_SLEEP" ] && kill "$KOC_SLEEP" 2>/dev/null
  exit "$1"
}

is_uint() {
  case $1 in
    '' | *[!0-9]*) return 1 ;;
  esac
  return 0
}

is_number() {
  case $1 in
    '' | . | *[!0-9.]* | *.*.*) return 1 ;;
  esac
  return 0
}

# A full commit id: 40 (SHA-1) or 64 (SHA-256) lowercase hex digits.
is_full_sha() {
  case $1 in
    *[!0-9a-f]*) return 1 ;;
  esac
  [ ${#1} -eq 40 ] || [ ${#1} -eq 64 ]
}

# Sets KOC_CA_BUNDLE from CUSTOM_CA_CERT_PATH (see the header).
setup_ca() {
  KOC_CA_BUNDLE=
  [ -n "${CUSTOM_CA_CERT_PATH:-}" ] || return 0
  if [ ! -f "$CUSTOM_CA_CERT_PATH" ] || [ ! -r "$CUSTOM_CA_CERT_PATH" ]; then
    log "warning: CUSTOM_CA_CERT_PATH $CUSTOM_CA_CERT_PATH is not a readable file; using the default trust store"
    return 0
  fi
  koc_sys=${SYSTEM_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
  koc_bundle=$(mktemp "${TMPDIR:-/tmp}/kubeopencode-ca.XXXXXX" 2>/dev/null) || koc_bundle=
  if [ -n "$koc_bundle" ] && {
    if [ -f "$koc_sys" ]; then
      cat "$koc_sys" && echo
    fi
    cat "$CUSTOM_CA_CERT_PATH"
  } >"$koc_bundle"; then
    KOC_CLEANUP="$KOC_CLEANUP $koc_bundle"
    KOC_CA_BUNDLE=$koc_bundle
    if [ -f "$koc_sys" ]; then
      log "trusting $koc_sys and $CUSTOM_CA_CERT_PATH"
    else
      log "trusting $CUSTOM_CA_CERT_PATH ($koc_sys not found)"
    fi
  else
    [ -n "$koc_bundle" ] && rm -f "$koc_bundle"
    log "warning: cannot write a CA bundle under ${TMPDIR:-/tmp}; trusting only $CUSTOM_CA_CERT_PATH"
    KOC_CA_BUNDLE=$CUSTOM_CA_CERT_PATH
  fi
}

# Append one `-c key=value` to the git config carried by the environment (GIT_CONFIG_COUNT/KEY/VALUE),
# which every git process started from here, including submodule and helper processes, inherits.
git_config_env() {
  koc_n=${GIT_CONFIG_COUNT:-0}
  is_uint "$koc_n" || koc_n=0
  export "GIT_CONFIG_KEY_$koc_n=$1" "GIT_CONFIG_VALUE_$koc_n=$2"
  export GIT_CONFIG_COUNT=$((koc_n + 1))
}

# Git credential helper. It reads $GIT_CREDENTIALS_DIR/{username,password} when git asks, so the
# secret never appears in argv, in .git/config, in the remote URL or in the environment. Only
# shell builtins and `tr` touch the secret, and `tr` gets it on stdin. Default username: "git".
# shellcheck disable=SC2016 # expanded by git's shell, at use time
KOC_CRED_HELPER='!f() { cat >/dev/null; test "$1" = get || return 0; d=$GIT_CREDENTIALS_DIR; printf "username="; if [ -s "$d/username" ]; then tr -d "\r\n" <"$d/username"; else printf git; fi; printf "\npassword="; tr -d "\r\n" <"$d/password"; printf "\n"; }; f'

# scheme://host[:port] of an http(s) URL, without userinfo or path ("" for anything else).
url_origin() {
  case $1 in
    http://* | https://*) ;;
    *) return 0 ;;
  esac
  koc_rest=${1#*://}
  koc_rest=${koc_rest%%/*}
  koc_rest=${koc_rest%%\?*}
  printf '%s://%s' "${1%%://*}" "${koc_rest##*@}"
}

# Configure git for non-interactive, hardened use: setup_git REPOSITORY [SAFE_DIRECTORY...]
# - CA bundle, no prompts, an end to stalled transfers (git's own GIT_HTTP_LOW_SPEED_LIMIT/TIME: abort when under
#   LIMIT bytes/s for TIME seconds; defaults here 1 and 60, so a server that stops answering cannot hang a container);
# - the credential helper answers only for REPOSITORY's scheme, host and port: a submodule, a redirect or a rewritten
#   URL on another host never gets the token;
# - nothing a checkout's own config or hooks say can run code or move traffic: hooks and fsmonitor are off, only the
#   http(s) transports (plus ssh for an ssh repository) are allowed, never file or ext, askpass is off; these are
#   command-line-level config (GIT_CONFIG_COUNT), which every git process inherits and which wins over the local config;
# - safe.directory names exactly the directories this script works in (volumes are often owned by another uid).
setup_git() {
  koc_repo=$1
  shift
  export GIT_TERMINAL_PROMPT=0
  unset GIT_ASKPASS SSH_ASKPASS
  export GIT_HTTP_LOW_SPEED_LIMIT="${GIT_HTTP_LOW_SPEED_LIMIT:-1}"
  export GIT_HTTP_LOW_SPEED_TIME="${GIT_HTTP_LOW_SPEED_TIME:-60}"
  case $koc_repo in
    http://* | https://*) export GIT_ALLOW_PROTOCOL=http:https ;;
    *) export GIT_ALLOW_PROTOCOL=http:https:ssh ;;
  esac
  git_config_env core.hooksPath /dev/null
  git_config_env core.fsmonitor false
  git_config_env core.askPass ''
  git_config_env protocol.file.allow never
  git_config_env protocol.ext.allow never
  for koc_dir in "$@"; do
    git_config_env safe.directory "$koc_dir"
  done
  # Drop helpers from any system/global/local config, then add ours, for the repository's origin only.
  git_config_env credential.helper ''
  if [ -n "${GIT_CREDENTIALS_DIR:-}" ]; then
    koc_origin=$(url_origin "$koc_repo")
    if [ -z "$koc_origin" ]; then
      log "warning: credentials are only used with http(s) repositories; continuing without them"
    elif [ -r "$GIT_CREDENTIALS_DIR/password" ]; then
      git_config_env "credential.$koc_origin.helper" "$KOC_CRED_HELPER"
      log "using credentials from $GIT_CREDENTIALS_DIR for $koc_origin"
    else
      log "warning: GIT_CREDENTIALS_DIR is set but $GIT_CREDENTIALS_DIR/password is not readable; continuing without credentials"
    fi
  fi
  if [ -n "$KOC_CA_BUNDLE" ]; then
    export GIT_SSL_CAINFO="$KOC_CA_BUNDLE"
  fi
}

# Replace the config of the repository at GIT_DIR $1 with a fresh one, keeping only its format (version and
# extensions): a config someone else could write (a checkout on a persisted workspace) may carry url.*.insteadOf,
# filters, http.* settings or includes that no command-line setting can undo. $2 is "true" for a bare repository.
reset_repo_config() {
  koc_gd=$1
  koc_new="$koc_gd/config.kubeopencode"
  rm -f "$koc_new"
  koc_v=$(git config --file "$koc_gd/config" --get core.repositoryformatversion 2>/dev/null) || koc_v=0
  is_uint "$koc_v" || koc_v=0
  git config --file "$koc_new" core.repositoryformatversion "$koc_v" &&
    git config --file "$koc_new" core.bare "$2" || return 1
  if [ "$koc_v" != 0 ]; then
    git config --file "$koc_gd/config" --get-regexp '^extensions[.]' 2>/dev/null | while read -r koc_k koc_val; do
      git config --file "$koc_new" "$koc_k" "$koc_val"
    done
  fi
  mv -f "$koc_new" "$koc_gd/config"
}

# Classify git's error output in KOC_OUT: sets KOC_PERMANENT=1 for errors a retry cannot fix.
classify_git_error() {
  case $KOC_OUT in
    *"Authentication failed"* | *"could not read Username"* | *"could not read Password"* | \
      *"terminal prompts disabled"* | *"returned error: 401"* | *"returned error: 403"* | \
      *"returned error: 404"* | *" not found"* | *"couldn't find remote ref"* | \
      *"certificate verif"* | *"SSL certificate problem"* | *"not our ref"* | \
      *"unable to access"*"CAfile"* | *"Unsupported protocol"*)
      KOC_PERMANENT=1
      ;;
  esac
}

# Run git with stdout+stderr captured in KOC_OUT. On failure the output is logged (redacted) and
# KOC_PERMANENT tells whether the failure looks permanent.
run_git() {
  KOC_PERMANENT=0
  KOC_OUT=$(git "$@" 2>&1)
  koc_rc=$?
  if [ $koc_rc -ne 0 ]; then
    log_lines "$KOC_OUT"
    classify_git_error
  fi
  return $koc_rc
}

# retry DESCRIPTION COMMAND [ARGS...]: run the command up to RETRY_ATTEMPTS times, RETRY_DELAY
# seconds apart, unless it set KOC_PERMANENT=1.
retry() {
  koc_desc=$1
  shift
  koc_attempts=${RETRY_ATTEMPTS:-3}
  is_uint "$koc_attempts" && [ "$koc_attempts" -ge 1 ] || koc_attempts=3
  koc_delay=${RETRY_DELAY:-5}
  is_number "$koc_delay" || koc_delay=5
  koc_try=1
  while :; do
    KOC_PERMANENT=0
    "$@" && return 0
    koc_rrc=$?
    if [ "$KOC_PERMANENT" = 1 ]; then
      return $koc_rrc
    fi
    if [ "$koc_try" -ge "$koc_attempts" ]; then
      log "$koc_desc failed after $koc_attempts attempts"
      return $koc_rrc
    fi
    log "$koc_desc failed (attempt $koc_try of $koc_attempts), retrying in ${koc_delay}s"
    sleep "$koc_delay"
    koc_try=$((koc_try + 1))
  done
}

#!/bin/sh
# url-fetch: download one http(s) URL into a file (init container; image curlimages/curl).
# Emitted as `sh -c` text with common.sh prepended (src/pod/scripts.ts: urlFetchScript()).
#
# Environment (plus the common ones in common.sh: CONTEXT_NAME, CUSTOM_CA_CERT_PATH, proxies, RETRY_*):
#   URL_SOURCE        required; http:// or https:// URL (redirects are followed, to http(s) only)
#   URL_DEST          required; absolute path of the file to write. Parent directories are created; the
#                     content is written to a temporary file next to it and renamed over URL_DEST, so
#                     readers never see a partial file. Mode 0644.
#   URL_TIMEOUT       seconds allowed for one attempt (default 30)
#   URL_HEADERS_FILE  optional file of extra request headers, one "Name: value" per line (e.g. an
#                     Authorization header from a mounted Secret; passed as `curl -H @file`, so
#                     the values stay out of argv and the log)
#
# HTTP >= 400 fails (exit 1) naming the context, the URL and the status; 408, 429 and 5xx and network
# errors are retried (RETRY_ATTEMPTS/RETRY_DELAY), other 4xx and TLS verification errors are not.

KOC_NAME=url-fetch
set -u
koc_traps

[ -n "${URL_SOURCE:-}" ] || die "URL_SOURCE is required"
[ -n "${URL_DEST:-}" ] || die "URL_DEST is required"
URL_SHOWN=$(redact_url "$URL_SOURCE")
case $URL_SOURCE in
  http://* | https://*) ;;
  *) die "URL_SOURCE must be an http:// or https:// URL (got '$URL_SHOWN')" ;;
esac
case $URL_DEST in
  /*) ;;
  *) die "URL_DEST must be an absolute path (got '$URL_DEST')" ;;
esac
case $URL_DEST in
  */) die "URL_DEST must name a file, not a directory (got '$URL_DEST')" ;;
esac
URL_TIMEOUT=${URL_TIMEOUT:-30}
is_number "$URL_TIMEOUT" || die "URL_TIMEOUT must be a number of seconds (got '$URL_TIMEOUT')"
if [ -n "${URL_HEADERS_FILE:-}" ] && [ ! -r "$URL_HEADERS_FILE" ]; then
  die "URL_HEADERS_FILE $URL_HEADERS_FILE is not readable"
fi
[ -d "$URL_DEST" ] && die "URL_DEST $URL_DEST is a directory"

setup_ca

DEST_DIR=${URL_DEST%/*}
[ -n "$DEST_DIR" ] || DEST_DIR=/
mkdir -p "$DEST_DIR" || die "cannot create $DEST_DIR"
TMP_FILE=$(mktemp "$DEST_DIR/.url-fetch.XXXXXX") || die "cannot create a temporary file in $DEST_DIR"
KOC_CLEANUP="$KOC_CLEANUP $TMP_FILE"

set -- curl -sS -L --proto '=http,https' --proto-redir '=http,https' --max-time "$URL_TIMEOUT" \
  -o "$TMP_FILE" -w '\nkubeopencode-http-status=%{http_code}\n'
[ -n "$KOC_CA_BUNDLE" ] && set -- "$@" --cacert "$KOC_CA_BUNDLE"
[ -n "${URL_HEADERS_FILE:-}" ] && set -- "$@" -H "@$URL_HEADERS_FILE"
set -- "$@" --url "$URL_SOURCE"

STATUS=
REASON=
fetch_once() {
  KOC_PERMANENT=0
  koc_out=$("$@" 2>&1)
  koc_rc=$?
  STATUS=$(printf '%s\n' "$koc_out" | sed -n 's/^kubeopencode-http-status=//p' | tail -n 1)
  koc_msg=$(printf '%s\n' "$koc_out" | grep -v '^kubeopencode-http-status=')
  if [ $koc_rc -ne 0 ]; then
    log_lines "$koc_msg"
    REASON="curl exit $koc_rc"
    case $koc_rc in
      # unsupported protocol, malformed URL, CA file problems
      1 | 3 | 77) KOC_PERMANENT=1 ;;
      # TLS verification (a handshake failure, 35, may be transient: retried)
      51 | 58 | 60 | 83)
        KOC_PERMANENT=1
        REASON="TLS error, curl exit $koc_rc (a private CA needs caBundle)"
        ;;
    esac
    log "fetching $URL_SHOWN failed: $REASON"
    return 1
  fi
  REASON="HTTP $STATUS"
  case $STATUS in
    2??) return 0 ;;
    408 | 429 | 5??) ;;
    *) KOC_PERMANENT=1 ;;
  esac
  log "fetching $URL_SHOWN failed: $REASON"
  return 1
}

retry "fetch" fetch_once "$@" || die "cannot fetch $URL_SHOWN: $REASON"
chmod 0644 "$TMP_FILE" || die "cannot chmod $TMP_FILE"
mv -f "$TMP_FILE" "$URL_DEST" || die "cannot move the download to $URL_DEST"
log "fetched $URL_SHOWN into $URL_DEST ($(wc -c <"$URL_DEST" | tr -d ' ') bytes)"

#!/bin/sh
# context-init: writes the aggregated context file that OpenCode loads through OPENCODE_CONFIG_CONTENT.
#
# Every context without a mountPath becomes one block, in the order of the spec:
#   <context name="NAME" type="TYPE">
#   ...content...
#   </context>
# separated by a blank line. A directory source (a ConfigMap without `key`) becomes one
# <file name="KEY">...</file> block per file, in name order.
#
# Env:
#   CONTEXT_FILE   absolute path of the file to write (required)
#   CONTEXT_PARTS  one part per line: NAME|TYPE|SOURCE[|optional] where SOURCE is a file or a directory
# Exits non-zero, naming the context, when a required source is missing. The file is replaced atomically.
set -eu
: "${CONTEXT_FILE:?context-init: CONTEXT_FILE is required}"
out_dir=$(dirname "$CONTEXT_FILE")
mkdir -p "$out_dir"
tmp="$CONTEXT_FILE.tmp.$$"
trap 'rm -f "$tmp"' EXIT

# NAME and TYPE as an XML attribute value: &, ", < and > escaped, so no name can close the tag or open another block
attr() {
  printf '%s' "$1" | sed -e 's/&/\&amp;/g' -e 's/"/\&quot;/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g'
}

# cat a file and make sure the block ends with a newline
emit() {
  cat "$1"
  if [ -s "$1" ] && [ -n "$(tail -c 1 "$1")" ]; then printf '\n'; fi
}

: > "$tmp"
sep=
printf '%s\n' "${CONTEXT_PARTS:-}" > "$tmp.parts"
while IFS='|' read -r name type src optional; do
  [ -n "$name" ] || continue
  if [ -d "$src" ]; then
    :
  elif [ -f "$src" ]; then
    :
  elif [ "$optional" = "optional" ]; then
    printf 'context-init[%s]: optional source %s is missing, skipped\n' "$name" "$src" >&2
    continue
  else
    printf 'context-init[%s]: error: source %s of %s context is missing\n' "$name" "$src" "$type" >&2
    rm -f "$tmp.parts"
    exit 1
  fi
  printf '%s<context name="%s" type="%s">\n' "$sep" "$(attr "$name")" "$(attr "$type")" >> "$tmp"
  if [ -d "$src" ]; then
    for f in "$src"/*; do
      [ -f "$f" ] || continue
      printf '<file name="%s">\n' "$(attr "$(basename "$f")")" >> "$tmp"
      emit "$f" >> "$tmp"
      printf '</file>\n' >> "$tmp"
    done
  else
    emit "$src" >> "$tmp"
  fi
  printf '</context>\n' >> "$tmp"
  sep='
'
done < "$tmp.parts"
rm -f "$tmp.parts"
mv -f "$tmp" "$CONTEXT_FILE"
trap - EXIT
printf 'context-init: wrote %s\n' "$CONTEXT_FILE" >&2

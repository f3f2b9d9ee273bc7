#!/bin/sh
# The agent image's ENTRYPOINT, as upstream's behaves: install the binary this image carries into the shared tools
# volume, where the executor container runs it as ${TOOLS_DIR}/${OPENCODE_BIN}.
set -e
dir="${TOOLS_DIR:-/tools}"
target="$dir/${OPENCODE_BIN:-opencode}"
echo "[opencode-init] installing opencode into $target"
mkdir -p "$dir"
cp /opencode "$target"
chmod +x "$target"
echo "[opencode-init] opencode $(cat /opencode-version 2>/dev/null || echo unknown) ready at $target"

#!/bin/sh
# task-run: the main container of a Task pod. Sends TASK_DESCRIPTION verbatim (on stdin: positional
# arguments would be quoted by `opencode run`) to OpenCode, as a session titled TASK_SESSION_TITLE.
#
# Env:
#   TASK_DESCRIPTION          required; the task text (set by the controller)
#   TASK_SESSION_TITLE        session title that identifies the Task on the server (set by the controller)
#   KUBEOPENCODE_SERVER_URL   attach to this server (agentRef Tasks); unset: run standalone (templateRef)
#   OPENCODE_BIN              the opencode binary (default: opencode on PATH)
#   OPENCODE_SERVER_PASSWORD  read by opencode itself for --attach
set -eu
: "${TASK_DESCRIPTION:?task-run: TASK_DESCRIPTION is required}"
bin=${OPENCODE_BIN:-opencode}
set -- run --format json
if [ -n "${TASK_SESSION_TITLE:-}" ]; then set -- "$@" --title "$TASK_SESSION_TITLE"; fi
if [ -n "${KUBEOPENCODE_SERVER_URL:-}" ]; then set -- "$@" --attach "$KUBEOPENCODE_SERVER_URL"; fi
printf '%s' "$TASK_DESCRIPTION" | "$bin" "$@"

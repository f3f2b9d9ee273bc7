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
#
# The shell is PID 1 of the container, and a PID 1 shell ignores SIGTERM: opencode runs in the background
# and TERM/INT are passed on to it, so deleting the pod ends the client at once instead of after the grace period.
set -eu
: "${TASK_DESCRIPTION:?task-run: TASK_DESCRIPTION is required}"
bin=${OPENCODE_BIN:-opencode}
set -- run --format json
if [ -n "${TASK_SESSION_TITLE:-}" ]; then set -- "$@" --title "$TASK_SESSION_TITLE"; fi
if [ -n "${KUBEOPENCODE_SERVER_URL:-}" ]; then set -- "$@" --attach "$KUBEOPENCODE_SERVER_URL"; fi
task_file=${TMPDIR:-/tmp}/kubeopencode-task.$$
printf '%s' "$TASK_DESCRIPTION" > "$task_file"
"$bin" "$@" < "$task_file" &
child=$!
trap 'kill -TERM "$child" 2>/dev/null' TERM INT
status=0
wait "$child" || status=$?
# a signal interrupts the first wait: wait again for the client's own exit status
if kill -0 "$child" 2>/dev/null; then wait "$child" || status=$?; fi
rm -f "$task_file"
exit "$status"

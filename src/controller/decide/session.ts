/**
 * What only the agent's server knows decides part of an agentRef Task's end: a stop aborts the Task's session there
 * (deleting the attach pod alone leaves it running), and a pod that exited 0 is Completed only if the session has no
 * error (`opencode run --attach` exits 0 even when the model or a tool failed). The adapter asks the server
 * (kube/sessions.ts) and hands the answers here.
 */
import { CONDITIONS, CONTROLLER, REASONS } from '../../api';
import type { EpochMs } from './time';
import type { Decision, TaskSessionStatus, TaskStatusPatch, Write } from './writes';

export type TaskStatusWrite = Extract<Write, { kind: 'patchTaskStatus' }>;

/** What the agent server answered about a Task's session. */
export type SessionFacts =
  | { readonly reachable: false; readonly error: string }
  | {
    readonly reachable: true;
    /** The session titled for the Task, if there is one. */
    readonly session?: { readonly id: string };
    /** For a stop: why aborting the session failed (undefined: it was aborted, or there was none). */
    readonly abortError?: string;
    /** For an end: the session's outcome (undefined: it could not be read). */
    readonly summary?: TaskSessionStatus & { readonly error?: string };
  };

/** Whether a status write ends a Task whose session the agent server may know about. */
export function endsTask(w: Write): w is TaskStatusWrite {
  return w.kind === 'patchTaskStatus' && (w.status.phase === 'Completed' || w.status.phase === 'Failed');
}

/** Whether the write stops the Task (then its session is aborted rather than read). */
export function stopsTask(w: TaskStatusWrite): boolean {
  return !!w.status.conditions?.some((c) => c.type === CONDITIONS.stopped);
}

/** The status write with the session's outcome folded in. */
export function withSessionOutcome(w: TaskStatusWrite, facts: SessionFacts, now: EpochMs): TaskStatusWrite {
  const stopped = w.status.conditions?.find((c) => c.type === CONDITIONS.stopped);
  if (stopped) {
    const note = !facts.reachable
      ? `; the agent server was unreachable, so its session could not be aborted (${facts.error})`
      : !facts.session
        ? '; no session was found on the agent server'
        : facts.abortError !== undefined
          ? `; aborting session ${facts.session.id} failed (${facts.abortError})`
          : `; session ${facts.session.id} on the agent server was aborted`;
    const conditions = w.status.conditions!.map((c) => (c === stopped ? { ...c, message: c.message + note } : c));
    return { ...w, status: { ...w.status, conditions } };
  }
  if (!facts.reachable || !facts.summary) return w;
  const { error, ...session } = facts.summary;
  const status: TaskStatusPatch = w.status.phase === 'Completed' && error
    ? {
      ...w.status,
      phase: 'Failed',
      conditions: [{ type: CONDITIONS.ready, status: 'False', reason: REASONS.sessionError, message: `The session reported an error: ${error}`, lastTransitionTime: now }],
      session,
    }
    : { ...w.status, session };
  return { ...w, status };
}

/**
 * The session-abort finalizer: held by a running agentRef Task, so that deleting it aborts its session first; dropped
 * once it finished or was deleted. Nothing when the list already says so.
 */
export function decideSessionFinalizer(
  task: { readonly namespace: string; readonly name: string; readonly finalizers?: readonly string[] },
  present: boolean,
): Decision {
  const list = task.finalizers ?? [];
  if (list.includes(CONTROLLER.sessionFinalizer) === present) return { writes: [] };
  const finalizers = present ? [...list, CONTROLLER.sessionFinalizer] : list.filter((f) => f !== CONTROLLER.sessionFinalizer);
  return { writes: [{ kind: 'setTaskFinalizers', namespace: task.namespace, name: task.name, finalizers }] };
}

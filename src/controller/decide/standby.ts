/**
 * Suspend and standby. spec.suspend is the single switch (guide): people flip it, and with spec.standby the controller
 * flips it too: true after idleTimeout without Tasks, false as soon as a Task arrives.
 */
import { CONDITIONS, CONNECTION_HEARTBEAT, REASONS } from '../../api';
import { conditionChange, findCondition, type ConditionContent } from './conditions';
import { isActive, isFinished } from './tasks';
import { parseGoDurationMs, type EpochMs } from './time';
import type { AgentView, TaskView } from './views';
import type { AgentStatusPatch, Decision, Write } from './writes';

/**
 * Decides suspend/resume for one Agent from its Tasks (Tasks of other Agents in `tasks` are ignored).
 *
 * - With standby: an active Task (not finished, not being stopped) resumes a suspended Agent (spec.suspend=false) and
 *   clears status.idleSince. Without active Tasks, idleSince is when the last Task ended (the newest completionTime, or
 *   the Agent's creation; now if the Agent was just resumed, so a manual resume is not undone at once), and once
 *   idleSince + idleTimeout has passed, spec.suspend=true.
 * - A connection heartbeat (annotation kubeopencode.io/last-connection-active, on the view as lastConnectionActive)
 *   fresher than the staleness window keeps the Agent awake like an active Task does (idleSince removed, never
 *   suspended); once stale, the idle timer counts from the heartbeat. The window is 2m, or max(idleTimeout/2, 90s)
 *   when idleTimeout is shorter than 2m, which condition StandbyConfigWarning/IdleTimeoutTooShort reports.
 *   Condition ConnectionActive says whether the heartbeat is fresh (once the Agent ever had one).
 * - Without standby nothing flips spec.suspend, and idleSince is removed.
 * - Condition Suspended follows spec.suspend as it will be after these writes: True/Standby (standby configured),
 *   True/UserRequested (no standby), False/Active.
 * - Writes: the Agent status (idleSince, condition) and the Agent spec (suspend); status first when suspending, spec
 *   first when resuming, so that condition Suspended=True always precedes the suspension it reports. wakeAt: the idle
 *   deadline.
 */
export function decideStandby(agent: AgentView, tasks: readonly TaskView[], now: EpochMs): Decision {
  const mine = tasks.filter((t) => t.namespace === agent.namespace && t.spec.agentRef?.name === agent.name);
  const idleTimeout = agent.spec.standby ? parseGoDurationMs(agent.spec.standby.idleTimeout) : undefined;
  const standby = idleTimeout !== undefined;
  const suspended = agent.spec.suspend === true;
  const conditions = agent.status?.conditions;
  const idleSince = agent.status?.idleSince;
  const staleness = heartbeatStaleness(idleTimeout);
  const heartbeat = agent.lastConnectionActive;
  const connected = heartbeat !== undefined && now - heartbeat < staleness;

  let suspend = suspended;
  let nextIdleSince: EpochMs | undefined = idleSince;
  let wakeAt: EpochMs | undefined;
  if (!standby) {
    nextIdleSince = undefined;
  } else if (mine.some(isActive)) {
    suspend = false;
    nextIdleSince = undefined;
  } else if (!suspended && connected) {
    // Someone works in the server: not idle. Decide again when the heartbeat goes stale.
    nextIdleSince = undefined;
    wakeAt = heartbeat + staleness;
  } else if (!suspended) {
    // The Suspended condition is the memory of having been suspended: True here means someone just resumed.
    const justResumed = findCondition(conditions, CONDITIONS.suspended)?.status === 'True';
    // A Task may have come and gone between two decisions (a restart): idleSince never predates its completion, nor
    // the last sign of an attached client.
    nextIdleSince = justResumed ? now : Math.max(idleSince ?? -Infinity, lastActivity(agent, mine), heartbeat ?? -Infinity);
    if (now >= nextIdleSince + idleTimeout) suspend = true;
    else wakeAt = nextIdleSince + idleTimeout;
  }
  // Condition ConnectionActive flips to False when the heartbeat goes stale, with or without standby.
  if (connected) wakeAt = Math.min(wakeAt ?? Infinity, heartbeat + staleness);

  const changes = [
    conditionChange(conditions, suspendedCondition(suspend, agent), now),
    heartbeat !== undefined || findCondition(conditions, CONDITIONS.connectionActive)
      ? conditionChange(conditions, connectionCondition(connected, heartbeat, staleness), now)
      : undefined,
    idleTimeout !== undefined && idleTimeout < CONNECTION_HEARTBEAT.stalenessMs
      ? conditionChange(conditions, standbyWarning(agent.spec.standby!.idleTimeout, staleness), now)
      : undefined,
  ].filter((c): c is NonNullable<typeof c> => c !== undefined);
  const dropWarning = !(idleTimeout !== undefined && idleTimeout < CONNECTION_HEARTBEAT.stalenessMs) && findCondition(conditions, CONDITIONS.standbyConfigWarning) !== undefined;
  const status: AgentStatusPatch = {
    ...(nextIdleSince !== idleSince ? { idleSince: nextIdleSince ?? null } : {}),
    ...(changes.length ? { conditions: changes } : {}),
    ...(dropWarning ? { removeConditions: [CONDITIONS.standbyConfigWarning] } : {}),
  };
  const statusWrites: Write[] = Object.keys(status).length ? [{ kind: 'patchAgentStatus', namespace: agent.namespace, name: agent.name, status }] : [];
  if (suspend === suspended) return { writes: statusWrites, wakeAt };
  const specWrite: Write = { kind: 'patchAgentSpec', namespace: agent.namespace, name: agent.name, spec: { suspend } };
  // Suspending writes Suspended=True first: if a crash or a person resumes the Agent before the spec write lands, the
  // next decision reads that condition as a resume and restarts the idle timer instead of suspending at once.
  return { writes: suspend ? [...statusWrites, specWrite] : [specWrite, ...statusWrites], wakeAt };
}

/**
 * How long a heartbeat counts as a live connection: 2m, or, when idleTimeout is shorter, half of it but at least one
 * and a half heartbeat intervals. (Upstream's floor is one interval; then the heartbeat goes stale at the very instant
 * the client writes the next one, and a decision woken at that instant suspends the Agent under an attached user.)
 */
export function heartbeatStaleness(idleTimeoutMs: number | undefined): number {
  const { intervalMs, stalenessMs } = CONNECTION_HEARTBEAT;
  if (idleTimeoutMs === undefined || idleTimeoutMs >= stalenessMs) return stalenessMs;
  return Math.max(idleTimeoutMs / 2, intervalMs * 1.5);
}

function connectionCondition(connected: boolean, heartbeat: EpochMs | undefined, staleness: number): ConditionContent {
  const at = heartbeat !== undefined ? new Date(heartbeat).toISOString().replace(/\.\d{3}Z$/, 'Z') : 'never';
  return connected
    ? { type: CONDITIONS.connectionActive, status: 'True', reason: REASONS.heartbeatFresh, message: `A client is attached (last heartbeat ${at}); standby does not suspend the Agent meanwhile` }
    : { type: CONDITIONS.connectionActive, status: 'False', reason: REASONS.heartbeatStale, message: `No client attached (last heartbeat ${at}, older than ${staleness / 1000}s)` };
}

function standbyWarning(idleTimeout: string, staleness: number): ConditionContent {
  return {
    type: CONDITIONS.standbyConfigWarning,
    status: 'True',
    reason: REASONS.idleTimeoutTooShort,
    message: `idleTimeout (${idleTimeout}) is shorter than the connection heartbeat staleness (${CONNECTION_HEARTBEAT.stalenessMs / 1000}s): an attached client counts as gone ${staleness / 1000}s after its last heartbeat`,
  };
}

/** When the Agent last had something to do: its newest Task completion, not before the Agent itself existed. */
function lastActivity(agent: AgentView, tasks: readonly TaskView[]): EpochMs {
  let last = agent.creationTimestamp;
  for (const t of tasks) if (isFinished(t) && t.status?.completionTime !== undefined) last = Math.max(last, t.status.completionTime);
  return last;
}

function suspendedCondition(suspend: boolean, agent: AgentView): ConditionContent {
  const idle = agent.spec.standby?.idleTimeout;
  if (!suspend) {
    const message = idle ? `The server runs; standby suspends it after ${idle} without Tasks` : 'The server runs';
    return { type: CONDITIONS.suspended, status: 'False', reason: REASONS.active, message };
  }
  return idle
    ? { type: CONDITIONS.suspended, status: 'True', reason: REASONS.standby, message: `Suspended with standby (idleTimeout ${idle}); a new Task resumes it` }
    : { type: CONDITIONS.suspended, status: 'True', reason: REASONS.userRequested, message: 'Suspended by spec.suspend; Tasks wait in the queue until it is false' };
}

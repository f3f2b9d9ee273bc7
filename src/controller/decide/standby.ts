/**
 * Suspend and standby. spec.suspend is the single switch (guide): people flip it, and with spec.standby the controller
 * flips it too: true after idleTimeout without Tasks, false as soon as a Task arrives.
 */
import { CONDITIONS, REASONS } from '../../api';
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

  let suspend = suspended;
  let nextIdleSince: EpochMs | undefined = idleSince;
  let wakeAt: EpochMs | undefined;
  if (!standby) {
    nextIdleSince = undefined;
  } else if (mine.some(isActive)) {
    suspend = false;
    nextIdleSince = undefined;
  } else if (!suspended) {
    // The Suspended condition is the memory of having been suspended: True here means someone just resumed.
    const justResumed = findCondition(conditions, CONDITIONS.suspended)?.status === 'True';
    // A Task may have come and gone between two decisions (a restart): idleSince never predates its completion.
    nextIdleSince = justResumed ? now : Math.max(idleSince ?? -Infinity, lastActivity(agent, mine));
    if (now >= nextIdleSince + idleTimeout) suspend = true;
    else wakeAt = nextIdleSince + idleTimeout;
  }

  const condition = conditionChange(conditions, suspendedCondition(suspend, agent), now);
  const status: AgentStatusPatch = {
    ...(nextIdleSince !== idleSince ? { idleSince: nextIdleSince ?? null } : {}),
    ...(condition ? { conditions: [condition] } : {}),
  };
  const statusWrites: Write[] = Object.keys(status).length ? [{ kind: 'patchAgentStatus', namespace: agent.namespace, name: agent.name, status }] : [];
  if (suspend === suspended) return { writes: statusWrites, wakeAt };
  const specWrite: Write = { kind: 'patchAgentSpec', namespace: agent.namespace, name: agent.name, spec: { suspend } };
  // Suspending writes Suspended=True first: if a crash or a person resumes the Agent before the spec write lands, the
  // next decision reads that condition as a resume and restarts the idle timer instead of suspending at once.
  return { writes: suspend ? [...statusWrites, specWrite] : [specWrite, ...statusWrites], wakeAt };
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

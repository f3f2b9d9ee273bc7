/**
 * Admission: which waiting Tasks start now and which wait in the queue, and why.
 *
 * One call decides for one Agent and all its Tasks at once, which is what serializes admission: the adapter must not
 * run two admissions of the same Agent concurrently, and the ledger write carries the Agent's resourceVersion.
 *
 * Fixes KubeOpenCode bug (e): the queue is strictly FIFO (creationTimestamp, then name) and event-driven; the only
 * timer is the end of the quota window.
 */
import { CONDITIONS, REASONS } from '../../api';
import { conditionChange, findCondition, type ConditionContent } from './conditions';
import { byQueueOrder, isStopRequested, isWaiting } from './tasks';
import type { EpochMs } from './time';
import type { AgentView, Condition, TaskStartRecord, TaskView } from './views';
import type { Decision, TaskStatusPatch, Write } from './writes';

/**
 * Decides for the Tasks of one Agent (Tasks of other Agents and templateRef Tasks in `tasks` are ignored).
 *
 * - Waiting Tasks (no phase, Pending, Queued) without the stop annotation are taken in FIFO order; the first that
 *   cannot start blocks every younger one, so no Task ever overtakes an older one.
 * - Gates, in order: spec.suspend (AgentSuspended), server not ready (AgentServerNotReady), Running Tasks ≥
 *   maxConcurrentTasks (AgentAtCapacity), starts in the last windowSeconds ≥ maxTaskStarts (QuotaExceeded).
 * - Writes, in order: the Agent's taskStartHistory (only when a start is recorded or the ledger was repaired), then one
 *   status patch per Task in FIFO order: Running + startTime for those that start, Queued + condition for the others.
 *   A crash after the ledger write leaves a reservation: the Task's ledger entry is found again and used, not doubled.
 * - wakeAt: when the oldest ledger entry leaves the window, if the quota is what holds the queue.
 */
export function admitQueuedTasks(agent: AgentView, tasks: readonly TaskView[], now: EpochMs): Decision {
  const mine = tasks.filter((t) => t.namespace === agent.namespace && t.spec.agentRef?.name === agent.name);
  const running = mine.filter((t) => t.status?.phase === 'Running').length;
  const queue = mine.filter((t) => isWaiting(t) && !isStopRequested(t)).sort(byQueueOrder);

  const { maxConcurrentTasks, quota } = agent.spec;
  const windowMs = quota ? quota.windowSeconds * 1000 : 0;
  const ledger = quota ? ledgerInWindow(agent, mine, now, windowMs) : undefined;
  let ledgerChanged = ledger?.repaired ?? false;
  const entries = ledger?.entries ?? [];

  let blocked: ConditionContent | undefined = agentGate(agent);
  let blockedByQuota = false;
  let started = 0;
  const taskWrites: Write[] = [];
  for (const task of queue) {
    const reservation = entries.findIndex((e) => e.taskName === task.name && e.startTime >= task.creationTimestamp);
    if (!blocked && maxConcurrentTasks !== undefined && running + started >= maxConcurrentTasks) {
      blocked = queuedCondition(REASONS.agentAtCapacity, `Agent '${agent.name}' runs maxConcurrentTasks (${maxConcurrentTasks}) Tasks; this Task starts when one finishes, in creation order`);
    }
    if (!blocked && quota && reservation < 0 && entries.length >= quota.maxTaskStarts) {
      blockedByQuota = true;
      blocked = queuedCondition(REASONS.quotaExceeded, `Agent '${agent.name}' started quota.maxTaskStarts (${quota.maxTaskStarts}) Tasks in the last ${quota.windowSeconds}s; this Task starts when the oldest start leaves the window, in creation order`);
    }
    const patch = blocked ? statusPatch(task, 'Queued', blocked, now) : startPatch(task, now);
    if (patch) taskWrites.push({ kind: 'patchTaskStatus', namespace: task.namespace, name: task.name, uid: task.uid, status: patch });
    if (blocked) continue;
    started++;
    if (quota) {
      // A reservation left by an interrupted admission is re-stamped, so the ledger says when the Task really started.
      if (reservation >= 0) entries.splice(reservation, 1);
      entries.push({ taskName: task.name, startTime: now });
      ledgerChanged = true;
    }
  }

  const writes: Write[] = [];
  if (ledgerChanged) {
    writes.push({ kind: 'patchAgentStatus', namespace: agent.namespace, name: agent.name, status: { taskStartHistory: sortLedger(entries) } });
  }
  writes.push(...taskWrites);
  const wakeAt = blockedByQuota ? Math.min(...entries.map((e) => e.startTime + windowMs)) : undefined;
  return { writes, wakeAt };
}

/**
 * templateRef Tasks are never limited (guide: "Concurrency/Quota: Not enforced"): every waiting one without the stop
 * annotation starts now. The adapter passes only Tasks whose AgentTemplate exists.
 */
export function admitTemplateTasks(tasks: readonly TaskView[], now: EpochMs): Decision {
  const writes: Write[] = [];
  for (const task of [...tasks].sort(byQueueOrder)) {
    if (!task.spec.templateRef || !isWaiting(task) || isStopRequested(task)) continue;
    writes.push({ kind: 'patchTaskStatus', namespace: task.namespace, name: task.name, uid: task.uid, status: startPatch(task, now) });
  }
  return { writes };
}

/**
 * Tasks whose Agent or AgentTemplate does not exist stay Pending (condition Queued, reason AgentNotFound /
 * AgentTemplateNotFound) instead of failing: with GitOps the Task may well arrive before its Agent. They are admitted
 * by the call above as soon as the reference appears (a watch event).
 */
export function holdTasksForMissingReference(tasks: readonly TaskView[], now: EpochMs): Decision {
  const writes: Write[] = [];
  for (const task of [...tasks].sort(byQueueOrder)) {
    if (!isWaiting(task) || isStopRequested(task)) continue;
    const reason = task.spec.agentRef
      ? queuedCondition(REASONS.agentNotFound, `Agent '${task.spec.agentRef.name}' does not exist in namespace '${task.namespace}'; the Task starts once it does`)
      : queuedCondition(REASONS.agentTemplateNotFound, `AgentTemplate '${task.spec.templateRef?.name}' does not exist in namespace '${task.namespace}'; the Task starts once it does`);
    const patch = statusPatch(task, 'Pending', reason, now);
    if (patch) writes.push({ kind: 'patchTaskStatus', namespace: task.namespace, name: task.name, uid: task.uid, status: patch });
  }
  return { writes };
}

function agentGate(agent: AgentView): ConditionContent | undefined {
  if (agent.spec.suspend) {
    return queuedCondition(REASONS.agentSuspended, `Agent '${agent.name}' is suspended; this Task starts when it resumes`);
  }
  if (agent.status?.ready !== true) {
    return queuedCondition(REASONS.agentServerNotReady, `Agent '${agent.name}' has no ready server yet; this Task starts when it is ready`);
  }
  return undefined;
}

/**
 * The ledger as it stands at `now`: entries inside the window, plus any start the Tasks themselves prove but the
 * ledger lacks (an Agent recreated with an empty status, a quota added later). Only these count; the stored list is
 * pruned whenever it is written anyway, never just for pruning.
 */
function ledgerInWindow(agent: AgentView, tasks: readonly TaskView[], now: EpochMs, windowMs: number) {
  const inWindow = (t: EpochMs) => now - t < windowMs;
  const entries: TaskStartRecord[] = (agent.status?.taskStartHistory ?? []).filter((e) => inWindow(e.startTime));
  let repaired = false;
  for (const t of tasks) {
    const start = t.status?.startTime;
    if (start === undefined || !inWindow(start) || entries.some((e) => e.taskName === t.name)) continue;
    entries.push({ taskName: t.name, startTime: start });
    repaired = true;
  }
  return { entries, repaired };
}

const sortLedger = (entries: readonly TaskStartRecord[]): TaskStartRecord[] =>
  [...entries].sort((a, b) => a.startTime - b.startTime || (a.taskName < b.taskName ? -1 : a.taskName > b.taskName ? 1 : 0));

const queuedCondition = (reason: string, message: string): ConditionContent => ({ type: CONDITIONS.queued, status: 'True', reason, message });

/** Phase and Queued condition of a waiting Task, or undefined when it says so already. */
function statusPatch(task: TaskView, phase: 'Pending' | 'Queued', desired: ConditionContent, now: EpochMs): TaskStatusPatch | undefined {
  const change = conditionChange(task.status?.conditions, desired, now);
  if (task.status?.phase === phase && !change) return undefined;
  return change ? { phase, conditions: [change] } : { phase };
}

/** Running with startTime; podName follows once decideTaskFromPod has created the pod. */
function startPatch(task: TaskView, now: EpochMs): TaskStatusPatch {
  const wasQueued = findCondition(task.status?.conditions, CONDITIONS.queued);
  const leftQueue: Condition[] = wasQueued
    ? [{ type: CONDITIONS.queued, status: 'False', reason: REASONS.started, message: 'Left the queue and started', lastTransitionTime: wasQueued.status === 'False' ? wasQueued.lastTransitionTime : now }]
    : [];
  return { phase: 'Running', startTime: now, ...(leftQueue.length ? { conditions: leftQueue } : {}) };
}

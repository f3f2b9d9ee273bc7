/**
 * Admission: which waiting Tasks start now and which wait in the queue, and why.
 *
 * One call decides for one Agent and all its Tasks at once, which is what serializes admission: the adapter must not
 * run two admissions of the same Agent concurrently, and the ledger write carries the Agent's resourceVersion.
 *
 * Fixes KubeOpenCode bug (e): the queue is strictly FIFO (creationTimestamp, then name) and event-driven; the only
 * timer is the end of the quota window.
 */
import { CONDITIONS, NAMES, REASONS } from '../../api';
import { conditionChange, findCondition, type ConditionContent } from './conditions';
import { byQueueOrder, isStopRequested, isWaiting } from './tasks';
import type { EpochMs } from './time';
import type { AgentView, Condition, PodView, TaskStartRecord, TaskView } from './views';
import type { Decision, TaskStatusPatch, Write } from './writes';

/** The task pods the adapter knows of (its pod cache), by pod name; a pod missing here may still exist. */
export type TaskPods = ReadonlyMap<string, PodView>;

/**
 * Decides for the Tasks of one Agent (Tasks of other Agents and templateRef Tasks in `tasks` are ignored).
 *
 * - A slot is held by a Running Task whose pod has not ended (a pod Succeeded or Failed frees it at once, before the
 *   Task's Completed/Failed write), and by a waiting Task whose own pod exists (started before a crash).
 * - Waiting Tasks (no phase, Pending, Queued) without the stop annotation are taken in FIFO order; the first that
 *   cannot start blocks every younger one, so no Task ever overtakes an older one. A waiting Task whose pod exists
 *   already started: it is written Running without passing the gates again.
 * - Gates, in order: spec.suspend (AgentSuspended), server not ready (AgentServerNotReady), slots held ≥
 *   maxConcurrentTasks (AgentAtCapacity), starts in the last windowSeconds ≥ maxTaskStarts (QuotaExceeded).
 * - Writes, in FIFO order per Task: for one that starts, its pod, then Running with startTime and podName in one
 *   status patch; for the others Queued + condition. Then the Agent's taskStartHistory (only when a start is recorded
 *   or the ledger was repaired). The pod first keeps the next Task one API round trip away from a freed slot; a crash
 *   after it leaves a pod that proves the start (counted as a slot and in the ledger, and written Running next time),
 *   a crash before the ledger write leaves a startTime the ledger is repaired from.
 * - wakeAt: when the oldest ledger entry leaves the window, if the quota is what holds the queue.
 */
export function admitQueuedTasks(agent: AgentView, tasks: readonly TaskView[], now: EpochMs, pods: TaskPods = new Map()): Decision {
  const mine = tasks.filter((t) => t.namespace === agent.namespace && t.spec.agentRef?.name === agent.name);
  const podOf = (t: TaskView) => ownPod(t, pods);
  const running = mine.filter((t) => t.status?.phase === 'Running' && !hasEnded(podOf(t))).length;
  const waiting = mine.filter((t) => isWaiting(t));
  const resumed = waiting.filter((t) => podOf(t) !== undefined).sort(byQueueOrder);
  const queue = waiting.filter((t) => !isStopRequested(t) && podOf(t) === undefined).sort(byQueueOrder);
  const held = running + resumed.filter((t) => !hasEnded(podOf(t))).length;

  const { maxConcurrentTasks, quota } = agent.spec;
  const windowMs = quota ? quota.windowSeconds * 1000 : 0;
  const ledger = quota ? ledgerInWindow(agent, mine, now, windowMs) : undefined;
  let ledgerChanged = ledger?.repaired ?? false;
  const entries = ledger?.entries ?? [];
  const record = (task: TaskView, startTime: EpochMs) => {
    if (!quota) return;
    // A reservation left by an interrupted admission is re-stamped, so the ledger says when the Task really started.
    const reservation = entries.findIndex((e) => e.taskName === task.name && e.startTime >= task.creationTimestamp);
    if (reservation >= 0) entries.splice(reservation, 1);
    ledgerChanged ||= reservation >= 0;
    // a start a pod proves may be older than the window: it no longer counts
    if (now - startTime >= windowMs) return;
    entries.push({ taskName: task.name, startTime });
    ledgerChanged = true;
  };

  const taskWrites: Write[] = [];
  for (const task of resumed) {
    // its pod proves an earlier admission started it, when the pod was made: no gate applies, no second pod is made
    const startTime = provenStart(podOf(task)!, now);
    taskWrites.push({ kind: 'patchTaskStatus', namespace: task.namespace, name: task.name, uid: task.uid, status: startPatch(task, now, startTime) });
    record(task, startTime);
  }

  let blocked: ConditionContent | undefined = agentGate(agent);
  let blockedByQuota = false;
  let headBlocked = false;
  let started = 0;
  for (const task of queue) {
    const reservation = entries.findIndex((e) => e.taskName === task.name && e.startTime >= task.creationTimestamp);
    if (!blocked && maxConcurrentTasks !== undefined && held + started >= maxConcurrentTasks) {
      blocked = queuedCondition(REASONS.agentAtCapacity, `Agent '${agent.name}' runs maxConcurrentTasks (${maxConcurrentTasks}) Tasks; this Task starts when one finishes, in creation order`);
    }
    if (!blocked && quota && reservation < 0 && entries.length >= quota.maxTaskStarts) {
      blockedByQuota = true;
      blocked = queuedCondition(REASONS.quotaExceeded, `Agent '${agent.name}' started quota.maxTaskStarts (${quota.maxTaskStarts}) Tasks in the last ${quota.windowSeconds}s; this Task starts when the oldest start leaves the window, in creation order`);
    }
    if (blocked) {
      // behind the head of the queue, a Task held by one limit stays as it is when the other one holds the head now:
      // rewriting every waiting Task each time capacity and quota take turns would cost a write per waiting Task
      const keep = headBlocked && holdsByLimit(task) && LIMIT_REASONS.has(blocked.reason);
      headBlocked = true;
      const patch = keep ? undefined : statusPatch(task, 'Queued', blocked, now);
      if (patch) taskWrites.push({ kind: 'patchTaskStatus', namespace: task.namespace, name: task.name, uid: task.uid, status: patch });
      continue;
    }
    started++;
    taskWrites.push(...startWrites(task, now));
    record(task, now);
  }

  const writes: Write[] = [...taskWrites];
  if (ledgerChanged) {
    writes.push({ kind: 'patchAgentStatus', namespace: agent.namespace, name: agent.name, status: { taskStartHistory: sortLedger(entries) } });
  }
  const wakeAt = blockedByQuota ? Math.min(...entries.map((e) => e.startTime + windowMs)) : undefined;
  return { writes, wakeAt };
}

/** The Task's own pod `{task}-pod` among those known (a pod left by an earlier Task of the same name is not). */
function ownPod(task: TaskView, pods: TaskPods): PodView | undefined {
  const pod = pods.get(NAMES.taskPod(task.name));
  return pod && (pod.ownerTaskUid === undefined || pod.ownerTaskUid === task.uid) ? pod : undefined;
}

const hasEnded = (pod: PodView | undefined): boolean => pod?.phase === 'Succeeded' || pod?.phase === 'Failed';

/**
 * When a Task whose pod exists started: its pod's creation (the API server's whole seconds), not the moment its
 * Running write is made again — a later admission may have counted the start at its real time already (the quota
 * window), and the write that said so was lost in a crash.
 */
const provenStart = (pod: PodView, now: EpochMs): EpochMs => (pod.creationTimestamp > 0 ? Math.min(pod.creationTimestamp, now) : now);

/** Its pod, then Running with startTime and podName in one status write (AlreadyExists: an earlier attempt made it). */
function startWrites(task: TaskView, now: EpochMs): Write[] {
  return [
    { kind: 'createTaskPod', namespace: task.namespace, taskName: task.name, taskUid: task.uid, podName: NAMES.taskPod(task.name) },
    { kind: 'patchTaskStatus', namespace: task.namespace, name: task.name, uid: task.uid, status: startPatch(task, now) },
  ];
}

/**
 * templateRef Tasks are never limited (guide: "Concurrency/Quota: Not enforced"): every waiting one without the stop
 * annotation starts now. The adapter passes only Tasks whose AgentTemplate exists.
 */
export function admitTemplateTasks(tasks: readonly TaskView[], now: EpochMs, pods: TaskPods = new Map()): Decision {
  const writes: Write[] = [];
  for (const task of [...tasks].sort(byQueueOrder)) {
    if (!task.spec.templateRef || !isWaiting(task)) continue;
    const pod = ownPod(task, pods);
    if (pod) writes.push({ kind: 'patchTaskStatus', namespace: task.namespace, name: task.name, uid: task.uid, status: startPatch(task, now, provenStart(pod, now)) });
    else if (!isStopRequested(task)) writes.push(...startWrites(task, now));
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

/** The reasons of the Agent's two limits (the others are the Agent's state: suspended, no ready server). */
const LIMIT_REASONS: ReadonlySet<string> = new Set([REASONS.agentAtCapacity, REASONS.quotaExceeded]);

/** Queued, held by one of the Agent's limits. */
function holdsByLimit(task: TaskView): boolean {
  const q = findCondition(task.status?.conditions, CONDITIONS.queued);
  return task.status?.phase === 'Queued' && q?.status === 'True' && LIMIT_REASONS.has(q.reason);
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

/** Running with startTime and podName (written after the pod was created). */
function startPatch(task: TaskView, now: EpochMs, startTime: EpochMs = now): TaskStatusPatch {
  const wasQueued = findCondition(task.status?.conditions, CONDITIONS.queued);
  const leftQueue: Condition[] = wasQueued
    ? [{ type: CONDITIONS.queued, status: 'False', reason: REASONS.started, message: 'Left the queue and started', lastTransitionTime: wasQueued.status === 'False' ? wasQueued.lastTransitionTime : now }]
    : [];
  return { phase: 'Running', startTime, podName: NAMES.taskPod(task.name), ...(leftQueue.length ? { conditions: leftQueue } : {}) };
}

/**
 * Global cleanup of finished Tasks (KubeOpenCodeConfig spec.cleanup). Nothing is deleted by default, and a Task that
 * has not finished is never deleted, whatever the policy.
 */
import type { KubeOpenCodeConfigSpec } from '../../api';
import { byName, isFinished } from './tasks';
import { earliest, type EpochMs } from './time';
import type { TaskView } from './views';
import type { Decision, Write } from './writes';

export type CleanupPolicy = NonNullable<KubeOpenCodeConfigSpec['cleanup']>;

/**
 * - ttlSecondsAfterFinished: a finished Task is deleted once completionTime + ttl has passed.
 * - maxRetainedTasks: per namespace, the finished Tasks beyond the newest maxRetainedTasks are deleted, oldest
 *   completionTime first (name as tiebreaker).
 * Finished Tasks without completionTime are left alone (they cannot be ordered). The Task's pod and ConfigMap follow
 * through their owner references. Writes: deleteTask (uid precondition), in deletion order. wakeAt: the next TTL expiry.
 */
export function decideCleanup(tasks: readonly TaskView[], policy: CleanupPolicy | undefined, now: EpochMs): Decision {
  if (!policy || (policy.ttlSecondsAfterFinished === undefined && policy.maxRetainedTasks === undefined)) return { writes: [] };
  const finished = tasks.filter((t) => isFinished(t) && t.status?.completionTime !== undefined).sort(oldestFirst);
  const doomed = new Set<TaskView>();
  const ttl = policy.ttlSecondsAfterFinished;
  const expiry = (t: TaskView): EpochMs => completion(t) + (ttl ?? 0) * 1000;
  if (ttl !== undefined) for (const t of finished) if (now >= expiry(t)) doomed.add(t);

  const max = policy.maxRetainedTasks;
  if (max !== undefined) {
    const byNamespace = new Map<string, TaskView[]>();
    for (const t of finished) if (!doomed.has(t)) byNamespace.set(t.namespace, [...(byNamespace.get(t.namespace) ?? []), t]);
    for (const kept of byNamespace.values()) for (const t of kept.slice(0, Math.max(0, kept.length - max))) doomed.add(t);
  }

  const writes: Write[] = [...doomed].sort(oldestFirst).map((t) => ({ kind: 'deleteTask', namespace: t.namespace, name: t.name, uid: t.uid }));
  // Every Task still kept expires in the future (the others are doomed): the first of them is the next timer.
  const wakeAt = ttl === undefined ? undefined : earliest(...finished.filter((t) => !doomed.has(t)).map(expiry));
  return { writes, wakeAt };
}

const completion = (t: TaskView): EpochMs => t.status?.completionTime ?? 0;

function oldestFirst(a: TaskView, b: TaskView): number {
  return completion(a) - completion(b) || (a.namespace < b.namespace ? -1 : a.namespace > b.namespace ? 1 : byName(a, b));
}

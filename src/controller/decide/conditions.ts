/** Condition bookkeeping shared by every decision, so that deciding twice on the same state writes nothing. */
import type { EpochMs } from './time';
import type { Condition } from './views';

export function findCondition(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

export type ConditionContent = Omit<Condition, 'lastTransitionTime'>;

/**
 * The condition to upsert so that `current` says `desired`, or undefined when it already does. lastTransitionTime moves
 * only when the status flips, as metav1 conditions require (and as the Git rollout timeout relies on).
 */
export function conditionChange(
  current: readonly Condition[] | undefined,
  desired: ConditionContent,
  now: EpochMs,
): Condition | undefined {
  const existing = findCondition(current, desired.type);
  if (existing && existing.status === desired.status && existing.reason === desired.reason && existing.message === desired.message) {
    return undefined;
  }
  const lastTransitionTime = existing && existing.status === desired.status ? existing.lastTransitionTime : now;
  return { ...desired, lastTransitionTime };
}

/** Applies upserts the way the adapter does (by type), for decisions that read their own writes back. */
export function upsertConditions(current: readonly Condition[] | undefined, upserts: readonly Condition[]): Condition[] {
  const result = [...(current ?? [])];
  for (const c of upserts) {
    const i = result.findIndex((x) => x.type === c.type);
    if (i >= 0) result[i] = c;
    else result.push(c);
  }
  return result;
}

/** Small facts about Tasks that several decisions share. */
import { ANNOTATIONS, ANNOTATION_TRUE, type TaskPhase } from '../../api';
import type { TaskView } from './views';

export const isFinished = (t: TaskView): boolean => t.status?.phase === 'Completed' || t.status?.phase === 'Failed';

/** Not started yet: new (no phase), Pending or Queued. */
export const isWaiting = (t: TaskView): boolean => {
  const phase: TaskPhase | undefined = t.status?.phase;
  return phase === undefined || phase === 'Pending' || phase === 'Queued';
};

export const isStopRequested = (t: TaskView): boolean => t.annotations?.[ANNOTATIONS.stop] === ANNOTATION_TRUE;

/** Counts toward standby and Git rollout gating: it runs or will run (a Task being stopped will not). */
export const isActive = (t: TaskView): boolean => !isFinished(t) && !isStopRequested(t);

/** FIFO: creationTimestamp, then name (creation timestamps have one-second resolution, so ties are common). */
export function byQueueOrder(a: TaskView, b: TaskView): number {
  if (a.creationTimestamp !== b.creationTimestamp) return a.creationTimestamp - b.creationTimestamp;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

export const byName = (a: { name: string }, b: { name: string }): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

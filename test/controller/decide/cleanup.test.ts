import fc from 'fast-check';
import type { TaskPhase } from '../../../src/api';
import { decideCleanup, isFinished, type CleanupPolicy, type TaskView } from '../../../src/controller/decide';
import { minutes, ModelCluster, seconds, T0 } from './cluster-model';
import { taskView } from './fixtures';

const finished = (name: string, completionTime: number, namespace = 'team', phase: TaskPhase = 'Completed'): TaskView =>
  taskView(name, { namespace, status: { phase, startTime: completionTime - 1000, completionTime } });
const deleted = (tasks: readonly TaskView[], policy: CleanupPolicy | undefined, now: number) =>
  decideCleanup(tasks, policy, now).writes.map((w) => (w.kind === 'deleteTask' ? `${w.namespace}/${w.name}` : w.kind));

describe('Cleanup (KubeOpenCodeConfig spec.cleanup)', () => {
  test('nothing is cleaned up by default', () => {
    const tasks = [finished('a', T0 - minutes(600))];
    expect(decideCleanup(tasks, undefined, T0)).toEqual({ writes: [] });
    expect(decideCleanup(tasks, {}, T0)).toEqual({ writes: [] });
  });

  test('ttlSecondsAfterFinished, measured from completionTime, deletes the Task; the next expiry is the timer', () => {
    const tasks = [finished('old', T0 - seconds(3600)), finished('new', T0 - seconds(600), 'team', 'Failed')];
    const d = decideCleanup(tasks, { ttlSecondsAfterFinished: 3600 }, T0);
    expect(d.writes).toEqual([{ kind: 'deleteTask', namespace: 'team', name: 'old', uid: tasks[0].uid }]);
    expect(d.wakeAt).toBe(T0 + seconds(3000));
  });

  test('maxRetainedTasks is per namespace: the oldest finished Tasks by completionTime go first, name as tiebreaker', () => {
    const tasks = [finished('c', T0 - 3000), finished('b', T0 - 5000), finished('a', T0 - 5000), finished('d', T0 - 1000), finished('x', T0 - 9000, 'other')];
    expect(deleted(tasks, { maxRetainedTasks: 2 }, T0)).toEqual(['team/a', 'team/b']);
    expect(deleted(tasks, { maxRetainedTasks: 0 }, T0)).toEqual(['other/x', 'team/a', 'team/b', 'team/c', 'team/d']);
  });

  test('Tasks that have not finished are never deleted', () => {
    const running = taskView('r', { status: { phase: 'Running', startTime: T0 - minutes(600), completionTime: T0 - minutes(600) } });
    expect(deleted([running, taskView('q', { status: { phase: 'Queued' } })], { ttlSecondsAfterFinished: 0, maxRetainedTasks: 0 }, T0)).toEqual([]);
  });
});

const taskArb = fc.record({
  namespace: fc.constantFrom('team', 'ops'),
  phase: fc.constantFrom(undefined, 'Pending' as const, 'Queued' as const, 'Running' as const, 'Completed' as const, 'Failed' as const),
  completedAgo: fc.option(fc.integer({ min: 0, max: 7200 }), { nil: undefined }),
});
const policyArb = fc.record({ ttlSecondsAfterFinished: fc.option(fc.integer({ min: 0, max: 3600 }), { nil: undefined }), maxRetainedTasks: fc.option(fc.integer({ min: 0, max: 5 }), { nil: undefined }) });

describe('decideCleanup properties', () => {
  test('never deletes unfinished Tasks; keeps the newest maxRetainedTasks per namespace; nothing expires before wakeAt', () => {
    fc.assert(
      fc.property(fc.array(taskArb, { maxLength: 15 }), policyArb, fc.double({ min: 0, max: 1, noNaN: true }), (specs, policy, fraction) => {
        const model = new ModelCluster(T0);
        specs.forEach((s, i) =>
          model.addTask({ namespace: s.namespace, name: `t${i}`, spec: { agentRef: { name: 'agent' } }, status: s.phase && { phase: s.phase, completionTime: s.completedAgo === undefined ? undefined : T0 - seconds(s.completedAgo) } }),
        );
        const before = model.taskList();
        const d = decideCleanup(before, policy, T0);
        model.applyAll(d.writes);
        const gone = before.filter((t) => !model.task(t.namespace, t.name));
        for (const t of gone) {
          expect(isFinished(t)).toBe(true);
          expect(t.status?.completionTime).toBeDefined();
        }
        for (const ns of ['team', 'ops']) {
          const kept = model.taskList().filter((t) => t.namespace === ns && isFinished(t) && t.status?.completionTime !== undefined);
          if (policy.maxRetainedTasks !== undefined) expect(kept.length).toBeLessThanOrEqual(policy.maxRetainedTasks);
          // whatever went for retention is older than whatever stayed
          const goneHere = gone.filter((t) => t.namespace === ns && T0 - t.status!.completionTime! < (policy.ttlSecondsAfterFinished ?? Infinity) * 1000);
          for (const g of goneHere) for (const k of kept) expect(g.status!.completionTime!).toBeLessThanOrEqual(k.status!.completionTime!);
        }
        // idempotent, and no TTL expires before the timer
        expect(decideCleanup(model.taskList(), policy, T0).writes).toEqual([]);
        const later = d.wakeAt === undefined ? T0 + seconds(7200) : T0 + Math.floor((d.wakeAt - T0) * fraction) - 1;
        if (later >= T0) expect(decideCleanup(model.taskList(), policy, later).writes).toEqual([]);
      }),
      { numRuns: 500 },
    );
  });
});

import fc from 'fast-check';
import { CONDITIONS, REASONS } from '../../../src/api';
import { decidePodCreationFailed, decideTaskFromPod, type Decision, type PodView, type TaskView } from '../../../src/controller/decide';
import { minutes, seconds, T0 } from './cluster-model';
import { NS, taskView } from './fixtures';

const GRACE = 300;
const running = (overrides: Partial<TaskView> = {}): TaskView =>
  taskView('t', { uid: 'task-uid', status: { phase: 'Running', startTime: T0, podName: 't-pod' }, ...overrides });
const pod = (overrides: Partial<PodView> = {}): PodView => ({ name: 't-pod', ownerTaskUid: 'task-uid', creationTimestamp: T0, phase: 'Running', ...overrides });
const onlyStatus = (d: Decision) => {
  const w = d.writes.find((x) => x.kind === 'patchTaskStatus');
  return w?.kind === 'patchTaskStatus' ? w.status : undefined;
};
const condition = (d: Decision, type: string) => onlyStatus(d)?.conditions?.find((c) => c.type === type);

describe('following the pod', () => {
  test('pod Succeeded → Completed', () => {
    const d = decideTaskFromPod(running(), pod({ phase: 'Succeeded' }), T0 + minutes(3));
    expect(d.writes).toEqual([{ kind: 'patchTaskStatus', namespace: NS, name: 't', uid: 'task-uid', status: { phase: 'Completed', completionTime: T0 + minutes(3) } }]);
  });

  test('pod Failed → Failed, with the first non-zero container (init containers first), its reason and exit code', () => {
    const failedPod = pod({
      phase: 'Failed',
      initContainerStatuses: [{ name: 'git-init', state: { terminated: { exitCode: 0 } } }, { name: 'url-fetch', state: { terminated: { exitCode: 0 } } }],
      containerStatuses: [{ name: 'agent', state: { terminated: { exitCode: 137, reason: 'OOMKilled' } } }],
    });
    const d = decideTaskFromPod(running(), failedPod, T0 + minutes(3));
    expect(onlyStatus(d)?.phase).toBe('Failed');
    expect(condition(d, CONDITIONS.ready)).toMatchObject({ status: 'False', reason: REASONS.podFailed, message: "Container 'agent' exited with code 137 (OOMKilled)" });
    const initFailed = pod({ phase: 'Failed', initContainerStatuses: [{ name: 'git-init', state: { terminated: { exitCode: 128, reason: 'Error', message: 'fatal: repository not found' } } }] });
    expect(condition(decideTaskFromPod(running(), initFailed, T0), CONDITIONS.ready)?.message).toBe("Container 'git-init' exited with code 128 (Error): fatal: repository not found");
    expect(condition(decideTaskFromPod(running(), pod({ phase: 'Failed', reason: 'Evicted', message: 'low on memory' }), T0), CONDITIONS.ready)?.message).toBe("Pod 't-pod' failed: Evicted: low on memory");
  });

  test('pod missing (404) for a Running Task → Failed, reason PodLost (never stuck Running)', () => {
    const d = decideTaskFromPod(running(), undefined, T0 + minutes(1));
    expect(onlyStatus(d)?.phase).toBe('Failed');
    expect(condition(d, CONDITIONS.ready)?.reason).toBe(REASONS.podLost);
  });

  test('a Running Task without podName gets its pod, then records it; a crash in between re-creates (AlreadyExists)', () => {
    const fresh = running({ status: { phase: 'Running', startTime: T0 } });
    expect(decideTaskFromPod(fresh, undefined, T0).writes).toEqual([
      { kind: 'createTaskPod', namespace: NS, taskName: 't', taskUid: 'task-uid', podName: 't-pod' },
      { kind: 'patchTaskStatus', namespace: NS, name: 't', uid: 'task-uid', status: { podName: 't-pod' } },
    ]);
    expect(decideTaskFromPod(fresh, pod({ phase: 'Pending' }), T0).writes).toEqual([{ kind: 'patchTaskStatus', namespace: NS, name: 't', uid: 'task-uid', status: { podName: 't-pod' } }]);
    // A pod of an earlier Task with this name is still being garbage-collected: wait for its deletion event.
    expect(decideTaskFromPod(fresh, pod({ ownerTaskUid: 'older-uid' }), T0).writes).toEqual([]);
  });

  test('Tasks that finished are left alone', () => {
    expect(decideTaskFromPod(taskView('t', { status: { phase: 'Completed' } }), undefined, T0).writes).toEqual([]);
    expect(decideTaskFromPod(taskView('t', { status: { phase: 'Failed' } }), pod({ phase: 'Running' }), T0).writes).toEqual([]);
  });
});

describe('pods that cannot start fail the Task after the grace period', () => {
  const waiting = (reason: string, created = T0): PodView => pod({ phase: 'Pending', creationTimestamp: created, containerStatuses: [{ name: 'agent', state: { waiting: { reason, message: 'detail' } } }] });

  test.each([
    ['ImagePullBackOff', REASONS.imagePullFailed],
    ['ErrImagePull', REASONS.imagePullFailed],
    ['CreateContainerConfigError', REASONS.containerConfigError],
  ])('%s for longer than the grace period → Failed, %s', (reason, expected) => {
    const before = decideTaskFromPod(running(), waiting(reason), T0 + seconds(GRACE) - 1, GRACE);
    expect(before.writes).toEqual([]);
    expect(before.wakeAt).toBe(T0 + seconds(GRACE));
    const after = decideTaskFromPod(running(), waiting(reason), T0 + seconds(GRACE), GRACE);
    expect(onlyStatus(after)?.phase).toBe('Failed');
    expect(condition(after, CONDITIONS.ready)?.reason).toBe(expected);
  });

  test('InvalidImageName fails at once: waiting does not help', () => {
    expect(condition(decideTaskFromPod(running(), waiting('InvalidImageName'), T0, GRACE), CONDITIONS.ready)?.reason).toBe(REASONS.imagePullFailed);
  });

  test('a main container waits from when the init containers were done (Initialized), not from pod creation', () => {
    const p: PodView = { ...waiting('ImagePullBackOff'), conditions: [{ type: 'Initialized', status: 'True', lastTransitionTime: T0 + minutes(10) }] };
    expect(decideTaskFromPod(running(), p, T0 + minutes(12), GRACE).writes).toEqual([]);
    expect(onlyStatus(decideTaskFromPod(running(), p, T0 + minutes(15), GRACE))?.phase).toBe('Failed');
  });

  test('PodScheduled False / Unschedulable longer than the grace period → Failed, reason Unschedulable', () => {
    const p = pod({ phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/3 nodes available', lastTransitionTime: T0 + seconds(5) }] });
    expect(decideTaskFromPod(running(), p, T0 + seconds(GRACE), GRACE).wakeAt).toBe(T0 + seconds(GRACE + 5));
    const d = decideTaskFromPod(running(), p, T0 + seconds(GRACE + 5), GRACE);
    expect(condition(d, CONDITIONS.ready)).toMatchObject({ reason: REASONS.unschedulable, message: "Pod 't-pod' could not be scheduled for 300s: 0/3 nodes available" });
  });
});

describe('Task Stop (kubeopencode.io/stop=true)', () => {
  const stopping = (status: TaskView['status']) => taskView('t', { uid: 'task-uid', annotations: { 'kubeopencode.io/stop': 'true' }, status });

  test('the controller deletes the Pod; the Task is Completed with a Stopped condition, reason UserStopped', () => {
    const d = decideTaskFromPod(stopping({ phase: 'Running', startTime: T0, podName: 't-pod' }), pod(), T0 + minutes(2));
    expect(d.writes[0]).toEqual({ kind: 'deletePod', namespace: NS, name: 't-pod' });
    expect(onlyStatus(d)).toMatchObject({ phase: 'Completed', completionTime: T0 + minutes(2) });
    expect(condition(d, CONDITIONS.stopped)).toMatchObject({ status: 'True', reason: REASONS.userStopped });
  });

  test('works for Queued Tasks too (no pod to delete; the Queued condition is closed)', () => {
    const queued = stopping({ phase: 'Queued', conditions: [{ type: CONDITIONS.queued, status: 'True', reason: REASONS.agentAtCapacity, message: 'm', lastTransitionTime: T0 }] });
    const d = decideTaskFromPod(queued, undefined, T0 + 1000);
    expect(d.writes.map((w) => w.kind)).toEqual(['patchTaskStatus']);
    expect(onlyStatus(d)?.phase).toBe('Completed');
    expect(condition(d, CONDITIONS.stopped)?.reason).toBe(REASONS.userStopped);
    expect(condition(d, CONDITIONS.queued)).toMatchObject({ status: 'False', reason: REASONS.userStopped });
  });

  test('a waiting Task with a pod (an admission interrupted before its Running write): the stop deletes that pod too', () => {
    const queued = stopping({ phase: 'Queued' });
    const d = decideTaskFromPod(queued, pod({ ownerTaskUid: queued.uid }), T0 + 1000);
    expect(d.writes.map((w) => w.kind)).toEqual(['deletePod', 'patchTaskStatus']);
    expect(condition(d, CONDITIONS.stopped)?.reason).toBe(REASONS.userStopped);
    expect(decideTaskFromPod(queued, pod({ ownerTaskUid: 'an-older-task' }), T0 + 1000).writes.map((w) => w.kind)).toEqual(['patchTaskStatus']);
  });

  test('a crash after the delete still reads as a stop, not as the failure the delete caused', () => {
    const dying = pod({ phase: 'Failed', deletionTimestamp: T0 + 1, containerStatuses: [{ name: 'agent', state: { terminated: { exitCode: 143, reason: 'Error' } } }] });
    const d = decideTaskFromPod(stopping({ phase: 'Running', startTime: T0, podName: 't-pod' }), dying, T0 + 5000);
    expect(d.writes.map((w) => w.kind)).toEqual(['patchTaskStatus']); // already being deleted
    expect(onlyStatus(d)?.phase).toBe('Completed');
    expect(condition(d, CONDITIONS.stopped)?.reason).toBe(REASONS.userStopped);
  });

  test('a pod that ended by itself wins over a stop noticed later', () => {
    const d = decideTaskFromPod(stopping({ phase: 'Running', startTime: T0, podName: 't-pod' }), pod({ phase: 'Failed' }), T0 + 5000);
    expect(onlyStatus(d)?.phase).toBe('Failed');
  });
});

describe('a pod that could not be made (PodCreationError)', () => {
  test('fails the Task and closes a Queued condition still True (it left the queue without starting)', () => {
    const waited = taskView('t', { status: { phase: 'Queued', conditions: [{ type: CONDITIONS.queued, status: 'True', reason: REASONS.agentAtCapacity, message: 'm', lastTransitionTime: T0 }] } });
    const d = decidePodCreationFailed(waited, 'HTTP 403: forbidden', T0 + 1000);
    expect(d.writes).toHaveLength(1);
    expect(d.writes[0]).toMatchObject({ kind: 'patchTaskStatus', status: { phase: 'Failed', completionTime: T0 + 1000 } });
    expect(condition(d, CONDITIONS.ready)).toMatchObject({ status: 'False', reason: REASONS.podCreationError, message: 'HTTP 403: forbidden' });
    expect(condition(d, CONDITIONS.queued)).toMatchObject({ status: 'False', reason: REASONS.podCreationError });
  });

  test('a Task that never waited gets no Queued condition', () => {
    const d = decidePodCreationFailed(taskView('t', { status: { phase: 'Running' } }), 'missing PodTemplate', T0);
    expect(condition(d, CONDITIONS.queued)).toBeUndefined();
    expect(condition(d, CONDITIONS.ready)).toMatchObject({ reason: REASONS.podCreationError });
  });
});

describe('spec.timeout', () => {
  const timed = (status: TaskView['status'] = { phase: 'Running', startTime: T0, podName: 't-pod' }) =>
    taskView('t', { uid: 'task-uid', spec: { agentRef: { name: 'agent' }, timeout: '30m' }, status });

  test('counted from startTime: before it, a timer; at it, delete the pod → Completed, Stopped, reason Timeout', () => {
    const before = decideTaskFromPod(timed(), pod(), T0 + minutes(29));
    expect(before).toEqual({ writes: [], wakeAt: T0 + minutes(30) });
    const d = decideTaskFromPod(timed(), pod(), T0 + minutes(30));
    expect(d.writes[0]).toEqual({ kind: 'deletePod', namespace: NS, name: 't-pod' });
    expect(onlyStatus(d)?.phase).toBe('Completed');
    expect(condition(d, CONDITIONS.stopped)).toMatchObject({ status: 'True', reason: REASONS.timeout });
  });

  test('a timed-out pod that exits 0 while being deleted still reads as Timeout', () => {
    const d = decideTaskFromPod(timed(), pod({ phase: 'Succeeded', deletionTimestamp: T0 + minutes(30) }), T0 + minutes(31));
    expect(condition(d, CONDITIONS.stopped)?.reason).toBe(REASONS.timeout);
  });

  test('Queued time does not count', () => {
    expect(decideTaskFromPod(timed({ phase: 'Queued' }), undefined, T0 + minutes(600)).writes).toEqual([]);
  });
});

describe('decideTaskFromPod properties', () => {
  const podArb: fc.Arbitrary<PodView | undefined> = fc.option(
    fc.record({
      phase: fc.constantFrom('Pending' as const, 'Running' as const, 'Succeeded' as const, 'Failed' as const, 'Unknown' as const),
      createdAgo: fc.integer({ min: 0, max: 900 }),
      deleting: fc.boolean(),
      foreign: fc.boolean(),
      waiting: fc.option(fc.constantFrom('ImagePullBackOff', 'ErrImagePull', 'CreateContainerConfigError', 'ContainerCreating', 'InvalidImageName'), { nil: undefined }),
      unschedulableAgo: fc.option(fc.integer({ min: 0, max: 900 }), { nil: undefined }),
      exitCode: fc.integer({ min: 0, max: 255 }),
    }),
    { nil: undefined },
  ).map((p) =>
    p === undefined
      ? undefined
      : pod({
        phase: p.phase,
        ownerTaskUid: p.foreign ? 'older-uid' : 'task-uid',
        creationTimestamp: T0 - seconds(p.createdAgo),
        deletionTimestamp: p.deleting ? T0 : undefined,
        containerStatuses: [{ name: 'agent', state: p.waiting ? { waiting: { reason: p.waiting } } : p.phase === 'Failed' || p.phase === 'Succeeded' ? { terminated: { exitCode: p.exitCode } } : {} }],
        conditions: p.unschedulableAgo === undefined ? [] : [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', lastTransitionTime: T0 - seconds(p.unschedulableAgo) }],
      }),
  );
  const taskArb = fc
    .record({
      phase: fc.constantFrom(undefined, 'Pending' as const, 'Queued' as const, 'Running' as const, 'Completed' as const, 'Failed' as const),
      podRecorded: fc.boolean(),
      stop: fc.boolean(),
      timeout: fc.option(fc.constantFrom('5m', '20m', '1h'), { nil: undefined }),
      startedAgo: fc.integer({ min: 0, max: 1800 }),
    })
    .map((t) =>
      taskView('t', {
        uid: 'task-uid',
        annotations: t.stop ? { 'kubeopencode.io/stop': 'true' } : {},
        spec: { agentRef: { name: 'agent' }, timeout: t.timeout },
        status: t.phase === undefined ? undefined : { phase: t.phase, startTime: T0 - seconds(t.startedAgo), podName: t.podRecorded ? 't-pod' : undefined },
      }),
    );

  test('when nothing is to be done now, nothing is to be done before wakeAt either (timers suffice)', () => {
    fc.assert(
      fc.property(taskArb, podArb, fc.integer({ min: 0, max: seconds(3600) }), (task, p, delay) => {
        const now = T0;
        const d = decideTaskFromPod(task, p, now, GRACE);
        if (d.writes.length) return;
        if (d.wakeAt !== undefined) expect(d.wakeAt).toBeGreaterThan(now);
        const later = d.wakeAt === undefined ? now + delay : Math.min(now + delay, d.wakeAt - 1);
        expect(decideTaskFromPod(task, p, later, GRACE).writes).toEqual([]);
      }),
      { numRuns: 500 },
    );
  });

  test('a pod is deleted only for a stop or a timeout, and only a Running Task creates one', () => {
    fc.assert(
      fc.property(taskArb, podArb, (task, p) => {
        const d = decideTaskFromPod(task, p, T0, GRACE);
        const status = d.writes.find((w) => w.kind === 'patchTaskStatus');
        for (const w of d.writes) {
          if (w.kind === 'deletePod') expect(status?.kind === 'patchTaskStatus' && status.status.conditions?.some((c) => c.type === CONDITIONS.stopped)).toBe(true);
          if (w.kind === 'createTaskPod') expect(task.status?.phase === 'Running' && task.status.podName === undefined && p === undefined).toBe(true);
        }
        // every terminal write sets completionTime, and finished Tasks are never written
        if (status?.kind === 'patchTaskStatus' && status.status.phase) expect(status.status.completionTime).toBe(T0);
        if (task.status?.phase === 'Completed' || task.status?.phase === 'Failed') expect(d.writes).toEqual([]);
      }),
      { numRuns: 500 },
    );
  });
});

import fc from 'fast-check';
import { CONDITIONS, REASONS, type TaskPhase } from '../../../src/api';
import {
  admitQueuedTasks,
  admitTemplateTasks,
  byQueueOrder,
  holdTasksForMissingReference,
  type AgentView,
  type Decision,
  type TaskStatusPatch,
  type TaskView,
} from '../../../src/controller/decide';
import { minutes, ModelCluster, seconds, T0 } from './cluster-model';
import { agentView, NS, taskView } from './fixtures';

const statusOf = (d: Decision, name: string): TaskStatusPatch | undefined => {
  const w = d.writes.find((x) => x.kind === 'patchTaskStatus' && x.name === name);
  return w?.kind === 'patchTaskStatus' ? w.status : undefined;
};
const queuedReason = (d: Decision, name: string) => statusOf(d, name)?.conditions?.find((c) => c.type === CONDITIONS.queued)?.reason;
const startedNames = (d: Decision) => d.writes.flatMap((w) => (w.kind === 'patchTaskStatus' && w.status.phase === 'Running' ? [w.name] : []));
const ledgerWrite = (d: Decision) => d.writes.find((w) => w.kind === 'patchAgentStatus');
const running = (name: string, startTime = T0): TaskView => taskView(name, { status: { phase: 'Running', startTime, podName: `${name}-pod` } });

describe('Concurrency Control (maxConcurrentTasks)', () => {
  const agent = agentView({ spec: { maxConcurrentTasks: 3 } });

  test('when the limit is reached, new Tasks enter Queued instead of Running (reason AgentAtCapacity)', () => {
    const tasks = [running('a'), running('b'), running('c'), taskView('d')];
    const d = admitQueuedTasks(agent, tasks, T0);
    expect(statusOf(d, 'd')?.phase).toBe('Queued');
    expect(queuedReason(d, 'd')).toBe(REASONS.agentAtCapacity);
    expect(d.wakeAt).toBeUndefined(); // capacity frees through a watch event, never a timer
  });

  test('Queued Tasks transition to Running when capacity becomes available', () => {
    const queued = taskView('d', { status: { phase: 'Queued', conditions: [{ type: CONDITIONS.queued, status: 'True', reason: REASONS.agentAtCapacity, message: 'm', lastTransitionTime: T0 }] } });
    const d = admitQueuedTasks(agent, [running('a'), running('b'), queued], T0 + 5000);
    expect(statusOf(d, 'd')).toMatchObject({ phase: 'Running', startTime: T0 + 5000 });
    expect(statusOf(d, 'd')?.conditions).toEqual([expect.objectContaining({ type: CONDITIONS.queued, status: 'False', reason: REASONS.started })]);
  });

  test('Tasks are processed in FIFO order: creationTimestamp, then name', () => {
    const tasks = [taskView('z-old', { creationTimestamp: T0 - 2000 }), taskView('b', { creationTimestamp: T0 }), taskView('a', { creationTimestamp: T0 }), taskView('new', { creationTimestamp: T0 + 1000 })];
    const d = admitQueuedTasks(agentView({ spec: { maxConcurrentTasks: 2 } }), tasks, T0 + 2000);
    expect(startedNames(d)).toEqual(['z-old', 'a']);
    expect(queuedReason(d, 'b')).toBe(REASONS.agentAtCapacity);
    expect(queuedReason(d, 'new')).toBe(REASONS.agentAtCapacity);
  });

  test('a Task whose pod ended holds no slot: the next Task\'s pod is created at once, before anyone writes Completed', () => {
    const a = running('a');
    const pods = new Map([['a-pod', { name: 'a-pod', ownerTaskUid: a.uid, creationTimestamp: T0, phase: 'Succeeded' as const }]]);
    const d = admitQueuedTasks(agentView({ spec: { maxConcurrentTasks: 1 } }), [a, taskView('b', { creationTimestamp: T0 + 1000 })], T0 + 5000, pods);
    expect(d.writes).toEqual([
      { kind: 'createTaskPod', namespace: NS, taskName: 'b', taskUid: expect.any(String), podName: 'b-pod' },
      { kind: 'patchTaskStatus', namespace: NS, name: 'b', uid: expect.any(String), status: { phase: 'Running', startTime: T0 + 5000, podName: 'b-pod' } },
    ]);
  });

  test('a waiting Task whose pod exists (an admission interrupted after the pod) holds its slot and is written Running, with no second pod', () => {
    const b = taskView('b', { creationTimestamp: T0 + 1000 });
    const pods = new Map([['b-pod', { name: 'b-pod', ownerTaskUid: b.uid, creationTimestamp: T0 + 2000, phase: 'Pending' as const }]]);
    const d = admitQueuedTasks(agentView({ spec: { maxConcurrentTasks: 1 } }), [b, taskView('c', { creationTimestamp: T0 + 1000 })], T0 + 5000, pods);
    expect(d.writes.filter((w) => w.kind === 'createTaskPod')).toEqual([]);
    expect(statusOf(d, 'b')).toMatchObject({ phase: 'Running', podName: 'b-pod' });
    expect(queuedReason(d, 'c')).toBe(REASONS.agentAtCapacity);
  });

  test('a pod of an earlier Task of the same name proves nothing about this one', () => {
    const b = taskView('b');
    const pods = new Map([['b-pod', { name: 'b-pod', ownerTaskUid: 'uid-of-an-older-b', creationTimestamp: T0 - 60_000, phase: 'Running' as const }]]);
    const d = admitQueuedTasks(agentView({ spec: { maxConcurrentTasks: 1 } }), [b], T0, pods);
    expect(d.writes.map((w) => w.kind)).toEqual(['createTaskPod', 'patchTaskStatus']);
  });

  test('counts only Running Tasks of this Agent', () => {
    const other = { ...running('x'), spec: { agentRef: { name: 'other' } } };
    const done = taskView('y', { status: { phase: 'Completed', startTime: T0, completionTime: T0 } });
    const d = admitQueuedTasks(agentView({ spec: { maxConcurrentTasks: 1 } }), [other, done, taskView('t')], T0);
    expect(startedNames(d)).toEqual(['t']);
  });
});

describe('Quota (sliding window)', () => {
  const agent = (history: Array<[string, number]>) =>
    agentView({ spec: { quota: { maxTaskStarts: 2, windowSeconds: 3600 } }, status: { ready: true, taskStartHistory: history.map(([taskName, startTime]) => ({ taskName, startTime })) } });

  test('when quota is exceeded, new Tasks enter Queued with reason QuotaExceeded, and a timer is set for the window end', () => {
    const d = admitQueuedTasks(agent([['p', T0 - minutes(50)], ['q', T0 - minutes(10)]]), [taskView('t')], T0);
    expect(statusOf(d, 't')?.phase).toBe('Queued');
    expect(queuedReason(d, 't')).toBe(REASONS.quotaExceeded);
    expect(d.wakeAt).toBe(T0 - minutes(50) + minutes(60)); // when the oldest start leaves the window
  });

  test('a start is recorded in the ledger after the Task\'s pod and Running write (off the path to the pod), and expired entries are pruned then', () => {
    const d = admitQueuedTasks(agent([['old', T0 - minutes(61)], ['q', T0 - minutes(10)]]), [taskView('t')], T0);
    expect(d.writes.map((w) => w.kind)).toEqual(['createTaskPod', 'patchTaskStatus', 'patchAgentStatus']);
    expect(d.writes[1]).toMatchObject({ kind: 'patchTaskStatus', name: 't', status: { phase: 'Running', startTime: T0, podName: 't-pod' } });
    expect(d.writes[2]).toEqual({ kind: 'patchAgentStatus', namespace: NS, name: 'agent', status: { taskStartHistory: [{ taskName: 'q', startTime: T0 - minutes(10) }, { taskName: 't', startTime: T0 }] } });
  });

  test('a pod left by an admission that crashed before its writes proves the start: counted in the ledger, never a second start', () => {
    const t = taskView('t', { creationTimestamp: T0 - 5000 });
    const pods = new Map([['t-pod', { name: 't-pod', ownerTaskUid: t.uid, creationTimestamp: T0 - 1000, phase: 'Pending' as const }]]);
    const d = admitQueuedTasks(agent([['p', T0 - minutes(5)], ['q', T0 - minutes(4)]]), [t, taskView('u')], T0, pods);
    expect(d.writes.filter((w) => w.kind === 'createTaskPod')).toEqual([]);
    // it started when its pod was made, not now
    expect(statusOf(d, 't')).toMatchObject({ phase: 'Running', podName: 't-pod', startTime: T0 - 1000 });
    expect(queuedReason(d, 'u')).toBe(REASONS.quotaExceeded);
    expect(ledgerWrite(d)).toMatchObject({ status: { taskStartHistory: [{ taskName: 'p' }, { taskName: 'q' }, { taskName: 't', startTime: T0 - 1000 }] } });
  });

  test('a start a pod proves from before the window is written with that time and does not count against the quota', () => {
    const t = taskView('t', { creationTimestamp: T0 - minutes(80) });
    const pods = new Map([['t-pod', { name: 't-pod', ownerTaskUid: t.uid, creationTimestamp: T0 - minutes(70), phase: 'Running' as const }]]);
    const d = admitQueuedTasks(agent([['p', T0 - minutes(4)]]), [t, taskView('u')], T0, pods);
    expect(statusOf(d, 't')).toMatchObject({ phase: 'Running', startTime: T0 - minutes(70) });
    // p (4 minutes ago) and u (now) fill maxTaskStarts: t's start left the window long ago
    expect(statusOf(d, 'u')).toMatchObject({ phase: 'Running' });
    expect(d.wakeAt).toBeUndefined();
  });

  test('an entry leaves the window exactly windowSeconds after its start', () => {
    const history: Array<[string, number]> = [['p', T0 - minutes(60)], ['q', T0 - minutes(10)]];
    expect(startedNames(admitQueuedTasks(agent(history), [taskView('t')], T0 - 1))).toEqual([]);
    expect(startedNames(admitQueuedTasks(agent(history), [taskView('t')], T0))).toEqual(['t']);
  });

  test('a start recorded before a crash is a reservation: re-used (and re-stamped), never counted twice', () => {
    // The ledger write happened, the Task status write did not.
    const t = taskView('t', { creationTimestamp: T0 - 5000 });
    const d = admitQueuedTasks(agent([['p', T0 - minutes(5)], ['t', T0 - 1000]]), [t], T0);
    expect(startedNames(d)).toEqual(['t']);
    expect(ledgerWrite(d)).toMatchObject({ status: { taskStartHistory: [{ taskName: 'p', startTime: T0 - minutes(5) }, { taskName: 't', startTime: T0 }] } });
  });

  test('a ledger entry of an earlier Task with the same name is no reservation for a new one', () => {
    const t = taskView('t', { creationTimestamp: T0 - 1000 });
    const d = admitQueuedTasks(agent([['p', T0 - minutes(5)], ['t', T0 - minutes(3)]]), [t], T0);
    expect(queuedReason(d, 't')).toBe(REASONS.quotaExceeded);
  });

  test('starts the Tasks themselves prove are added to a ledger that lacks them (e.g. an Agent recreated)', () => {
    const d = admitQueuedTasks(agent([]), [running('a', T0 - minutes(1)), running('b', T0 - minutes(2)), taskView('t')], T0);
    expect(queuedReason(d, 't')).toBe(REASONS.quotaExceeded);
    expect(ledgerWrite(d)).toMatchObject({ status: { taskStartHistory: [{ taskName: 'b' }, { taskName: 'a' }] } });
  });

  test('both limits together: capacity is checked first', () => {
    const a = agentView({ spec: { maxConcurrentTasks: 1, quota: { maxTaskStarts: 1, windowSeconds: 60 } }, status: { ready: true, taskStartHistory: [{ taskName: 'r', startTime: T0 }] } });
    const d = admitQueuedTasks(a, [running('r'), taskView('t')], T0);
    expect(queuedReason(d, 't')).toBe(REASONS.agentAtCapacity);
    expect(d.wakeAt).toBeUndefined();
  });

  test('when capacity and quota take turns holding the queue, only its head is rewritten: one write per turn, not one per waiting Task', () => {
    const a = agentView({ spec: { maxConcurrentTasks: 1, quota: { maxTaskStarts: 1, windowSeconds: 60 } }, status: { ready: true, taskStartHistory: [{ taskName: 'r', startTime: T0 }] } });
    const queued = (name: string, reason: string) => taskView(name, { creationTimestamp: T0 + name.charCodeAt(0), status: { phase: 'Queued', conditions: [{ type: CONDITIONS.queued, status: 'True', reason, message: 'm', lastTransitionTime: T0 }] } });
    const waiting = ['t', 'u', 'v', 'w'].map((n) => queued(n, REASONS.agentAtCapacity));
    // r's pod ended and it Completed: the slot is free, the quota now holds the queue
    const finished = taskView('r', { status: { phase: 'Completed', startTime: T0, podName: 'r-pod' } });
    const d = admitQueuedTasks(a, [finished, ...waiting], T0 + seconds(10));
    expect(d.writes.map((w) => (w.kind === 'patchTaskStatus' ? w.name : w.kind))).toEqual(['t']);
    expect(queuedReason(d, 't')).toBe(REASONS.quotaExceeded);
    // and a Task that waits for the Agent itself (not one of its limits) is rewritten wherever it stands
    const suspended = admitQueuedTasks({ ...a, spec: { ...a.spec, suspend: true } }, [finished, ...waiting], T0 + seconds(10));
    expect(suspended.writes.map((w) => (w.kind === 'patchTaskStatus' ? w.name : w.kind))).toEqual(['t', 'u', 'v', 'w']);
    // a Task that was never queued gets its reason wherever it stands
    const fresh = admitQueuedTasks(a, [finished, ...waiting, taskView('x', { creationTimestamp: T0 + 500 })], T0 + seconds(10));
    expect(queuedReason(fresh, 'x')).toBe(REASONS.quotaExceeded);
  });
});

describe('Suspend and server readiness', () => {
  test('Tasks targeting a suspended agent enter Queued with reason AgentSuspended', () => {
    const d = admitQueuedTasks(agentView({ spec: { suspend: true } }), [taskView('t')], T0);
    expect(statusOf(d, 't')?.phase).toBe('Queued');
    expect(queuedReason(d, 't')).toBe(REASONS.agentSuspended);
  });

  test('set suspend: false to resume, and queued tasks start automatically once the server is ready', () => {
    const queued = taskView('t', { status: { phase: 'Queued', conditions: [{ type: CONDITIONS.queued, status: 'True', reason: REASONS.agentSuspended, message: 'm', lastTransitionTime: T0 }] } });
    const notReady = admitQueuedTasks(agentView({ spec: { suspend: false }, status: { ready: false } }), [queued], T0);
    expect(queuedReason(notReady, 't')).toBe(REASONS.agentServerNotReady);
    expect(startedNames(admitQueuedTasks(agentView({ spec: { suspend: false } }), [queued], T0))).toEqual(['t']);
  });
});

describe('other admission cases', () => {
  test('templateRef Tasks are never limited (Concurrency/Quota: Not enforced)', () => {
    const tasks = [1, 2, 3].map((i) => taskView(`e${i}`, { spec: { templateRef: { name: 'team-config' } } }));
    const d = admitTemplateTasks(tasks, T0);
    expect(startedNames(d)).toEqual(['e1', 'e2', 'e3']);
    expect(admitQueuedTasks(agentView({ spec: { maxConcurrentTasks: 1, suspend: true } }), tasks, T0).writes).toEqual([]);
  });

  test('a waiting Task with the stop annotation is neither started nor queued (decideTaskFromPod stops it)', () => {
    const t = taskView('t', { annotations: { 'kubeopencode.io/stop': 'true' } });
    expect(admitQueuedTasks(agentView(), [t], T0).writes).toEqual([]);
  });

  test('a Task whose Agent does not exist stays Pending (reason AgentNotFound) instead of failing', () => {
    const d = holdTasksForMissingReference([taskView('t')], T0);
    expect(statusOf(d, 't')?.phase).toBe('Pending');
    expect(queuedReason(d, 't')).toBe(REASONS.agentNotFound);
    const tmpl = holdTasksForMissingReference([taskView('e', { spec: { templateRef: { name: 'x' } } })], T0);
    expect(queuedReason(tmpl, 'e')).toBe(REASONS.agentTemplateNotFound);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Properties on random snapshots.

const phaseArb: fc.Arbitrary<TaskPhase | undefined> = fc.constantFrom(undefined, 'Pending', 'Queued', 'Running', 'Completed', 'Failed');
const snapshotArb = fc
  .record({
    maxConcurrentTasks: fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }),
    quota: fc.option(fc.record({ maxTaskStarts: fc.integer({ min: 1, max: 4 }), windowSeconds: fc.integer({ min: 60, max: 600 }) }), { nil: undefined }),
    suspend: fc.boolean(),
    ready: fc.boolean(),
    tasks: fc.array(
      fc.record({
        created: fc.integer({ min: 0, max: 20 }),
        phase: phaseArb,
        startedAgo: fc.integer({ min: 0, max: 900 }),
        stop: fc.boolean(),
        otherAgent: fc.boolean(),
      }),
      { maxLength: 12 },
    ),
    history: fc.array(fc.record({ task: fc.integer({ min: 0, max: 15 }), ago: fc.integer({ min: 0, max: 900 }) }), { maxLength: 6 }),
  })
  .map(({ maxConcurrentTasks, quota, suspend, ready, tasks, history }) => {
    const now = T0 + minutes(30);
    const views = tasks.map((t, i) =>
      taskView(`t${i}`, {
        creationTimestamp: T0 + seconds(t.created),
        annotations: t.stop ? { 'kubeopencode.io/stop': 'true' } : {},
        spec: { agentRef: { name: t.otherAgent ? 'other' : 'agent' } },
        status: t.phase === undefined ? undefined : { phase: t.phase, ...(t.phase === 'Running' || t.phase === 'Completed' || t.phase === 'Failed' ? { startTime: now - seconds(t.startedAgo) } : {}) },
      }),
    );
    const agent: AgentView = agentView({ spec: { maxConcurrentTasks, quota, suspend }, status: { ready, taskStartHistory: history.map((h) => ({ taskName: `t${h.task}`, startTime: now - seconds(h.ago) })) } });
    return { agent, tasks: views, now };
  });

const eligible = (agent: AgentView, tasks: readonly TaskView[]) =>
  tasks.filter((t) => t.spec.agentRef?.name === agent.name && ['Pending', 'Queued', undefined].includes(t.status?.phase) && t.annotations?.['kubeopencode.io/stop'] !== 'true').sort(byQueueOrder);

describe('admitQueuedTasks properties', () => {
  test('started Tasks are always a FIFO prefix of the eligible queue, within capacity', () => {
    fc.assert(
      fc.property(snapshotArb, ({ agent, tasks, now }) => {
        const d = admitQueuedTasks(agent, tasks, now);
        const queue = eligible(agent, tasks).map((t) => t.name);
        const started = startedNames(d);
        expect(started).toEqual(queue.slice(0, started.length));
        const runningNow = tasks.filter((t) => t.spec.agentRef?.name === 'agent' && t.status?.phase === 'Running').length;
        if (agent.spec.maxConcurrentTasks !== undefined && started.length > 0) expect(runningNow + started.length).toBeLessThanOrEqual(agent.spec.maxConcurrentTasks);
        if (agent.spec.suspend || !agent.status?.ready) expect(started).toEqual([]);
        // every eligible Task that did not start is Queued with a reason
        for (const name of queue.slice(started.length)) {
          const task = tasks.find((t) => t.name === name)!;
          const patch = statusOf(d, name);
          if (patch) expect(patch.phase).toBe('Queued');
          else expect(task.status?.phase).toBe('Queued');
        }
      }),
      { numRuns: 400 },
    );
  });

  test('deciding again on the result writes nothing (idempotence)', () => {
    fc.assert(
      fc.property(snapshotArb, ({ agent, tasks, now }) => {
        const model = new ModelCluster(now);
        model.agents.set(`${NS}/agent`, agent);
        tasks.forEach((t) => model.setTask(t));
        model.applyAll(admitQueuedTasks(agent, tasks, now).writes);
        expect(admitQueuedTasks(model.agents.get(`${NS}/agent`)!, model.taskList(), now).writes).toEqual([]);
      }),
      { numRuns: 400 },
    );
  });

  test('nothing starts before wakeAt unless an event changes the state', () => {
    fc.assert(
      fc.property(snapshotArb, fc.double({ min: 0, max: 1, noNaN: true }), ({ agent, tasks, now }, fraction) => {
        const model = new ModelCluster(now);
        model.agents.set(`${NS}/agent`, agent);
        tasks.forEach((t) => model.setTask(t));
        const d = admitQueuedTasks(agent, tasks, now);
        model.applyAll(d.writes);
        const later = d.wakeAt === undefined ? now + minutes(60) : now + Math.floor((d.wakeAt - now) * fraction) - 1;
        if (later < now) return;
        expect(admitQueuedTasks(model.agents.get(`${NS}/agent`)!, model.taskList(), later).writes).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });
});

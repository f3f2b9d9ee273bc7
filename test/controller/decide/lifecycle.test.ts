/**
 * The Task lifecycle end to end on a model cluster with a fake clock: Tasks arrive, time passes, pods run, end,
 * vanish or get stuck, users stop Tasks and suspend the Agent, and the controller decides in any order, crashing
 * after any write. Invariants are checked at every write; at the end the queue is drained by events and wakeAt alone.
 */
import fc from 'fast-check';
import { CONDITIONS, REASONS } from '../../../src/api';
import {
  admitQueuedTasks,
  admitTemplateTasks,
  byQueueOrder,
  decideTaskFromPod,
  isFinished,
  isStopRequested,
  isStatusWrite,
  isWaiting,
  writeTarget,
  type AgentView,
  type Decision,
  type TaskView,
  type Write,
} from '../../../src/controller/decide';
import { maxStartsInAnyWindow, minutes, ModelCluster, seconds, T0 } from './cluster-model';
import { agentView, NS } from './fixtures';

const GRACE_SECONDS = 120;
const AGENT_KEY = `${NS}/agent`;

type Command =
  | { kind: 'create'; template: boolean; timeout?: string }
  | { kind: 'advance'; ms: number }
  | { kind: 'podRuns' | 'podSucceeds' | 'podFails' | 'podVanishes' | 'podStuck' | 'stop'; pick: number }
  | { kind: 'suspend' | 'ready'; value: boolean }
  | { kind: 'decideAdmission'; crashAfter?: number }
  | { kind: 'decideTask'; pick: number; crashAfter?: number }
  | { kind: 'land'; pick: number; failAt?: number }
  | { kind: 'restart' };

/** Half of the decisions crash after one of their first writes. */
const crashArb = fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined, freq: 2 });
const commandArb: fc.Arbitrary<Command> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('create' as const), template: fc.boolean(), timeout: fc.option(fc.constantFrom('90s', '10m'), { nil: undefined }) }), weight: 4 },
  { arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: minutes(5) }) }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constantFrom('podRuns' as const, 'podSucceeds' as const, 'podFails' as const, 'podVanishes' as const, 'podStuck' as const, 'stop' as const), pick: fc.nat() }), weight: 4 },
  { arbitrary: fc.record({ kind: fc.constantFrom('suspend' as const, 'ready' as const), value: fc.boolean() }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('decideAdmission' as const), crashAfter: crashArb }), weight: 4 },
  { arbitrary: fc.record({ kind: fc.constant('decideTask' as const), pick: fc.nat(), crashAfter: crashArb }), weight: 6 },
  // writes in flight land (a third of them fail part-way), or the controller restarts and forgets them
  { arbitrary: fc.record({ kind: fc.constant('land' as const), pick: fc.nat(), failAt: fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined, freq: 2 }) }), weight: 5 },
  { arbitrary: fc.record({ kind: fc.constant('restart' as const) }), weight: 1 },
);

const limitsArb = fc
  .record({
    maxConcurrentTasks: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
    quota: fc.option(fc.record({ maxTaskStarts: fc.integer({ min: 1, max: 3 }), windowSeconds: fc.integer({ min: 60, max: 300 }) }), { nil: undefined }),
  })
  .filter((l) => l.maxConcurrentTasks !== undefined || l.quota !== undefined);

class Crash extends Error {}

/** A batch of status writes in flight (the shell's run: pods on the key, their status writes behind it). */
interface Batch {
  readonly id: number;
  readonly writes: readonly Write[];
  /** The batches in flight to the same objects when this one was made: it waits for them, and fails with them. */
  readonly after: ReadonlySet<number>;
}

/**
 * The controller: every decision reads the model afresh. Pipelined (as the shell runs them), a decision that creates
 * pods writes them at once and leaves its status writes in flight; decisions read the model with the writes in flight
 * applied (the shell's predictions) until `land` writes them, in any order that keeps each object's order, or fails
 * them part-way (a conflict, a crash: what a failed batch did not write is lost, and the batches after it to the same
 * objects fail too). A restart forgets every batch in flight.
 */
class Controller {
  readonly wakeAts: number[] = [];
  writes = 0;
  private inFlight: Batch[] = [];
  private readonly failed = new Set<number>();
  private ids = 0;
  constructor(private readonly model: ModelCluster, private readonly pipelined = false) {}

  /** What decisions read: the model with the writes in flight applied. */
  private view(): ModelCluster {
    if (this.inFlight.length === 0) return this.model;
    const v = this.model.clone();
    for (const b of this.inFlight) v.applyAll(b.writes);
    return v;
  }

  /** Writes to the model, one by one; `budget` is how many more happen before the crash. Returns what is left. */
  private write(writes: readonly Write[], budget: number): number {
    for (const w of writes) {
      if (budget-- <= 0) throw new Crash();
      this.model.apply(w);
      this.writes++;
    }
    return budget;
  }

  private batchesTo(writes: readonly Write[]): Batch[] {
    const targets = new Set(writes.flatMap((w) => writeTarget(w) ?? []));
    return this.inFlight.filter((b) => b.writes.some((w) => targets.has(writeTarget(w) ?? '')));
  }

  /** Applies a decision made by `decide` on the view. Returns the remaining crash budget. */
  private apply(decide: (v: ModelCluster) => Decision, budget: number): number {
    const decision = decide(this.view());
    const pods = decision.writes.filter((w) => w.kind === 'createTaskPod');
    const rest = decision.writes.filter((w) => w.kind !== 'createTaskPod');
    if (this.pipelined && pods.length > 0 && rest.length > 0 && rest.every(isStatusWrite)) {
      budget = this.write(pods, budget);
      this.inFlight.push({ id: ++this.ids, writes: rest, after: new Set(this.batchesTo(rest).map((b) => b.id)) });
    } else {
      // on the key: after the batches in flight to its objects (the shell's afterLanding); dropped if one failed
      const before = this.batchesTo(decision.writes);
      for (const b of before) this.land(b);
      if (before.some((b) => this.failed.has(b.id))) return budget; // a conflict: the key decides again
      budget = this.write(decision.writes, budget);
    }
    if (decision.wakeAt !== undefined) {
      expect(decision.wakeAt).toBeGreaterThan(this.model.now); // a timer for now would spin
      this.wakeAts.push(decision.wakeAt);
    }
    // Idempotence: the same decision on the state it produced (writes in flight included) writes nothing.
    expect(decide(this.view()).writes).toEqual([]);
    return budget;
  }

  /**
   * Writes batch `b` (first the batches it waits for): the first `failAt` of its writes land, then it fails; a batch
   * that waits for a failed one fails without writing.
   */
  land(b: Batch, failAt?: number): void {
    if (!this.inFlight.includes(b)) return;
    for (const id of b.after) {
      const earlier = this.inFlight.find((x) => x.id === id);
      if (earlier) this.land(earlier);
    }
    this.inFlight = this.inFlight.filter((x) => x !== b);
    if ([...b.after].some((id) => this.failed.has(id))) {
      this.failed.add(b.id);
      return;
    }
    const n = failAt === undefined ? b.writes.length : Math.min(failAt, b.writes.length);
    this.write(b.writes.slice(0, n), Infinity);
    if (n < b.writes.length) this.failed.add(b.id);
  }

  landAll(): void {
    while (this.inFlight.length > 0) this.land(this.inFlight[0]);
  }

  decideAdmission(budget = Infinity): number {
    budget = this.apply((v) => admitQueuedTasks(v.agents.get(AGENT_KEY)!, v.taskList(), v.now, podsByName(v)), budget);
    return this.apply((v) => admitTemplateTasks(v.taskList(), v.now, podsByName(v)), budget);
  }

  decideTask(name: string, budget = Infinity): number {
    return this.apply((v) => decideTaskFromPod(v.task(NS, name)!, v.pod(NS, `${name}-pod`), v.now, GRACE_SECONDS), budget);
  }

  /** Decides everything until nothing changes any more: each write is a watch event that triggers the others. */
  decideAll(): void {
    for (let pass = 0; pass < 20; pass++) {
      const before = this.writes;
      this.decideAdmission();
      this.landAll();
      for (const t of this.model.taskList().sort(byQueueOrder)) this.decideTask(t.name);
      this.landAll();
      if (this.writes === before) return;
    }
    throw new Error('decisions do not converge');
  }

  run(command: Command): void {
    try {
      if (command.kind === 'decideAdmission') this.decideAdmission(command.crashAfter);
      if (command.kind === 'decideTask') {
        const tasks = this.model.taskList().filter((t) => !isFinished(t)).sort(byQueueOrder);
        if (tasks.length) this.decideTask(tasks[command.pick % tasks.length].name, command.crashAfter);
      }
      if (command.kind === 'land' && this.inFlight.length > 0) this.land(this.inFlight[command.pick % this.inFlight.length], command.failAt);
      if (command.kind === 'restart') this.inFlight = [];
    } catch (e) {
      if (!(e instanceof Crash)) throw e;
      this.inFlight = []; // a crash loses the writes in flight
    }
  }
}

function world(command: Command, model: ModelCluster, created: { n: number }): void {
  const tasks = model.taskList().sort(byQueueOrder);
  const pick = <T>(list: readonly T[], n: number): T | undefined => (list.length ? list[n % list.length] : undefined);
  const agent = model.agents.get(AGENT_KEY)!;
  switch (command.kind) {
    case 'create': {
      const name = `t${String(created.n++).padStart(2, '0')}`;
      const spec = command.template ? { templateRef: { name: 'tmpl' } } : { agentRef: { name: 'agent' } };
      model.addTask({ namespace: NS, name, spec: { ...spec, timeout: command.timeout } });
      return;
    }
    case 'advance':
      model.now += command.ms;
      return;
    case 'suspend':
      model.agents.set(AGENT_KEY, { ...agent, spec: { ...agent.spec, suspend: command.value } });
      return;
    case 'ready':
      model.agents.set(AGENT_KEY, { ...agent, status: { ...agent.status, ready: command.value } });
      return;
    case 'decideAdmission':
    case 'decideTask':
    case 'land':
    case 'restart':
      return; // the controller's part
    case 'stop': {
      const t = pick(tasks.filter((x) => !isFinished(x)), command.pick);
      if (t) model.setTask({ ...t, annotations: { ...t.annotations, 'kubeopencode.io/stop': 'true' } });
      return;
    }
    default: {
      // Pods of Tasks that recorded them: a pod deleted before its Task recorded it would be re-created (see report).
      const pods = [...model.pods.values()].filter((p) => model.task(NS, p.name.replace(/-pod$/, ''))?.status?.podName === p.name);
      const pod = pick(pods.filter((p) => p.phase !== 'Succeeded' && p.phase !== 'Failed'), command.pick);
      if (!pod) return;
      if (command.kind === 'podVanishes') model.deletePod(NS, pod.name);
      if (command.kind === 'podRuns') model.setPod(NS, { ...pod, phase: 'Running', containerStatuses: [{ name: 'agent', state: {} }] });
      if (command.kind === 'podSucceeds') model.setPod(NS, { ...pod, phase: 'Succeeded', containerStatuses: [{ name: 'agent', state: { terminated: { exitCode: 0 } } }] });
      if (command.kind === 'podFails') model.setPod(NS, { ...pod, phase: 'Failed', containerStatuses: [{ name: 'agent', state: { terminated: { exitCode: 1, reason: 'Error' } } }] });
      if (command.kind === 'podStuck') model.setPod(NS, { ...pod, phase: 'Pending', containerStatuses: [{ name: 'agent', state: { waiting: { reason: 'ImagePullBackOff' } } }] });
    }
  }
}

const podsByName = (m: ModelCluster) => new Map([...m.pods.values()].map((p) => [p.name, p]));
const ownPod = (m: ModelCluster, t: TaskView) => {
  const p = m.pod(t.namespace, `${t.name}-pod`);
  return p && p.ownerTaskUid === t.uid ? p : undefined;
};
const ended = (p: { phase?: string } | undefined) => p?.phase === 'Succeeded' || p?.phase === 'Failed';

/**
 * The Tasks of the Agent that hold a slot: Running with a pod that has not ended (or is missing: PodLost will tell),
 * or waiting with a live pod of their own (an admission that crashed between the pod and the Running write).
 */
function slotHolders(model: ModelCluster, agent: string): string[] {
  return model.taskList()
    .filter((t) => t.spec.agentRef?.name === agent)
    .filter((t) => (t.status?.phase === 'Running' && !ended(ownPod(model, t))) || (isWaiting(t) && ownPod(model, t) !== undefined && !ended(ownPod(model, t))))
    .map((t) => t.name);
}

/**
 * Invariants at the moment of every write that starts a Task: its pod's creation (the start; capacity and FIFO are
 * judged here) and its Running write (exactly once).
 */
function checkStart(agent: AgentView, model: ModelCluster, w: Write): void {
  if (w.kind === 'patchTaskStatus' && w.status.phase === 'Running') {
    const task = model.task(w.namespace, w.name)!;
    if (task.uid !== w.uid) return;
    expect(model.starts.some((s) => s.task === w.name)).toBe(false); // starts nothing twice
    expect(ownPod(model, task)).toBeDefined(); // Running is written once its pod exists
    return;
  }
  if (w.kind !== 'createTaskPod') return;
  const task = model.task(w.namespace, w.taskName)!;
  if (!task.spec.agentRef || ownPod(model, task)) return; // AlreadyExists: no new start
  const max = agent.spec.maxConcurrentTasks;
  if (max !== undefined) expect(slotHolders(model, agent.name).length).toBeLessThan(max);
  // FIFO: no eligible Task that is older waits while this one starts.
  const mine = model.taskList().filter((t) => t.spec.agentRef?.name === agent.name);
  const olderWaiting = mine.filter((t) => t.name !== task.name && isWaiting(t) && !isStopRequested(t) && !ownPod(model, t) && byQueueOrder(t, task) < 0);
  expect(olderWaiting.map((t) => t.name)).toEqual([]);
}

describe('Task lifecycle on a model cluster (random event orders, crashes between any two writes)', () => {
  test.each([
    ['each decision written whole on its key', false],
    ['pods on the key, status writes in flight behind it (read as predicted until they land or fail)', true],
  ])('%s: capacity, quota, FIFO and exactly-once hold at every step, and the queue always drains', (_mode, pipelined) => {
    fc.assert(
      fc.property(limitsArb, fc.array(commandArb, { minLength: 10, maxLength: 80, size: 'medium' }), (limits, commands) => {
        const model = new ModelCluster(T0);
        const agentSpec = { maxConcurrentTasks: limits.maxConcurrentTasks, quota: limits.quota };
        model.agents.set(AGENT_KEY, agentView({ spec: agentSpec }));
        model.onWrite = (w, m) => checkStart(m.agents.get(AGENT_KEY)!, m, w);
        const controller = new Controller(model, pipelined);
        const created = { n: 0 };

        const checkAlways = () => {
          if (limits.maxConcurrentTasks !== undefined) expect(slotHolders(model, 'agent').length).toBeLessThanOrEqual(limits.maxConcurrentTasks);
          if (limits.quota) {
            const agentStarts = model.starts.filter((s) => model.task(NS, s.task)?.spec.agentRef);
            expect(maxStartsInAnyWindow(agentStarts, limits.quota.windowSeconds * 1000)).toBeLessThanOrEqual(limits.quota.maxTaskStarts);
          }
          expect(new Set(model.podCreations).size).toBe(model.podCreations.length);
        };

        for (const command of commands) {
          world(command, model, created);
          controller.run(command);
          checkAlways();
        }

        // Drain: the Agent resumes and becomes ready; from here on only events (a pod ending) and wakeAt move things.
        const agent = model.agents.get(AGENT_KEY)!;
        model.agents.set(AGENT_KEY, { ...agent, spec: { ...agent.spec, suspend: false }, status: { ...agent.status, ready: true } });
        for (let round = 0; round < 500; round++) {
          controller.wakeAts.length = 0;
          controller.decideAll();
          checkAlways();
          if (model.taskList().every(isFinished)) break;
          const live = [...model.pods.values()].filter((p) => p.phase !== 'Succeeded' && p.phase !== 'Failed' && p.containerStatuses?.[0]?.state?.waiting === undefined);
          for (const pod of live) model.setPod(NS, { ...pod, phase: 'Succeeded' }); // events
          if (live.length) continue;
          const wake = Math.min(...controller.wakeAts.filter((t) => t > model.now));
          expect(Number.isFinite(wake)).toBe(true); // otherwise the queue is stuck with nothing to wake it
          model.now = wake;
        }
        expect(model.taskList().filter((t) => !isFinished(t)).map((t) => t.name)).toEqual([]);

        // Nothing lost: every Task either ran (exactly once) or was stopped before it started.
        for (const t of model.taskList()) {
          const ran = model.starts.filter((s) => s.task === t.name).length;
          const stoppedEarly = t.status?.conditions?.some((c) => c.type === CONDITIONS.stopped && c.reason === REASONS.userStopped) && t.status?.startTime === undefined;
          expect(ran + (stoppedEarly ? 1 : 0)).toBe(1);
          if (ran) expect(model.podCreations.filter((p) => p === `${t.name}-pod`).length).toBeLessThanOrEqual(1);
        }
      }),
      { numRuns: 200, ...(process.env.LIFECYCLE_SEED ? { seed: Number(process.env.LIFECYCLE_SEED), path: process.env.LIFECYCLE_PATH, endOnFailure: true } : {}) },
    );
  });

  test('a stuck pod frees its slot after the grace period, and the next Task starts on that event', () => {
    const model = new ModelCluster(T0);
    model.agents.set(AGENT_KEY, agentView({ spec: { maxConcurrentTasks: 1 } }));
    const controller = new Controller(model);
    model.addTask({ namespace: NS, name: 'a', spec: { agentRef: { name: 'agent' } } });
    model.now += seconds(1);
    model.addTask({ namespace: NS, name: 'b', spec: { agentRef: { name: 'agent' } } });
    controller.decideAll();
    const podA = model.pod(NS, 'a-pod')!;
    model.setPod(NS, { ...podA, phase: 'Pending', containerStatuses: [{ name: 'agent', state: { waiting: { reason: 'ImagePullBackOff' } } }] });
    controller.wakeAts.length = 0;
    controller.decideAll();
    expect(model.task(NS, 'b')?.status?.phase).toBe('Queued');
    model.now = Math.min(...controller.wakeAts);
    expect(model.now).toBe(podA.creationTimestamp + seconds(GRACE_SECONDS));
    controller.decideAll();
    expect(model.task(NS, 'a')?.status).toMatchObject({ phase: 'Failed', conditions: [expect.objectContaining({ reason: 'ImagePullFailed' })] });
    controller.decideAll();
    expect(model.task(NS, 'b')?.status?.phase).toBe('Running');
  });
});

describe('scripted crash scenarios', () => {
  test('a freed slot: the next pod is created before the finished Task is written Completed; a crash right after it starts nothing twice', () => {
    const model = new ModelCluster(T0);
    model.agents.set(AGENT_KEY, agentView({ spec: { maxConcurrentTasks: 1 } }));
    model.onWrite = (w, m) => checkStart(m.agents.get(AGENT_KEY)!, m, w);
    const controller = new Controller(model);
    for (const name of ['a', 'b', 'c']) {
      model.addTask({ namespace: NS, name, spec: { agentRef: { name: 'agent' } } });
      model.now += seconds(1);
    }
    controller.decideAll();
    model.setPod(NS, { ...model.pod(NS, 'a-pod')!, phase: 'Succeeded' });
    // the pod event reaches the Agent's admission first: b's pod, and a crash before b's Running write
    controller.run({ kind: 'decideAdmission', crashAfter: 1 });
    expect(model.task(NS, 'a')?.status?.phase).toBe('Running');
    expect(model.podCreations).toEqual(['a-pod', 'b-pod']);
    // restarted: b's pod holds the slot, c still waits; then everything settles
    controller.decideAll();
    expect(model.task(NS, 'a')?.status?.phase).toBe('Completed');
    expect(model.task(NS, 'b')?.status).toMatchObject({ phase: 'Running', podName: 'b-pod' });
    expect(model.task(NS, 'c')?.status?.phase).toBe('Queued');
    expect(model.podCreations).toEqual(['a-pod', 'b-pod']);
    expect(model.starts.map((x) => x.task)).toEqual(['a', 'b']);
  });

  test('a crash between the pod and the Task write, then a late restart: the quota still holds', () => {
    const model = new ModelCluster(T0);
    model.agents.set(AGENT_KEY, agentView({ spec: { quota: { maxTaskStarts: 1, windowSeconds: 300 } } }));
    const controller = new Controller(model);
    model.addTask({ namespace: NS, name: 'a', spec: { agentRef: { name: 'agent' } } });
    controller.run({ kind: 'decideAdmission', crashAfter: 1 });
    expect(model.task(NS, 'a')?.status?.phase).toBeUndefined();
    model.now += seconds(200);
    model.addTask({ namespace: NS, name: 'b', spec: { agentRef: { name: 'agent' } } });
    controller.decideAll();
    expect(model.task(NS, 'a')?.status?.phase).toBe('Running');
    expect(model.task(NS, 'b')?.status?.phase).toBe('Queued');
    controller.wakeAts.length = 0;
    controller.decideAll();
    model.now = Math.min(...controller.wakeAts);
    controller.decideAll();
    expect(maxStartsInAnyWindow(model.starts, seconds(300))).toBe(1);
  });
});

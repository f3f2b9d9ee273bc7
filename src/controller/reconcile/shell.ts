/**
 * What every reconciler shares: the caches, the clock, the work queue, and `run`, which hands a decision's writes to
 * the executor (with the session outcome folded in), remembers what our writes left, and schedules what follows.
 */
import { DEFAULTS } from '../../api';
import { type Decision, type PodView, type StatusWrite, type Write, decidePodCreationFailed, endsTask, isStatusWrite, writeTarget } from '../decide';
import { type ExecutionContext, MissingPodTemplate, PodRefused, type WriteExecutor, statusPatchOf } from '../kube/executor';
import type { Rest } from '../kube/rest';
import { ApiError, isConflict, paths } from '../kube/rest';
import { type Obj, mergePatch, toPodView, toTaskView } from '../kube/convert';
import type { Watcher } from '../kube/watcher';
import type { EventRecorder } from '../kube/events';
import type { Logger } from '../runtime/log';
import type { ControllerMetrics } from '../runtime/metrics';
import type { WorkQueue } from '../runtime/workqueue';
import type { AgentSessions } from './sessions';

export type CachedKind = 'Task' | 'Agent' | 'CronTask';

/** The informer caches the reconcilers read from. */
export interface Caches {
  readonly tasks: Watcher<Obj>;
  readonly agents: Watcher<Obj>;
  readonly templates: Watcher<Obj>;
  readonly cronTasks: Watcher<Obj>;
  readonly pods: Watcher<Obj>;
  readonly deployments: Watcher<Obj>;
  readonly podTemplates: Watcher<Obj>;
  readonly configs: Watcher<Obj>;
}

/** What a Shell is made of (the executor stays inside: reconcilers hand it decisions through `run`). */
export type ShellParts = Pick<Shell, 'caches' | 'rest' | 'events' | 'log' | 'metrics' | 'queue' | 'sessions' | 'now'> & {
  readonly executor: WriteExecutor;
};

/** A queue key: `kind/namespace/name`. */
export function key(kind: string, o: Obj): string {
  return `${kind}/${o.metadata.namespace}/${o.metadata.name}`;
}

/** The objects a decision was made from, by `Kind/ns/name`: their resourceVersions guard the writes. */
export function snapshot(entries: Array<[CachedKind, Obj]>): Map<string, Obj> {
  return new Map(entries.map(([kind, o]) => [key(kind, o), o]));
}

export class Shell {
  readonly caches: Caches;
  readonly rest: Rest;
  readonly events: EventRecorder;
  readonly log: Logger;
  readonly metrics: ControllerMetrics;
  readonly queue: WorkQueue;
  readonly sessions: AgentSessions;
  readonly now: () => number;
  private readonly executor: WriteExecutor;
  /**
   * Objects as our own writes left them, until the cache shows the same resourceVersion ("expectations"): the Agent's
   * status event can arrive before the Task's, and a decision from a Task cache that lags behind would start it again.
   * Kept at most a few seconds; a write from a stale view is still stopped by its resourceVersion (409).
   */
  private readonly written = new Map<string, { obj: Obj; at: number }>();
  /**
   * Status writes in flight off their key (see run): by `Kind/ns/name`, the object as the write will leave it (the
   * newest prediction: a later write builds on an earlier one) and the promise of that write (true: it landed).
   */
  private readonly pending = new Map<string, { obj: Obj; landed: Promise<boolean> }>();
  /** Objects that are predictions, not what the server sent: the executor takes their resourceVersion afresh. */
  private readonly predictions = new WeakSet<Obj>();
  /** Every write batch in flight off its key (settled() waits for them). */
  private readonly behind = new Set<Promise<boolean>>();

  constructor(parts: ShellParts) {
    this.caches = parts.caches;
    this.rest = parts.rest;
    this.events = parts.events;
    this.log = parts.log;
    this.metrics = parts.metrics;
    this.queue = parts.queue;
    this.executor = parts.executor;
    this.sessions = parts.sessions;
    this.now = parts.now;
  }

  /** The object as the controller last knew it: its own newer write while the cache has not caught up. */
  fresh(kind: CachedKind, o: Obj): Obj;
  fresh(kind: CachedKind, o: Obj | undefined): Obj | undefined;
  fresh(kind: CachedKind, o: Obj | undefined): Obj | undefined {
    if (!o) return o;
    const k = key(kind, o);
    const p = this.pending.get(k);
    if (p && p.obj.metadata.uid === o.metadata.uid) return p.obj;
    return this.landed(k, o);
  }

  /** The object as the server last answered one of our writes, while the cache has not caught up; else `o`. */
  private landed(k: string, o: Obj): Obj {
    const w = this.written.get(k);
    if (!w) return o;
    if (w.obj.metadata.uid !== o.metadata.uid || Date.now() - w.at > 5000 || !olderThan(o.metadata.resourceVersion, w.obj.metadata.resourceVersion)) {
      this.written.delete(k);
      return o;
    }
    return w.obj;
  }

  /** The cached object of a kind, as fresh as we know it. */
  get(kind: CachedKind, ns: string, name: string): Obj | undefined {
    return this.fresh(kind, this.cached(kind, ns, name));
  }

  private cached(kind: CachedKind, ns: string, name: string): Obj | undefined {
    const cache = kind === 'Task' ? this.caches.tasks : kind === 'Agent' ? this.caches.agents : this.caches.cronTasks;
    return cache.get(ns, name);
  }

  /** The cached pods of these Tasks, by pod name (what admission counts slots from). */
  taskPods(ns: string, tasks: readonly Obj[]): Map<string, PodView> {
    const out = new Map<string, PodView>();
    for (const t of tasks) {
      const pod = this.caches.pods.get(ns, `${t.metadata.name}-pod`);
      if (pod) out.set(pod.metadata.name, toPodView(pod));
    }
    return out;
  }

  clusterDomain(): string {
    return this.caches.configs.get(undefined, 'cluster')?.spec?.clusterDomain ?? DEFAULTS.clusterDomain;
  }

  /** The object as a decision saw it (`seen`), else as fresh as we know it. */
  private seenOrFresh(seen: Map<string, Obj> | undefined, kind: CachedKind, ns: string, name: string): Obj | undefined {
    return seen?.get(`${kind}/${ns}/${name}`) ?? this.get(kind, ns, name);
  }

  /**
   * Executes a decision; true when it wrote something. Schedules its wake-up.
   *
   * A decision that creates task pods holds its key only for the pods: its status writes (Running with podName, the
   * Queued ones, the Agent's quota ledger) go on behind it, and until they land the next decision on the key reads
   * the objects as they will leave them (fresh()), so the next freed slot is one round trip from the next pod.
   * Writes to one object keep their order: a batch waits for the batches in flight to its objects, and is dropped
   * (the key decides again) when one of them did not land. A crash loses only what a crash loses anyway: the pods
   * prove their starts (decide/admission.ts).
   */
  async run(k: string, d: Decision, seen?: Map<string, Obj>): Promise<boolean> {
    if (d.wakeAt !== undefined) this.queue.addAt(k, d.wakeAt);
    if (d.writes.length === 0) return false;
    this.log.debug({ key: k, writes: d.writes.map(describeWrite) }, 'decided');
    const pods = d.writes.filter((w) => w.kind === 'createTaskPod');
    const rest = d.writes.filter((w) => w.kind !== 'createTaskPod');
    if (pods.length === 0 || rest.length === 0 || !rest.every(isStatusWrite)) {
      await this.afterLanding(this.inFlightTo(d.writes));
      await this.execute(d.writes, seen);
      return true;
    }
    if (await this.execute(pods, seen)) this.runBehind(k, rest as StatusWrite[], seen);
    else this.queue.add(k); // a pod was refused: its Task failed; the others decide again (their pods prove them)
    return true;
  }

  /** Resolves when no status write is in flight off its key (the controller's idle() and stop()). */
  async settled(): Promise<void> {
    while (this.behind.size > 0) await Promise.all(this.behind);
  }

  /** The status writes in flight to the objects these writes target (a batch waits for them: one object, one order). */
  private inFlightTo(writes: readonly Write[]): Array<Promise<boolean>> {
    return [...new Set(writes.flatMap((w) => this.pending.get(writeTarget(w) ?? '')?.landed ?? []))];
  }

  /** Throws a conflict (the key decides again) when one of the writes waited for did not land. */
  private async afterLanding(before: ReadonlyArray<Promise<boolean>>): Promise<void> {
    if (before.length > 0 && !(await Promise.all(before)).every(Boolean)) {
      throw new ApiError(409, 'an earlier status write to the same object did not land');
    }
  }

  /** Runs writes now; false when a task pod was refused (its Task is written Failed instead). */
  private async execute(writes: readonly Write[], seen?: Map<string, Obj>): Promise<boolean> {
    const withOutcomes = await this.withSessionOutcomes(writes, seen);
    try {
      this.remember(await this.executor.execute(withOutcomes, this.context(seen)));
      this.followUp(withOutcomes, seen);
      return true;
    } catch (e) {
      if (!(e instanceof MissingPodTemplate || e instanceof PodRefused)) throw e;
      this.log.warn({ task: `${e.task.metadata.namespace}/${e.task.metadata.name}` }, e.message);
      const failed = decidePodCreationFailed(toTaskView(e.task), e.message, this.now());
      this.remember(await this.executor.execute(failed.writes, this.context(new Map([[key('Task', e.task), e.task]]))));
      return false;
    }
  }

  /** Status writes off the key: predicted now (fresh() shows them), written after the writes in flight to their objects. */
  private runBehind(k: string, writes: readonly StatusWrite[], seen?: Map<string, Obj>): void {
    const predicted = new Map<string, Obj>();
    for (const w of writes) {
      const target = writeTarget(w)!;
      const current = predicted.get(target) ?? this.seenOrFresh(seen, w.kind === 'patchTaskStatus' ? 'Task' : 'Agent', w.namespace, w.name);
      if (current) predicted.set(target, mergePatch(current, statusPatchOf(w, current)));
    }
    const before = this.inFlightTo(writes);
    const landed = (async () => {
      await this.afterLanding(before);
      await this.execute(writes, seen);
    })().then(() => true, (e: unknown) => {
      this.metrics.reconcileErrors.inc({ kind: k.split('/')[0] });
      if (isConflict(e)) this.log.debug({ key: k }, 'conflict behind the key; deciding again');
      else this.log.warn({ key: k, err: String((e as Error)?.message ?? e) }, 'status writes failed; deciding again');
      this.queue.addAt(k, Date.now() + (isConflict(e) ? 25 : 200));
      return false;
    });
    for (const [target, obj] of predicted) {
      this.predictions.add(obj);
      this.pending.set(target, { obj, landed });
    }
    this.behind.add(landed);
    void landed.then(() => {
      this.behind.delete(landed);
      for (const target of predicted.keys()) if (this.pending.get(target)?.landed === landed) this.pending.delete(target);
    });
  }

  private remember(out: Map<string, Obj>): void {
    const at = Date.now();
    for (const [k, obj] of out) this.written.set(k, { obj, at });
    if (this.written.size > 1000) for (const [k, w] of this.written) if (at - w.at > 5000) this.written.delete(k);
  }

  /** Status writes that end an agentRef Task, with what the agent server knows of its session. */
  private async withSessionOutcomes(writes: readonly Write[], seen?: Map<string, Obj>): Promise<Write[]> {
    const out: Write[] = [];
    for (const w of writes) {
      if (!endsTask(w)) {
        out.push(w);
        continue;
      }
      // the Task as the decision saw it: the cache may not show it Running yet
      const task = this.seenOrFresh(seen, 'Task', w.namespace, w.name);
      const agent = task?.spec?.agentRef ? this.caches.agents.get(w.namespace, task.spec.agentRef.name) : undefined;
      out.push(task && agent && task.status?.phase === 'Running' ? await this.sessions.outcome(task, agent, w, this.now()) : w);
    }
    return out;
  }

  /**
   * The next step of a Task's life without waiting for our own write to come back as a watch event: a Task started
   * without its pod (an older controller's way) gets it at once, and a finished Task's slot goes to the next one at
   * once. (The reconciles read our writes through fresh(); the watch events still arrive and find nothing left to do.)
   */
  private followUp(writes: readonly Write[], seen?: Map<string, Obj>): void {
    for (const w of writes) {
      if (w.kind !== 'patchTaskStatus') continue;
      if (w.status.phase === 'Running' && w.status.podName === undefined) this.queue.add(`task/${w.namespace}/${w.name}`);
      if (w.status.phase === 'Completed' || w.status.phase === 'Failed') {
        const task = this.seenOrFresh(seen, 'Task', w.namespace, w.name);
        if (task?.spec?.agentRef?.name) this.queue.add(`agent/${w.namespace}/${task.spec.agentRef.name}`);
      }
    }
  }

  /** Reads for the executor: the objects the decision saw (their resourceVersions), else the freshest we know. */
  private context(seen?: Map<string, Obj>): ExecutionContext {
    return {
      objectOf: (kind, ns, name) => {
        const o = this.seenOrFresh(seen, kind, ns, name);
        // a prediction's write has landed by now (a batch waits for those to its objects): the server's answer
        return o && this.predictions.has(o) ? this.landed(`${kind}/${ns}/${name}`, this.cached(kind, ns, name) ?? o) : o;
      },
      podTemplate: async (ns, name) => this.caches.podTemplates.get(ns, name) ?? this.rest.tryGet(paths.core('podtemplates', ns, name)),
    };
  }
}

function describeWrite(w: Write): string {
  return `${w.kind}:${'name' in w ? w.name : 'taskName' in w ? w.taskName : 'agentName' in w ? w.agentName : ''}`;
}

/**
 * Whether resourceVersion `a` is older than `b`. resourceVersions are opaque to clients in general; etcd-backed servers
 * hand out increasing integers, and only then is the cache known to lag behind our write. Anything else: not older.
 */
function olderThan(a: string | undefined, b: string | undefined): boolean {
  if (!a || !b || !/^\d+$/.test(a) || !/^\d+$/.test(b)) return false;
  return a.length < b.length || (a.length === b.length && a < b);
}

/**
 * What every reconciler shares: the caches, the clock, the work queue, and `run`, which hands a decision's writes to
 * the executor (with the session outcome folded in), remembers what our writes left, and schedules what follows.
 */
import { DEFAULTS } from '../../api';
import { type Decision, type PodView, type Write, decidePodCreationFailed, endsTask } from '../decide';
import { type ExecutionContext, MissingPodTemplate, PodRefused, type WriteExecutor } from '../kube/executor';
import type { Rest } from '../kube/rest';
import { paths } from '../kube/rest';
import { type Obj, toPodView, toTaskView } from '../kube/convert';
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
    const cache = kind === 'Task' ? this.caches.tasks : kind === 'Agent' ? this.caches.agents : this.caches.cronTasks;
    return this.fresh(kind, cache.get(ns, name));
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

  /** Executes a decision; true when it wrote something. Schedules its wake-up. */
  async run(k: string, d: Decision, seen?: Map<string, Obj>): Promise<boolean> {
    if (d.wakeAt !== undefined) this.queue.addAt(k, d.wakeAt);
    if (d.writes.length === 0) return false;
    this.log.debug({ key: k, writes: d.writes.map(describeWrite) }, 'decided');
    const writes = await this.withSessionOutcomes(d.writes, seen);
    try {
      this.remember(await this.executor.execute(writes, this.context(seen)));
      this.followUp(writes, seen);
    } catch (e) {
      if (!(e instanceof MissingPodTemplate || e instanceof PodRefused)) throw e;
      this.log.warn({ task: `${e.task.metadata.namespace}/${e.task.metadata.name}` }, e.message);
      const failed = decidePodCreationFailed(toTaskView(e.task), e.message, this.now());
      this.remember(await this.executor.execute(failed.writes, this.context(new Map([[key('Task', e.task), e.task]]))));
    }
    return true;
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
      objectOf: (kind, ns, name) => this.seenOrFresh(seen, kind, ns, name),
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

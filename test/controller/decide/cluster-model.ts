/**
 * A model cluster for the decision tests: it holds the objects the decisions read and applies the writes they return
 * the way the API adapter does (merge patches, upserted conditions, AlreadyExists / NotFound treated as done). The
 * controller under test keeps nothing between calls, so "restarting" it is simply deciding again from this model;
 * a crash is applying only a prefix of a decision's writes.
 */
import { upsertConditions, type AgentView, type CronTaskView, type EpochMs, type PodView, type TaskView, type Write } from '../../../src/controller/decide';

const key = (namespace: string, name: string) => `${namespace}/${name}`;
type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export interface StartEvent {
  readonly task: string;
  readonly time: EpochMs;
}

export class ModelCluster {
  now: EpochMs;
  readonly agents = new Map<string, AgentView>();
  readonly tasks = new Map<string, TaskView>();
  readonly pods = new Map<string, PodView>();
  readonly cronTasks = new Map<string, CronTaskView>();
  readonly podTemplateAnnotations = new Map<string, Record<string, string>>();
  /** Every transition of a Task to Running, in order. */
  readonly starts: StartEvent[] = [];
  /** Every pod actually created (AlreadyExists not counted), by name. */
  readonly podCreations: string[] = [];
  /** Every Task actually created through a write, by name, in order. */
  readonly taskCreations: string[] = [];
  /** Called before a write is applied, to check invariants that depend on the moment of the write. */
  onWrite?: (write: Write, cluster: ModelCluster) => void;
  private uids = 0;

  constructor(now: EpochMs) {
    this.now = now;
  }

  /**
   * A copy that decisions can read with more writes applied (the controller's writes in flight): the same objects,
   * its own maps, and no recording (starts, creations) or write checks.
   */
  clone(): ModelCluster {
    const c = new ModelCluster(this.now);
    for (const [k, v] of this.agents) c.agents.set(k, v);
    for (const [k, v] of this.tasks) c.tasks.set(k, v);
    for (const [k, v] of this.pods) c.pods.set(k, v);
    for (const [k, v] of this.cronTasks) c.cronTasks.set(k, v);
    c.uids = this.uids;
    return c;
  }

  nextUid(): string {
    return `uid-${++this.uids}`;
  }

  /** creationTimestamp as the API server sets it: whole seconds. */
  get creationNow(): EpochMs {
    return Math.floor(this.now / 1000) * 1000;
  }

  addTask(task: Omit<TaskView, 'uid' | 'creationTimestamp'> & Partial<Pick<TaskView, 'uid' | 'creationTimestamp'>>): TaskView {
    const full: TaskView = { uid: this.nextUid(), creationTimestamp: this.creationNow, ...task };
    this.tasks.set(key(full.namespace, full.name), full);
    return full;
  }

  task(namespace: string, name: string): TaskView | undefined {
    return this.tasks.get(key(namespace, name));
  }

  setTask(task: TaskView): void {
    this.tasks.set(key(task.namespace, task.name), task);
  }

  pod(namespace: string, name: string): PodView | undefined {
    return this.pods.get(key(namespace, name));
  }

  setPod(namespace: string, pod: PodView): void {
    this.pods.set(key(namespace, pod.name), pod);
  }

  deletePod(namespace: string, name: string): void {
    this.pods.delete(key(namespace, name));
  }

  taskList(): TaskView[] {
    return [...this.tasks.values()];
  }

  /** Applies writes in order; `limit` applies only the first ones (a crash right after). */
  applyAll(writes: readonly Write[], limit = writes.length): void {
    for (const w of writes.slice(0, limit)) this.apply(w);
  }

  apply(w: Write): void {
    this.onWrite?.(w, this);
    switch (w.kind) {
      case 'patchTaskStatus': {
        const t = this.task(w.namespace, w.name);
        if (!t || t.uid !== w.uid) return; // precondition failed: the adapter would re-decide
        const { conditions, ...rest } = w.status;
        // the start is when the decision started it (its pod's creation), not when a write in flight lands
        if (rest.phase === 'Running' && t.status?.phase !== 'Running') this.starts.push({ task: t.name, time: rest.startTime ?? this.now });
        this.setTask({ ...t, status: { ...t.status, ...rest, ...(conditions ? { conditions: upsertConditions(t.status?.conditions, conditions) } : {}) } });
        return;
      }
      case 'annotateTask': {
        const t = this.task(w.namespace, w.name);
        if (t && t.uid === w.uid) this.setTask({ ...t, annotations: { ...t.annotations, ...w.annotations } });
        return;
      }
      case 'createTaskPod':
        if (this.pod(w.namespace, w.podName)) return; // AlreadyExists
        this.podCreations.push(w.podName);
        this.setPod(w.namespace, { name: w.podName, ownerTaskUid: w.taskUid, creationTimestamp: this.creationNow, phase: 'Pending' });
        return;
      case 'deletePod':
        this.deletePod(w.namespace, w.name);
        return;
      case 'createTask': {
        if (this.task(w.namespace, w.task.name)) return; // AlreadyExists
        this.taskCreations.push(w.task.name);
        const { agentRef, templateRef, timeout } = w.task.spec;
        this.addTask({ namespace: w.namespace, name: w.task.name, labels: w.task.labels, annotations: w.task.annotations, spec: { agentRef, templateRef, timeout } });
        return;
      }
      case 'deleteTask': {
        const t = this.task(w.namespace, w.name);
        if (t && t.uid === w.uid) this.tasks.delete(key(w.namespace, w.name));
        return;
      }
      case 'patchAgentSpec': {
        const a = this.agents.get(key(w.namespace, w.name));
        if (a) this.agents.set(key(w.namespace, w.name), { ...a, spec: { ...a.spec, ...w.spec } });
        return;
      }
      case 'patchAgentStatus': {
        const a = this.agents.get(key(w.namespace, w.name));
        if (!a) return;
        const { conditions, idleSince, removeConditions, ...rest } = w.status;
        const status: Mutable<NonNullable<AgentView['status']>> = { ...a.status, ...rest, ...(conditions ? { conditions: upsertConditions(a.status?.conditions, conditions) } : {}) };
        if (removeConditions) status.conditions = status.conditions?.filter((c) => !removeConditions.includes(c.type));
        if (idleSince === null) delete status.idleSince;
        else if (idleSince !== undefined) status.idleSince = idleSince;
        this.agents.set(key(w.namespace, w.name), { ...a, status });
        return;
      }
      case 'patchServerPodTemplate':
        this.podTemplateAnnotations.set(key(w.namespace, w.deploymentName), { ...this.podTemplateAnnotations.get(key(w.namespace, w.deploymentName)), ...w.annotations });
        return;
      case 'patchCronTaskAnnotations': {
        const c = this.cronTasks.get(key(w.namespace, w.name));
        if (!c) return;
        const annotations: Record<string, string> = { ...c.annotations };
        for (const [k, v] of Object.entries(w.annotations)) {
          if (v === null) delete annotations[k];
          else annotations[k] = v;
        }
        this.cronTasks.set(key(w.namespace, w.name), { ...c, annotations });
        return;
      }
      case 'patchCronTaskStatus': {
        const c = this.cronTasks.get(key(w.namespace, w.name));
        if (!c) return;
        const { conditions, nextScheduleTime, ...rest } = w.status;
        const status: Mutable<NonNullable<CronTaskView['status']>> = { ...c.status, ...rest, ...(conditions ? { conditions: upsertConditions(c.status?.conditions, conditions) } : {}) };
        if (nextScheduleTime === null) delete status.nextScheduleTime;
        else if (nextScheduleTime !== undefined) status.nextScheduleTime = nextScheduleTime;
        this.cronTasks.set(key(w.namespace, w.name), { ...c, status });
        return;
      }
    }
  }
}

/** "never more than max starts in any window": every start sees at most max starts in the window ending at it. */
export function maxStartsInAnyWindow(starts: readonly StartEvent[], windowMs: number): number {
  let worst = 0;
  for (const s of starts) worst = Math.max(worst, starts.filter((o) => o.time <= s.time && s.time - o.time < windowMs).length);
  return worst;
}

export const minutes = (n: number) => n * 60_000;
export const seconds = (n: number) => n * 1000;
export const T0 = Date.UTC(2026, 0, 5, 9, 0, 0);

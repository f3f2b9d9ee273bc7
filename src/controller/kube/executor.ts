/**
 * Carries out the decision core's writes (decide/writes.ts has the contract): in order, stopping at the first failure;
 * the first write to an object carries the resourceVersion the decision was made from (409 → decide again); creates
 * are done on AlreadyExists, deletes on NotFound; instants become RFC 3339; conditions are upserted by type.
 */
import { randomBytes } from 'crypto';
import { API_VERSION, CONDITIONS, LABEL_SETS, NAMES, REASONS } from '../../api';
import type { StatusWrite, Write } from '../decide';
import { taskPodFromTemplate } from './task-pod-manifest';
import type { Logger } from '../runtime/log';
import { EventRecorder } from './events';
import { ApiError, Rest, isAlreadyExists, isConflict, isNotFound, isTransient, paths } from './rest';
import { Obj, mergeConditions, rfc3339 } from './convert';

/** What the executor reads besides the writes: the objects the decision was made from, and the PodTemplates. */
export interface ExecutionContext {
  /** The object a write targets, as the decision saw it (for its resourceVersion and current conditions). */
  objectOf(kind: 'Task' | 'Agent' | 'CronTask', namespace: string, name: string): Obj | undefined;
  /** A PodTemplate by name (from a cache or a GET). */
  podTemplate(namespace: string, name: string): Promise<Obj | undefined>;
}

type WriteOf<K extends Write['kind']> = Extract<Write, { kind: K }>;
type Kind = 'Task' | 'Agent' | 'CronTask';
const RESOURCES: Record<Kind, string> = { Task: 'tasks', Agent: 'agents', CronTask: 'crontasks' };

/** One execute() call: the objects as the decision saw them, then as our own writes left them. */
class Run {
  readonly latest = new Map<string, Obj>();
  constructor(readonly ctx: ExecutionContext) {}
  current(kind: Kind, ns: string, name: string): Obj | undefined {
    return this.latest.get(`${kind}/${ns}/${name}`) ?? this.ctx.objectOf(kind, ns, name);
  }
  remember(kind: Kind, o: Obj | undefined): void {
    if (o?.metadata) this.latest.set(`${kind}/${o.metadata.namespace}/${o.metadata.name}`, o);
  }
}

export class WriteExecutor {
  /** One handler per write kind: what each write means to the API. */
  private readonly handlers: { [K in Write['kind']]: (w: WriteOf<K>, run: Run) => Promise<void> } = {
    patchTaskStatus: (w, run) => this.patchTaskStatus(w, run),
    annotateTask: (w, run) => this.patchMetadata(run, 'Task', w.namespace, w.name, { uid: w.uid, annotations: w.annotations }),
    // the whole list: a merge patch replaces it
    setTaskFinalizers: (w, run) => this.patchMetadata(run, 'Task', w.namespace, w.name, { finalizers: w.finalizers }),
    createTaskPod: (w, run) => this.createTaskPod(w, run),
    deletePod: (w) => this.rest.delete(paths.core('pods', w.namespace, w.name)).catch(ignoreNotFound),
    createTask: (w) => this.createTask(w),
    deleteTask: (w) => this.rest.delete(paths.cr('tasks', w.namespace, w.name), { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { uid: w.uid }, propagationPolicy: 'Background' }).catch(ignoreNotFound),
    patchAgentSpec: (w, run) => this.patchAgentSpec(w, run),
    patchAgentStatus: (w, run) => this.patchAgentStatus(w, run),
    scaleServer: (w) => this.scaleServer(w),
    setOwnerReferences: async (w) => {
      const path = w.resource === 'deployments' ? paths.apps(w.resource, w.namespace, w.name) : paths.core(w.resource, w.namespace, w.name);
      await this.rest.patch(path, { metadata: { resourceVersion: w.resourceVersion, ownerReferences: w.ownerReferences } });
    },
    createServerAuthSecret: (w) => this.createServerAuthSecret(w),
    patchServerPodTemplate: async (w) => {
      await this.rest.patch(paths.apps('deployments', w.namespace, w.deploymentName), { spec: { template: { metadata: { annotations: w.annotations } } } });
    },
    patchCronTaskAnnotations: (w, run) => this.patchMetadata(run, 'CronTask', w.namespace, w.name, { annotations: w.annotations }),
    patchCronTaskStatus: (w, run) => this.patchCronTaskStatus(w, run),
    suspendCronJob: async (w) => {
      await this.rest.patch(paths.batch('cronjobs', w.namespace, w.name), { metadata: { resourceVersion: w.resourceVersion }, spec: { suspend: w.suspend } });
    },
  };

  constructor(private readonly rest: Rest, private readonly events?: EventRecorder, private readonly log?: Logger) {}

  /** Runs the writes; returns the objects the server answered with, by `Kind/ns/name` (for follow-up decisions). */
  async execute(writes: readonly Write[], ctx: ExecutionContext): Promise<Map<string, Obj>> {
    const run = new Run(ctx);
    for (const w of writes) await (this.handlers[w.kind] as (w: Write, run: Run) => Promise<void>)(w, run);
    return run.latest;
  }

  private async patchTaskStatus(w: WriteOf<'patchTaskStatus'>, run: Run): Promise<void> {
    const t = run.current('Task', w.namespace, w.name);
    const s = w.status;
    run.remember('Task', await this.rest.patch(`${paths.cr('tasks', w.namespace, w.name)}/status`, statusPatchOf(w, t)));
    // at most two Events per Task: why it waited (Pending/Queued) or that it started, and how it ended
    const startAfterWaiting = s.phase === 'Running' && t?.status?.phase !== undefined;
    if (s.phase && s.phase !== t?.status?.phase && !startAfterWaiting) this.taskEvent(w.namespace, w.name, w.uid, s);
  }

  /**
   * A merge patch of metadata fields of one of our kinds, guarded by the resourceVersion the decision was made from
   * (a race is a 409: decide again).
   */
  private async patchMetadata(run: Run, kind: Kind, namespace: string, name: string, metadata: Obj): Promise<void> {
    const o = run.current(kind, namespace, name);
    run.remember(kind, await this.rest.patch(paths.cr(RESOURCES[kind], namespace, name), {
      metadata: { ...metadata, resourceVersion: o?.metadata?.resourceVersion },
    }));
  }

  private async createTaskPod(w: WriteOf<'createTaskPod'>, run: Run): Promise<void> {
    const task = run.current('Task', w.namespace, w.taskName);
    if (!task) throw new ApiError(404, `Task ${w.namespace}/${w.taskName} is gone`);
    const tplName = task.spec.agentRef
      ? NAMES.agentTaskPodTemplate(task.spec.agentRef.name)
      : NAMES.templateTaskPodTemplate(task.spec.templateRef.name);
    const tpl = await run.ctx.podTemplate(w.namespace, tplName);
    if (!tpl) throw new MissingPodTemplate(w.namespace, tplName, task);
    await this.rest.create(paths.core('pods', w.namespace), taskPodFromTemplate(task, tpl)).catch((e) => {
      if (isAlreadyExists(e)) return;
      // 429/5xx were retried by Rest (bounded) and the reconcile is retried after them; any other refusal
      // (admission, ResourceQuota, an invalid spec) will not change by retrying: the Task fails
      if (e instanceof ApiError && !isTransient(e)) throw new PodRefused(task, e);
      throw e;
    });
  }

  private async createTask(w: WriteOf<'createTask'>): Promise<void> {
    await this.rest.create(paths.cr('tasks', w.namespace), {
      apiVersion: API_VERSION,
      kind: 'Task',
      metadata: { name: w.task.name, namespace: w.namespace, labels: w.task.labels, annotations: w.task.annotations, ownerReferences: w.task.ownerReferences },
      spec: w.task.spec,
    }).catch(ignoreAlreadyExists);
  }

  private async patchAgentSpec(w: WriteOf<'patchAgentSpec'>, run: Run): Promise<void> {
    const a = run.current('Agent', w.namespace, w.name);
    run.remember('Agent', await this.rest.patch(paths.cr('agents', w.namespace, w.name), {
      metadata: { resourceVersion: a?.metadata?.resourceVersion },
      spec: { suspend: w.spec.suspend },
    }));
  }

  private async patchAgentStatus(w: WriteOf<'patchAgentStatus'>, run: Run): Promise<void> {
    const a = run.current('Agent', w.namespace, w.name);
    run.remember('Agent', await this.rest.patch(`${paths.cr('agents', w.namespace, w.name)}/status`, statusPatchOf(w, a)));
  }

  private async scaleServer(w: WriteOf<'scaleServer'>): Promise<void> {
    await this.rest.patch(paths.apps('deployments', w.namespace, w.deploymentName), {
      metadata: { resourceVersion: w.resourceVersion },
      spec: { replicas: w.replicas },
    });
    const up = w.replicas > 0;
    this.log?.info({ agent: `${w.namespace}/${w.agentName}`, replicas: w.replicas }, up ? 'resumed the server' : 'suspended the server');
    this.events?.record({ kind: 'Agent', namespace: w.namespace, name: w.agentName, uid: w.agentUid },
      'Normal', up ? REASONS.resumed : REASONS.suspended, up ? 'Scaled the server to 1 replica' : 'Scaled the server to 0 replicas (PVCs and Service kept)');
  }

  /** The password is drawn here: it is the one thing a decision must not know. */
  private async createServerAuthSecret(w: WriteOf<'createServerAuthSecret'>): Promise<void> {
    try {
      await this.rest.create(paths.core('secrets', w.namespace), {
        apiVersion: 'v1',
        kind: 'Secret',
        type: 'Opaque',
        metadata: { name: w.name, namespace: w.namespace, labels: LABEL_SETS.serverAuthSecret(w.agentName), ownerReferences: [w.owner] },
        data: { [w.key]: Buffer.from(randomBytes(24).toString('base64url')).toString('base64') },
      });
      this.log?.info({ agent: `${w.namespace}/${w.agentName}`, secret: w.name }, 'created the server password Secret');
    } catch (e) {
      if (!isConflict(e)) throw e;
    }
  }

  private async patchCronTaskStatus(w: WriteOf<'patchCronTaskStatus'>, run: Run): Promise<void> {
    const c = run.current('CronTask', w.namespace, w.name);
    const s = w.status;
    run.remember('CronTask', await this.rest.patch(`${paths.cr('crontasks', w.namespace, w.name)}/status`, {
      metadata: { resourceVersion: c?.metadata?.resourceVersion },
      status: dropUndefined({
        lastScheduleTime: s.lastScheduleTime !== undefined ? rfc3339(s.lastScheduleTime) : undefined,
        nextScheduleTime: s.nextScheduleTime === null ? null : s.nextScheduleTime !== undefined ? rfc3339(s.nextScheduleTime) : undefined,
        lastSuccessfulTime: s.lastSuccessfulTime !== undefined ? rfc3339(s.lastSuccessfulTime) : undefined,
        totalExecutions: s.totalExecutions,
        active: s.active,
        activeRefs: s.activeRefs,
        conditions: mergeConditions(c?.status?.conditions, s.conditions, c?.metadata?.generation),
      }),
    }));

  }

  private taskEvent(namespace: string, name: string, uid: string, s: TaskTransition): void {
    if (!this.events) return;
    // the condition that explains the transition: Queued(True), Stopped(True), Ready(False) on failure
    const why = s.conditions?.find((c) => (c.type === CONDITIONS.queued && c.status === 'True') || c.type === CONDITIONS.stopped || (c.type === CONDITIONS.ready && c.status === 'False'));
    const failed = s.phase === 'Failed';
    this.events.record({ kind: 'Task', namespace, name, uid }, failed ? 'Warning' : 'Normal', why?.reason ?? s.phase!,
      why?.message ?? `Task is ${s.phase}`);
  }
}

/**
 * The JSON merge patch a status write sends to `…/status`, given the object as the decision saw it (`current`): its
 * resourceVersion guards the write, its conditions are what the new ones are upserted into. The executor sends it;
 * the shell applies it to `current` (mergePatch) to know what the object will be while the write is in flight.
 */
export function statusPatchOf(w: StatusWrite, current: Obj | undefined): Obj {
  if (w.kind === 'patchTaskStatus') {
    const s = w.status;
    return {
      metadata: { uid: w.uid, resourceVersion: current?.metadata?.resourceVersion },
      status: dropUndefined({
        phase: s.phase,
        podName: s.podName,
        startTime: s.startTime !== undefined ? rfc3339(s.startTime) : undefined,
        completionTime: s.completionTime !== undefined ? rfc3339(s.completionTime) : undefined,
        conditions: mergeConditions(current?.status?.conditions, s.conditions, current?.metadata?.generation),
        observedGeneration: current?.metadata?.generation,
        session: s.session,
      }),
    };
  }
  const s = w.status;
  return {
    metadata: { resourceVersion: current?.metadata?.resourceVersion },
    status: dropUndefined({
      ...s.server,
      idleSince: s.idleSince === null ? null : s.idleSince !== undefined ? rfc3339(s.idleSince) : undefined,
      taskStartHistory: s.taskStartHistory?.map((r) => ({ taskName: r.taskName, startTime: rfc3339(r.startTime) })),
      gitSyncStatuses: s.gitSyncStatuses?.map((g) => dropUndefined({ name: g.name, commitHash: g.commitHash, lastSynced: g.lastSynced !== undefined ? rfc3339(g.lastSynced) : undefined })),
      conditions: withoutConditions(mergeConditions(current?.status?.conditions, s.conditions, current?.metadata?.generation), current?.status?.conditions, s.removeConditions),
    }),
  };
}

export interface TaskTransition {
  readonly phase?: string;
  readonly conditions?: ReadonlyArray<{ type: string; status: string; reason: string; message: string }>;
}

/** A Task whose Agent/AgentTemplate has no task PodTemplate (the constructs always make one): the Task fails. */
export class MissingPodTemplate extends Error {
  constructor(public readonly namespace: string, public readonly podTemplate: string, public readonly task: Obj) {
    super(`PodTemplate '${podTemplate}' does not exist in namespace '${namespace}' (it is synthesized with the ${task.spec.agentRef ? 'Agent' : 'AgentTemplate'}; apply the Agent's manifests)`);
  }
}

/** The API server refused a Task's pod for good (403 admission or quota, 422 invalid, 400…): the Task fails. */
export class PodRefused extends Error {
  constructor(public readonly task: Obj, public readonly cause: ApiError) {
    super(`the API server refused the task pod (HTTP ${cause.code}${cause.body?.reason ? ` ${cause.body.reason}` : ''}): ${cause.body?.message ?? cause.message}`);
  }
}

function ignoreNotFound(e: unknown): void {
  if (!isNotFound(e)) throw e;
}

function ignoreAlreadyExists(e: unknown): void {
  if (!isAlreadyExists(e)) throw e;
}

/** Drops undefined (JSON would too) but keeps null, which removes a field in a merge patch. */
function dropUndefined<T extends Obj>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** The merged conditions (or the current ones when nothing was upserted) without `remove`; undefined: leave them. */
function withoutConditions(merged: Obj[] | undefined, current: Obj[] | undefined, remove: readonly string[] | undefined): Obj[] | undefined {
  if (!remove?.length) return merged;
  const base = merged ?? current ?? [];
  return base.some((c) => remove.includes(c.type)) ? base.filter((c) => !remove.includes(c.type)) : merged;
}

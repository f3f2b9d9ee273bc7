/**
 * Carries out the decision core's writes (decide/writes.ts has the contract): in order, stopping at the first failure;
 * the first write to an object carries the resourceVersion the decision was made from (409 → decide again); creates
 * are done on AlreadyExists, deletes on NotFound; instants become RFC 3339; conditions are upserted by type.
 */
import { API_VERSION, CONDITIONS, NAMES } from '../../api';
import type { Write } from '../decide';
import { taskPodFromTemplate } from '../task-pod';
import { EventRecorder } from './events';
import { ApiError, Rest, isAlreadyExists, isNotFound, paths } from './rest';
import { Obj, mergeConditions, rfc3339 } from './views';

/** What the executor reads besides the writes: the objects the decision was made from, and the PodTemplates. */
export interface ExecutionContext {
  /** The object a write targets, as the decision saw it (for its resourceVersion and current conditions). */
  objectOf(kind: 'Task' | 'Agent' | 'CronTask', namespace: string, name: string): Obj | undefined;
  /** A PodTemplate by name (from a cache or a GET). */
  podTemplate(namespace: string, name: string): Promise<Obj | undefined>;
}

export class WriteExecutor {
  constructor(private readonly rest: Rest, private readonly events?: EventRecorder) {}

  /** Runs the writes; returns the objects the server answered with, by `Kind/ns/name` (for follow-up decisions). */
  async execute(writes: readonly Write[], ctx: ExecutionContext): Promise<Map<string, Obj>> {
    const latest = new Map<string, Obj>();
    const current = (kind: 'Task' | 'Agent' | 'CronTask', ns: string, name: string) =>
      latest.get(`${kind}/${ns}/${name}`) ?? ctx.objectOf(kind, ns, name);
    const remember = (kind: string, o: Obj | undefined) => {
      if (o?.metadata) latest.set(`${kind}/${o.metadata.namespace}/${o.metadata.name}`, o);
    };
    for (const w of writes) {
      switch (w.kind) {
        case 'patchTaskStatus': {
          const t = current('Task', w.namespace, w.name);
          const s = w.status;
          const status: Obj = {
            phase: s.phase,
            podName: s.podName,
            startTime: s.startTime !== undefined ? rfc3339(s.startTime) : undefined,
            completionTime: s.completionTime !== undefined ? rfc3339(s.completionTime) : undefined,
            conditions: mergeConditions(t?.status?.conditions, s.conditions, t?.metadata?.generation),
            observedGeneration: t?.metadata?.generation,
            // added by the adapter from the agent server (see Controller.withSessionOutcome)
            session: (s as { session?: Obj }).session,
          };
          remember('Task', await this.rest.patch(`${paths.cr('tasks', w.namespace, w.name)}/status`, {
            metadata: { uid: w.uid, resourceVersion: t?.metadata?.resourceVersion },
            status: dropUndefined(status),
          }));
          if (s.phase && s.phase !== t?.status?.phase) this.taskEvent(w.namespace, w.name, w.uid, s);
          break;
        }
        case 'annotateTask': {
          const t = current('Task', w.namespace, w.name);
          remember('Task', await this.rest.patch(paths.cr('tasks', w.namespace, w.name), {
            metadata: { uid: w.uid, resourceVersion: t?.metadata?.resourceVersion, annotations: w.annotations },
          }));
          break;
        }
        case 'createTaskPod': {
          const task = current('Task', w.namespace, w.taskName);
          if (!task) throw new ApiError(404, `Task ${w.namespace}/${w.taskName} is gone`);
          const tplName = task.spec.agentRef
            ? NAMES.agentTaskPodTemplate(task.spec.agentRef.name)
            : NAMES.templateTaskPodTemplate(task.spec.templateRef.name);
          const tpl = await ctx.podTemplate(w.namespace, tplName);
          if (!tpl) throw new MissingPodTemplate(w.namespace, tplName, task);
          try {
            await this.rest.create(paths.core('pods', w.namespace), taskPodFromTemplate(task, tpl));
          } catch (e) {
            if (!isAlreadyExists(e)) throw e;
          }
          break;
        }
        case 'deletePod':
          await this.rest.delete(paths.core('pods', w.namespace, w.name)).catch(ignoreNotFound);
          break;
        case 'createTask':
          try {
            await this.rest.create(paths.cr('tasks', w.namespace), {
              apiVersion: API_VERSION,
              kind: 'Task',
              metadata: { name: w.task.name, namespace: w.namespace, labels: w.task.labels, annotations: w.task.annotations, ownerReferences: w.task.ownerReferences },
              spec: w.task.spec,
            });
          } catch (e) {
            if (!isAlreadyExists(e)) throw e;
          }
          break;
        case 'deleteTask':
          await this.rest.delete(paths.cr('tasks', w.namespace, w.name), { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { uid: w.uid }, propagationPolicy: 'Background' }).catch(ignoreNotFound);
          break;
        case 'patchAgentSpec': {
          const a = current('Agent', w.namespace, w.name);
          remember('Agent', await this.rest.patch(paths.cr('agents', w.namespace, w.name), {
            metadata: { resourceVersion: a?.metadata?.resourceVersion },
            spec: { suspend: w.spec.suspend },
          }));
          break;
        }
        case 'patchAgentStatus': {
          const a = current('Agent', w.namespace, w.name);
          const s = w.status;
          const status: Obj = {
            idleSince: s.idleSince === null ? null : s.idleSince !== undefined ? rfc3339(s.idleSince) : undefined,
            taskStartHistory: s.taskStartHistory?.map((r) => ({ taskName: r.taskName, startTime: rfc3339(r.startTime) })),
            gitSyncStatuses: s.gitSyncStatuses?.map((g) => dropUndefined({ name: g.name, commitHash: g.commitHash, lastSynced: g.lastSynced !== undefined ? rfc3339(g.lastSynced) : undefined })),
            conditions: withoutConditions(mergeConditions(a?.status?.conditions, s.conditions, a?.metadata?.generation), a?.status?.conditions, s.removeConditions),
          };
          remember('Agent', await this.rest.patch(`${paths.cr('agents', w.namespace, w.name)}/status`, {
            metadata: { resourceVersion: a?.metadata?.resourceVersion },
            status: dropUndefined(status),
          }));
          break;
        }
        case 'patchServerPodTemplate':
          await this.rest.patch(paths.apps('deployments', w.namespace, w.deploymentName), { spec: { template: { metadata: { annotations: w.annotations } } } });
          break;
        case 'patchCronTaskAnnotations': {
          const c = current('CronTask', w.namespace, w.name);
          remember('CronTask', await this.rest.patch(paths.cr('crontasks', w.namespace, w.name), {
            metadata: { resourceVersion: c?.metadata?.resourceVersion, annotations: w.annotations },
          }));
          break;
        }
        case 'patchCronTaskStatus': {
          const c = current('CronTask', w.namespace, w.name);
          const s = w.status;
          remember('CronTask', await this.rest.patch(`${paths.cr('crontasks', w.namespace, w.name)}/status`, {
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
          break;
        }
      }
    }
    return latest;
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

function ignoreNotFound(e: unknown): void {
  if (!isNotFound(e)) throw e;
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

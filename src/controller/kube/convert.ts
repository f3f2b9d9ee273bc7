/**
 * The edge between API objects (RFC 3339 strings, optional everything) and the decision core's views (EpochMs).
 */
import { ANNOTATIONS, DEFAULTS } from '../../api';
import type {
  AgentView,
  BelongingsAgentView,
  Condition,
  CronTaskView,
  OwnableView,
  PodView,
  ServerAgentView,
  ServerDeploymentView,
  TaskView,
} from '../decide';

export type Obj = Record<string, any>;

export const ms = (t: string | undefined | null): number | undefined => (t ? Date.parse(t) : undefined);
export const rfc3339 = (t: number): string => new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z');

function conditions(list: Obj[] | undefined): Condition[] | undefined {
  return list?.map((c) => ({
    type: c.type,
    status: c.status,
    reason: c.reason ?? '',
    message: c.message ?? '',
    lastTransitionTime: ms(c.lastTransitionTime) ?? 0,
  }));
}

export function toTaskView(t: Obj): TaskView {
  const s = t.status ?? {};
  return {
    namespace: t.metadata.namespace,
    name: t.metadata.name,
    uid: t.metadata.uid,
    creationTimestamp: ms(t.metadata.creationTimestamp) ?? 0,
    labels: t.metadata.labels,
    annotations: t.metadata.annotations,
    spec: t.spec ?? {},
    status: t.status
      ? {
        phase: s.phase,
        podName: s.podName,
        startTime: ms(s.startTime),
        completionTime: ms(s.completionTime),
        conditions: conditions(s.conditions),
      }
      : undefined,
  };
}

/** A heartbeat annotation anyone can write: a value that is no RFC 3339 time counts as no heartbeat. */
function heartbeat(value: string | undefined): number | undefined {
  const t = value && /^\d{4}-\d{2}-\d{2}T/.test(value) ? Date.parse(value) : NaN;
  return Number.isFinite(t) ? t : undefined;
}

/** `deployment` gives `ready`: the decision never waits on a status we wrote ourselves earlier. */
export function toAgentView(a: Obj, deployment: Obj | undefined): AgentView {
  const s = a.status ?? {};
  return {
    namespace: a.metadata.namespace,
    name: a.metadata.name,
    creationTimestamp: ms(a.metadata.creationTimestamp) ?? 0,
    lastConnectionActive: heartbeat(a.metadata.annotations?.[ANNOTATIONS.lastConnectionActive]),
    spec: a.spec ?? {},
    status: {
      ready: (deployment?.status?.readyReplicas ?? 0) > 0,
      idleSince: ms(s.idleSince),
      taskStartHistory: s.taskStartHistory?.map((r: Obj) => ({ taskName: r.taskName, startTime: ms(r.startTime) ?? 0 })),
      gitSyncStatuses: s.gitSyncStatuses?.map((g: Obj) => ({ name: g.name, commitHash: g.commitHash, lastSynced: ms(g.lastSynced) })),
      conditions: conditions(s.conditions),
    },
  };
}

export function toCronTaskView(c: Obj): CronTaskView {
  const s = c.status ?? {};
  return {
    namespace: c.metadata.namespace,
    name: c.metadata.name,
    uid: c.metadata.uid,
    creationTimestamp: ms(c.metadata.creationTimestamp) ?? 0,
    annotations: c.metadata.annotations,
    spec: c.spec,
    status: c.status
      ? {
        lastScheduleTime: ms(s.lastScheduleTime),
        lastSuccessfulTime: ms(s.lastSuccessfulTime),
        nextScheduleTime: ms(s.nextScheduleTime),
        totalExecutions: s.totalExecutions,
        active: s.active,
        activeRefs: s.activeRefs,
        conditions: conditions(s.conditions),
      }
      : undefined,
  };
}

function containerStatuses(list: Obj[] | undefined) {
  return list?.map((c) => ({
    name: c.name,
    state: c.state
      ? {
        waiting: c.state.waiting ? { reason: c.state.waiting.reason, message: c.state.waiting.message } : undefined,
        terminated: c.state.terminated
          ? { exitCode: c.state.terminated.exitCode, reason: c.state.terminated.reason, message: c.state.terminated.message, finishedAt: ms(c.state.terminated.finishedAt) }
          : undefined,
      }
      : undefined,
  }));
}

export function toPodView(p: Obj): PodView {
  return {
    name: p.metadata.name,
    ownerTaskUid: (p.metadata.ownerReferences ?? []).find((o: Obj) => o.kind === 'Task' && o.controller)?.uid,
    creationTimestamp: ms(p.metadata.creationTimestamp) ?? 0,
    deletionTimestamp: ms(p.metadata.deletionTimestamp),
    phase: p.status?.phase,
    reason: p.status?.reason,
    message: p.status?.message,
    conditions: p.status?.conditions?.map((c: Obj) => ({ type: c.type, status: c.status, reason: c.reason, message: c.message, lastTransitionTime: ms(c.lastTransitionTime) })),
    initContainerStatuses: containerStatuses(p.status?.initContainerStatuses),
    containerStatuses: containerStatuses(p.status?.containerStatuses),
  };
}

/**
 * What a JSON merge patch (RFC 7386) makes of `target`, as the API server applies it: objects merge key by key, null
 * removes a key, anything else (lists included) replaces. Neither argument is changed.
 */
export function mergePatch(target: unknown, patch: unknown): any {
  if (!isPlainObject(patch)) return patch;
  const out: Obj = isPlainObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

const isPlainObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Upserts conditions by type onto the object's list (JSON merge patch replaces lists whole). */
export function mergeConditions(current: Obj[] | undefined, updates: readonly Condition[] | undefined, generation?: number): Obj[] | undefined {
  if (!updates?.length) return undefined;
  const out = [...(current ?? [])];
  for (const c of updates) {
    const rendered = { type: c.type, status: c.status, reason: c.reason, message: c.message, lastTransitionTime: rfc3339(c.lastTransitionTime), ...(generation ? { observedGeneration: generation } : {}) };
    const i = out.findIndex((x) => x.type === c.type);
    if (i >= 0) out[i] = rendered;
    else out.push(rendered);
  }
  return out;
}

export function serverAgentView(agent: Obj): ServerAgentView {
  const s = agent.status ?? {};
  return {
    namespace: agent.metadata.namespace,
    name: agent.metadata.name,
    uid: agent.metadata.uid,
    generation: agent.metadata.generation,
    suspend: agent.spec?.suspend === true,
    port: agent.spec?.port ?? DEFAULTS.port,
    status: {
      observedGeneration: s.observedGeneration,
      deploymentName: s.deploymentName,
      serviceName: s.serviceName,
      url: s.url,
      ready: s.ready,
      suspended: s.suspended,
      conditions: conditions(s.conditions),
    },
  };
}

export function serverDeploymentView(d: Obj): ServerDeploymentView {
  const conditions: Obj[] = d.status?.conditions ?? [];
  const available = conditions.find((c) => c.type === 'Available');
  const progressing = conditions.find((c) => c.type === 'Progressing');
  return {
    name: d.metadata.name,
    resourceVersion: d.metadata.resourceVersion,
    replicas: d.spec?.replicas,
    readyReplicas: d.status?.readyReplicas,
    available: available && { status: available.status, message: available.message },
    progressing: progressing && { reason: progressing.reason, message: progressing.message },
  };
}

export function toBelongingsAgentView(a: Obj): BelongingsAgentView {
  return {
    namespace: a.metadata.namespace,
    name: a.metadata.name,
    uid: a.metadata.uid,
    persistence: a.spec?.persistence,
    serverAuth: a.spec?.serverAuth,
  };
}

export function toOwnableView(o: Obj): OwnableView {
  return { resourceVersion: o.metadata.resourceVersion, ownerReferences: o.metadata.ownerReferences };
}

/**
 * The everyday verbs: list Agents, Tasks and CronTasks with kubectl-like columns, suspend and resume Agents and
 * CronTasks, stop a Task and read its pod's logs, trigger a CronTask. Each is one or two requests to the API server
 * with the user's own credentials; what they change is what the guide's kubectl recipes change.
 */
import { ANNOTATIONS, CONDITIONS } from '../api';
import { KubeClient, Obj, paths } from './kube';

export interface Io {
  readonly out: NodeJS.WritableStream;
  readonly err: NodeJS.WritableStream;
}

const crAccess = (resource: string, verb: string, namespace?: string, name?: string) => ({ verb, resource, group: 'kubeopencode.io', namespace, name });

// ---- get ---------------------------------------------------------------------------------------------------------

export type OutputFormat = 'table' | 'wide' | 'json' | 'yaml' | 'name';

interface Column {
  readonly header: string;
  readonly value: (o: Obj, now: number) => string;
  readonly wide?: boolean;
}

/** kubectl's short ages: 42s, 5m, 3h, 12d. */
export function age(timestamp: string | undefined, now: number): string {
  if (!timestamp) return '<unknown>';
  const s = Math.max(0, Math.floor((now - Date.parse(timestamp)) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172_800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

const cond = (o: Obj, type: string): Obj | undefined => (o.status?.conditions ?? []).find((c: Obj) => c.type === type);

const AGENT_COLUMNS: Column[] = [
  { header: 'NAME', value: (o) => o.metadata.name },
  { header: 'STATUS', value: (o) => (o.spec?.suspend ? 'Suspended' : o.status?.ready ? 'Ready' : 'NotReady') },
  { header: 'ATTACHED', value: (o) => (cond(o, CONDITIONS.connectionActive)?.status === 'True' ? 'yes' : 'no') },
  { header: 'PROFILE', value: (o) => truncate(o.spec?.profile ?? '', 50), wide: true },
  { header: 'TEMPLATE', value: (o) => o.spec?.templateRef?.name ?? '', wide: true },
  { header: 'URL', value: (o) => o.status?.url ?? '', wide: true },
  { header: 'AGE', value: (o, now) => age(o.metadata.creationTimestamp, now) },
];

const TASK_COLUMNS: Column[] = [
  { header: 'NAME', value: (o) => o.metadata.name },
  { header: 'PHASE', value: (o) => o.status?.phase ?? 'Pending' },
  { header: 'AGENT', value: (o) => o.spec?.agentRef?.name ?? (o.spec?.templateRef ? `template/${o.spec.templateRef.name}` : '') },
  {
    header: 'REASON',
    value: (o) => cond(o, CONDITIONS.stopped)?.reason ?? (o.status?.phase === 'Queued' ? cond(o, CONDITIONS.queued)?.reason : undefined) ?? (o.status?.phase === 'Failed' ? cond(o, CONDITIONS.ready)?.reason : undefined) ?? '',
  },
  { header: 'POD', value: (o) => o.status?.podName ?? '', wide: true },
  { header: 'AGE', value: (o, now) => age(o.metadata.creationTimestamp, now) },
];

const CRONTASK_COLUMNS: Column[] = [
  { header: 'NAME', value: (o) => o.metadata.name },
  { header: 'SCHEDULE', value: (o) => o.spec?.schedule ?? '' },
  { header: 'TIMEZONE', value: (o) => o.spec?.timeZone ?? 'UTC', wide: true },
  { header: 'SUSPEND', value: (o) => String(o.spec?.suspend ?? false) },
  { header: 'ACTIVE', value: (o) => String(o.status?.active ?? 0) },
  { header: 'LAST SCHEDULE', value: (o, now) => (o.status?.lastScheduleTime ? age(o.status.lastScheduleTime, now) : '<none>') },
  { header: 'AGE', value: (o, now) => age(o.metadata.creationTimestamp, now) },
];

export const KINDS = {
  agents: { plural: 'agents', kind: 'Agent', columns: AGENT_COLUMNS },
  tasks: { plural: 'tasks', kind: 'Task', columns: TASK_COLUMNS },
  crontasks: { plural: 'crontasks', kind: 'CronTask', columns: CRONTASK_COLUMNS },
} as const;
export type KindName = keyof typeof KINDS;

function truncate(s: string, n: number): string {
  const line = s.split('\n')[0];
  return line.length > n ? line.slice(0, n - 3) + '...' : line;
}

/** Aligned columns, two spaces apart, as kubectl's printer. */
export function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] + 2))).join('').trimEnd()).join('\n') + '\n';
}

export async function get(client: KubeClient, io: Io, kind: KindName, o: { namespace?: string; all: boolean; output: OutputFormat; now?: number }): Promise<number> {
  const k = KINDS[kind];
  const ns = o.all ? undefined : o.namespace ?? client.defaultNamespace;
  const list = await client.request<Obj>(crAccess(k.plural, 'list', ns), 'GET', paths.cr(k.plural, ns));
  const items: Obj[] = [...(list.items ?? [])].sort((a, b) => (a.metadata.namespace + '/' + a.metadata.name).localeCompare(b.metadata.namespace + '/' + b.metadata.name));
  if (o.output === 'json' || o.output === 'yaml') {
    const doc = { apiVersion: 'v1', kind: 'List', items: items.map((i) => ({ apiVersion: 'kubeopencode.io/v1alpha1', kind: k.kind, ...i })) };
    io.out.write(o.output === 'json' ? JSON.stringify(doc, null, 2) + '\n' : (await import('yaml')).stringify(doc));
    return 0;
  }
  if (o.output === 'name') {
    for (const i of items) io.out.write(`${i.metadata.name}\n`);
    return 0;
  }
  if (!items.length) {
    io.err.write(ns ? `No ${k.plural} found in ${ns} namespace.\n` : `No ${k.plural} found.\n`);
    return 0;
  }
  const now = o.now ?? Date.now();
  const columns = k.columns.filter((c) => !c.wide || o.output === 'wide');
  const rows = [[...(o.all ? ['NAMESPACE'] : []), ...columns.map((c) => c.header)]];
  for (const i of items) rows.push([...(o.all ? [i.metadata.namespace] : []), ...columns.map((c) => c.value(i, now) || '<none>')]);
  io.out.write(table(rows));
  return 0;
}

// ---- Agents and CronTasks: suspend / resume ------------------------------------------------------------------------

export async function setSuspend(client: KubeClient, io: Io, plural: 'agents' | 'crontasks', ns: string, name: string, suspend: boolean): Promise<number> {
  const kind = plural === 'agents' ? 'agent' : 'crontask';
  const current = await client.request<Obj>(crAccess(plural, 'get', ns, name), 'GET', paths.cr(plural, ns, name));
  if ((current.spec?.suspend ?? false) === suspend) {
    io.out.write(`${kind}.kubeopencode.io/${name} already ${suspend ? 'suspended' : 'running'}\n`);
    return 0;
  }
  await client.request(crAccess(plural, 'patch', ns, name), 'PATCH', paths.cr(plural, ns, name), { spec: { suspend } }, 'application/merge-patch+json');
  io.out.write(`${kind}.kubeopencode.io/${name} ${suspend ? 'suspended' : 'resumed'}\n`);
  return 0;
}

// ---- Tasks -----------------------------------------------------------------------------------------------------------

export async function stopTask(client: KubeClient, io: Io, ns: string, name: string): Promise<number> {
  const task = await client.request<Obj>(crAccess('tasks', 'get', ns, name), 'GET', paths.cr('tasks', ns, name));
  const phase = task.status?.phase;
  if (phase === 'Completed' || phase === 'Failed') {
    io.err.write(`task ${name} has already finished (phase ${phase}); nothing to stop\n`);
    return 1;
  }
  await client.request(crAccess('tasks', 'patch', ns, name), 'PATCH', paths.cr('tasks', ns, name),
    { metadata: { annotations: { [ANNOTATIONS.stop]: 'true' } } }, 'application/merge-patch+json');
  io.out.write(`task.kubeopencode.io/${name} stop requested\n`);
  return 0;
}

/** The `task` container's log of the Task's pod; with follow, streamed until the pod's container ends (or Ctrl-C). */
export async function taskLogs(client: KubeClient, io: Io, ns: string, name: string, follow: boolean): Promise<number> {
  const task = await client.request<Obj>(crAccess('tasks', 'get', ns, name), 'GET', paths.cr('tasks', ns, name));
  const pod = task.status?.podName;
  if (!pod) {
    io.err.write(`task ${name} has no pod yet (phase ${task.status?.phase ?? 'Pending'}${task.status?.phase === 'Queued' ? `, ${cond(task, 'Queued')?.reason ?? 'queued'}` : ''}); try again once it runs\n`);
    return 1;
  }
  const query = new URLSearchParams({ container: 'task', ...(follow ? { follow: 'true' } : {}) });
  const res = await client.stream({ verb: 'get', resource: 'pods/log', group: '', namespace: ns, name: pod }, `${paths.core('pods', ns, pod)}/log?${query}`);
  await new Promise<void>((resolve, reject) => {
    res.on('data', (c: Buffer) => io.out.write(c));
    res.on('end', resolve);
    res.on('error', reject);
  });
  return 0;
}

// ---- CronTasks -------------------------------------------------------------------------------------------------------

export async function triggerCronTask(client: KubeClient, io: Io, ns: string, name: string): Promise<number> {
  await client.request(crAccess('crontasks', 'get', ns, name), 'GET', paths.cr('crontasks', ns, name));
  await client.request(crAccess('crontasks', 'patch', ns, name), 'PATCH', paths.cr('crontasks', ns, name),
    { metadata: { annotations: { [ANNOTATIONS.trigger]: 'true' } } }, 'application/merge-patch+json');
  io.out.write(`crontask.kubeopencode.io/${name} triggered (the controller creates one Task now)\n`);
  return 0;
}

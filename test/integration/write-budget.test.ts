/**
 * The controller's API write budget per Task, on the real API server: every write it sends goes through a recording
 * proxy and is attributed to a Task by what it touches (the Task, its status, its pod, an Event about it). Budget:
 * a Task that never waits costs its pod, Running (with podName) and Completed/Failed, so 3 writes; one that waits adds
 * Queued, so 4; Events are counted apart, at most 2 per Task.
 */
import { LABELS } from '../../src/api';
import { Obj, setPodPhase, testKubeConfig, waitFor } from '../harness/apiserver';
import { agentIn, createTask, getPod, useControllers, waitForPhase } from './controller-kit';
import { FaultProxy, RecordedWrite } from './fault-proxy';

jest.setTimeout(Number(process.env.BUDGET_TIMEOUT ?? 120_000));
const { started } = useControllers();

interface Budget {
  /** Writes to the Task, its status and its pod, as `METHOD resource`. */
  writes: string[];
  /** Events about the Task. */
  events: number;
}

/** The Task a write is about, and whether it is an Event; undefined for writes about something else. */
function attribute(w: RecordedWrite): { task: string; event: boolean; what: string } | undefined {
  const m = /\/namespaces\/[^/]+\/(tasks|pods|events)(?:\/([^/]+))?(\/status)?$/.exec(w.path);
  if (!m) return undefined;
  const [, resource, name, status] = m;
  const what = `${w.method} ${resource}${status ?? ''}`;
  if (resource === 'events') {
    const obj = w.body?.involvedObject ?? w.body?.regarding;
    return obj?.kind === 'Task' ? { task: obj.name, event: true, what } : undefined;
  }
  if (resource === 'tasks') return name ? { task: name, event: false, what } : undefined;
  const pod = name ?? w.body?.metadata?.name;
  const task = w.body?.metadata?.labels?.[LABELS.task] ?? pod?.replace(/-pod$/, '');
  return task ? { task, event: false, what } : undefined;
}

function budgets(writes: readonly RecordedWrite[], ns: string): Map<string, Budget> {
  const out = new Map<string, Budget>();
  for (const w of writes) {
    if (!w.path.includes(`/namespaces/${ns}/`)) continue;
    const a = attribute(w);
    if (!a) continue;
    const b = out.get(a.task) ?? { writes: [], events: 0 };
    if (a.event) b.events++;
    else b.writes.push(a.what);
    out.set(a.task, b);
  }
  return out;
}

test('writes per Task: 3 when it never waits (Completed or Failed), 4 when it queues; Events at most 2 each', async () => {
  const ns = await agentIn({ maxConcurrentTasks: 1 });
  const proxy = new FaultProxy(testKubeConfig());
  const port = await proxy.start();
  try {
    const c = await started({ kubeConfig: proxy.kubeConfig(port) });
    await c.idle();
    const run = async (name: string) => {
      await waitFor(() => getPod(ns, `${name}-pod`), 10_000, { what: `${name}-pod` });
      return waitForPhase(ns, name, 'Running');
    };

    // never waits, Completed
    await createTask(ns, 'first', { agentRef: { name: 'agent' }, description: 'first' });
    const first = await run('first');
    expect(first.status.podName).toBe('first-pod');
    // waits behind it, then Completed
    await createTask(ns, 'second', { agentRef: { name: 'agent' }, description: 'second' });
    await waitForPhase(ns, 'second', 'Queued');
    await setPodPhase(ns, 'first-pod', 'Succeeded');
    await waitForPhase(ns, 'first', 'Completed');
    await run('second');
    await setPodPhase(ns, 'second-pod', 'Succeeded');
    await waitForPhase(ns, 'second', 'Completed');
    // never waits, Failed
    await c.idle();
    await createTask(ns, 'third', { agentRef: { name: 'agent' }, description: 'third' });
    await run('third');
    await setPodPhase(ns, 'third-pod', 'Failed', { exitCode: 2 });
    await waitForPhase(ns, 'third', 'Failed');
    await c.idle();
    // Events are sent without waiting: give the last ones time to arrive
    await new Promise((r) => setTimeout(r, 300));

    const b = budgets(proxy.writes, ns);
    const over = (name: string, max: number) => (b.get(name)?.writes.length ?? 0) > max ? `${name}: ${b.get(name)!.writes.length} writes (${b.get(name)!.writes.join(', ')}), budget ${max}` : undefined;
    expect([over('first', 3), over('second', 4), over('third', 3)].filter(Boolean)).toEqual([]);
    for (const name of ['first', 'second', 'third']) {
      expect(b.get(name)!.writes.filter((w) => w === 'POST pods')).toHaveLength(1);
      expect(b.get(name)!.events).toBeGreaterThan(0);
      expect(b.get(name)!.events).toBeLessThanOrEqual(2);
    }
  } finally {
    await proxy.stop();
  }
});

test('the recorded writes are what the budget counts: every controller write in the namespace is attributed', async () => {
  // guards the attribution above: a write the regex misses would silently shrink the count
  const ns = await agentIn({ maxConcurrentTasks: 1 });
  const proxy = new FaultProxy(testKubeConfig());
  const port = await proxy.start();
  try {
    const c = await started({ kubeConfig: proxy.kubeConfig(port) });
    await c.idle();
    const before = proxy.writes.length;
    await createTask(ns, 'only', { agentRef: { name: 'agent' }, description: 'only' });
    await waitFor(() => getPod(ns, 'only-pod'), 10_000, { what: 'only-pod' });
    await setPodPhase(ns, 'only-pod', 'Succeeded');
    await waitForPhase(ns, 'only', 'Completed');
    await c.idle();
    const during = proxy.writes.slice(before).filter((w: RecordedWrite) => w.path.includes(`/namespaces/${ns}/`));
    const unattributed = during.filter((w: RecordedWrite) => !attribute(w)).map((w: Obj) => `${w.method} ${w.path}`);
    expect(unattributed).toEqual([]);
  } finally {
    await proxy.stop();
  }
});

/**
 * A freed slot and the writes still in flight, on the real API server: the Agent's admission holds its key only for
 * the pods it creates; the Running write (and the quota ledger) go on behind it. While one is held back by a slow
 * server, the next freed slot must still give the next pod at once, and a slot that is still held must not be given.
 */
import { Obj, setPodPhase, testKubeConfig, waitFor } from '../harness/apiserver';
import { agentIn, createTask, getPod, getTask, patch, useControllers, waitForPhase } from './controller-kit';
import { FaultProxy } from './fault-proxy';

jest.setTimeout(Number(process.env.HANDOFF_TIMEOUT ?? 120_000));
const { started } = useControllers();

/** How long the proxy holds b's status writes: far longer than a reconcile takes, even on a loaded machine. */
const HOLD_MS = 8000;

test('while a started Task\'s Running write is in flight, its slot stays held, and once its pod ends the next pod is created at once', async () => {
  const ns = await agentIn({ maxConcurrentTasks: 1 });
  const proxy = new FaultProxy(testKubeConfig());
  const port = await proxy.start();
  try {
    const c = await started({ kubeConfig: proxy.kubeConfig(port) });
    for (const n of ['a', 'b', 'c']) {
      await createTask(ns, n, { agentRef: { name: 'agent' }, description: n });
      await new Promise((r) => setTimeout(r, 20));
    }
    await waitFor(() => getPod(ns, 'a-pod'), 10_000, { what: 'a-pod' });
    await waitForPhase(ns, 'b', 'Queued');
    await waitForPhase(ns, 'c', 'Queued');
    await c.idle();

    proxy.faults.hold = { method: 'PATCH', path: /\/tasks\/b\/status/, ms: HOLD_MS };
    await setPodPhase(ns, 'a-pod', 'Succeeded');
    await waitFor(() => getPod(ns, 'b-pod'), 5_000, { what: 'b-pod' });
    expect(proxy.counts.held).toBeGreaterThan(0); // b's Running write is on its way, held by the proxy
    expect((await getTask(ns, 'b')).status.phase).toBe('Queued');

    // an Agent event while the write is held: the admission reads b as started (its slot is held), c waits
    const reconciles = async () => (await c.metrics.reconciles.get()).values.find((v) => v.labels.kind === 'agent')?.value ?? 0;
    const before = await reconciles();
    await patch(`/apis/kubeopencode.io/v1alpha1/namespaces/${ns}/agents/agent`, { metadata: { annotations: { touched: 'yes' } } });
    await waitFor(async () => ((await reconciles()) > before ? true : undefined), 5_000, { what: 'an Agent reconcile' });
    await new Promise((r) => setTimeout(r, 300));
    expect(await getPod(ns, 'c-pod')).toBeUndefined();

    // b's pod ends while its Running write is still held: c's pod follows without waiting for that write
    await setPodPhase(ns, 'b-pod', 'Succeeded');
    await waitFor(() => getPod(ns, 'c-pod'), 5_000, { what: 'c-pod' });
    const bWhenCStarted: Obj = await getTask(ns, 'b');
    expect(bWhenCStarted.status.phase).toBe('Queued'); // the write was still in flight when c's pod was created

    // and everything lands in order: b Running, then Completed; c Running with its pod
    proxy.faults.hold = undefined;
    await waitForPhase(ns, 'b', 'Completed', 2 * HOLD_MS + 10_000);
    const b = await getTask(ns, 'b');
    expect(b.status).toMatchObject({ podName: 'b-pod' });
    expect(b.status.startTime).toBeDefined();
    expect((await waitForPhase(ns, 'c', 'Running', 2 * HOLD_MS + 10_000)).status.podName).toBe('c-pod');
    await c.idle();
    expect((await getTask(ns, 'a')).status.phase).toBe('Completed');
  } finally {
    await proxy.stop();
  }
});

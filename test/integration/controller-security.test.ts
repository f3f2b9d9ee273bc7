/**
 * The controller's memory and its honesty about the agent server's auth, on the real API server: what it keeps per
 * Agent goes with the Agent, a deleted password Secret comes back, a 401 from the server shows on the Agent, the reads
 * from the server are bounded, and the CRDs bound the text a Task pod must carry.
 */
import * as http from 'http';
import { AddressInfo } from 'net';
import { Obj, kubeRequest, rawRequest, setPodPhase, waitFor } from '../harness/apiserver';
import { agentIn, condition, createTask, useControllers, getAgent, getPod, patch, waitForPhase } from './controller-kit';

jest.setTimeout(120_000);
const { started } = useControllers();

/** An agent server stand-in that answers every request with `status` (and records what it was asked). */
async function fakeServer(status: () => number): Promise<{ url: string; requests: string[]; stop(): Promise<void> }> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    const code = status();
    res.writeHead(code, { 'content-type': 'application/json' });
    if (code !== 200) return res.end('{}');
    if ((req.url ?? '').startsWith('/session?')) {
      const title = decodeURIComponent(/search=([^&]*)/.exec(req.url ?? '')?.[1] ?? '');
      return res.end(JSON.stringify([{ id: 'ses_1', title }]));
    }
    return res.end('[]');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    stop: () => new Promise<void>((r) => server.close(() => r())),
  };
}

function fakeClock() {
  let offset = 0;
  return { now: () => Date.now() + offset, advance: (ms: number) => (offset += ms) };
}

const secretPath = (ns: string, name: string) => `/api/v1/namespaces/${ns}/secrets/${name}`;

test('a deleted Agent leaves no metric series behind', async () => {
  const ns = await agentIn({}, 'gone');
  const c = await started();
  await createTask(ns, 't', { agentRef: { name: 'gone' }, description: 'x' });
  await waitForPhase(ns, 't', 'Running');
  await c.idle();
  const series = new RegExp(`kubeopencode_agent_(queue_length|running_tasks)\\{namespace="${ns}",agent="gone"\\}`);
  expect(await c.metrics.registry.metrics()).toMatch(series);
  await kubeRequest('DELETE', `/apis/kubeopencode.io/v1alpha1/namespaces/${ns}/agents/gone`);
  await waitFor(async () => !series.test(await c.metrics.registry.metrics()), 10_000, { what: 'the series to go' });
});

test('a deleted server password Secret is created again', async () => {
  const clock = fakeClock();
  const ns = await agentIn({}, 'auth');
  const c = await started({ now: clock.now });
  const first = await waitFor(() => kubeRequest('GET', secretPath(ns, 'auth-server-auth')).catch(() => undefined));
  await kubeRequest('DELETE', secretPath(ns, 'auth-server-auth'));
  clock.advance(61_000);
  // anything that makes the controller look at the Agent again
  await patch(`/apis/kubeopencode.io/v1alpha1/namespaces/${ns}/agents/auth`, { metadata: { annotations: { touched: '1' } } });
  c.resync();
  const again = await waitFor(() => kubeRequest('GET', secretPath(ns, 'auth-server-auth')).catch(() => undefined), 15_000, { what: 'the Secret again' });
  expect(again.metadata.uid).not.toBe(first.metadata.uid);
});

test('a 401 from the agent server shows on the Agent (ServerAuthorized False, Unauthorized) and clears when it accepts again', async () => {
  const ns = await agentIn({}, 'locked');
  let code = 401;
  const server = await fakeServer(() => code);
  try {
    await started({ serverUrl: () => server.url });
    await createTask(ns, 'r1', { agentRef: { name: 'locked' }, description: 'x' });
    await waitFor(() => getPod(ns, 'r1-pod'));
    await setPodPhase(ns, 'r1-pod', 'Succeeded');
    await waitForPhase(ns, 'r1', 'Completed');
    const agent = await waitFor(async () => {
      const a = await getAgent(ns, 'locked');
      return condition(a, 'ServerAuthorized') ? a : undefined;
    });
    expect(condition(agent, 'ServerAuthorized')).toMatchObject({ status: 'False', reason: 'Unauthorized' });
    expect(condition(agent, 'ServerAuthorized').message).toContain("Secret 'locked-server-auth'");
    code = 200;
    await createTask(ns, 'r2', { agentRef: { name: 'locked' }, description: 'y' });
    await waitFor(() => getPod(ns, 'r2-pod'));
    await setPodPhase(ns, 'r2-pod', 'Succeeded');
    await waitForPhase(ns, 'r2', 'Completed');
    await waitFor(async () => condition(await getAgent(ns, 'locked'), 'ServerAuthorized')?.status === 'True', 10_000, { what: 'Authorized' });
    // the messages of a session are read with a bound
    expect(server.requests.filter((r) => r.includes('/message'))).toEqual(expect.arrayContaining([expect.stringMatching(/^GET \/session\/ses_1\/message\?limit=1000$/)]));
  } finally {
    await server.stop();
  }
});

test('the CRD bounds what a Task pod carries in one environment variable', async () => {
  const ns = await agentIn({}, 'bounded');
  const create = (name: string, spec: Obj) => rawRequest('POST', `/apis/kubeopencode.io/v1alpha1/namespaces/${ns}/tasks`, {
    query: { dryRun: 'All' },
    body: { apiVersion: 'kubeopencode.io/v1alpha1', kind: 'Task', metadata: { name }, spec: { agentRef: { name: 'bounded' }, ...spec } },
  });
  expect((await create('long', { description: 'x'.repeat(32_769) })).status).toBe(422);
  expect((await create('ok', { description: 'x'.repeat(32_768) })).status).toBe(201);
  const ctx = await create('ctx', { description: 'd', contexts: [{ type: 'Text', text: 'y'.repeat(2_049) }] });
  expect(ctx.status).toBe(422);
  expect((ctx.body as Obj).message).toMatch(/at most 2048 characters/);
});

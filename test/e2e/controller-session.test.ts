/**
 * The controller, the real API server and the real `opencode serve` together: a stop aborts the Task's session on the
 * agent server (the attach pod going away does not), a model error fails the Task although `opencode run --attach`
 * exits 0, and a completed Task records its session. The harness plays the kubelet by running the pod the controller
 * created — its exact env and command — on this machine.
 */
import { Agent } from '../../src';
import { Controller } from '../../src/controller/controller';
import { Obj, applyCrds, createNamespace, kubeRequest, markDeploymentReady, setPodPhase, useTestCluster, waitFor } from '../harness/apiserver';
import { LlmStub, startLlmStub } from '../fixtures/llm-stub';
import { OpencodeServer, PodSandbox, agentObjects, configMapsOf, ensureOpencode, startOpencodeServer } from '../fixtures/opencode';
import { applyChart, condition, createTask, getPod, patch, startController, waitForPhase } from '../integration/controller-kit';
import { chart } from '../util/synth';

jest.setTimeout(180_000);
const cluster = useTestCluster();
const PASSWORD = 'session-test-password';

let ns: string;
let stub: LlmStub;
let server: OpencodeServer;
let controller: Controller;
const sandboxes: PodSandbox[] = [];
let configMaps: Record<string, Record<string, string>>;

beforeAll(async () => {
  ensureOpencode();
  cluster.kc();
  await applyCrds();
  ns = await createNamespace();
  // the password Secret exists before the controller, which then leaves it alone
  await kubeRequest('POST', `/api/v1/namespaces/${ns}/secrets`, {
    body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'sess-server-auth' }, stringData: { password: PASSWORD } },
  });
  const c = chart(ns);
  new Agent(c, 'sess', { workspaceDir: '/workspace', serviceAccountName: 'kubeopencode-agent' });
  const objects = await applyChart(c);
  await markDeploymentReady(ns, 'sess-server');
  configMaps = configMapsOf(objects);
  stub = await startLlmStub();
  const pod = new PodSandbox(agentObjects(objects, 'sess').serverPod, { configMaps, secrets: { 'sess-server-auth': { password: PASSWORD } }, prefix: 'koc-sess-server-' });
  sandboxes.push(pod);
  await pod.runInitContainers({ skip: [] });
  server = await startOpencodeServer(pod, { configOverlay: stub.opencodeConfig() });
  controller = startController({ serverUrl: () => server.url });
  await controller.start();
});

afterAll(async () => {
  await controller?.stop();
  await server?.stop().catch(() => undefined);
  await stub?.stop();
  for (const s of sandboxes) s.cleanup();
});

/** Runs the pod the controller created for `task`, as the kubelet would (its own env: TASK_DESCRIPTION etc.). */
async function kubeletRuns(task: string) {
  const pod = await waitFor(() => getPod(ns, `${task}-pod`), 10_000, { what: `${task}-pod` });
  await setPodPhase(ns, pod.metadata.name, 'Running');
  const sb = new PodSandbox(pod.spec, { configMaps, secrets: { 'sess-server-auth': { password: PASSWORD } }, prefix: 'koc-sess-task-' });
  sandboxes.push(sb);
  // the Service name does not resolve here: point the attach at the local server
  return sb.start('task', { env: { KUBEOPENCODE_SERVER_URL: server.url }, timeoutMs: 60_000 });
}

test('a stop aborts the Task\'s session on the agent server, and the condition says so', async () => {
  stub.reset();
  await createTask(ns, 'hangs', { agentRef: { name: 'sess' }, description: 'STUB:HANG until someone stops me' });
  const proc = await kubeletRuns('hangs');
  const hung = await stub.waitFor((x) => x.action?.type === 'hang', 90_000, 'the hanging model call');
  await patch(`/apis/kubeopencode.io/v1alpha1/namespaces/${ns}/tasks/hangs`, { metadata: { annotations: { 'kubeopencode.io/stop': 'true' } } });
  const t = await waitForPhase(ns, 'hangs', 'Completed', 60_000);
  expect(condition(t, 'Stopped')).toMatchObject({ status: 'True', reason: 'UserStopped' });
  expect(condition(t, 'Stopped').message).toMatch(/session ses_\w+ on the agent server was aborted/);
  await stub.waitFor((x) => x === hung && x.cancelled, 10_000, 'the model call to be cancelled');
  await proc.stop(2000);
});

test('a model error fails the Task (the attached client exits 0 regardless), with the error in the condition', async () => {
  stub.reset();
  stub.script('STUB-RULE-MODEL-GONE', { type: 'fail', status: 400, message: 'model does not exist' });
  await createTask(ns, 'model-fails', { agentRef: { name: 'sess' }, description: 'STUB-RULE-MODEL-GONE' });
  const proc = await kubeletRuns('model-fails');
  const r = await proc.done;
  expect(stub.chatsWith('STUB-RULE-MODEL-GONE').length).toBeGreaterThan(0);
  await setPodPhase(ns, 'model-fails-pod', r.code === 0 ? 'Succeeded' : 'Failed', { exitCode: r.code ?? 1 });
  const t = await waitForPhase(ns, 'model-fails', 'Failed', 60_000);
  const ready = condition(t, 'Ready');
  if (r.code === 0) {
    // the pod said success: only the session knows it failed
    expect(ready.reason).toBe('SessionError');
    expect(ready.message).toMatch(/model does not exist|400/);
  } else {
    expect(ready.reason).toBe('PodFailed');
  }
  expect(t.status.session?.id).toMatch(/^ses_/);
});

test('a completed Task records its session id, message count and token usage', async () => {
  stub.reset();
  await createTask(ns, 'works', { agentRef: { name: 'sess' }, description: 'say hello' });
  const proc = await kubeletRuns('works');
  const r = await proc.done;
  expect(r.code).toBe(0);
  await setPodPhase(ns, 'works-pod', 'Succeeded');
  const t = await waitForPhase(ns, 'works', 'Completed', 60_000);
  expect(t.status.session).toMatchObject({ id: expect.stringMatching(/^ses_/), title: expect.stringMatching(new RegExp(`^kubeopencode/${ns}/works/`)) });
  expect(t.status.session.messageCount).toBeGreaterThanOrEqual(2);
  expect(t.status.session.tokenUsage.input).toBeGreaterThan(0);
});

test('deleting a running Task aborts its session (from the DELETE event, no finalizer: the Task goes at once)', async () => {
  stub.reset();
  await createTask(ns, 'deleted', { agentRef: { name: 'sess' }, description: 'STUB:HANG until deleted' });
  const proc = await kubeletRuns('deleted');
  const hung = await stub.waitFor((x) => x.action?.type === 'hang', 90_000, 'the hanging model call');
  const running = await waitFor(async () => {
    const t = await kubeRequest('GET', `/apis/kubeopencode.io/v1alpha1/namespaces/${ns}/tasks/deleted`);
    return t.status?.phase === 'Running' ? t : undefined;
  }, 10_000, { what: 'Running' });
  expect(running.metadata.finalizers ?? []).toEqual([]);
  await kubeRequest('DELETE', `/apis/kubeopencode.io/v1alpha1/namespaces/${ns}/tasks/deleted`);
  await stub.waitFor((x) => x === hung && x.cancelled, 15_000, 'the model call to be cancelled');
  await waitFor(async () => (await kubeRequest('GET', `/apis/kubeopencode.io/v1alpha1/namespaces/${ns}/tasks`)).items.every((x: Obj) => x.metadata.name !== 'deleted'), 15_000, { what: 'Task gone' });
  await proc.stop(2000);
});

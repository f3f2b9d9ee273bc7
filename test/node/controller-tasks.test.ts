/**
 * Issue 14 §4, end to end on the real node: Tasks applied to the real API server, our controller creating their pods,
 * those pods running under podman + runc (test/node/kubelet-loop.ts plays the kubelet and the Deployment controller),
 * the real opencode talking to the scripted model. One API server, one node, one model stub and one controller for
 * the file.
 */
import { Agent, AgentTemplate } from '../../src';
import { NAMES } from '../../src/api';
import { Controller } from '../../src/controller/controller';
import { LlmStub, startLlmStub } from '../fixtures/llm-stub';
import { OFFLINE_ENV } from '../fixtures/opencode';
import { Obj, applyCrds, createNamespace, kubeRequest, markDeploymentReady, useTestCluster, waitFor } from '../harness/apiserver';
import { applyChart, createTask, getAgent, getPod, startController, waitForPhase } from '../integration/controller-kit';
import { chart } from '../util/synth';
import { KubeletLoop, runDeployment } from './kubelet-loop';
import { Node, Pod, SKIP_VAR, nodeTierSkipped } from './node';

jest.setTimeout(240_000);

const AGENT = 'team-agent';
const TEMPLATE = 'batch-template';
const AGENT_IMAGE = 'quay.io/kubeopencode/kubeopencode-agent-opencode:latest';
const DEVBOX = 'quay.io/kubeopencode/kubeopencode-agent-devbox:latest';

if (nodeTierSkipped()) {
  test(`node tier skipped: ${SKIP_VAR}=1`, () => undefined);
}

(nodeTierSkipped() ? describe.skip : describe)('Tasks through the controller, their pods on a real node (podman + runc)', () => {
  const cluster = useTestCluster();
  let stub: LlmStub;
  let node: Node;
  let ns: string;
  let controller: Controller | undefined;
  let kubelet: KubeletLoop | undefined;
  let server: Pod | undefined;

  beforeAll(async () => {
    cluster.kc();
    stub = await startLlmStub();
    node = await Node.start();
    await node.expose(stub.port); // the stub's baseURL (127.0.0.1:<port>) works inside the node as well
    await applyCrds();
    ns = await createNamespace();
    // the Service's names resolve in every pod of the node (the task pod attaches to the cluster-local one)
    node.addHosts(NAMES.service(AGENT), `${AGENT}.${ns}.svc`, `${AGENT}.${ns}.svc.cluster.local`);
    const config = JSON.stringify({ $schema: 'https://opencode.ai/config.json', ...stub.opencodeConfig() }, null, 2);

    const c = chart(ns);
    // the guide's team agent ("Live Agents" → Setup), the agent image spelled as the guide's other examples do, and a
    // `config` that points at the scripted model; its Git context lives in git-contexts.test.ts
    new Agent(c, AGENT, {
      profile: 'Team development agent',
      agentImage: AGENT_IMAGE,
      executorImage: DEVBOX,
      workspaceDir: '/workspace',
      serviceAccountName: 'kubeopencode-agent',
      port: 4096,
      persistence: { sessions: { size: '2Gi' } },
      credentials: [{ name: 'api-key', secretRef: { name: 'ai-credentials', key: 'api-key' }, env: 'OPENCODE_API_KEY' }],
      config,
    });
    new AgentTemplate(c, TEMPLATE, {
      agentImage: AGENT_IMAGE,
      executorImage: DEVBOX,
      workspaceDir: '/workspace',
      serviceAccountName: 'kubeopencode-agent',
      config,
    });
    await kubeRequest('POST', `/api/v1/namespaces/${ns}/secrets`, {
      body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'ai-credentials' }, stringData: { 'api-key': 'not-a-real-key' } },
    });
    // an Agent whose server never runs on the node (its Deployment is only reported ready): its Tasks cannot attach
    new Agent(c, 'down-agent', { executorImage: DEVBOX, workspaceDir: '/workspace', serviceAccountName: 'kubeopencode-agent', config });
    await applyChart(c);
    await markDeploymentReady(ns, NAMES.serverDeployment('down-agent'));

    // the controller reaches the server (session outcome) through the node's port forward, as it would the Service
    const serverPort = await node.forward(4096);
    controller = startController({ serverUrl: () => `http://127.0.0.1:${serverPort}` });
    await controller.start();
    kubelet = new KubeletLoop(node, ns, { extraEnv: { '*': { ...OFFLINE_ENV } } }).start();
  });

  afterAll(async () => {
    await kubelet?.stop();
    await controller?.stop();
    await server?.stop();
    await node?.stop();
    await stub?.stop();
  });

  test("the guide's team agent: server on the node, a Task through the controller, its attach pod reaches the server and the model, Completed", async () => {
    // the controller makes the server's password Secret; the Deployment's pod needs it
    await waitFor(() => kubeRequest('GET', `/api/v1/namespaces/${ns}/secrets/${NAMES.serverAuthSecret(AGENT)}`), 20_000, { what: 'the server password Secret' });
    const t0 = Date.now();
    server = await runDeployment(node, ns, NAMES.serverDeployment(AGENT), { extraEnv: { '*': { ...OFFLINE_ENV } }, podName: `${AGENT}-server-0` });
    process.stderr.write(`node tier: team agent server pod ready in ${Date.now() - t0} ms\n`);
    const agent = await waitFor(async () => ((await getAgent(ns, AGENT)).status?.ready ? getAgent(ns, AGENT) : undefined), 20_000, { what: 'Agent ready' });
    expect(agent.status.url).toBe(`http://${AGENT}.${ns}.svc.cluster.local:4096`);

    const marker = `node-tier-agent-task-${Date.now()}`;
    await createTask(ns, 'team-task', { agentRef: { name: AGENT }, description: `Say hello (${marker})` });
    const done = await waitForPhase(ns, 'team-task', 'Completed', 180_000).catch((e: Error) => {
      throw new Error(`${e.message}\n${kubelet!.describe(NAMES.taskPod('team-task'))}\n--- server ---\n${server!.logs('server').stderr.slice(-2000)}`);
    });

    // the task pod ran on the node (not the server's own process): the controller created it, the kubelet loop ran it
    const ran = await kubelet!.waitEnded(NAMES.taskPod('team-task'));
    expect(ran.phase).toBe('Succeeded');
    expect(ran.exits!.map((e) => [e.name, e.exitCode])).toEqual([['task', 0]]);
    const pod = await getPod(ns, NAMES.taskPod('team-task'));
    expect(pod!.status.phase).toBe('Succeeded');
    expect(pod!.spec.containers[0].image).toBe('ghcr.io/kubeopencode/kubeopencode-agent-attach:v0.1.7');
    // the session reached the model with the task text, on the server (the attach pod has no model of its own)
    expect(stub.chatsWith(marker).length).toBeGreaterThan(0);
    // the controller read the session back from the server: it is the Task's session
    expect(done.status.session).toMatchObject({ title: `kubeopencode/${ns}/team-task/${done.metadata.uid.slice(0, 8)}` });
    expect(done.status.session.messageCount).toBeGreaterThanOrEqual(2);
  });

  test('a template Task: the template pod runs opencode standalone in the devbox image after opencode-init, Completed', async () => {
    const marker = `node-tier-template-task-${Date.now()}`;
    await createTask(ns, 'template-task', { templateRef: { name: TEMPLATE }, description: `Summarize (${marker})` });
    await waitForPhase(ns, 'template-task', 'Completed', 180_000).catch((e: Error) => {
      throw new Error(`${e.message}\n${kubelet!.describe(NAMES.taskPod('template-task'))}`);
    });
    const ran = await kubelet!.waitEnded(NAMES.taskPod('template-task'));
    expect(ran.phase).toBe('Succeeded');
    const pod = await getPod(ns, NAMES.taskPod('template-task'));
    const task = pod!.spec.containers.find((c: Obj) => c.name === 'task');
    expect(task.image).toBe(DEVBOX);
    expect(pod!.spec.initContainers.map((c: Obj) => c.name)).toContain('opencode-init');
    expect(ran.pod!.initResults['opencode-init'].exitCode).toBe(0);
    // standalone: no server URL, the model answered the pod's own opencode
    expect((task.env ?? []).map((e: Obj) => e.name)).not.toContain('KUBEOPENCODE_SERVER_URL');
    expect(stub.chatsWith(marker).length).toBeGreaterThan(0);
  });

  test('a task pod that fails on the node fails its Task with the exit code the runtime reported', async () => {
    await createTask(ns, 'unreachable', { agentRef: { name: 'down-agent' }, description: 'nobody listens' });
    const failed = await waitForPhase(ns, 'unreachable', 'Failed', 120_000).catch((e: Error) => {
      throw new Error(`${e.message}\n${kubelet!.describe(NAMES.taskPod('unreachable'))}`);
    });
    const ran = await kubelet!.waitEnded(NAMES.taskPod('unreachable'));
    const exit = ran.exits!.find((e) => e.name === 'task')!;
    expect(exit.exitCode).not.toBe(0);
    expect(exit.exitCode).not.toBe(127); // the binary is there: it is the server that is missing
    const ready = failed.status.conditions.find((c: Obj) => c.type === 'Ready');
    expect(ready).toMatchObject({ status: 'False', reason: 'PodFailed' });
    expect(ready.message).toContain(`Container 'task' exited with code ${exit.exitCode}`);
  });
});

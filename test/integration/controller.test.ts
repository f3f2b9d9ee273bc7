/**
 * The controller on a real API server; the harness plays the kubelet and the deployment controller.
 */
import { Agent, AgentTemplate } from '../../src';
import { Controller } from '../../src/controller/controller';
import { Obj, applyCrds, createNamespace, kubeRequest, markDeploymentReady, setPodPhase, useTestCluster, waitFor } from '../harness/apiserver';
import { chart } from '../util/synth';
import { agentIn, applyChart, condition, createTask, deniedRequests, getAgent, getPod, getTask, patch, startController, waitForPhase } from './controller-kit';

jest.setTimeout(120_000);
const cluster = useTestCluster();

const base = { workspaceDir: '/workspace', serviceAccountName: 'kubeopencode-agent' };
const tasksPath = (ns: string, name = '') => `/apis/kubeopencode.io/v1alpha1/namespaces/${ns}/tasks${name ? `/${name}` : ''}`;
const agentPath = (ns: string, name: string) => `/apis/kubeopencode.io/v1alpha1/namespaces/${ns}/agents/${name}`;

let controller: Controller;
/** Every request the controller made in this file, for the least-privilege check at the end. */
const requests: Array<[string, string]> = [];
beforeAll(async () => {
  cluster.kc();
  await applyCrds();
  controller = startController({ onApiRequest: (m, p) => requests.push([m, p]) });
  await controller.start();
});
afterAll(async () => {
  await controller?.stop();
});

describe('Tasks on an Agent', () => {
  test('a Task gets a pod from the Agent\'s PodTemplate with the description, runs, and completes', async () => {
    const ns = await agentIn();
    await createTask(ns, 'fix-login', { agentRef: { name: 'agent' }, description: 'Fix the "login" bug\ncosts $(HOME) and $$' });
    const running = await waitForPhase(ns, 'fix-login', 'Running');
    expect(running.status.startTime).toBeDefined();
    const pod = await waitFor(() => getPod(ns, 'fix-login-pod'), 10_000, { what: 'pod' });
    const task = pod.spec.containers.find((c: Obj) => c.name === 'task');
    const env = Object.fromEntries(task.env.map((e: Obj) => [e.name, e.value ?? e.valueFrom]));
    // the kubelet turns $$ into $ and expands $(NAME): the env carries the text escaped so it arrives as written
    expect(env.TASK_DESCRIPTION.replace(/\$\$/g, '$')).toBe('Fix the "login" bug\ncosts $(HOME) and $$');
    expect(env.TASK_NAME).toBe('fix-login');
    expect(env.TASK_SESSION_TITLE).toMatch(new RegExp(`^kubeopencode/${ns}/fix-login/[0-9a-f-]{8}$`));
    expect(env.KUBEOPENCODE_SERVER_URL).toBe(`http://agent.${ns}.svc.cluster.local:4096`);
    expect(pod.metadata.ownerReferences[0]).toMatchObject({ kind: 'Task', name: 'fix-login', controller: true });
    expect(pod.metadata.labels).toMatchObject({ 'kubeopencode.io/task': 'fix-login', 'kubeopencode.io/agent': 'agent', 'app.kubernetes.io/component': 'task' });
    await waitFor(async () => (await getTask(ns, 'fix-login')).status?.podName === 'fix-login-pod');

    await setPodPhase(ns, 'fix-login-pod', 'Running');
    await setPodPhase(ns, 'fix-login-pod', 'Succeeded');
    const done = await waitForPhase(ns, 'fix-login', 'Completed');
    expect(done.status.completionTime).toBeDefined();
  });

  test('a failed pod fails the Task with the first non-zero container\'s reason and exit code', async () => {
    const ns = await agentIn();
    await createTask(ns, 't', { agentRef: { name: 'agent' }, description: 'x' });
    await waitFor(() => getPod(ns, 't-pod'));
    await setPodPhase(ns, 't-pod', 'Failed', { exitCode: 3, reason: 'Error' });
    const t = await waitForPhase(ns, 't', 'Failed');
    expect(condition(t, 'Ready')).toMatchObject({ status: 'False', reason: 'PodFailed' });
    expect(condition(t, 'Ready').message).toMatch(/'task' exited with code 3/);
  });

  test('maxConcurrentTasks queues with AgentAtCapacity, FIFO; a freed slot starts the next at once (event-driven)', async () => {
    const ns = await agentIn({ maxConcurrentTasks: 1 });
    for (const n of ['a-first', 'b-second', 'c-third']) {
      await createTask(ns, n, { agentRef: { name: 'agent' }, description: n });
      await new Promise((r) => setTimeout(r, 20));
    }
    await waitForPhase(ns, 'a-first', 'Running');
    for (const n of ['b-second', 'c-third']) {
      const q = await waitForPhase(ns, n, 'Queued');
      expect(condition(q, 'Queued')).toMatchObject({ status: 'True', reason: 'AgentAtCapacity' });
    }
    await waitFor(() => getPod(ns, 'a-first-pod'));
    await setPodPhase(ns, 'a-first-pod', 'Succeeded');
    await waitForPhase(ns, 'a-first', 'Completed');
    await waitForPhase(ns, 'b-second', 'Running', 5_000);
    expect((await getTask(ns, 'c-third')).status.phase).toBe('Queued');
    expect(await getPod(ns, 'c-third-pod')).toBeUndefined();
  });

  test('the stop annotation deletes the pod and ends the Task Completed with Stopped/UserStopped', async () => {
    const ns = await agentIn();
    await createTask(ns, 'long', { agentRef: { name: 'agent' }, description: 'x' });
    await waitFor(() => getPod(ns, 'long-pod'));
    await setPodPhase(ns, 'long-pod', 'Running');
    await patch(tasksPath(ns, 'long'), { metadata: { annotations: { 'kubeopencode.io/stop': 'true' } } });
    const t = await waitForPhase(ns, 'long', 'Completed');
    expect(condition(t, 'Stopped')).toMatchObject({ status: 'True', reason: 'UserStopped' });
    await waitFor(async () => !(await getPod(ns, 'long-pod')), 5_000, { what: 'pod deleted' });
  });

  test('a Running Task whose pod disappears fails with PodLost and frees its slot', async () => {
    const ns = await agentIn({ maxConcurrentTasks: 1 });
    await createTask(ns, 'lost', { agentRef: { name: 'agent' }, description: 'x' });
    await waitFor(async () => (await getTask(ns, 'lost')).status?.podName);
    await createTask(ns, 'next', { agentRef: { name: 'agent' }, description: 'y' });
    await waitForPhase(ns, 'next', 'Queued');
    await kubeRequest('DELETE', `/api/v1/namespaces/${ns}/pods/lost-pod`);
    const t = await waitForPhase(ns, 'lost', 'Failed');
    expect(condition(t, 'Ready')).toMatchObject({ status: 'False', reason: 'PodLost' });
    await waitForPhase(ns, 'next', 'Running');
  });

  test('a Task for an Agent that does not exist waits (Queued, AgentNotFound) and starts when it appears', async () => {
    const ns = await createNamespace();
    await createTask(ns, 'early', { agentRef: { name: 'later' }, description: 'x' });
    const q = await waitFor(async () => {
      const t = await getTask(ns, 'early');
      return condition(t, 'Queued')?.reason === 'AgentNotFound' ? t : undefined;
    }, 10_000, { what: 'AgentNotFound' });
    expect(q.status.phase).toBe('Pending');
    expect(condition(q, 'Queued').message).toMatch(/Agent 'later' does not exist/);
    const c = chart(ns);
    new Agent(c, 'later', base);
    await applyChart(c);
    await markDeploymentReady(ns, 'later-server');
    await waitForPhase(ns, 'early', 'Running');
  });
});

describe('Template Tasks', () => {
  test('a templateRef Task runs in a pod from the template\'s PodTemplate and is never queued by Agent limits', async () => {
    const ns = await createNamespace();
    const c = chart(ns);
    new AgentTemplate(c, 'team-config', base);
    await applyChart(c);
    await createTask(ns, 'one-off-task', { templateRef: { name: 'team-config' }, description: 'Run linting' });
    await waitForPhase(ns, 'one-off-task', 'Running');
    const pod = await waitFor(() => getPod(ns, 'one-off-task-pod'));
    expect(pod.metadata.labels['kubeopencode.io/agent-template']).toBe('team-config');
    expect(pod.spec.containers[0].env.find((e: Obj) => e.name === 'KUBEOPENCODE_SERVER_URL')).toBeUndefined();
    await setPodPhase(ns, 'one-off-task-pod', 'Succeeded');
    await waitForPhase(ns, 'one-off-task', 'Completed');
  });
});

describe('Agent status, suspend and ownership', () => {
  test('status: deploymentName, serviceName, url, ready, ServerReady and ServerHealthy', async () => {
    const ns = await agentIn({}, 'team-agent');
    const a = await waitFor(async () => {
      const x = await getAgent(ns, 'team-agent');
      return x.status?.ready ? x : undefined;
    });
    expect(a.status).toMatchObject({
      deploymentName: 'team-agent-server',
      serviceName: 'team-agent',
      url: `http://team-agent.${ns}.svc.cluster.local:4096`,
      ready: true,
    });
    expect(condition(a, 'ServerReady')).toMatchObject({ status: 'True', reason: 'Ready' });
    expect(condition(a, 'ServerHealthy')).toMatchObject({ status: 'True' });
  });

  test('owner references are added to what synth made for the Agent (PVCs included); the password Secret is created', async () => {
    const ns = await agentIn({ persistence: { sessions: {}, workspace: {} } }, 'owned');
    const agent = await getAgent(ns, 'owned');
    for (const p of [
      `/apis/apps/v1/namespaces/${ns}/deployments/owned-server`,
      `/api/v1/namespaces/${ns}/services/owned`,
      `/api/v1/namespaces/${ns}/configmaps/owned-server-context`,
      `/api/v1/namespaces/${ns}/persistentvolumeclaims/owned-server-sessions`,
      `/api/v1/namespaces/${ns}/persistentvolumeclaims/owned-server-workspace`,
      `/api/v1/namespaces/${ns}/podtemplates/owned-task`,
    ]) {
      await waitFor(async () => ((await kubeRequest('GET', p)).metadata.ownerReferences ?? []).some((r: Obj) => r.uid === agent.metadata.uid), 10_000, { what: `owner ref on ${p}` });
    }
    const secret = await waitFor(async () => (await kubeRequest('GET', `/api/v1/namespaces/${ns}`)) && kubeRequest('GET', `/api/v1/namespaces/${ns}/secrets/owned-server-auth`).catch(() => undefined));
    expect(Buffer.from(secret.data.password, 'base64').toString().length).toBeGreaterThanOrEqual(24);
  });

  test('spec.suspend scales the server to 0 (PVCs and Service stay); Tasks queue with AgentSuspended; resume starts them', async () => {
    const ns = await agentIn({ persistence: { sessions: {} } }, 'sleepy');
    await patch(agentPath(ns, 'sleepy'), { spec: { suspend: true } });
    await waitFor(async () => (await kubeRequest('GET', `/apis/apps/v1/namespaces/${ns}/deployments/sleepy-server`)).spec.replicas === 0, 10_000, { what: 'replicas 0' });
    expect(await kubeRequest('GET', `/api/v1/namespaces/${ns}/services/sleepy`)).toBeDefined();
    expect(await kubeRequest('GET', `/api/v1/namespaces/${ns}/persistentvolumeclaims/sleepy-server-sessions`)).toBeDefined();
    await createTask(ns, 'waits', { agentRef: { name: 'sleepy' }, description: 'x' });
    const q = await waitForPhase(ns, 'waits', 'Queued');
    expect(condition(q, 'Queued').reason).toBe('AgentSuspended');
    const a = await waitFor(async () => {
      const x = await getAgent(ns, 'sleepy');
      return condition(x, 'Suspended')?.status === 'True' ? x : undefined;
    });
    expect(condition(a, 'Suspended').reason).toBe('UserRequested');
    await patch(agentPath(ns, 'sleepy'), { spec: { suspend: false } });
    await waitFor(async () => (await kubeRequest('GET', `/apis/apps/v1/namespaces/${ns}/deployments/sleepy-server`)).spec.replicas === 1, 10_000, { what: 'replicas 1' });
    await markDeploymentReady(ns, 'sleepy-server');
    await waitForPhase(ns, 'waits', 'Running');
  });
});

describe('least privilege', () => {
  test('every request the controller made in this file is allowed by the ClusterRole KubeOpenCodeController synthesizes and the Agents\' Roles', async () => {
    expect(requests.length).toBeGreaterThan(50);
    // it did read Secrets (the server passwords), and only through the Agents' Roles
    expect(requests.some(([m, p]) => m === 'GET' && p.includes('/secrets/'))).toBe(true);
    expect(await deniedRequests(requests)).toEqual([]);
  });
});

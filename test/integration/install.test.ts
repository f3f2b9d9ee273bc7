/**
 * The controller installs from the manifests the library synthesizes: apply KubeOpenCodeController's chart to the
 * real API server, then run the controller's bin the way its Deployment would (same command, env from the manifest,
 * a kubeconfig instead of the in-cluster ServiceAccount), and watch it work: Lease, probes, metrics, a Task.
 */
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { Agent, KubeOpenCodeController } from '../../src';
import { Obj, createNamespace, kubeRequest, markDeploymentReady, useTestCluster, waitFor } from '../harness/apiserver';
import { KUBECONFIG_ENV } from '../harness/cluster';
import { chart } from '../util/synth';
import { applyChart, createTask, waitForPhase } from './controller-kit';

jest.setTimeout(120_000);
const cluster = useTestCluster();
const root = path.resolve(__dirname, '..', '..');
let proc: ChildProcess | undefined;
let logs = '';

afterAll(async () => {
  if (proc && proc.exitCode === null) {
    proc.kill('SIGTERM');
    await new Promise((r) => proc!.once('exit', r));
  }
});

test('apply the synthesized install manifests, run the controller bin as its Deployment does, and it works', async () => {
  cluster.kc();
  const c = chart();
  new KubeOpenCodeController(c, 'controller', { namespace: 'kubeopencode-system' });
  const objects = await applyChart(c); // namespace, CRDs, RBAC, Deployment, Service
  for (const crd of objects.filter((o) => o.kind === 'CustomResourceDefinition')) {
    await waitFor(async () => ((await kubeRequest('GET', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata.name}`)).status?.conditions ?? [])
      .some((x: Obj) => x.type === 'Established' && x.status === 'True'), 20_000, { what: `${crd.metadata.name} Established` });
  }
  await waitFor(async () => (await kubeRequest('GET', '/apis/kubeopencode.io/v1alpha1/tasks').catch(() => undefined)) !== undefined, 20_000);

  const deployment = objects.find((o) => o.kind === 'Deployment')!;
  const container = deployment.spec.template.spec.containers[0];
  const env: Record<string, string> = { PATH: process.env.PATH!, HOME: process.env.HOME!, KUBECONFIG: process.env[KUBECONFIG_ENV]! };
  for (const e of container.env) {
    if (e.value !== undefined) env[e.name] = e.value;
    else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.namespace') env[e.name] = 'kubeopencode-system';
    else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.name') env[e.name] = 'kubeopencode-controller-test-0';
  }
  env.HEALTH_PORT = '0'; // any free port: read from the log below
  env.METRICS_PORT = '0';
  const [cmd, ...args] = container.command;
  expect(cmd).toBe('kubeopencode-controller');
  proc = spawn(path.join(root, 'bin', cmd), args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout!.on('data', (d) => (logs += d));
  proc.stderr!.on('data', (d) => (logs += d));

  const lease = await waitFor(async () => {
    const l = await kubeRequest('GET', '/apis/coordination.k8s.io/v1/namespaces/kubeopencode-system/leases/kubeopencode-controller').catch(() => undefined);
    return l?.spec?.holderIdentity ? l : undefined;
  }, 60_000, { what: `the Lease (logs: ${logs.slice(-500)})` });
  expect(lease.spec.holderIdentity).toBe('kubeopencode-controller-test-0');

  const port = await waitFor(() => /"healthPort":(\d+)/.exec(logs)?.[1], 10_000, { what: 'health port in the log' });
  for (const p of ['/healthz', '/readyz']) {
    const res = await fetch(`http://127.0.0.1:${port}${p}`);
    expect(res.status).toBe(200);
  }
  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  expect(metrics).toContain('kubeopencode_leader 1');

  const ns = await createNamespace();
  const app = chart(ns);
  new Agent(app, 'agent', { workspaceDir: '/workspace', serviceAccountName: 'kubeopencode-agent' });
  await applyChart(app);
  await markDeploymentReady(ns, 'agent-server');
  await createTask(ns, 'installed', { agentRef: { name: 'agent' }, description: 'hello' });
  await waitForPhase(ns, 'installed', 'Running', 20_000);
  // structured JSON logs
  const first = logs.split('\n').find((l) => l.startsWith('{'))!;
  expect(JSON.parse(first)).toMatchObject({ component: 'kubeopencode-controller', msg: expect.any(String) });
  expect(fs.existsSync(path.join(root, 'Dockerfile'))).toBe(true);
});

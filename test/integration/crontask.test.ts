/**
 * CronTask and cleanup at run time, on the real API server: the trigger annotation, concurrency policies, the
 * retention block, suspend mirrored onto the CronJob, the CronJob's crontask-fire command, and global cleanup.
 */
import { Agent, CronTask, KubeOpenCodeConfig } from '../../src';
import { Controller } from '../../src/controller/controller';
import { crontaskFire as fire } from '../../src/controller/main';
import { createLogger } from '../../src/controller/runtime/log';
import { Obj, applyCrds, createNamespace, kubeRequest, markDeploymentReady, setPodPhase, useTestCluster, waitFor } from '../harness/apiserver';
import { KUBECONFIG_ENV } from '../harness/cluster';
import { chart } from '../util/synth';
import { applyChart, condition, deniedRequests, getPod, patch, startController, waitForPhase } from './controller-kit';

jest.setTimeout(120_000);
const crontaskFire = (ns: string, name: string, now: number) => fire(ns, name, now, createLogger('silent'));
const cluster = useTestCluster();
const base = { workspaceDir: '/workspace', serviceAccountName: 'kubeopencode-agent' };
let controller: Controller;

beforeAll(async () => {
  cluster.kc();
  await applyCrds();
  controller = startController({ onApiRequest: (m, p) => requests.push([m, p]) });
  await controller.start();
});
afterAll(async () => controller?.stop());
const requests: Array<[string, string]> = [];

const ctPath = (ns: string, name: string) => `/apis/kubeopencode.io/v1alpha1/namespaces/${ns}/crontasks/${name}`;
const children = async (ns: string, name: string) =>
  ((await kubeRequest('GET', `/apis/kubeopencode.io/v1alpha1/namespaces/${ns}/tasks?labelSelector=kubeopencode.io/crontask=${name}`)).items as Obj[])
    .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));

async function setup(props: Obj = {}): Promise<string> {
  const ns = await createNamespace();
  const c = chart(ns);
  const agent = new Agent(c, 'security-agent', base);
  new CronTask(c, 'scan', {
    // a schedule that is not due during the test: runs come from the trigger and from crontask-fire
    schedule: '0 3 1 1 *',
    concurrencyPolicy: 'Forbid',
    maxRetainedTasks: 10,
    taskTemplate: { metadata: { labels: { team: 'sec' } }, spec: { agentRef: agent, description: 'Scan all Go dependencies for CVEs.' } },
    ...props,
  });
  await applyChart(c);
  await markDeploymentReady(ns, 'security-agent-server');
  return ns;
}

async function trigger(ns: string): Promise<void> {
  await patch(ctPath(ns, 'scan'), { metadata: { annotations: { 'kubeopencode.io/trigger': 'true' } } });
}

test('the trigger annotation creates one Task at once, named {crontask}-{unix-timestamp}, and is removed', async () => {
  const ns = await setup();
  await trigger(ns);
  const [t] = await waitFor(async () => {
    const list = await children(ns, 'scan');
    return list.length === 1 ? list : undefined;
  }, 10_000, { what: 'one child' });
  expect(t.metadata.name).toMatch(/^scan-\d{10}$/);
  expect(t.metadata.labels).toMatchObject({ 'kubeopencode.io/crontask': 'scan', team: 'sec' });
  expect(t.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: 'CronTask', name: 'scan', controller: true })]);
  expect(t.spec).toEqual({ agentRef: { name: 'security-agent' }, description: 'Scan all Go dependencies for CVEs.' });
  await waitFor(async () => !(await kubeRequest('GET', ctPath(ns, 'scan'))).metadata.annotations?.['kubeopencode.io/trigger'], 10_000, { what: 'annotation removed' });
  const ct = await waitFor(async () => {
    const x = await kubeRequest('GET', ctPath(ns, 'scan'));
    return x.status?.active === 1 ? x : undefined;
  }, 10_000, { what: 'status.active' });
  expect(ct.status.activeRefs).toEqual([{ name: t.metadata.name }]);
  expect(Date.parse(ct.status.nextScheduleTime)).toBeGreaterThan(Date.now());
});

test('the CronJob\'s crontask-fire: Forbid skips while a child is active; Allow creates; Replace stops the running one', async () => {
  const ns = await setup();
  process.env.KUBECONFIG = process.env[KUBECONFIG_ENV];
  const due = Date.parse('2027-01-01T03:00:00Z') + 5_000; // a due time of the schedule, just passed
  expect(await crontaskFire(ns, 'scan', due)).toEqual([`scan-${Date.parse('2027-01-01T03:00:00Z') / 1000}`]);
  // running it again (a retried job) creates nothing: the name is the due time
  expect(await crontaskFire(ns, 'scan', due + 1000)).toEqual([]);
  const first = `scan-${Date.parse('2027-01-01T03:00:00Z') / 1000}`;
  await waitForPhase(ns, first, 'Running');
  const nextYear = Date.parse('2028-01-01T03:00:00Z') + 5_000;
  expect(await crontaskFire(ns, 'scan', nextYear)).toEqual([]); // Forbid: the first is still active

  await patch(ctPath(ns, 'scan'), { spec: { concurrencyPolicy: 'Allow' } });
  const allowed = await crontaskFire(ns, 'scan', nextYear);
  expect(allowed).toEqual([`scan-${Date.parse('2028-01-01T03:00:00Z') / 1000}`]);

  await patch(ctPath(ns, 'scan'), { spec: { concurrencyPolicy: 'Replace' } });
  const third = await crontaskFire(ns, 'scan', Date.parse('2029-01-01T03:00:00Z') + 5_000);
  expect(third).toHaveLength(1);
  const stopped = await kubeRequest('GET', `/apis/kubeopencode.io/v1alpha1/namespaces/${ns}/tasks/${first}`);
  expect(stopped.metadata.annotations['kubeopencode.io/stop']).toBe('true');
  const done = await waitForPhase(ns, first, 'Completed');
  expect(condition(done, 'Stopped').reason).toBe('UserStopped');
});

test('maxRetainedTasks counts every child, blocks creation, and deletes nothing', async () => {
  const ns = await setup({ maxRetainedTasks: 2, concurrencyPolicy: 'Allow' });
  for (let i = 0; i < 3; i++) {
    await trigger(ns);
    await waitFor(async () => !(await kubeRequest('GET', ctPath(ns, 'scan'))).metadata.annotations?.['kubeopencode.io/trigger'], 10_000, { what: 'trigger consumed' });
    await controller.idle();
  }
  const list = await children(ns, 'scan');
  expect(list).toHaveLength(2);
  // finishing them does not free room: the cap counts finished children too (cleanup is KubeOpenCodeConfig's job)
  for (const t of list) {
    await waitFor(() => getPod(ns, `${t.metadata.name}-pod`));
    await setPodPhase(ns, `${t.metadata.name}-pod`, 'Succeeded');
    await waitForPhase(ns, t.metadata.name, 'Completed');
  }
  await trigger(ns);
  await waitFor(async () => !(await kubeRequest('GET', ctPath(ns, 'scan'))).metadata.annotations?.['kubeopencode.io/trigger'], 10_000, { what: 'trigger consumed' });
  await controller.idle();
  expect(await children(ns, 'scan')).toHaveLength(2);
  const ct = await kubeRequest('GET', ctPath(ns, 'scan'));
  expect(condition(ct, 'Ready')?.reason).toBe('MaxRetainedTasksReached');
});

test('spec.suspend is mirrored onto the CronJob', async () => {
  const ns = await setup();
  const cj = `/apis/batch/v1/namespaces/${ns}/cronjobs/scan`;
  expect((await kubeRequest('GET', cj)).spec.suspend).toBe(false);
  await patch(ctPath(ns, 'scan'), { spec: { suspend: true } });
  await waitFor(async () => (await kubeRequest('GET', cj)).spec.suspend === true, 10_000, { what: 'CronJob suspended' });
  await patch(ctPath(ns, 'scan'), { spec: { suspend: false } });
  await waitFor(async () => (await kubeRequest('GET', cj)).spec.suspend === false, 10_000, { what: 'CronJob resumed' });
});

test('KubeOpenCodeConfig cleanup deletes finished Tasks beyond maxRetainedTasks, oldest first, never active ones', async () => {
  const ns = await setup({ concurrencyPolicy: 'Allow' });
  // three finished Tasks and one running
  const names: string[] = [];
  for (let i = 0; i < 4; i++) {
    await trigger(ns);
    await waitFor(async () => !(await kubeRequest('GET', ctPath(ns, 'scan'))).metadata.annotations?.['kubeopencode.io/trigger'], 10_000);
    await controller.idle();
    const list = await children(ns, 'scan');
    const latest = list.map((t) => t.metadata.name).find((n) => !names.includes(n))!;
    names.push(latest);
    await waitFor(() => getPod(ns, `${latest}-pod`));
    if (i < 3) {
      await setPodPhase(ns, `${latest}-pod`, 'Succeeded');
      await waitForPhase(ns, latest, 'Completed');
      await new Promise((r) => setTimeout(r, 1100)); // distinct completion times (second granularity)
    }
  }
  const c = chart();
  new KubeOpenCodeConfig(c, 'cluster', { cleanup: { maxRetainedTasks: 1 } });
  await applyChart(c);
  try {
    await waitFor(async () => (await children(ns, 'scan')).length === 2, 15_000, { what: 'two left' });
    const left = (await children(ns, 'scan')).map((t) => t.metadata.name);
    expect(left).toEqual([names[2], names[3]].sort()); // the newest finished one and the running one
  } finally {
    await kubeRequest('DELETE', '/apis/kubeopencode.io/v1alpha1/kubeopencodeconfigs/cluster');
  }
});

test('least privilege: every request the controller made here is allowed by its ClusterRole and the Agents\' Roles', async () => {
  expect(requests.some(([m, p]) => m === 'PATCH' && p.includes('/cronjobs/'))).toBe(true);
  expect(requests.some(([m, p]) => m === 'DELETE' && p.includes('/tasks/'))).toBe(true);
  expect(await deniedRequests(requests)).toEqual([]);
});
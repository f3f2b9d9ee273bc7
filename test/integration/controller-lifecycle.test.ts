/**
 * The controller over time and trouble, on the real API server: the quota window and standby on a fake clock, a restart
 * in the middle, a second replica behind the Lease, and faults injected between the controller and the server.
 */
import { createLogger } from '../../src/controller/runtime/log';
import { Obj, createNamespace, kubeRequest, markDeploymentReady, setPodPhase, testKubeConfig, waitFor } from '../harness/apiserver';
import { agentIn, condition, createTask, useControllers, getAgent, getPod, getTask, patch, taskPhase, waitForPhase } from './controller-kit';
import { FaultProxy } from './fault-proxy';

jest.setTimeout(180_000);
const { started, running } = useControllers();

/**
 * A clock the test moves forward: real time plus an offset. (A frozen clock would run behind the creationTimestamps
 * the API server stamps, and the decisions rightly distrust a start recorded before its Task existed.)
 */
function fakeClock() {
  let offset = 0;
  return { now: () => Date.now() + offset, advance: (ms: number) => (offset += ms) };
}

const pods = async (ns: string) => (await kubeRequest('GET', `/api/v1/namespaces/${ns}/pods`)).items as Obj[];

test('quota: more starts than maxTaskStarts in the window queue with QuotaExceeded until the window slides', async () => {
  const clock = fakeClock();
  const ns = await agentIn({ quota: { maxTaskStarts: 2, windowSeconds: 60 } });
  const c = await started({ now: clock.now });
  for (const n of ['q1', 'q2', 'q3']) await createTask(ns, n, { agentRef: { name: 'agent' }, description: n });
  await waitForPhase(ns, 'q1', 'Running');
  await waitForPhase(ns, 'q2', 'Running');
  const q = await waitForPhase(ns, 'q3', 'Queued');
  expect(condition(q, 'Queued').reason).toBe('QuotaExceeded');
  // finishing does not help: the limit is on starts per window
  for (const n of ['q1', 'q2']) {
    await waitFor(() => getPod(ns, `${n}-pod`));
    await setPodPhase(ns, `${n}-pod`, 'Succeeded');
    await waitForPhase(ns, n, 'Completed');
  }
  const agent = await getAgent(ns, 'agent');
  expect(agent.status.taskStartHistory.map((r: Obj) => r.taskName).sort()).toEqual(['q1', 'q2']);
  await c.idle();
  expect((await getTask(ns, 'q3')).status.phase).toBe('Queued');
  clock.advance(61_000);
  c.resync();
  await waitForPhase(ns, 'q3', 'Running');
});

test('standby: idleSince when the last Task ends, suspend after idleTimeout, resume when a Task arrives', async () => {
  const clock = fakeClock();
  const ns = await agentIn({ standby: { idleTimeout: '30m' }, persistence: { sessions: {} } });
  const c = await started({ now: clock.now });
  await createTask(ns, 'work', { agentRef: { name: 'agent' }, description: 'x' });
  await waitFor(() => getPod(ns, 'work-pod'));
  await setPodPhase(ns, 'work-pod', 'Succeeded');
  await waitForPhase(ns, 'work', 'Completed');
  const idle = await waitFor(async () => {
    const a = await getAgent(ns, 'agent');
    return a.status?.idleSince ? a : undefined;
  }, 10_000, { what: 'idleSince' });
  expect(idle.spec.suspend).toBe(false);
  clock.advance(31 * 60_000);
  c.resync();
  const asleep = await waitFor(async () => {
    const a = await getAgent(ns, 'agent');
    return a.spec.suspend ? a : undefined;
  }, 10_000, { what: 'suspended by standby' });
  await waitFor(async () => condition(await getAgent(ns, 'agent'), 'Suspended')?.reason === 'Standby', 10_000, { what: 'Suspended/Standby' });
  expect(asleep.spec.suspend).toBe(true);
  await waitFor(async () => (await kubeRequest('GET', `/apis/apps/v1/namespaces/${ns}/deployments/agent-server`)).spec.replicas === 0, 10_000, { what: 'scaled to 0' });
  await markDeploymentReady(ns, 'agent-server', { replicas: 0, readyReplicas: 0 });

  await createTask(ns, 'wake', { agentRef: { name: 'agent' }, description: 'y' });
  await waitFor(async () => (await getAgent(ns, 'agent')).spec.suspend === false, 10_000, { what: 'resumed' });
  await waitFor(async () => (await kubeRequest('GET', `/apis/apps/v1/namespaces/${ns}/deployments/agent-server`)).spec.replicas === 1, 10_000, { what: 'scaled to 1' });
  expect((await getTask(ns, 'wake')).status?.phase).not.toBe('Running'); // waits for the server to be ready
  await markDeploymentReady(ns, 'agent-server');
  await waitForPhase(ns, 'wake', 'Running');
  // resuming writes the spec first and the Suspended condition after it (a conflict retries it later): wait for it
  await waitFor(async () => {
    const suspended = condition(await getAgent(ns, 'agent'), 'Suspended');
    return suspended?.status === 'False' && suspended.reason === 'Active';
  }, 10_000, { what: 'Suspended=False/Active' });
});

test('a controller restart in the middle loses nothing and starts nothing twice', async () => {
  const ns = await agentIn({ maxConcurrentTasks: 1 });
  const first = await started();
  for (const n of ['r1', 'r2', 'r3']) await createTask(ns, n, { agentRef: { name: 'agent' }, description: n });
  await waitFor(() => getPod(ns, 'r1-pod'));
  const r1pod = (await getPod(ns, 'r1-pod'))!.metadata.uid;
  await first.stop();
  running.splice(running.indexOf(first), 1);
  // while no controller runs, the first Task finishes
  await setPodPhase(ns, 'r1-pod', 'Succeeded');
  const second = await started();
  await waitForPhase(ns, 'r1', 'Completed');
  await waitFor(() => getPod(ns, 'r2-pod'));
  expect((await getPod(ns, 'r1-pod'))!.metadata.uid).toBe(r1pod); // not re-created
  await second.idle();
  expect((await pods(ns)).map((p) => p.metadata.name).sort()).toEqual(['r1-pod', 'r2-pod']);
  expect((await getTask(ns, 'r3')).status.phase).toBe('Queued');
  await setPodPhase(ns, 'r2-pod', 'Succeeded');
  await waitFor(() => getPod(ns, 'r3-pod'));
  await second.idle();
  const starts = (await getAgent(ns, 'agent')).status.taskStartHistory ?? [];
  expect(starts.length).toBeLessThanOrEqual(3);
});

test('a restart between a freed slot\'s new pod and that Task\'s Running write: the pod is adopted, nothing starts twice, the limit holds', async () => {
  const ns = await agentIn({ maxConcurrentTasks: 1 });
  const proxy = new FaultProxy(testKubeConfig());
  const port = await proxy.start();
  try {
    const first = await started({ kubeConfig: proxy.kubeConfig(port) });
    for (const n of ['s1', 's2', 's3']) await createTask(ns, n, { agentRef: { name: 'agent' }, description: n });
    await waitFor(() => getPod(ns, 's1-pod'));
    await waitForPhase(ns, 's2', 'Queued');
    // from here on the first controller cannot write s2's status: it gets as far as s2's pod
    proxy.faults = { refuse: { method: 'PATCH', path: new RegExp(`/namespaces/${ns}/tasks/s2/status`), code: 403, reason: 'Forbidden', message: 'injected' } };
    await setPodPhase(ns, 's1-pod', 'Succeeded');
    const s2pod = await waitFor(() => getPod(ns, 's2-pod'), 10_000, { what: 's2-pod' });
    await waitForPhase(ns, 's1', 'Completed');
    await waitFor(() => proxy.counts.refused > 0, 10_000, { what: 'the refused Running write' });
    await first.stop();
    running.splice(running.indexOf(first), 1);
    expect((await getTask(ns, 's2')).status.phase).toBe('Queued');

    const second = await started();
    const s2 = await waitForPhase(ns, 's2', 'Running');
    expect(s2.status.podName).toBe('s2-pod');
    await second.idle();
    expect((await getPod(ns, 's2-pod'))!.metadata.uid).toBe(s2pod.metadata.uid); // adopted, not re-created
    expect((await pods(ns)).map((p) => p.metadata.name).sort()).toEqual(['s1-pod', 's2-pod']);
    expect((await getTask(ns, 's3')).status.phase).toBe('Queued');
  } finally {
    await proxy.stop();
  }
});

test('a second replica does not act without the Lease, and takes over when the leader goes', async () => {
  const leaseNs = await createNamespace();
  const ns = await agentIn();
  const a = await started({ leaderElection: true, namespace: leaseNs, identity: 'replica-a' });
  await waitFor(() => a.isLeader, 10_000, { what: 'a leads' });
  const bLog: string[] = [];
  const b = await started({
    leaderElection: true, namespace: leaseNs, identity: 'replica-b',
    log: createLogger('info', { write: (line: string) => void bLog.push(line) }),
  });
  await createTask(ns, 'led', { agentRef: { name: 'agent' }, description: 'x' });
  await waitForPhase(ns, 'led', 'Running');
  expect(b.isLeader).toBe(false);
  // the standby says what it waits for, once (not every retry)
  const waiting = bLog.map((l) => JSON.parse(l)).filter((l) => /waiting for the leader Lease/.test(l.msg));
  expect(waiting).toHaveLength(1);
  expect(waiting[0]).toMatchObject({ holder: 'replica-a', lease: `${leaseNs}/kubeopencode-controller` });
  expect((await b.metrics.apiWrites.get()).values.filter((v) => !String(v.labels.resource).startsWith('leases')).reduce((s, v) => s + v.value, 0)).toBe(0);
  const lease = await kubeRequest('GET', `/apis/coordination.k8s.io/v1/namespaces/${leaseNs}/leases/kubeopencode-controller`);
  expect(lease.spec.holderIdentity).toBe('replica-a');
  await a.stop();
  running.splice(running.indexOf(a), 1);
  await waitFor(() => b.isLeader, 15_000, { what: 'b takes over' });
  await createTask(ns, 'after', { agentRef: { name: 'agent' }, description: 'y' });
  await waitForPhase(ns, 'after', 'Running');
});

test('faults between controller and server (dropped watches, 410, 429, 5xx): every Task still completes, the limit holds', async () => {
  const ns = await agentIn({ maxConcurrentTasks: 2 });
  const proxy = new FaultProxy(testKubeConfig());
  const port = await proxy.start();
  proxy.faults = { throttle: 0.1, serverError: 0.1, dropWatchAfterMs: 1500, gone: 0.2 };
  try {
    await started({ kubeConfig: proxy.kubeConfig(port) });
    const names = Array.from({ length: 8 }, (_, i) => `f${i}`);
    for (const n of names) await createTask(ns, n, { agentRef: { name: 'agent' }, description: n });
    // the limit is on pods that run: a Task whose pod ended frees its slot before its Completed write (issue 17), so
    // for a moment a Task can read Running beside the two that hold the slots
    let maxRunning = 0;
    for (let done = 0; done < names.length;) {
      const list = (await kubeRequest('GET', `/apis/kubeopencode.io/v1alpha1/namespaces/${ns}/tasks`)).items as Obj[];
      const run = list.filter((t) => t.status?.phase === 'Running');
      const live = (await pods(ns)).filter((p) => p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed');
      maxRunning = Math.max(maxRunning, live.length);
      for (const t of run) {
        const pod = await getPod(ns, `${t.metadata.name}-pod`);
        if (pod && pod.status?.phase !== 'Succeeded') await setPodPhase(ns, pod.metadata.name, 'Succeeded');
      }
      done = list.filter((t) => t.status?.phase === 'Completed').length;
      await new Promise((r) => setTimeout(r, 100));
      if (Date.now() - (expect.getState() as any).startedAt > 150_000) break;
    }
    expect(maxRunning).toBeLessThanOrEqual(2);
    const final = (await kubeRequest('GET', `/apis/kubeopencode.io/v1alpha1/namespaces/${ns}/tasks`)).items as Obj[];
    expect(final.map((t) => t.status?.phase)).toEqual(names.map(() => 'Completed'));
    expect(proxy.counts.throttled + proxy.counts.errors).toBeGreaterThan(0);
    expect(proxy.counts.dropped + proxy.counts.gone).toBeGreaterThan(0);
    // each Task's pod was created once
    expect((await pods(ns)).length).toBe(names.length);
  } finally {
    await proxy.stop();
  }
});

test('a pod the API server refuses (admission, quota, invalid spec) fails its Task with PodCreationError and frees the slot', async () => {
  const ns = await agentIn({ maxConcurrentTasks: 1 });
  const proxy = new FaultProxy(testKubeConfig());
  const port = await proxy.start();
  const message = 'pods "refused-pod" is forbidden: violates PodSecurity "restricted:latest": runAsNonRoot != true';
  // watches through the proxy are cut now and then (as in the faults test above): the caches sync on the re-list
  proxy.faults = { dropWatchAfterMs: 1500, refuse: { method: 'POST', path: new RegExp(`^/api/v1/namespaces/${ns}/pods`), code: 403, reason: 'Forbidden', message, times: 1 } };
  try {
    await started({ kubeConfig: proxy.kubeConfig(port) });
    await createTask(ns, 'refused', { agentRef: { name: 'agent' }, description: 'x' });
    await createTask(ns, 'zz-next', { agentRef: { name: 'agent' }, description: 'y' });
    const t = await waitForPhase(ns, 'refused', 'Failed');
    const ready = condition(t, 'Ready');
    expect(ready).toMatchObject({ status: 'False', reason: 'PodCreationError' });
    expect(ready.message).toContain('HTTP 403');
    expect(ready.message).toContain(message);
    expect(proxy.counts.refused).toBe(1);
    // the slot is free: the next Task starts and gets its pod
    await waitForPhase(ns, 'zz-next', 'Running');
    await waitFor(() => getPod(ns, 'zz-next-pod'));
  } finally {
    await proxy.stop();
  }
});

test('a transient refusal (429, 5xx) of a pod is retried: the Task runs', async () => {
  const ns = await agentIn({});
  const proxy = new FaultProxy(testKubeConfig());
  const port = await proxy.start();
  proxy.faults = { dropWatchAfterMs: 1500, refuse: { method: 'POST', path: new RegExp(`^/api/v1/namespaces/${ns}/pods`), code: 503, reason: 'ServiceUnavailable', message: 'etcd leader changed', times: 2 } };
  try {
    await started({ kubeConfig: proxy.kubeConfig(port) });
    await createTask(ns, 'retried', { agentRef: { name: 'agent' }, description: 'x' });
    await waitFor(() => getPod(ns, 'retried-pod'));
    expect(await taskPhase(ns, 'retried')).toBe('Running');
    expect(proxy.counts.refused).toBe(2);
  } finally {
    await proxy.stop();
  }
});

test('metrics: queue depth per Agent, admissions by reason, finished Tasks, reconcile counts', async () => {
  const ns = await agentIn({ maxConcurrentTasks: 1 }, 'metered');
  const c = await started({ healthPort: 0 });
  for (const n of ['m1', 'm2']) await createTask(ns, n, { agentRef: { name: 'metered' }, description: n });
  await waitForPhase(ns, 'm2', 'Queued');
  await waitFor(() => getPod(ns, 'm1-pod'));
  await setPodPhase(ns, 'm1-pod', 'Succeeded');
  await waitForPhase(ns, 'm1', 'Completed');
  await c.idle();
  const text = await c.metrics.registry.metrics();
  expect(text).toMatch(/kubeopencode_task_admissions_total\{outcome="Started"\} [1-9]/);
  expect(text).toMatch(/kubeopencode_task_admissions_total\{outcome="AgentAtCapacity"\} [1-9]/);
  expect(text).toMatch(/kubeopencode_tasks_total\{phase="Completed",reason=".*"\} 1/);
  expect(text).toMatch(new RegExp(`kubeopencode_agent_queue_length\\{namespace="${ns}",agent="metered"\\} 0`));
  expect(text).toMatch(/kubeopencode_reconciles_total\{kind="task"\} [1-9]/);
  const events = (await kubeRequest('GET', `/api/v1/namespaces/${ns}/events`)).items as Obj[];
  expect(events.map((e) => e.reason)).toEqual(expect.arrayContaining(['AgentAtCapacity', 'Running', 'Completed']));
});

test('the Task whose pod sits in ImagePullBackOff past the grace period fails with ImagePullFailed and frees its slot', async () => {
  const clock = fakeClock();
  const ns = await agentIn({ maxConcurrentTasks: 1 });
  const c = await started({ now: clock.now, podStartGraceSeconds: 120 });
  await createTask(ns, 'a-stuck', { agentRef: { name: 'agent' }, description: 'x' });
  // creationTimestamp has one-second granularity; within a second the name breaks the tie (approximate FIFO)
  await createTask(ns, 'b-behind', { agentRef: { name: 'agent' }, description: 'y' });
  await waitFor(() => getPod(ns, 'a-stuck-pod'));
  await setPodPhase(ns, 'a-stuck-pod', 'Pending', { waitingReason: 'ImagePullBackOff', waitingMessage: 'Back-off pulling image "nope:1"' });
  await c.idle();
  expect((await getTask(ns, 'a-stuck')).status.phase).toBe('Running');
  clock.advance(60_000);
  c.resync();
  await c.idle();
  expect((await getTask(ns, 'a-stuck')).status.phase).toBe('Running'); // within the grace period
  clock.advance(61_000);
  c.resync();
  const t = await waitForPhase(ns, 'a-stuck', 'Failed');
  expect(condition(t, 'Ready')).toMatchObject({ reason: 'ImagePullFailed' });
  expect(condition(t, 'Ready').message).toMatch(/nope:1|ImagePullBackOff/);
  await waitForPhase(ns, 'b-behind', 'Running');
});

test('deleting a Task garbage-collects nothing the controller made outside it; Task status shows Stopped on a queued stop', async () => {
  const ns = await agentIn({ maxConcurrentTasks: 1 });
  await started();
  await createTask(ns, 'holder', { agentRef: { name: 'agent' }, description: 'x' });
  await createTask(ns, 'queued', { agentRef: { name: 'agent' }, description: 'y' });
  await waitForPhase(ns, 'queued', 'Queued');
  await patch(`/apis/kubeopencode.io/v1alpha1/namespaces/${ns}/tasks/queued`, { metadata: { annotations: { 'kubeopencode.io/stop': 'true' } } });
  const t = await waitForPhase(ns, 'queued', 'Completed');
  expect(condition(t, 'Stopped')).toMatchObject({ status: 'True', reason: 'UserStopped' });
  expect(await getPod(ns, 'queued-pod')).toBeUndefined();
});

test('Git Rollout through the controller: first commit recorded, a new one rolls the server when no Task runs', async () => {
  const clock = fakeClock();
  let remote = 'a'.repeat(40);
  const ns = await agentIn({
    contexts: [{ name: 'agent-config', type: 'Git', git: { repository: 'https://git.example.com/org/agent-config.git', ref: 'main', sync: { enabled: true, interval: '10m', policy: 'Rollout' } }, mountPath: '.' }],
  });
  const c = await started({ now: clock.now, gitLsRemote: async () => remote });
  await waitFor(async () => (await getAgent(ns, 'agent')).status?.gitSyncStatuses?.[0]?.commitHash === remote, 10_000, { what: 'first commit recorded' });
  const deploymentPath = `/apis/apps/v1/namespaces/${ns}/deployments/agent-server`;
  expect((await kubeRequest('GET', deploymentPath)).spec.template.metadata.annotations['kubeopencode.io/git-hash-agent-config']).toBeUndefined();
  remote = 'b'.repeat(40);
  clock.advance(10 * 60_000 + 1000);
  c.resync();
  await waitFor(async () => (await kubeRequest('GET', deploymentPath)).spec.template.metadata.annotations['kubeopencode.io/git-hash-agent-config'] === remote, 10_000, { what: 'rolled to the new commit' });
  // the status write is a separate write after the Deployment's: wait for it rather than read it once
  await waitFor(async () => (await getAgent(ns, 'agent')).status?.gitSyncStatuses?.[0]?.commitHash === remote, 10_000, { what: 'the new commit recorded in status.gitSyncStatuses' });
});

/**
 * The controller end to end on the real API server tier (etcd + test-apiserver from test/harness): the harness plays
 * the kubelet and the Deployment controller; the controller runs compiled, in its own process (bench/lib/controller-
 * child.ts), so its RSS is its own and the harness's watch never waits on the controller's event loop.
 *
 * 1. Agents with limits (maxConcurrentTasks 1/2/3/5/10; every other one also has a quota generous enough never to
 *    block, so the quota ledger is written): synthesized with the Agent construct and applied (server-side apply);
 *    the server Deployments are marked ready.
 * 2. A burst of N Tasks (16 creates in flight), round-robin over the Agents; the harness's own watches on Tasks and
 *    pods tell when every Task is Running with a pod or Queued.
 * 3. Drain: per Agent, one at a time (all Agents in parallel), the harness marks a Running pod Succeeded (merge patch
 *    of pods/status) and waits on its pod watch for the next pod of that Agent. Latency: watch receive time of the new
 *    pod's ADDED minus the time the Succeeded write was sent. Baseline: the same harness's write → watch hop (the
 *    Succeeded write to the MODIFIED event of that pod on the same watch), i.e. one API round trip.
 *    Each new pod is marked Running first (as a kubelet would), so the harness writes 3 times per Task.
 * 4. API writes per Task lifecycle: the controller's own apiWrites counter (each attempt counts, 409s included), from
 *    just before the burst until every Task is Completed and the controller is idle, divided by N; Events
 *    (resource 'events') apart from the rest.
 *    The harness also plays the Agents' OpenCode servers (bench/lib/opencode-stub.ts, answering at once), which the
 *    controller asks for a Task's session when its pod ends; and it counts what it sees go wrong (a Running Task sent
 *    back to Queued, more live pods than maxConcurrentTasks, Failed Tasks).
 * 5. RSS: finished Tasks are added (created, then status-patched Completed by the harness, 32 requests in flight)
 *    until the cluster holds R Tasks (the N above are among them, with their pods); a fresh controller process starts;
 *    its RSS after the caches synced and the queue drained, against the RSS of the same process before the
 *    controller was constructed (Node + the modules it loads). The same restart over the N lifecycle Tasks alone,
 *    before the fill, gives the growth per cached Task (the slope between the two, in RSS and in heap after a GC).
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import { Chart, Testing } from 'cdk8s';
import { Agent } from '../src';
import { Rest, paths } from '../src/controller/kube/rest';
import { applyCrds, createNamespace, markDeploymentReady, startTestCluster, stopTestCluster, testKubeConfig } from '../test/harness/apiserver';
import { resourcePath } from '../test/util/resources';
import { Build, buildForNode } from './lib/build';
import { ChildMetrics, ControllerProcess, CounterValue, Mem } from './lib/controller-host';
import { OpencodeStub, startOpencodeStub } from './lib/opencode-stub';
import { Obj, RunningWatch, WatchEvent, watch } from './lib/kwatch';
import { log, pool, sleep, summarize } from './lib/stats';
import type { Figure } from './run';

const SECTION = 'controller';
const NS = 'bench-e2e';
const TASK_LABEL = 'kubeopencode.io/task';
const MB = 1024 * 1024;

interface AgentPlan {
  name: string;
  limit: number;
  quota: boolean;
  tasks: string[];
  /** Pods ready to be completed (marked Running), oldest first. */
  runnable: string[];
  podsSeen: number;
  /** Pods ADDED and not yet sent Succeeded. */
  live: Set<string>;
  /** Resolves on the next pod ADDED for this Agent (the receive time). */
  nextPod?: (at: number) => void;
  /** Resolves when a pod becomes runnable. */
  runnableWaiter?: () => void;
}

function plan(quick: boolean): { agents: AgentPlan[]; tasks: number; rssTasks: number } {
  const limits = quick ? [1, 2, 3, 5, 10] : [1, 2, 3, 5, 10, 1, 2, 3, 5, 10];
  const agents = limits.map((limit, i) => ({ name: `agent-${i}`, limit, quota: i % 2 === 1, tasks: [], runnable: [], podsSeen: 0, live: new Set<string>() }));
  return { agents, tasks: quick ? 100 : 1000, rssTasks: quick ? 1000 : 10_000 };
}

function sumWrites(values: CounterValue[], pred: (verb: string, resource: string) => boolean): number {
  return values.filter((v) => pred(String(v.labels.verb), String(v.labels.resource))).reduce((a, v) => a + v.value, 0);
}

function diffWrites(after: CounterValue[], before: CounterValue[]): Map<string, number> {
  const out = new Map<string, number>();
  const k = (v: CounterValue) => `${v.labels.verb} ${v.labels.resource}`;
  for (const v of after) out.set(k(v), (out.get(k(v)) ?? 0) + v.value);
  for (const v of before) out.set(k(v), (out.get(k(v)) ?? 0) - v.value);
  for (const [key, v] of out) if (v === 0) out.delete(key);
  return out;
}

/** CPU time (user + system, ms) a process used so far, from /proc; NaN when unknown. */
function procCpuMs(pid: number | undefined): number {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime + stime, in USER_HZ (100)
  } catch {
    return NaN;
  }
}

async function until(done: () => boolean, ms: number, what: () => Promise<string>): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${await what()}`);
    await sleep(20);
  }
}

/** A pod status as the kubelet reports it for `phase`. */
function podStatus(pod: Obj, phase: 'Running' | 'Succeeded'): Obj {
  const t = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  const containers = (pod.spec?.containers ?? []).map((c: Obj) => ({
    name: c.name,
    image: c.image,
    imageID: '',
    restartCount: 0,
    ready: phase === 'Running',
    started: phase === 'Running',
    containerID: `containerd://bench-${c.name}`,
    state: phase === 'Running' ? { running: { startedAt: t } } : { terminated: { exitCode: 0, reason: 'Completed', startedAt: t, finishedAt: t } },
  }));
  const cond = (type: string, ok: boolean) => ({ type, status: ok ? 'True' : 'False', lastProbeTime: null, lastTransitionTime: t, ...(ok ? {} : { reason: 'PodCompleted' }) });
  return {
    status: {
      phase,
      conditions: [cond('PodScheduled', true), cond('Initialized', true), cond('ContainersReady', phase === 'Running'), cond('Ready', phase === 'Running')],
      hostIP: '10.0.0.1',
      podIP: '10.244.0.10',
      startTime: pod.status?.startTime ?? t,
      containerStatuses: containers,
    },
  };
}

export async function run({ quick }: { quick: boolean }): Promise<Figure[]> {
  const figures: Figure[] = [];
  const { agents, tasks: N, rssTasks: R } = plan(quick);
  const root = `${__dirname}/..`;
  const cluster = await startTestCluster();
  const build = buildForNode(root);
  const watches: RunningWatch[] = [];
  // BENCH_TRACE=<file>: the harness's writes and watch events too (wall-clock ms), next to the controller's requests
  const trace = (line: string) => process.env.BENCH_TRACE && fs.appendFileSync(process.env.BENCH_TRACE, `${Date.now().toFixed(1)} harness ${line}\n`);
  let child: ControllerProcess | undefined;
  let harness: Rest | undefined;
  let stub: OpencodeStub | undefined;
  try {
    stub = await startOpencodeStub();
    const head = (() => {
      try {
        const rev = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
        const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: root, encoding: 'utf8' }).trim() ? ' (src modified)' : '';
        return rev + dirty;
      } catch {
        return 'unknown';
      }
    })();
    log(`controller: measuring src at ${head}`);
    log(`controller: API server tier up in ${cluster.startedMs} ms; compiled the controller to ${build.dir}`);
    await applyCrds();
    const kc = testKubeConfig();
    let harnessWrites = 0;
    harness = new Rest(kc, { fieldManager: 'bench-harness', onWrite: () => harnessWrites++ });
    const h = harness;

    // ---- 1. Agents ---------------------------------------------------------------------------------------------------
    await createNamespace(NS);
    for (const a of agents) {
      const c = new Chart(Testing.app(), a.name, { namespace: NS });
      new Agent(c, a.name, {
        workspaceDir: '/workspace',
        serviceAccountName: 'kubeopencode-agent',
        maxConcurrentTasks: a.limit,
        ...(a.quota ? { quota: { maxTaskStarts: 100_000, windowSeconds: 3600 } } : {}),
      });
      for (const o of Testing.synth(c)) await h.patch(resourcePath(o), o, 'apply');
      await markDeploymentReady(NS, `${a.name}-server`);
    }
    const taskAgent = new Map<string, AgentPlan>();
    for (let i = 0; i < N; i++) {
      const a = agents[i % agents.length];
      const name = `${a.name}-t${String(a.tasks.length).padStart(4, '0')}`;
      a.tasks.push(name);
      taskAgent.set(name, a);
    }
    const expectedRunning = agents.reduce((s, a) => s + Math.min(a.limit, a.tasks.length), 0);

    // ---- the controller ----------------------------------------------------------------------------------------------
    child = await ControllerProcess.spawn(build);
    await child.call('start', { kubeconfig: cluster.kubeconfig, serverUrl: stub.url });
    await child.call('settle');
    const m0 = await child.metrics();

    // ---- the harness's watches ---------------------------------------------------------------------------------------
    const phases = new Map<string, string | undefined>();
    let steadyAt: number | undefined;
    let finishedAt: number | undefined;
    const countPhases = () => {
      const c: Record<string, number> = {};
      for (const p of phases.values()) c[p ?? 'none'] = (c[p ?? 'none'] ?? 0) + 1;
      return c;
    };
    /** Correctness, as the harness sees it: a Running Task sent back to waiting; more live pods than maxConcurrentTasks. */
    const anomalies = { regressions: [] as string[], overLimit: [] as string[] };
    let podsSeenTotal = 0;
    const checkSteady = (at: number) => {
      if (steadyAt !== undefined || phases.size < N || podsSeenTotal < expectedRunning) return;
      const c = countPhases();
      if (c.Running === expectedRunning && c.Queued === N - expectedRunning) steadyAt = at;
    };
    const isDone = (p: string | undefined) => p === 'Completed' || p === 'Failed';
    /** Tasks the harness saw Queued: their budget is 4 writes, the others' 3. */
    const everQueued = new Set<string>();
    const onTask = (e: WatchEvent) => {
      if (e.type !== 'ADDED' && e.type !== 'MODIFIED') return;
      const name = e.object.metadata.name;
      if (!taskAgent.has(name)) return;
      const prev = phases.get(name);
      const phase = e.object.status?.phase;
      if (prev === 'Running' && (phase === undefined || phase === 'Pending' || phase === 'Queued')) anomalies.regressions.push(`${name} Running → ${phase}`);
      phases.set(name, phase);
      if (phase === 'Queued') everQueued.add(name);
      checkSteady(e.at);
      if (finishedAt === undefined && isDone(phase) && [...phases.values()].filter(isDone).length === N) finishedAt = e.at;
    };
    const hopSent = new Map<string, number>();
    const hops: number[] = [];
    /** When the harness's pod watch showed each pod Succeeded: what target 1 is measured from. */
    const terminalSeen = new Map<string, number>();
    const markRunning = async (a: AgentPlan, pod: Obj) => {
      await h.patch(`${paths.core('pods', NS, pod.metadata.name)}/status`, podStatus(pod, 'Running'));
      a.runnable.push(pod.metadata.name);
      a.runnableWaiter?.();
    };
    const podObjects = new Map<string, Obj>();
    let podFailure: unknown;
    const onPod = (e: WatchEvent) => {
      const pod = e.object;
      const task = pod.metadata?.labels?.[TASK_LABEL];
      const a = task ? taskAgent.get(task) : undefined;
      if (!a) return;
      if (e.type === 'ADDED') {
        trace(`watch ADDED pod ${pod.metadata.name}`);
        podObjects.set(pod.metadata.name, pod);
        a.podsSeen++;
        podsSeenTotal++;
        a.live.add(pod.metadata.name);
        if (a.live.size > a.limit) anomalies.overLimit.push(`${a.name}: ${a.live.size} live pods, maxConcurrentTasks ${a.limit} (${[...a.live].join(' ')})`);
        const resolve = a.nextPod;
        a.nextPod = undefined;
        resolve?.(e.at);
        markRunning(a, pod).catch((err) => (podFailure ??= err));
        checkSteady(e.at);
      } else if (e.type === 'MODIFIED' && pod.status?.phase === 'Succeeded') {
        if (!terminalSeen.has(pod.metadata.name)) terminalSeen.set(pod.metadata.name, e.at);
        const sent = hopSent.get(pod.metadata.name);
        if (sent !== undefined) {
          hops.push(e.at - sent);
          hopSent.delete(pod.metadata.name);
        }
      }
    };
    const serverPhases = async () => {
      const counts: Record<string, number> = {};
      for (const t of (await h.get(paths.cr('tasks', NS))).items) counts[t.status?.phase ?? 'none'] = (counts[t.status?.phase ?? 'none'] ?? 0) + 1;
      return JSON.stringify(counts);
    };
    const startWatch = async (path: string, query: Record<string, string>, fn: (e: WatchEvent) => void) => {
      const list = await h.get(`${path}?${new URLSearchParams({ ...query, limit: '1' })}`);
      watches.push(await watch(kc, path, { ...query, resourceVersion: list.metadata.resourceVersion }, fn));
    };
    await startWatch(paths.cr('tasks', NS), {}, onTask);
    await startWatch(paths.core('pods', NS), { labelSelector: TASK_LABEL }, onPod);

    // ---- 2. the burst ------------------------------------------------------------------------------------------------
    const order = [...taskAgent.keys()].sort((x, y) => Number(x.slice(x.lastIndexOf('t') + 1)) - Number(y.slice(y.lastIndexOf('t') + 1)) || x.localeCompare(y));
    harnessWrites = 0;
    const burstStart = performance.now();
    await pool(order, 16, async (name) => {
      await h.create(paths.cr('tasks', NS), {
        apiVersion: 'kubeopencode.io/v1alpha1',
        kind: 'Task',
        metadata: { name },
        spec: { agentRef: { name: taskAgent.get(name)!.name }, description: `Benchmark task ${name}: fix the flaky test and open a pull request` },
      });
    });
    const burstEnd = performance.now();
    const steadyBudget = quick ? 30_000 : 90_000;
    while (steadyAt === undefined && performance.now() - burstEnd < steadyBudget) await sleep(20);
    await child.call('settle');
    if (steadyAt !== undefined) {
      log(`controller: burst of ${N} Tasks created in ${(burstEnd - burstStart).toFixed(0)} ms; all Running-with-pod or Queued after ${(steadyAt - burstStart).toFixed(0)} ms`);
      figures.push({
        section: SECTION,
        name: `burst of ${N} Tasks: until each is Running with a pod or Queued`,
        value: steadyAt - burstStart,
        unit: 'ms',
        baseline: { name: 'harness creating them (16 in flight)', value: burstEnd - burstStart },
        ratio: (steadyAt - burstStart) / (burstEnd - burstStart),
      });
    } else {
      log(`controller: WARNING the burst never reached "${expectedRunning} Running with a pod, the rest Queued" (controller idle; watch: ${JSON.stringify(countPhases())}, pods ${podsSeenTotal}; server: ${await serverPhases()})`);
    }

    // ---- 3. drain: slot freed → next pod -----------------------------------------------------------------------------
    const latencies: number[] = [];
    /** The same, measured from the harness's PATCH that ended the pod (one more write → watch hop in it). */
    const fromPatch: number[] = [];
    let misses = 0;
    const cpuAtDrain = { controller: (await child.metrics()).cpuMs, apiserver: procCpuMs(cluster.pids.apiserver), etcd: procCpuMs(cluster.pids.etcd), harness: process.cpuUsage() };
    const drainStart = performance.now();
    const drainDeadline = drainStart + (quick ? 120_000 : 300_000);
    const agentDone = (a: AgentPlan) => a.tasks.every((t) => isDone(phases.get(t)));
    const within = <T>(p: Promise<T>, ms: number): Promise<T | undefined> => {
      let t: NodeJS.Timeout;
      return Promise.race([p, new Promise<undefined>((r) => (t = setTimeout(() => r(undefined), ms)))]).finally(() => clearTimeout(t));
    };
    await Promise.all(agents.map(async (a) => {
      while (!agentDone(a)) {
        if (podFailure) throw podFailure;
        if (performance.now() > drainDeadline) {
          throw new Error(`drain of ${a.name} did not finish (watch: ${JSON.stringify(countPhases())}; server: ${await serverPhases()}; ${a.podsSeen} pods seen, ${a.runnable.length} runnable)`);
        }
        if (a.runnable.length === 0) {
          await within(new Promise<void>((r) => (a.runnableWaiter = r)), 1000);
          a.runnableWaiter = undefined;
          continue;
        }
        const podName = a.runnable.shift()!;
        const expectNext = a.podsSeen < a.tasks.length;
        const next = expectNext ? new Promise<number>((r) => (a.nextPod = r)) : undefined;
        a.live.delete(podName);
        const sent = performance.now();
        trace(`PATCH Succeeded ${podName}`);
        hopSent.set(podName, sent);
        await h.patch(`${paths.core('pods', NS, podName)}/status`, podStatus(podObjects.get(podName)!, 'Succeeded'));
        if (!next) continue;
        const at = await within(next, 10_000);
        if (at === undefined) {
          // the freed slot did not give a new pod within 10 s (see the anomalies); go on with the Agent's other pods
          misses++;
          a.nextPod = undefined;
          log(`controller: WARNING no new pod for ${a.name} within 10 s of ${podName} succeeding`);
        } else {
          fromPatch.push(at - sent);
          const seen = terminalSeen.get(podName);
          if (seen !== undefined) latencies.push(at - seen);
        }
      }
    }));
    await until(() => finishedAt !== undefined, 60_000, async () => `every Task finished (watch: ${JSON.stringify(countPhases())}; server: ${await serverPhases()})`);
    const drainMs = performance.now() - drainStart;
    const harnessCpu = process.cpuUsage(cpuAtDrain.harness);
    const pct = (ms: number) => `${((100 * ms) / drainMs).toFixed(0)}%`;
    log(`controller: CPU during the drain (${drainMs.toFixed(0)} ms wall, 2 cores = 200%): controller ${pct((await child.metrics()).cpuMs - cpuAtDrain.controller)}, apiserver ${pct(procCpuMs(cluster.pids.apiserver) - cpuAtDrain.apiserver)}, etcd ${pct(procCpuMs(cluster.pids.etcd) - cpuAtDrain.etcd)}, harness ${pct((harnessCpu.user + harnessCpu.system) / 1000)}`);
    await child.call('settle');
    const m1 = await child.metrics();
    const perTaskHarness = harnessWrites / N;
    const lat = summarize(latencies);
    const latPatch = summarize(fromPatch);
    const hop = summarize(hops);
    log(`controller: drained ${N} Tasks in ${drainMs.toFixed(0)} ms; slot → pod latency from the watch n=${lat.n} p50 ${lat.p50.toFixed(1)} p99 ${lat.p99.toFixed(1)} max ${lat.max.toFixed(1)} ms, from the PATCH p50 ${latPatch.p50.toFixed(1)} p99 ${latPatch.p99.toFixed(1)} ms; write→watch hop n=${hop.n} p50 ${hop.p50.toFixed(1)} p99 ${hop.p99.toFixed(1)} ms`);
    for (const p of [50, 99] as const) {
      const v = p === 50 ? lat.p50 : lat.p99;
      const b = p === 50 ? hop.p50 : hop.p99;
      const limit = p === 50 ? 20 : 100;
      // target 1 as the issue sets it: from the watch event that shows the pod terminal to the watch event of the next
      // pod (both on the harness's one pod watch), so the floor is the controller's own watch hop + one POST
      figures.push({ section: SECTION, name: `slot freed (watch shows the pod Succeeded) → next queued Task's pod seen p${p} (n=${lat.n}${misses ? `, ${misses} freed slots gave no pod in 10 s` : ''})`, value: v, unit: 'ms', baseline: { name: `one write → watch hop p${p} (harness)`, value: b }, ratio: v / b, target: `≤ ${limit} ms`, met: v <= limit });
    }
    figures.push({ section: SECTION, name: `the same from the harness's PATCH that ended the pod, p50 (one more write → watch hop in it)`, value: latPatch.p50, unit: 'ms', baseline: { name: 'one write → watch hop p50 (harness)', value: hop.p50 }, ratio: latPatch.p50 / hop.p50 });

    const failed = [...phases.values()].filter((p) => p === 'Failed').length;
    log(`controller: anomalies: ${anomalies.regressions.length} Running Tasks sent back to waiting${anomalies.regressions.length ? ` (${anomalies.regressions.slice(0, 5).join('; ')})` : ''}; ${anomalies.overLimit.length} pod creations beyond maxConcurrentTasks${anomalies.overLimit.length ? ` (${anomalies.overLimit.slice(0, 3).join('; ')})` : ''}; ${failed} Tasks Failed`);
    figures.push({ section: SECTION, name: 'admission anomalies seen by the harness (Running → Queued, pods beyond maxConcurrentTasks, Failed)', value: anomalies.regressions.length + anomalies.overLimit.length + failed, unit: 'Tasks', target: '0', met: anomalies.regressions.length + anomalies.overLimit.length + failed === 0 });

    // ---- 4. writes per Task ------------------------------------------------------------------------------------------
    const writes = diffWrites(m1.apiWrites, m0.apiWrites);
    const events = [...writes].filter(([k]) => k.endsWith(' events')).reduce((s, [, v]) => s + v, 0);
    const other = [...writes].filter(([k]) => !k.endsWith(' events')).reduce((s, [, v]) => s + v, 0);
    log(`controller: API writes during the lifecycle of ${N} Tasks: ${[...writes].map(([k, v]) => `${k} ${v}`).join(', ')}`);
    logDiagnostics('lifecycle', m0, m1);
    log(`controller: requests to the Agents' OpenCode servers (stub): ${Object.entries(stub.requests).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}`);
    // the budget: 3 per Task (pod, Running with podName, Completed) + 1 for each that waited (Queued); the quota
    // ledger (agents/status, one per admission that starts Tasks of a quota Agent) is shown apart
    const budget = 3 + everQueued.size / N;
    const ledger = writes.get('PATCH agents/status') ?? 0;
    log(`controller: ${everQueued.size} of ${N} Tasks waited (Queued); write budget ${budget.toFixed(2)} per Task; quota ledger writes ${ledger}`);
    figures.push({ section: SECTION, name: `API writes per Task lifecycle, excluding Events (${everQueued.size} of ${N} waited)`, value: other / N, unit: 'writes', baseline: { name: 'harness writes per Task (create, pod Running, pod Succeeded)', value: perTaskHarness }, ratio: other / N / perTaskHarness, target: `≤ ${budget.toFixed(2)} (3, +1 if it waited; ledger included)`, met: other / N <= budget + 1e-9 });
    figures.push({ section: SECTION, name: 'API writes per Task lifecycle, excluding Events and the quota ledger (agents/status)', value: (other - ledger) / N, unit: 'writes', baseline: { name: 'harness writes per Task', value: perTaskHarness }, ratio: (other - ledger) / N / perTaskHarness, target: `≤ ${budget.toFixed(2)}`, met: (other - ledger) / N <= budget + 1e-9 });
    figures.push({ section: SECTION, name: 'Events written per Task lifecycle', value: events / N, unit: 'writes', baseline: { name: 'harness writes per Task', value: perTaskHarness }, ratio: events / N / perTaskHarness, target: '≤ 2', met: events / N <= 2 });
    await child.stop();
    child = undefined;
    for (const w of watches.splice(0)) w.stop();

    // ---- 5. RSS with R Tasks in the cluster --------------------------------------------------------------------------
    // the status of a Task that went through the lifecycle above, moved 3 hours back: older than any quota window, so
    // these Tasks are history (not starts the quota ledger must account for)
    const sample = await h.get(paths.cr('tasks', NS, agents[0].tasks[0]));
    const shift = (t: string | undefined) => (t ? new Date(Date.parse(t) - 3 * 3600_000).toISOString().replace(/\.\d{3}Z$/, 'Z') : t);
    const finishedStatus = {
      ...sample.status,
      startTime: shift(sample.status.startTime),
      completionTime: shift(sample.status.completionTime),
      conditions: (sample.status.conditions ?? []).map((c: Obj) => ({ ...c, lastTransitionTime: shift(c.lastTransitionTime) })),
    };
    const extra: Array<[string, AgentPlan]> = [];
    for (let i = 0; extra.length < R - N; i++) {
      const a = agents[i % agents.length];
      extra.push([`${a.name}-done-${String(i).padStart(5, '0')}`, a]);
    }
    // the same restart first with the N Tasks of the lifecycle alone, then with all R: the slope is what one more
    // cached Task costs
    const small = await restartMemory(build, cluster.kubeconfig, stub.url);
    const fillStart = performance.now();
    await pool(extra, 32, async ([name, a]) => {
      const t = await h.create(paths.cr('tasks', NS), {
        apiVersion: 'kubeopencode.io/v1alpha1',
        kind: 'Task',
        metadata: { name },
        spec: { agentRef: { name: a.name }, description: `Benchmark task ${name}: fix the flaky test and open a pull request` },
      });
      await h.patch(`${paths.cr('tasks', NS, name)}/status`, { metadata: { uid: t.metadata.uid }, status: { ...finishedStatus, podName: `${name}-pod` } });
    });
    log(`controller: created ${extra.length} finished Tasks in ${(performance.now() - fillStart).toFixed(0)} ms (2 writes each, 32 in flight)`);
    const listStart = performance.now();
    const all = await h.get(paths.cr('tasks'));
    const listMs = performance.now() - listStart;
    const total = all.items.length;
    if (process.env.BENCH_DUMP_TASKS) fs.writeFileSync(process.env.BENCH_DUMP_TASKS, JSON.stringify(all));
    const managedBytes = all.items.reduce((n: number, t: Obj) => n + JSON.stringify(t.metadata.managedFields ?? []).length, 0);
    const pods = (await h.get(`${paths.core('pods')}?labelSelector=${TASK_LABEL}`)).items.length;
    log(`controller: cluster holds ${total} Tasks (${(JSON.stringify(all).length / MB).toFixed(1)} MB as JSON, ${(managedBytes / MB).toFixed(1)} MB of it metadata.managedFields) and ${pods} task pods; one LIST of all Tasks took ${listMs.toFixed(0)} ms`);

    const big = await restartMemory(build, cluster.kubeconfig, stub.url);
    const { before, after, afterGc, syncMs, sinceStartMs, restartWrites } = big;
    log(`controller: restart with ${total} Tasks: caches synced in ${syncMs.toFixed(0)} ms, queue drained ${(sinceStartMs - syncMs).toFixed(0)} ms later; RSS before start ${(before.rss / MB).toFixed(1)} MB (heap used ${(before.heapUsed / MB).toFixed(1)} MB), after ${(after.rss / MB).toFixed(1)} MB (peak ${(after.maxRss / MB).toFixed(1)} MB; heap used ${(after.heapUsed / MB).toFixed(1)} MB${afterGc ? `, ${(afterGc.heapUsed / MB).toFixed(1)} MB after a full GC, RSS then ${(afterGc.rss / MB).toFixed(1)} MB` : ''}); API writes on restart: ${restartWrites}`);
    logDiagnostics('restart', big.r0, big.r1);
    figures.push({ section: SECTION, name: `controller RSS, ${total} Tasks + ${pods} pods cached, queue drained`, value: after.rss / MB, unit: 'MB', baseline: { name: 'same process before start (Node + modules)', value: before.rss / MB }, ratio: after.rss / before.rss, target: '≤ 150 MB', met: after.rss / MB <= 150 });
    figures.push({ section: SECTION, name: `controller peak RSS (maxRSS) through sync of ${total} Tasks`, value: after.maxRss / MB, unit: 'MB', baseline: { name: 'same process before start (Node + modules)', value: before.rss / MB }, ratio: after.maxRss / before.rss });
    figures.push(...memoryPerTask(small, big, N, total));
    figures.push({ section: SECTION, name: `restart with ${total} Tasks: caches synced + queue drained`, value: sinceStartMs, unit: 'ms', baseline: { name: 'one LIST of all Tasks (harness)', value: listMs }, ratio: sinceStartMs / listMs, target: '≤ 1.2×', met: sinceStartMs / listMs <= 1.2 });
    figures.push({ section: SECTION, name: `API writes on that restart (nothing to change)`, value: restartWrites, unit: 'writes', target: '0', met: restartWrites === 0 });
    child = undefined;
    return figures;
  } finally {
    for (const w of watches) w.stop();
    await child?.kill();
    harness?.close();
    await stub?.close();
    build.cleanup();
    await stopTestCluster(cluster);
  }
}

interface RestartMemory {
  before: Mem;
  after: Mem;
  afterGc?: Omit<Mem, 'afterGc'>;
  syncMs: number;
  sinceStartMs: number;
  restartWrites: number;
  r0: ChildMetrics;
  r1: ChildMetrics;
}

/** A fresh controller process over what the cluster holds now: its memory once synced and drained, then stopped. */
async function restartMemory(build: Build, kubeconfig: string, serverUrl: string): Promise<RestartMemory> {
  const child = await ControllerProcess.spawn(build);
  try {
    const before = child.loadedMem;
    const { syncMs } = await child.call<{ syncMs: number }>('start', { kubeconfig, serverUrl });
    const r0 = await child.metrics();
    const { sinceStartMs } = await child.call<{ sinceStartMs: number }>('settle');
    const after = await child.mem();
    const afterGc = (await child.mem(true)).afterGc;
    const r1 = await child.metrics();
    return { before, after, afterGc, syncMs, sinceStartMs, restartWrites: sumWrites(r1.apiWrites, () => true), r0, r1 };
  } finally {
    await child.stop();
  }
}

/** What one more cached Task costs: the slope between a restart over the N lifecycle Tasks and one over all of them. */
function memoryPerTask(small: RestartMemory, big: RestartMemory, smallTasks: number, bigTasks: number): Figure[] {
  const per = (a: number, b: number) => (b - a) / 1024 / (bigTasks - smallTasks);
  const heap = small.afterGc && big.afterGc ? per(small.afterGc.heapUsed, big.afterGc.heapUsed) : NaN;
  const rss = per(small.after.rss, big.after.rss);
  log(`controller: memory per cached Task, restarts over ${smallTasks} and ${bigTasks} Tasks: RSS ${rss.toFixed(2)} KB/Task (${(small.after.rss / MB).toFixed(1)} → ${(big.after.rss / MB).toFixed(1)} MB), heap after a full GC ${heap.toFixed(2)} KB/Task`);
  return [
    { section: SECTION, name: `controller RSS growth per cached Task (restarts over ${smallTasks} and ${bigTasks} Tasks)`, value: rss, unit: 'KB/Task' },
    { section: SECTION, name: `controller heap growth per cached Task, after a full GC (same restarts)`, value: heap, unit: 'KB/Task' },
  ];
}

function logDiagnostics(phase: string, before: ChildMetrics, after: ChildMetrics): void {
  const delta = (a: CounterValue[], b: CounterValue[], label: string) => {
    const m = new Map<string, number>();
    for (const v of a) m.set(String(v.labels[label]), (m.get(String(v.labels[label])) ?? 0) + v.value);
    for (const v of b) m.set(String(v.labels[label]), (m.get(String(v.labels[label])) ?? 0) - v.value);
    return [...m].filter(([, v]) => v !== 0).map(([k, v]) => `${k} ${v}`).join(', ') || 'none';
  };
  const taskWrites = Object.entries(after.taskWrites).map(([k, v]) => [k, v - (before.taskWrites[k] ?? 0)] as const).filter(([, v]) => v !== 0).map(([k, v]) => `${k} ${v}`).join(', ');
  if (taskWrites) log(`controller (${phase}): Task writes by content: ${taskWrites}`);
  const responses = Object.entries(after.responses).map(([k, v]) => [k, v - (before.responses[k] ?? 0)] as const).filter(([, v]) => v !== 0).map(([k, v]) => `${k} ${v}`).join(', ');
  log(`controller (${phase}): reconciles ${delta(after.reconciles, before.reconciles, 'kind')}; reconcile errors ${delta(after.reconcileErrors, before.reconcileErrors, 'kind')}; responses ${responses}; warnings logged ${after.warnings.count - before.warnings.count}`);
  if (after.warnings.samples.length) log(`controller (${phase}): first warnings:\n  ${after.warnings.samples.join('\n  ')}`);
}

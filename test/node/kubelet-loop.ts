/**
 * The parts of a cluster the test API server lacks, played against a real node (test/node/node.ts):
 *
 * - {@link KubeletLoop}: the kubelet of one namespace. It watches (polls) the namespace's Pods in the API server, runs
 *   each new one on the node with the ConfigMaps and Secrets the API server holds at that moment, and writes its status
 *   back through the pods/status subresource as the kubelet would: Running once its containers were handed to the
 *   runtime, then Succeeded / Failed with every container's exit code (an init container that fails fails the pod; a
 *   container the kubelet refuses leaves it Pending, waiting with CreateContainerConfigError). A Pod deleted in the
 *   API server has its containers removed.
 * - {@link runDeployment}: the Deployment and ReplicaSet controllers and the kubelet for one Deployment: its pod
 *   template runs on the node, the containers with a readinessProbe are probed until ready, then the Deployment is
 *   marked rolled out and available (markDeploymentReady).
 */
import { Obj, kubeRequest, markDeploymentReady, rawRequest, setPodPhase } from '../harness/apiserver';
import { ContainerExit, Node, Pod, PodFailure, PodInput, ServiceAccountEmulation } from './node';

export interface PodRunOptions {
  /** Env added to containers of every pod (by container name; `*` for all containers). */
  readonly extraEnv?: Record<string, Record<string, string>>;
  /** What the kubelet mounts for the pod's service account (see PodInput.serviceAccount). */
  readonly serviceAccount?: ServiceAccountEmulation;
}

/** The ConfigMaps and (decoded) Secrets of a namespace, as the kubelet reads them from the API server. */
export async function namespaceSources(ns: string): Promise<Pick<PodInput, 'configMaps' | 'secrets'>> {
  const [cms, secrets] = await Promise.all([
    kubeRequest('GET', `/api/v1/namespaces/${ns}/configmaps`),
    kubeRequest('GET', `/api/v1/namespaces/${ns}/secrets`),
  ]);
  return {
    configMaps: Object.fromEntries(cms.items.map((o: Obj) => [o.metadata.name, { ...(o.data ?? {}) }])),
    secrets: Object.fromEntries(secrets.items.map((o: Obj) => [o.metadata.name,
      Object.fromEntries(Object.entries(o.data ?? {}).map(([k, v]) => [k, Buffer.from(String(v), 'base64').toString('utf8')]))])),
  };
}

function extraEnvFor(spec: Obj, extra: PodRunOptions['extraEnv']): PodInput['extraEnv'] {
  if (!extra) return undefined;
  const names = [...(spec.initContainers ?? []), ...(spec.containers ?? [])].map((c: Obj) => c.name as string);
  return Object.fromEntries(names.map((n) => [n, { ...(extra['*'] ?? {}), ...(extra[n] ?? {}) }]));
}

/** A pod of the loop: the node's Pod once started, the failure when it could not start, the exits once it ended. */
export interface LoopPod {
  readonly name: string;
  pod?: Pod;
  failure?: PodFailure | Error;
  exits?: ContainerExit[];
  phase: 'Pending' | 'Running' | 'Succeeded' | 'Failed';
  /** Resolves when the pod reached Succeeded or Failed (or could not start). */
  readonly ended: Promise<void>;
}

export class KubeletLoop {
  public readonly pods = new Map<string, LoopPod>();
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private polling?: Promise<void>;
  private readonly errors: Error[] = [];

  constructor(private readonly node: Node, private readonly namespace: string, private readonly opts: PodRunOptions = {}) {}

  public start(intervalMs = 200): this {
    const tick = async () => {
      if (this.stopped) return;
      this.polling = this.poll().catch((e) => { this.errors.push(e as Error); });
      await this.polling;
      if (!this.stopped) this.timer = setTimeout(tick, intervalMs);
    };
    void tick();
    return this;
  }

  /** The pod `name` once the loop picked it up and it ended; throws what went wrong in the loop itself. */
  public async waitEnded(name: string, timeoutMs = 120_000): Promise<LoopPod> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.errors.length) throw this.errors[0];
      const p = this.pods.get(name);
      if (p) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([p.ended, new Promise((r) => (timer = setTimeout(r, Math.max(0, deadline - Date.now()))))]);
        clearTimeout(timer);
        if (p.phase === 'Succeeded' || p.phase === 'Failed' || p.failure) return p;
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`kubelet loop: pod ${this.namespace}/${name} did not end within ${timeoutMs} ms (${this.describe(name)})`);
  }

  /** What the loop knows of a pod, with its containers' output, for failure messages. */
  public describe(name: string): string {
    const p = this.pods.get(name);
    if (!p) return `never seen; pods: ${[...this.pods.keys()].join(', ') || 'none'}`;
    const logs = p.exits?.map((e) => `--- ${e.name} (exit ${e.exitCode}) ---\n${e.stdout}\n${e.stderr}`).join('\n') ?? '';
    return `phase ${p.phase}${p.failure ? `, ${p.failure.message}` : ''}\n${logs}`;
  }

  public async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.polling;
    await Promise.all([...this.pods.values()].map((p) => p.pod?.stop()));
  }

  private async poll(): Promise<void> {
    const list = await kubeRequest('GET', `/api/v1/namespaces/${this.namespace}/pods`);
    const live = new Set<string>();
    for (const o of list.items as Obj[]) {
      const name: string = o.metadata.name;
      if (o.metadata.deletionTimestamp) continue;
      live.add(name);
      if (!this.pods.has(name)) this.admit(o);
    }
    // deleted in the API server (a stopped Task): the kubelet kills the containers
    for (const [name, p] of this.pods) if (!live.has(name) && p.pod && p.phase === 'Running') void p.pod.stop();
  }

  private admit(o: Obj): void {
    let done!: () => void;
    const entry: LoopPod = { name: o.metadata.name, phase: 'Pending', ended: new Promise<void>((r) => (done = r)) };
    this.pods.set(entry.name, entry);
    void this.run(o, entry).catch((e) => { entry.failure ??= e as Error; this.errors.push(e as Error); }).finally(done);
  }

  private async run(o: Obj, entry: LoopPod): Promise<void> {
    const ns = this.namespace;
    const name = entry.name;
    const spec: Obj = o.spec;
    try {
      entry.pod = await this.node.startPod({
        name, namespace: ns, spec,
        labels: o.metadata.labels, annotations: o.metadata.annotations,
        ...(await namespaceSources(ns)),
        extraEnv: extraEnvFor(spec, this.opts.extraEnv),
        serviceAccount: this.opts.serviceAccount,
      });
    } catch (e) {
      if (!(e instanceof PodFailure)) throw e;
      entry.failure = e;
      if (e.reason === 'CreateContainerConfigError') {
        // the kubelet keeps such a pod Pending, the container waiting with the reason and its message
        await setPodPhase(ns, name, 'Pending', { containers: { [e.container]: { waitingReason: e.reason, waitingMessage: e.message } } });
      } else {
        entry.phase = 'Failed';
        const waiting = Object.fromEntries((spec.containers ?? []).map((c: Obj) => [c.name, { waitingReason: 'PodInitializing' }]));
        await setPodPhase(ns, name, 'Failed', { containers: { ...waiting, [e.container]: { exitCode: e.exitCode ?? 128, reason: e.reason === 'StartError' ? 'StartError' : 'Error', message: e.message } } });
      }
      return;
    }
    entry.phase = 'Running';
    await setPodPhase(ns, name, 'Running', { podIP: '127.0.0.1' });
    const exits = await Promise.all(spec.containers.map((c: Obj) => entry.pod!.exited(c.name)));
    entry.exits = exits;
    if (this.stopped) return;
    const failed = exits.some((x) => x.exitCode !== 0);
    entry.phase = failed ? 'Failed' : 'Succeeded';
    const outcome = Object.fromEntries(exits.map((x) => [x.name, {
      exitCode: x.exitCode,
      reason: x.startError ? 'StartError' : x.exitCode === 0 ? 'Completed' : 'Error',
      ...(x.exitCode !== 0 ? { message: (x.startError ?? x.stderr.trim()).slice(-1000) } : {}),
    }]));
    // a pod deleted meanwhile (stopped) has no status to write
    if ((await rawRequest('GET', `/api/v1/namespaces/${ns}/pods/${name}`)).status !== 200) return;
    await setPodPhase(ns, name, entry.phase, { containers: outcome, podIP: '127.0.0.1' });
  }
}

/**
 * Plays the Deployment controller and the kubelet for one Deployment of the API server: runs its pod template on the
 * node as `<deployment>-<n>`, waits until every container with a readinessProbe is ready, marks the Deployment ready.
 */
export async function runDeployment(node: Node, ns: string, name: string, opts: PodRunOptions & { podName?: string; readyTimeoutMs?: number } = {}): Promise<Pod> {
  const dep = await kubeRequest('GET', `/apis/apps/v1/namespaces/${ns}/deployments/${name}`);
  const tpl = dep.spec.template;
  const pod = await node.startPod({
    name: opts.podName ?? `${name}-0`,
    namespace: ns,
    spec: tpl.spec,
    labels: tpl.metadata?.labels,
    annotations: tpl.metadata?.annotations,
    ...(await namespaceSources(ns)),
    extraEnv: extraEnvFor(tpl.spec, opts.extraEnv),
    serviceAccount: opts.serviceAccount,
  });
  for (const c of tpl.spec.containers as Obj[]) {
    if (c.readinessProbe) await pod.waitReady(c.name, { timeoutMs: opts.readyTimeoutMs ?? 60_000 });
  }
  await markDeploymentReady(ns, name);
  return pod;
}

/**
 * Integration-test harness over a real Kubernetes API server (etcd + scripts/apiserver's test-apiserver).
 *
 * Lifecycle: jest globalSetup/globalTeardown (./global-setup.ts, ./global-teardown.ts) start one cluster
 * per run and publish its kubeconfig path in process.env.KUBECONFIG_TEST; a test file can also call
 * useTestCluster() to start its own when none is running. With KUBEOPENCODE_USE_EXISTING_CLUSTER=1 and
 * KUBECONFIG set, that cluster is used and nothing is started.
 *
 * The server has the real storage/watch/patch/apply/CRD machinery but, like envtest, no controllers,
 * scheduler or kubelet, no admission, no defaulting or validation of built-ins beyond metadata, no RBAC
 * enforcement but for users with the token `user:<name>` (scripts/apiserver/README.md), no namespace lifecycle (deleting a namespace does not delete its objects), no Service IP
 * allocation, no garbage collection of ownerReferences (deletes are immediate and ignore
 * propagationPolicy; finalizers are honoured). core/v1 and events.k8s.io/v1 Events are
 * stored separately. Tests play the missing parts with the helpers below (markDeploymentReady,
 * setPodPhase...).
 *
 * Pitfalls of @kubernetes/client-node 1.4.0 (2.x does not load on Node 20):
 *  - typed APIs serialize through model classes and silently DROP unknown keys (typos, x-kubernetes-*
 *    schema keys): use rawRequest(), KubernetesObjectApi or k8s.loadYaml() when the body must reach the
 *    server unchanged;
 *  - right after a CRD is Established its CR endpoints answer 429/404 for a moment (applyCrds waits);
 *    an informer stops on its first error and must be restarted from its 'error' handler;
 *  - the default field manager is "node-fetch": pass fieldManager (FIELD_MANAGER) explicitly.
 */
import * as fs from 'fs';
import * as http from 'http';
import * as https from 'https';
import * as path from 'path';
import * as k8s from '@kubernetes/client-node';
import * as YAML from 'yaml';
import { KUBECONFIG_ENV, readTestClusterState, startTestCluster, stopTestCluster, TestClusterState } from './cluster';

export * from './cluster';

/** Field manager used by the helpers' writes. */
export const FIELD_MANAGER = 'kubeopencode-test';
/** Directory of this repository's CRDs. */
export const REPO_CRD_DIR = path.resolve(__dirname, '..', '..', 'crds');

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Obj = Record<string, any>;

/** KubeConfig of the running test cluster; throws a clear error when there is none. */
export function testKubeConfig(): k8s.KubeConfig {
  const file = process.env[KUBECONFIG_ENV] ?? readTestClusterState()?.kubeconfig;
  if (!file) {
    throw new Error('no test cluster: run jest with test/harness/jest.apiserver.config.js (globalSetup) or call useTestCluster() in the test file');
  }
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(file);
  return kc;
}

/**
 * Make sure a cluster runs for this test file: adopts the one of the jest globalSetup, else starts one
 * in beforeAll and stops it in afterAll.
 */
export function useTestCluster(): { kc: () => k8s.KubeConfig } {
  let started: TestClusterState | undefined;
  let kc: k8s.KubeConfig | undefined;
  beforeAll(async () => {
    if (!readTestClusterState()) started = await startTestCluster();
  }, 120_000);
  afterAll(async () => {
    if (started) await stopTestCluster(started);
  }, 30_000);
  return { kc: () => (kc ??= testKubeConfig()) };
}

// ---- raw requests: bodies reach the server exactly as given ---------------------------------

export interface RawResponse<T = Obj> {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: T;
}

export interface RawRequestOptions {
  body?: unknown;
  /** default application/json; e.g. application/merge-patch+json, application/apply-patch+yaml */
  contentType?: string;
  query?: Record<string, string | number | boolean | undefined>;
  kc?: k8s.KubeConfig;
}

/** An HTTP error from the API server (status >= 400), with the server's Status message. */
export class KubeError extends Error {
  constructor(readonly status: number, readonly body: Obj, method: string, urlPath: string) {
    super(`${method} ${urlPath}: ${status} ${body?.reason ?? ''} ${body?.message ?? JSON.stringify(body)}`.replace(/ +/g, ' '));
  }
}

/** Send one request to the API server; resolves with any HTTP status (see kubeRequest for throwing). */
export async function rawRequest<T = Obj>(method: string, urlPath: string, opts: RawRequestOptions = {}): Promise<RawResponse<T>> {
  const kc = opts.kc ?? testKubeConfig();
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('kubeconfig has no current cluster');
  const url = new URL(cluster.server.replace(/\/$/, '') + urlPath);
  for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
  const payload = opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
  const reqOpts: https.RequestOptions = {
    method,
    headers: {
      'Accept': 'application/json',
      ...(payload !== undefined ? { 'Content-Type': opts.contentType ?? 'application/json', 'Content-Length': Buffer.byteLength(payload) } : {}),
    },
  };
  await kc.applyToHTTPSOptions(reqOpts);
  const mod = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.request(url, reqOpts, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown = text;
        try { body = text ? JSON.parse(text) : undefined; } catch { /* not JSON */ }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: body as T });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

/** rawRequest that throws KubeError for HTTP status >= 400 and returns the body. */
export async function kubeRequest<T = Obj>(method: string, urlPath: string, opts: RawRequestOptions = {}): Promise<T> {
  const res = await rawRequest<T>(method, urlPath, opts);
  if (res.status >= 400) throw new KubeError(res.status, res.body as Obj, method, urlPath);
  return res.body;
}

// ---- small utilities -------------------------------------------------------------------------

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Poll fn until it returns a truthy value (resolved) and return that value. Thrown errors count as
 * "not yet"; on timeout the last error or value is reported.
 */
export async function waitFor<T>(fn: () => T | Promise<T>, timeoutMs = 10_000, opts: { intervalMs?: number; what?: string } = {}): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
      last = v;
    } catch (e) {
      last = e;
    }
    if (Date.now() >= deadline) {
      const detail = last instanceof Error ? last.message : JSON.stringify(last);
      throw new Error(`waitFor${opts.what ? ` ${opts.what}` : ''}: timed out after ${timeoutMs} ms (last: ${detail})`);
    }
    await sleep(opts.intervalMs ?? 50);
  }
}

let counter = 0;
/** A DNS-label-safe unique name for test objects and namespaces. */
export function uniqueName(prefix = 'test'): string {
  counter += 1;
  return `${prefix}-${process.pid.toString(36)}-${Date.now().toString(36).slice(-4)}${counter.toString(36)}`.toLowerCase().slice(0, 63);
}

/** Create a namespace (unique name by default) and return its name. */
export async function createNamespace(name = uniqueName('ns'), kc?: k8s.KubeConfig): Promise<string> {
  await kubeRequest('POST', '/api/v1/namespaces', { kc, query: { fieldManager: FIELD_MANAGER }, body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name } } });
  return name;
}

/** metav1.Time has second precision on the wire. */
const now = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

// ---- playing kube-controller-manager and kubelet ---------------------------------------------

/**
 * Play the Deployment controller: report the Deployment as rolled out and available (status
 * subresource), for the current generation.
 */
export async function markDeploymentReady(ns: string, name: string, opts: { replicas?: number; readyReplicas?: number; kc?: k8s.KubeConfig } = {}): Promise<Obj> {
  const base = `/apis/apps/v1/namespaces/${ns}/deployments/${name}`;
  const dep = await kubeRequest('GET', base, { kc: opts.kc });
  const replicas: number = opts.replicas ?? dep.spec?.replicas ?? 1;
  const ready = opts.readyReplicas ?? replicas;
  const t = now();
  const status = {
    observedGeneration: dep.metadata.generation,
    replicas,
    updatedReplicas: replicas,
    readyReplicas: ready,
    availableReplicas: ready,
    unavailableReplicas: replicas - ready > 0 ? replicas - ready : null,
    conditions: [
      ready >= replicas
        ? { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.', lastUpdateTime: t, lastTransitionTime: t }
        : { type: 'Available', status: 'False', reason: 'MinimumReplicasUnavailable', message: 'Deployment does not have minimum availability.', lastUpdateTime: t, lastTransitionTime: t },
      { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable', message: `ReplicaSet "${name}" has successfully progressed.`, lastUpdateTime: t, lastTransitionTime: t },
    ],
  };
  return kubeRequest('PATCH', `${base}/status`, {
    kc: opts.kc, contentType: 'application/merge-patch+json', query: { fieldManager: FIELD_MANAGER }, body: { status },
  });
}

export type PodPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed';

/** What happened to one container (all optional; defaults follow the pod phase). */
export interface ContainerOutcome {
  /** terminated exit code (default 0 for Succeeded, 1 for Failed) */
  exitCode?: number;
  /** terminated reason (default Completed / Error), e.g. OOMKilled */
  reason?: string;
  message?: string;
  /** puts the container in state waiting, e.g. ImagePullBackOff, ErrImagePull, CrashLoopBackOff, CreateContainerConfigError */
  waitingReason?: string;
  waitingMessage?: string;
  /** readiness of a running container (default true) */
  ready?: boolean;
  restartCount?: number;
}

export interface PodPhaseOptions extends ContainerOutcome {
  /** per-container overrides by container (or init container) name */
  containers?: Record<string, ContainerOutcome>;
  /** pod-level status.reason / status.message, e.g. Evicted */
  podReason?: string;
  podMessage?: string;
  podIP?: string;
  kc?: k8s.KubeConfig;
}

/**
 * Play the kubelet: replace a Pod's status with one for `phase`, including containerStatuses with exit
 * codes or waiting reasons (e.g. setPodPhase(ns, name, 'Pending', { waitingReason: 'ImagePullBackOff' })).
 */
export async function setPodPhase(ns: string, name: string, phase: PodPhase, opts: PodPhaseOptions = {}): Promise<Obj> {
  const base = `/api/v1/namespaces/${ns}/pods/${name}`;
  const shared: ContainerOutcome = {
    exitCode: opts.exitCode, reason: opts.reason, message: opts.message, waitingReason: opts.waitingReason,
    waitingMessage: opts.waitingMessage, ready: opts.ready, restartCount: opts.restartCount,
  };
  for (let attempt = 0; ; attempt++) {
    const pod = await kubeRequest('GET', base, { kc: opts.kc });
    const t = now();
    const started = phase !== 'Pending';
    const statusOf = (c: Obj, init: boolean): Obj => {
      const o: ContainerOutcome = { ...(init ? {} : shared), ...(opts.containers?.[c.name] ?? {}) };
      const s: Obj = { name: c.name, image: c.image, imageID: '', restartCount: o.restartCount ?? 0, ready: false, started: false };
      if (o.waitingReason) {
        s.state = { waiting: { reason: o.waitingReason, ...(o.waitingMessage ? { message: o.waitingMessage } : {}) } };
        if (o.restartCount && o.exitCode !== undefined) {
          s.lastState = { terminated: { exitCode: o.exitCode, reason: o.reason ?? 'Error', startedAt: t, finishedAt: t } };
        }
        return s;
      }
      if (!started) {
        s.state = { waiting: { reason: init ? 'PodInitializing' : 'ContainerCreating' } };
        return s;
      }
      s.containerID = `containerd://kubeopencode-test-${c.name}`;
      const failed = phase === 'Failed' && !init;
      if (init || phase === 'Succeeded' || failed || o.exitCode !== undefined) {
        const exitCode = o.exitCode ?? (failed ? 1 : 0);
        s.state = { terminated: { exitCode, reason: o.reason ?? (exitCode === 0 ? 'Completed' : 'Error'), ...(o.message ? { message: o.message } : {}), startedAt: t, finishedAt: t, containerID: s.containerID } };
        return s;
      }
      s.state = { running: { startedAt: t } };
      s.ready = o.ready ?? true;
      s.started = true;
      return s;
    };
    const containerStatuses = (pod.spec?.containers ?? []).map((c: Obj) => statusOf(c, false));
    const initContainerStatuses = (pod.spec?.initContainers ?? []).map((c: Obj) => statusOf(c, true));
    const allReady = phase === 'Running' && containerStatuses.every((s: Obj) => s.ready);
    const cond = (type: string, ok: boolean, reason?: string) => ({ type, status: ok ? 'True' : 'False', lastProbeTime: null, lastTransitionTime: t, ...(reason ? { reason } : {}) });
    const completed = phase === 'Succeeded' || phase === 'Failed' ? 'PodCompleted' : undefined;
    pod.status = {
      phase,
      ...(opts.podReason ? { reason: opts.podReason } : {}),
      ...(opts.podMessage ? { message: opts.podMessage } : {}),
      conditions: [
        cond('PodScheduled', true),
        cond('Initialized', started),
        cond('ContainersReady', allReady, allReady ? undefined : completed ?? 'ContainersNotReady'),
        cond('Ready', allReady, allReady ? undefined : completed ?? 'ContainersNotReady'),
      ],
      hostIP: '10.0.0.1',
      ...(started ? { podIP: opts.podIP ?? '10.244.0.10', podIPs: [{ ip: opts.podIP ?? '10.244.0.10' }] } : {}),
      startTime: pod.status?.startTime ?? t,
      containerStatuses,
      ...(initContainerStatuses.length ? { initContainerStatuses } : {}),
      qosClass: pod.status?.qosClass ?? 'BestEffort',
    };
    const res = await rawRequest('PUT', `${base}/status`, { kc: opts.kc, query: { fieldManager: FIELD_MANAGER }, body: pod });
    if (res.status === 409 && attempt < 5) continue; // someone else wrote the pod meanwhile
    if (res.status >= 400) throw new KubeError(res.status, res.body, 'PUT', `${base}/status`);
    return res.body;
  }
}

// ---- CRDs ------------------------------------------------------------------------------------

/**
 * Server-side apply every CustomResourceDefinition in `dir` (*.yaml, *.yml, *.json), unchanged, then
 * wait until each is Established and its custom resources can actually be listed (the server answers
 * 429 "storage is (re)initializing" for a moment after Established). Returns the CRD names.
 */
export async function applyCrds(dir: string = REPO_CRD_DIR, opts: { kc?: k8s.KubeConfig; timeoutMs?: number } = {}): Promise<string[]> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const crds: Obj[] = [];
  for (const f of fs.readdirSync(dir).filter((x) => /\.(ya?ml|json)$/.test(x)).sort()) {
    for (const doc of YAML.parseAllDocuments(fs.readFileSync(path.join(dir, f), 'utf8'))) {
      const o = doc.toJS() as Obj | null;
      if (o?.kind === 'CustomResourceDefinition') crds.push(o);
    }
  }
  const base = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';
  for (const crd of crds) {
    await kubeRequest('PATCH', `${base}/${crd.metadata.name}`, {
      kc: opts.kc, contentType: 'application/apply-patch+yaml', query: { fieldManager: FIELD_MANAGER, force: true }, body: crd,
    });
  }
  for (const crd of crds) {
    const name: string = crd.metadata.name;
    await waitFor(async () => {
      const c = await kubeRequest('GET', `${base}/${name}`, { kc: opts.kc });
      return (c.status?.conditions ?? []).some((x: Obj) => x.type === 'Established' && x.status === 'True');
    }, timeoutMs, { what: `CRD ${name} Established` });
    for (const v of crd.spec.versions.filter((x: Obj) => x.served !== false)) {
      await waitFor(async () => (await rawRequest('GET', `/apis/${crd.spec.group}/${v.name}/${crd.spec.names.plural}`, { kc: opts.kc, query: { limit: 1 } })).status === 200,
        timeoutMs, { what: `${crd.spec.names.plural}.${crd.spec.group}/${v.name} servable` });
    }
  }
  return crds.map((c) => c.metadata.name as string);
}

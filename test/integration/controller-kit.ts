/**
 * Shared pieces of the controller integration tests: apply synthesized manifests to the test API server, run a
 * controller in-process, create Tasks, read them back.
 */
import { Chart } from 'cdk8s';
import { Agent, AgentProps } from '../../src';
import { Controller, ControllerOptions } from '../../src/controller/controller';
import { createLogger } from '../../src/controller/runtime/log';
import { Obj, applyCrds, createNamespace, kubeRequest, markDeploymentReady, rawRequest, testKubeConfig, useTestCluster, waitFor } from '../harness/apiserver';
import { resourcePath } from '../util/resources';
import { chart, synth } from '../util/synth';

/** Applies every object of a chart (server-side apply), as `kubectl apply -f` of the synthesized YAML would. */
export async function applyChart(c: Chart): Promise<Obj[]> {
  const objects = synth(c).objects;
  for (const o of objects) {
    await kubeRequest('PATCH', resourcePath(o), {
      contentType: 'application/apply-patch+yaml',
      query: { fieldManager: 'cdk8s', force: true },
      body: o,
    });
  }
  return objects;
}

export function startController(opts: Partial<ControllerOptions> = {}): Controller {
  const c = new Controller({
    kubeConfig: testKubeConfig(),
    leaderElection: false,
    log: createLogger(process.env.KUBEOPENCODE_TEST_VERBOSE ? 'debug' : 'silent'),
    ...opts,
  });
  return c;
}

/**
 * A test file's controllers on its own test cluster: the CRDs applied once, every controller `started` stopped after
 * each test (`running` holds those still to stop; a test that stops one itself takes it out).
 */
export function useControllers(): { started: (opts?: Partial<ControllerOptions>) => Promise<Controller>; running: Controller[] } {
  const cluster = useTestCluster();
  const running: Controller[] = [];
  beforeAll(async () => {
    cluster.kc();
    await applyCrds();
  });
  afterEach(async () => {
    for (const c of running.splice(0)) await c.stop();
  });
  const started = async (opts: Partial<ControllerOptions> = {}): Promise<Controller> => {
    const c = startController(opts);
    running.push(c);
    await c.start();
    return c;
  };
  return { started, running };
}

export async function createTask(ns: string, name: string, spec: Obj, metadata: Obj = {}): Promise<Obj> {
  return kubeRequest('POST', `/apis/kubeopencode.io/v1alpha1/namespaces/${ns}/tasks`, {
    body: { apiVersion: 'kubeopencode.io/v1alpha1', kind: 'Task', metadata: { name, ...metadata }, spec },
  });
}

export const getTask = (ns: string, name: string) => kubeRequest('GET', `/apis/kubeopencode.io/v1alpha1/namespaces/${ns}/tasks/${name}`);
export const getAgent = (ns: string, name: string) => kubeRequest('GET', `/apis/kubeopencode.io/v1alpha1/namespaces/${ns}/agents/${name}`);
export const getPod = async (ns: string, name: string) => {
  const r = await rawRequest('GET', `/api/v1/namespaces/${ns}/pods/${name}`);
  return r.status === 200 ? (r.body as Obj) : undefined;
};
export const condition = (o: Obj, type: string) => (o.status?.conditions ?? []).find((c: Obj) => c.type === type);

export async function taskPhase(ns: string, name: string): Promise<string | undefined> {
  return (await getTask(ns, name)).status?.phase;
}

export async function waitForPhase(ns: string, name: string, phase: string, timeoutMs = 10_000): Promise<Obj> {
  return waitFor(async () => {
    const t = await getTask(ns, name);
    return t.status?.phase === phase ? t : undefined;
  }, timeoutMs, { what: `Task ${name} ${phase}` });
}

export async function patch(path: string, body: Obj, sub = ''): Promise<Obj> {
  return kubeRequest('PATCH', path + sub, { contentType: 'application/merge-patch+json', body });
}

/** A fresh namespace with an Agent (synthesized by the construct, applied, its server marked ready); returns the namespace. */
export async function agentIn(props: Partial<AgentProps> = {}, name = 'agent'): Promise<string> {
  const ns = await createNamespace();
  const c = chart(ns);
  new Agent(c, name, { workspaceDir: '/workspace', serviceAccountName: 'kubeopencode-agent', ...props });
  await applyChart(c);
  await markDeploymentReady(ns, `${name}-server`);
  return ns;
}

/**
 * Requests the controller's RBAC would refuse, as `verb group/resource[ name] in ns`: its ClusterRole, plus the Roles
 * bound to its ServiceAccount in each namespace (the Agents' Roles for their Secrets), read from the server as applied.
 */
export async function deniedRequests(requests: ReadonlyArray<[string, string]>): Promise<string[]> {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { controllerRules, CONTROLLER_SERVICE_ACCOUNT } = require('../../src/constructs/controller-install');
  const { accessOf, allowed } = require('../util/rbac');
  /* eslint-enable @typescript-eslint/no-require-imports */
  const cluster = controllerRules();
  const byNs = new Map<string, any[]>();
  const rulesIn = async (ns: string) => {
    if (!byNs.has(ns)) {
      const bindings = ((await kubeRequest('GET', `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings`)).items ?? []) as Obj[];
      const rules: any[] = [];
      for (const b of bindings) {
        if (!(b.subjects ?? []).some((s: Obj) => s.kind === 'ServiceAccount' && s.name === CONTROLLER_SERVICE_ACCOUNT) || b.roleRef.kind !== 'Role') continue;
        const role = await kubeRequest('GET', `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/roles/${b.roleRef.name}`).catch(() => undefined);
        rules.push(...(role?.rules ?? []));
      }
      byNs.set(ns, rules);
    }
    return byNs.get(ns)!;
  };
  const denied = new Set<string>();
  for (const [m, p] of requests) {
    const a = accessOf(m, p);
    if (allowed(cluster, a)) continue;
    if (a.namespace && allowed(await rulesIn(a.namespace), a)) continue;
    denied.add(`${a.verb} ${a.group}/${a.resource}${a.name ? ` ${a.name}` : ''}${a.namespace ? ` in ${a.namespace}` : ''}`);
  }
  return [...denied];
}

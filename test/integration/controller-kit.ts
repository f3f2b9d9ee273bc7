/**
 * Shared pieces of the controller integration tests: apply synthesized manifests to the test API server, run a
 * controller in-process, create Tasks, read them back.
 */
import { Chart } from 'cdk8s';
import { Agent, AgentProps } from '../../src';
import { Controller, ControllerOptions } from '../../src/controller/controller';
import { createLogger } from '../../src/controller/log';
import { Obj, createNamespace, kubeRequest, markDeploymentReady, rawRequest, testKubeConfig, waitFor } from '../harness/apiserver';
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

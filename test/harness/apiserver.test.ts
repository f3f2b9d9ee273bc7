import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as k8s from '@kubernetes/client-node';
import {
  applyCrds, createNamespace, FIELD_MANAGER, KubeError, kubeRequest, markDeploymentReady, Obj, rawRequest,
  REPO_CRD_DIR, setPodPhase, uniqueName, useTestCluster, waitFor,
} from './apiserver';

jest.setTimeout(60_000);

const cluster = useTestCluster();

const deployment = (name: string): k8s.V1Deployment => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, labels: { app: name } },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'agent', image: 'node:20' }] } },
  },
});

describe('test apiserver harness', () => {
  let ns: string;
  let apps: k8s.AppsV1Api;
  let core: k8s.CoreV1Api;
  beforeAll(async () => {
    apps = cluster.kc().makeApiClient(k8s.AppsV1Api);
    core = cluster.kc().makeApiClient(k8s.CoreV1Api);
    ns = await createNamespace();
  });

  test('namespace + deployment: created, seen by a watch, 409 on a stale resourceVersion', async () => {
    const nsObj = await core.readNamespace({ name: ns });
    expect(nsObj.status?.phase).toBe('Active');
    expect(nsObj.metadata?.labels?.['kubernetes.io/metadata.name']).toBe(ns);

    const seen: string[] = [];
    const watch = new k8s.Watch(cluster.kc());
    const req = await watch.watch(`/apis/apps/v1/namespaces/${ns}/deployments`, { allowWatchBookmarks: false },
      (type: string, obj: Obj) => seen.push(`${type}:${obj.metadata.name}`), () => undefined);
    try {
      const created = await apps.createNamespacedDeployment({ namespace: ns, body: deployment('agent'), fieldManager: FIELD_MANAGER });
      expect(created.metadata?.generation).toBe(1);
      await waitFor(() => seen.includes('ADDED:agent'), 10_000, { what: 'watch ADDED event' });

      const fresh = await apps.readNamespacedDeployment({ namespace: ns, name: 'agent' });
      fresh.spec!.replicas = 3;
      const updated = await apps.replaceNamespacedDeployment({ namespace: ns, name: 'agent', body: fresh, fieldManager: FIELD_MANAGER });
      expect(updated.metadata?.generation).toBe(2);
      await waitFor(() => seen.includes('MODIFIED:agent'), 10_000, { what: 'watch MODIFIED event' });

      // `created` carries the first resourceVersion: optimistic concurrency must refuse it
      await expect(apps.replaceNamespacedDeployment({ namespace: ns, name: 'agent', body: created, fieldManager: FIELD_MANAGER }))
        .rejects.toMatchObject({ code: 409 });
    } finally {
      req.abort();
    }
  });

  test('status subresource: only /status writes status; spec writes keep it; generation tracks spec', async () => {
    await apps.createNamespacedDeployment({ namespace: ns, body: deployment('status'), fieldManager: FIELD_MANAGER });
    const ready = await markDeploymentReady(ns, 'status');
    expect(ready.status).toMatchObject({ replicas: 2, readyReplicas: 2, availableReplicas: 2, observedGeneration: 1 });
    expect(ready.status.conditions.map((c: Obj) => `${c.type}=${c.status}`)).toEqual(['Available=True', 'Progressing=True']);

    // a main-resource write cannot change status
    const dep = await kubeRequest('GET', `/apis/apps/v1/namespaces/${ns}/deployments/status`);
    dep.status.readyReplicas = 0;
    dep.metadata.labels.touched = 'yes';
    const after = await kubeRequest('PUT', `/apis/apps/v1/namespaces/${ns}/deployments/status`, { body: dep, query: { fieldManager: FIELD_MANAGER } });
    expect(after.status.readyReplicas).toBe(2);
    expect(after.metadata.generation).toBe(1); // labels are not spec

    // a /status write cannot change spec
    const viaStatus = await kubeRequest('PATCH', `/apis/apps/v1/namespaces/${ns}/deployments/status/status`, {
      contentType: 'application/merge-patch+json', query: { fieldManager: FIELD_MANAGER }, body: { spec: { replicas: 9 }, status: { readyReplicas: 1 } },
    });
    expect(viaStatus.spec.replicas).toBe(2);
    expect(viaStatus.status.readyReplicas).toBe(1);
  });

  test('server-side dry-run with fieldValidation=Strict rejects an unknown field and persists nothing', async () => {
    const body = deployment('dry') as Obj;
    body.spec.replicaz = 2;
    const url = `/apis/apps/v1/namespaces/${ns}/deployments`;
    const strict = await rawRequest('POST', url, { body, query: { dryRun: 'All', fieldValidation: 'Strict', fieldManager: FIELD_MANAGER } });
    expect(strict.status).toBe(400);
    expect(strict.body.message).toContain('unknown field "spec.replicaz"');

    delete body.spec.replicaz;
    const ok = await rawRequest('POST', url, { body, query: { dryRun: 'All', fieldValidation: 'Strict', fieldManager: FIELD_MANAGER } });
    expect(ok.status).toBe(201);
    expect((await rawRequest('GET', `${url}/dry`)).status).toBe(404);
  });

  test('server-side apply merges list entries by key across field managers', async () => {
    const apply = (manager: string, env: Obj[]) => kubeRequest('PATCH', `/apis/apps/v1/namespaces/${ns}/deployments/ssa`, {
      contentType: 'application/apply-patch+yaml', query: { fieldManager: manager, force: true },
      body: { ...deployment('ssa'), spec: { ...deployment('ssa').spec, template: { metadata: { labels: { app: 'ssa' } }, spec: { containers: [{ name: 'agent', image: 'node:20', env }] } } } },
    });
    await apply('mgr-a', [{ name: 'A', value: '1' }]);
    const d = await apply('mgr-b', [{ name: 'B', value: '2' }]);
    expect(d.spec.template.spec.containers[0].env.map((e: Obj) => e.name).sort()).toEqual(['A', 'B']);
  });

  test('setPodPhase plays the kubelet: running, image pull backoff, failure with exit code', async () => {
    const name = uniqueName('pod');
    await kubeRequest('POST', `/api/v1/namespaces/${ns}/pods`, {
      query: { fieldManager: FIELD_MANAGER },
      body: { apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { initContainers: [{ name: 'clone', image: 'git' }], containers: [{ name: 'agent', image: 'node:20' }, { name: 'side', image: 'busybox' }] } },
    });
    const pending = await setPodPhase(ns, name, 'Pending', { containers: { agent: { waitingReason: 'ImagePullBackOff', waitingMessage: 'Back-off pulling image "node:20"' } } });
    expect(pending.status.containerStatuses[0].state.waiting).toEqual({ reason: 'ImagePullBackOff', message: 'Back-off pulling image "node:20"' });
    expect(pending.status.containerStatuses[1].state.waiting.reason).toBe('ContainerCreating');

    const running = await setPodPhase(ns, name, 'Running');
    expect(running.status.phase).toBe('Running');
    expect(running.status.conditions.find((c: Obj) => c.type === 'Ready').status).toBe('True');
    expect(running.status.initContainerStatuses[0].state.terminated.exitCode).toBe(0);

    const failed = await setPodPhase(ns, name, 'Failed', { containers: { agent: { exitCode: 137, reason: 'OOMKilled' } } });
    expect(failed.status.phase).toBe('Failed');
    expect(failed.status.containerStatuses.map((s: Obj) => [s.name, s.state.terminated.exitCode, s.state.terminated.reason]))
      .toEqual([['agent', 137, 'OOMKilled'], ['side', 1, 'Error']]);
    const listed = await core.listNamespacedPod({ namespace: ns, fieldSelector: `metadata.name=${name}` });
    expect(listed.items.map((p) => p.status?.phase)).toEqual(['Failed']);
  });

  test('applyCrds applies CRDs unchanged and waits until their resources are servable', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'harness-crds-'));
    try {
      fs.writeFileSync(path.join(dir, 'gadgets.yaml'), `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: gadgets.harness.example.dev}
spec:
  group: harness.example.dev
  scope: Namespaced
  names: {plural: gadgets, singular: gadget, kind: Gadget}
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer, maximum: 10}
              timeout: {x-kubernetes-int-or-string: true}
            x-kubernetes-validations: [{rule: "self.size >= 0", message: "size must not be negative"}]
`);
      expect(await applyCrds(dir)).toEqual(['gadgets.harness.example.dev']);
      const url = `/apis/harness.example.dev/v1/namespaces/${ns}/gadgets`;
      const gadget = (spec: Obj) => ({ apiVersion: 'harness.example.dev/v1', kind: 'Gadget', metadata: { name: uniqueName('g') }, spec });
      expect((await rawRequest('POST', url, { body: gadget({ size: 3, timeout: '5m' }) })).status).toBe(201);
      const cel = await rawRequest('POST', url, { body: gadget({ size: -1 }), query: { dryRun: 'All' } });
      expect([cel.status, cel.body.message]).toEqual([422, expect.stringContaining('size must not be negative')]);
      const strict = await rawRequest('POST', url, { body: gadget({ size: 1, sise: 2 }), query: { dryRun: 'All', fieldValidation: 'Strict' } });
      expect([strict.status, strict.body.message]).toEqual([400, expect.stringContaining('unknown field "spec.sise"')]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test("the repository's CRDs are accepted by the real apiextensions server", async () => {
    const names = await applyCrds(REPO_CRD_DIR);
    expect(names.length).toBeGreaterThan(0);
  });

  test('deletes: finalizers are honoured, propagationPolicy Foreground does not hang (no GC)', async () => {
    const cm = `/api/v1/namespaces/${ns}/configmaps`;
    await kubeRequest('POST', cm, { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'fin', finalizers: ['kubeopencode.io/test'] } } });
    await kubeRequest('DELETE', `${cm}/fin`);
    expect((await kubeRequest('GET', `${cm}/fin`)).metadata.deletionTimestamp).toBeDefined();
    await kubeRequest('PATCH', `${cm}/fin`, { contentType: 'application/merge-patch+json', body: { metadata: { finalizers: null } } });
    expect((await rawRequest('GET', `${cm}/fin`)).status).toBe(404);

    await apps.createNamespacedDeployment({ namespace: ns, body: deployment('fg'), fieldManager: FIELD_MANAGER });
    await apps.deleteNamespacedDeployment({ namespace: ns, name: 'fg', propagationPolicy: 'Foreground' });
    expect((await rawRequest('GET', `/apis/apps/v1/namespaces/${ns}/deployments/fg`)).status).toBe(404);
  });

  test('errors carry the server status; waitFor reports timeouts', async () => {
    await expect(kubeRequest('GET', `/api/v1/namespaces/${ns}/configmaps/nope`)).rejects.toBeInstanceOf(KubeError);
    await expect(kubeRequest('GET', `/api/v1/namespaces/${ns}/configmaps/nope`)).rejects.toMatchObject({ status: 404 });
    await expect(waitFor(() => false, 100, { what: 'never' })).rejects.toThrow(/waitFor never: timed out after 100 ms/);
  });
});

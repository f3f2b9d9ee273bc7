import { KubeOpenCodeController } from '../../src';
import { chart, synth } from '../util/synth';

describe('KubeOpenCodeController', () => {
  const c = chart();
  new KubeOpenCodeController(c, 'controller');
  const m = synth(c);

  test('namespace, the five CRDs, ServiceAccount, RBAC, Deployment and metrics Service', () => {
    expect(m.find('Namespace', 'kubeopencode-system')).toBeDefined();
    expect(m.all('CustomResourceDefinition').map((x) => x.metadata.name).sort()).toEqual([
      'agents.kubeopencode.io', 'agenttemplates.kubeopencode.io', 'crontasks.kubeopencode.io', 'kubeopencodeconfigs.kubeopencode.io', 'tasks.kubeopencode.io',
    ]);
    for (const crd of m.all('CustomResourceDefinition')) expect(crd.metadata.namespace).toBeUndefined();
    expect(m.find('ServiceAccount', 'kubeopencode-controller').metadata.namespace).toBe('kubeopencode-system');
    expect(m.find('Service', 'kubeopencode-controller-metrics').spec.ports[0].port).toBe(8080);
  });

  test('least privilege: no wildcard anywhere in the RBAC', () => {
    for (const kind of ['ClusterRole', 'Role']) {
      for (const r of m.all(kind)) {
        for (const rule of r.rules) {
          for (const k of ['apiGroups', 'resources', 'verbs', 'resourceNames']) expect(rule[k] ?? []).not.toContain('*');
        }
      }
    }
    const lease = m.find('Role', 'kubeopencode-controller-leader-election');
    expect(lease.rules).toContainEqual({ apiGroups: ['coordination.k8s.io'], resources: ['leases'], resourceNames: ['kubeopencode-controller'], verbs: ['get', 'update', 'patch'] });
    const cluster = m.find('ClusterRole', 'kubeopencode-controller');
    // it never deletes Agents or anything synth made; it only deletes Tasks (cleanup) and Task pods
    const deletable = cluster.rules.filter((r: any) => r.verbs.includes('delete')).flatMap((r: any) => r.resources);
    expect(deletable.sort()).toEqual(['pods', 'tasks']);
  });

  test('the Deployment: restricted security context, probes on /healthz and /readyz', () => {
    const d = m.find('Deployment', 'kubeopencode-controller');
    const pod = d.spec.template.spec;
    const [ctr] = pod.containers;
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(ctr.securityContext).toEqual({ allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' }, readOnlyRootFilesystem: true });
    expect(ctr.livenessProbe.httpGet.path).toBe('/healthz');
    expect(ctr.readinessProbe.httpGet.path).toBe('/readyz');
    expect(ctr.image).not.toMatch(/:latest$/);
  });

  test('bad input', () => {
    expect(() => new KubeOpenCodeController(chart(), 'c', { replicas: 0 })).toThrow(/KubeOpenCodeController 'test\/c': replicas: 0 must be a positive integer/);
    expect(() => new KubeOpenCodeController(chart(), 'c', { namespace: 'Bad_NS' })).toThrow(/namespace: 'Bad_NS' is not a namespace name/);
  });
});

/**
 * What the controller's caches keep. The task-pod cache keeps identity and the status admission reads (a Task whose pod
 * ended frees its slot on the pod's event), not the spec; the informer caches the very object its callbacks get, so
 * slimming is in place.
 */
import { dropManagedFields, taskPodSummary } from '../../src/controller/kube/watcher';

const pod = () => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name: 't-pod', namespace: 'ns', uid: 'u1', resourceVersion: '42', generation: 1,
    labels: { 'kubeopencode.io/task': 't' },
    annotations: { big: 'x'.repeat(4096) },
    ownerReferences: [{ apiVersion: 'kubeopencode.io/v1alpha1', kind: 'Task', name: 't', uid: 'tu', controller: true }],
    managedFields: [{ manager: 'kubeopencode-controller', fieldsV1: { 'f:spec': {} } }],
    creationTimestamp: '2026-01-01T00:00:00Z',
  },
  spec: { containers: [{ name: 'agent', image: 'img', env: [{ name: 'A', value: 'x'.repeat(4096) }] }] },
  status: {
    phase: 'Succeeded',
    hostIP: '10.0.0.1',
    podIPs: [{ ip: '10.1.0.7' }],
    containerStatuses: [{ name: 'agent', state: { terminated: { exitCode: 0, reason: 'Completed' } } }],
  },
});

test('a task pod in the cache: identity, labels, owner and the status admission reads, the same object', () => {
  const p = pod();
  const kept = taskPodSummary(p as any);
  expect(kept).toBe(p);
  expect(kept).toEqual({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 't-pod', namespace: 'ns', uid: 'u1', resourceVersion: '42', labels: { 'kubeopencode.io/task': 't' },
      ownerReferences: p.metadata.ownerReferences, creationTimestamp: '2026-01-01T00:00:00Z',
    },
    status: { phase: 'Succeeded', containerStatuses: [{ name: 'agent', state: { terminated: { exitCode: 0, reason: 'Completed' } } }] },
  });
  expect(JSON.stringify(kept).length).toBeLessThan(600);
});

test('every other cache keeps the whole object but its managedFields', () => {
  const p = pod();
  const kept = dropManagedFields(p as any);
  expect(kept).toBe(p);
  expect(kept.metadata).not.toHaveProperty('managedFields');
  expect(kept.spec.containers[0].name).toBe('agent');
  expect(kept.status.phase).toBe('Succeeded');
});

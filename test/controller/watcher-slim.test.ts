/**
 * What the controller's caches keep. The task-pod cache only tells which Task to reconcile (the Task reconcile GETs its
 * pod), so it keeps identity alone; the informer caches the very object its callbacks get, so slimming is in place.
 */
import { dropManagedFields, identityOnly } from '../../src/controller/kube/watcher';

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
  status: { phase: 'Running' },
});

test('a task pod in the cache: identity, labels and owner only, the same object', () => {
  const p = pod();
  const kept = identityOnly(p as any);
  expect(kept).toBe(p);
  expect(kept).toEqual({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 't-pod', namespace: 'ns', uid: 'u1', resourceVersion: '42', labels: { 'kubeopencode.io/task': 't' }, ownerReferences: p.metadata.ownerReferences },
  });
  expect(JSON.stringify(kept).length).toBeLessThan(400);
});

test('every other cache keeps the whole object but its managedFields', () => {
  const p = pod();
  const kept = dropManagedFields(p as any);
  expect(kept).toBe(p);
  expect(kept.metadata).not.toHaveProperty('managedFields');
  expect(kept.spec.containers[0].name).toBe('agent');
  expect(kept.status.phase).toBe('Running');
});

/**
 * What the controller predicts a status write leaves (reconcile/shell.ts reads it until the write lands) must be what
 * the API server makes of it: JSON merge patch (RFC 7386) applied to the object as the decision saw it.
 */
import fc from 'fast-check';
import { mergePatch } from '../../src/controller/kube/convert';
import { statusPatchOf } from '../../src/controller/kube/executor';

describe('mergePatch (RFC 7386)', () => {
  // the RFC's own examples (appendix A)
  test.each([
    [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
    [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
    [{ a: 'b' }, { a: null }, {}],
    [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
    [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
    [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
    [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
    [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
    [['a', 'b'], ['c', 'd'], ['c', 'd']],
    [{ a: 'b' }, ['c'], ['c']],
    [{ a: 'foo' }, null, null],
    [{ a: 'foo' }, 'bar', 'bar'],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [[1, 2], { a: 'b', c: null }, { a: 'b' }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ])('%j patched with %j is %j', (target, patch, expected) => {
    expect(mergePatch(target, patch)).toEqual(expected);
  });

  test('changes neither argument, and patching with the result again changes nothing', () => {
    const json = fc.dictionary(fc.constantFrom('a', 'b', 'c'), fc.oneof(fc.constant(null), fc.integer(), fc.dictionary(fc.constantFrom('x', 'y'), fc.oneof(fc.constant(null), fc.string())) as fc.Arbitrary<unknown>));
    fc.assert(fc.property(json, json, (target, patch) => {
      const t = JSON.stringify(target);
      const p = JSON.stringify(patch);
      const out = mergePatch(target, patch);
      expect(JSON.stringify(target)).toBe(t);
      expect(JSON.stringify(patch)).toBe(p);
      expect(mergePatch(out, patch)).toEqual(out);
    }));
  });
});

describe('statusPatchOf: the prediction of a status write', () => {
  const task = {
    metadata: { name: 't', namespace: 'ns', uid: 'u1', resourceVersion: '41', generation: 2 },
    spec: { agentRef: { name: 'agent' } },
    status: { phase: 'Queued', conditions: [{ type: 'Queued', status: 'True', reason: 'AgentAtCapacity', message: 'm', lastTransitionTime: '2026-01-05T09:00:00Z' }] },
  };

  test('a Running write: phase, startTime and podName set, the Queued condition upserted, resourceVersion kept as the guard', () => {
    const now = Date.UTC(2026, 0, 5, 9, 1, 0);
    const w = { kind: 'patchTaskStatus' as const, namespace: 'ns', name: 't', uid: 'u1', status: { phase: 'Running' as const, startTime: now, podName: 't-pod', conditions: [{ type: 'Queued', status: 'False' as const, reason: 'Started', message: 'Left the queue and started', lastTransitionTime: now }] } };
    const body = statusPatchOf(w, task);
    expect(body.metadata).toEqual({ uid: 'u1', resourceVersion: '41' });
    const predicted = mergePatch(task, body);
    expect(predicted.metadata.resourceVersion).toBe('41');
    expect(predicted.spec).toEqual(task.spec);
    expect(predicted.status).toEqual({
      phase: 'Running',
      podName: 't-pod',
      startTime: '2026-01-05T09:01:00Z',
      observedGeneration: 2,
      conditions: [{ type: 'Queued', status: 'False', reason: 'Started', message: 'Left the queue and started', lastTransitionTime: '2026-01-05T09:01:00Z', observedGeneration: 2 }],
    });
  });

  test('an Agent ledger write replaces taskStartHistory and leaves the rest of the status', () => {
    const agent = { metadata: { name: 'agent', namespace: 'ns', resourceVersion: '7' }, status: { ready: true, idleSince: '2026-01-05T08:00:00Z', taskStartHistory: [{ taskName: 'old', startTime: '2026-01-05T07:00:00Z' }] } };
    const w = { kind: 'patchAgentStatus' as const, namespace: 'ns', name: 'agent', status: { taskStartHistory: [{ taskName: 't', startTime: Date.UTC(2026, 0, 5, 9, 0, 0) }], idleSince: null } };
    const predicted = mergePatch(agent, statusPatchOf(w, agent));
    expect(predicted.status).toEqual({ ready: true, taskStartHistory: [{ taskName: 't', startTime: '2026-01-05T09:00:00Z' }] });
  });
});

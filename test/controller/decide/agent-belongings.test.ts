import fc from 'fast-check';
import {
  agentBelongings,
  decideOwnerReferences,
  decideServerAuthSecret,
  type Belonging,
  type BelongingsAgentView,
  type OwnableView,
  type Write,
} from '../../../src/controller/decide';
import { T0 } from './cluster-model';
import { NS } from './fixtures';

const agent: BelongingsAgentView = { namespace: NS, name: 'agent', uid: 'uid-agent' };
const OWNER = { apiVersion: 'kubeopencode.io/v1alpha1', kind: 'Agent', name: 'agent', uid: 'uid-agent', controller: false, blockOwnerDeletion: false };
const OTHER = { apiVersion: 'v1', kind: 'ConfigMap', name: 'x', uid: 'uid-x', controller: false, blockOwnerDeletion: false };
const deployment = (o: OwnableView = { resourceVersion: '7' }) => ({ name: 'agent-server', ...o });
const present = (b: Omit<Belonging, 'object'>, o: OwnableView = { resourceVersion: '1' }): Belonging => ({ ...b, object: o });
type OwnerWrite = Extract<Write, { kind: 'setOwnerReferences' }>;
const marked = (writes: readonly Write[]) => writes.map((w) => (w as OwnerWrite).name);

describe('Agent belongings: owner references', () => {
  test('the objects synth made: Service, context ConfigMap, task PodTemplate, and the PVCs persistence asks for', () => {
    expect(agentBelongings(agent).map((b) => `${b.resource}/${b.name}`)).toEqual(['services/agent', 'configmaps/agent-server-context', 'podtemplates/agent-task']);
    expect(agentBelongings({ ...agent, persistence: { sessions: {}, workspace: {} } }).map((b) => b.name).slice(3))
      .toEqual(['agent-server-sessions', 'agent-server-workspace']);
  });

  test('no Deployment yet, or one the Agent owns already: nothing to do (the Deployment is marked last)', () => {
    const all = agentBelongings(agent).map((b) => present(b));
    expect(decideOwnerReferences(agent, undefined, all, T0).writes).toEqual([]);
    expect(decideOwnerReferences(agent, deployment({ resourceVersion: '7', ownerReferences: [OWNER] }), all, T0).writes).toEqual([]);
  });

  test('every unowned object gets the reference next to the ones it has, guarded by its resourceVersion; the Deployment last', () => {
    const [svc, cm, tpl] = agentBelongings(agent);
    const d = decideOwnerReferences(agent, deployment(), [present(svc, { resourceVersion: '3', ownerReferences: [OTHER] }), present(cm, { ownerReferences: [OWNER] }), present(tpl)], T0);
    expect(marked(d.writes)).toEqual(['agent', 'agent-task', 'agent-server']);
    expect(d.writes[0]).toEqual({ kind: 'setOwnerReferences', namespace: NS, resource: 'services', name: 'agent', resourceVersion: '3', ownerReferences: [OTHER, OWNER] });
    expect(d.writes[2]).toMatchObject({ resource: 'deployments', resourceVersion: '7', ownerReferences: [OWNER] });
    expect(d.wakeAt).toBeUndefined();
  });

  test('an object not applied yet: the others are marked, the Deployment is not, and the decision comes back shortly', () => {
    const [svc, cm, tpl] = agentBelongings(agent);
    const d = decideOwnerReferences(agent, deployment(), [present(svc), { ...cm }, present(tpl)], T0);
    expect(marked(d.writes)).toEqual(['agent', 'agent-task']);
    expect(d.wakeAt).toBeGreaterThan(T0);
  });

  test('property: once every object exists, one decision owns them all, each once, and deciding again writes nothing', () => {
    const state = fc.record({ owned: fc.array(fc.boolean(), { minLength: 5, maxLength: 5 }), persistence: fc.boolean() });
    fc.assert(fc.property(state, ({ owned, persistence }) => {
      const a = { ...agent, persistence: persistence ? { sessions: {}, workspace: {} } : undefined };
      let objects = agentBelongings(a).map((b, i) => present(b, { resourceVersion: '1', ownerReferences: owned[i] ? [OWNER] : [] }));
      let dep = deployment({ resourceVersion: '7', ownerReferences: [] }); // marked last, so unowned while anything is
      const apply = (ws: readonly Write[]) => {
        for (const w of ws as OwnerWrite[]) {
          if (w.resource === 'deployments') dep = { ...dep, ownerReferences: w.ownerReferences };
          else objects = objects.map((o) => (o.name === w.name ? { ...o, object: { ownerReferences: w.ownerReferences } } : o));
        }
      };
      apply(decideOwnerReferences(a, dep, objects, T0).writes);
      expect(decideOwnerReferences(a, dep, objects, T0).writes).toEqual([]);
      for (const o of [...objects.map((x) => x.object!), dep]) expect(o.ownerReferences!.filter((r) => r.uid === OWNER.uid)).toHaveLength(1);
    }));
  });
});

describe('Agent belongings: the server password Secret', () => {
  test('missing: created under the default name and key, owned by the Agent', () => {
    expect(decideServerAuthSecret(agent, false).writes).toEqual([{
      kind: 'createServerAuthSecret', namespace: NS, agentName: 'agent', name: 'agent-server-auth', key: 'password', owner: OWNER,
    }]);
  });

  test("the Agent's own secretRef; nothing when it exists or when serverAuth is disabled", () => {
    const own = { ...agent, serverAuth: { secretRef: { name: 'mine', key: 'pw' } } };
    expect(decideServerAuthSecret(own, false).writes[0]).toMatchObject({ name: 'mine', key: 'pw' });
    expect(decideServerAuthSecret(own, true).writes).toEqual([]);
    expect(decideServerAuthSecret({ ...agent, serverAuth: { enabled: false } }, false).writes).toEqual([]);
  });
});

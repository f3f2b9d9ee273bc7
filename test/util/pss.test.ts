import { restrictedViolations } from './pss';

/** The checker against pods whose verdict the Pod Security Standards' table states, so it can fail. */
describe('restrictedViolations (Pod Security Standards, Restricted)', () => {
  const ok = { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' }, runAsNonRoot: true };
  const pod = (sc: object, extra: object = {}) => ({ containers: [{ name: 'c', image: 'i', securityContext: sc }], ...extra });

  test('admits a pod with the restricted settings', () => {
    expect(restrictedViolations(pod(ok))).toEqual([]);
    const { runAsNonRoot: _, seccompProfile: __, ...rest } = ok;
    expect(restrictedViolations(pod(rest, { securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } } }))).toEqual([]);
  });

  test.each<[string, object, object, RegExp]>([
    ['the old default (no runAsNonRoot)', { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' } }, {}, /runAsNonRoot != true/],
    ['escalation allowed', { ...ok, allowPrivilegeEscalation: true }, {}, /allowPrivilegeEscalation/],
    ['caps not dropped', { ...ok, capabilities: {} }, {}, /drop must include ALL/],
    ['a capability added', { ...ok, capabilities: { drop: ['ALL'], add: ['SYS_ADMIN'] } }, {}, /capabilities\.add/],
    ['no seccomp', { ...ok, seccompProfile: undefined }, {}, /seccompProfile/],
    ['root uid', { ...ok, runAsUser: 0 }, {}, /runAsUser = 0/],
    ['privileged', { ...ok, privileged: true }, {}, /privileged/],
    ['hostPath', ok, { volumes: [{ name: 'h', hostPath: { path: '/' } }] }, /hostPath/],
    ['hostNetwork', ok, { hostNetwork: true }, /hostNetwork/],
    ['container false beats pod true', { ...ok, runAsNonRoot: false }, { securityContext: { runAsNonRoot: true } }, /runAsNonRoot/],
  ])('refuses %s', (_what, sc, extra, why) => {
    expect(restrictedViolations(pod(sc, extra)).join('\n')).toMatch(why);
  });
});

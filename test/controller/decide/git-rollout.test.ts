import fc from 'fast-check';
import { CONDITIONS } from '../../../src/api';
import { REASONS } from '../../../src/api';
import { decideGitRollout, findCondition, gitHashAnnotation, type AgentView, type Decision, type GitRolloutInput } from '../../../src/controller/decide';
import { minutes, ModelCluster, T0 } from './cluster-model';
import { agentView, NS } from './fixtures';

const HOUR = minutes(60);
const input = (agent: AgentView, over: Partial<GitRolloutInput> = {}): GitRolloutInput => ({ agent, remoteHashes: { config: 'bbb' }, podTemplateAnnotations: {}, activeTaskCount: 0, ...over });
const synced = (hash = 'aaa', conditions: NonNullable<AgentView['status']>['conditions'] = []) => agentView({ status: { gitSyncStatuses: [{ name: 'config', commitHash: hash, lastSynced: T0 - HOUR }], conditions } });
const statusWrite = (d: Decision) => {
  const w = d.writes.find((x) => x.kind === 'patchAgentStatus');
  return w?.kind === 'patchAgentStatus' ? w.status : undefined;
};
/** The GitSyncPending condition the decision itself writes when it starts waiting at `since`. */
const pendingSince = (since: number) => statusWrite(decideGitRollout(input(synced(), { activeTaskCount: 1 }), since))!.conditions![0];

describe('Git Auto-Sync, Rollout policy (Task Protection)', () => {
  test('the first commit seen is recorded, nothing rolls', () => {
    const d = decideGitRollout(input(agentView()), T0);
    expect(d.writes).toEqual([{ kind: 'patchAgentStatus', namespace: NS, name: 'agent', status: { gitSyncStatuses: [{ name: 'config', commitHash: 'bbb', lastSynced: T0 }] } }]);
  });

  test('no active Tasks: proceeds with the rolling update immediately (annotation kubeopencode.io/git-hash-<ctx>)', () => {
    const d = decideGitRollout(input(synced()), T0);
    expect(d.writes[0]).toEqual({ kind: 'patchServerPodTemplate', namespace: NS, deploymentName: 'agent-server', annotations: { 'kubeopencode.io/git-hash-config': 'bbb' } });
    expect(statusWrite(d)?.gitSyncStatuses).toEqual([{ name: 'config', commitHash: 'bbb', lastSynced: T0 }]);
    expect(gitHashAnnotation('config')).toBe('kubeopencode.io/git-hash-config');
  });

  test('active Tasks exist: sets GitSyncPending and waits (no roll, the old commit stays recorded)', () => {
    const d = decideGitRollout(input(synced(), { activeTaskCount: 2 }), T0);
    expect(d.writes.map((w) => w.kind)).toEqual(['patchAgentStatus']);
    expect(statusWrite(d)).toEqual({ conditions: [expect.objectContaining({ type: CONDITIONS.gitSyncPending, status: 'True', reason: REASONS.waitingForTasks, lastTransitionTime: T0 })] });
    expect(d.wakeAt).toBe(T0 + HOUR);
  });

  test('safety timeout (1 hour from the condition\'s lastTransitionTime): forces the rollout even if Tasks are still running', () => {
    const agent = synced('aaa', [pendingSince(T0)]);
    expect(decideGitRollout(input(agent, { activeTaskCount: 1 }), T0 + HOUR - 1)).toEqual({ writes: [], wakeAt: T0 + HOUR });
    const d = decideGitRollout(input(agent, { activeTaskCount: 1 }), T0 + HOUR);
    expect(d.writes[0]).toMatchObject({ kind: 'patchServerPodTemplate', annotations: { 'kubeopencode.io/git-hash-config': 'bbb' } });
    expect(statusWrite(d)?.conditions).toEqual([expect.objectContaining({ status: 'False', reason: REASONS.upToDate })]);
  });

  test('a newer commit while waiting keeps the original deadline (no starvation)', () => {
    const agent = synced('aaa', [pendingSince(T0)]);
    const d = decideGitRollout(input(agent, { activeTaskCount: 1, remoteHashes: { config: 'ccc' } }), T0 + minutes(30));
    expect(d).toEqual({ writes: [], wakeAt: T0 + HOUR });
  });

  test('after a crash between the roll and the status write, the commit is only recorded', () => {
    const d = decideGitRollout(input(synced(), { activeTaskCount: 3, podTemplateAnnotations: { 'kubeopencode.io/git-hash-config': 'bbb' } }), T0);
    expect(d.writes).toEqual([{ kind: 'patchAgentStatus', namespace: NS, name: 'agent', status: { gitSyncStatuses: [{ name: 'config', commitHash: 'bbb', lastSynced: T0 }] } }]);
  });

  test('an unchanged commit and a failed lookup change nothing', () => {
    expect(decideGitRollout(input(synced('bbb')), T0).writes).toEqual([]);
    expect(decideGitRollout(input(synced('aaa'), { remoteHashes: {} }), T0).writes).toEqual([]);
  });
});

describe('decideGitRollout on a model cluster', () => {
  type Command = { kind: 'push' } | { kind: 'tasks'; count: number } | { kind: 'advance'; ms: number } | { kind: 'decide'; crashAfter?: number };
  const commandArb: fc.Arbitrary<Command> = fc.oneof(
    fc.constant({ kind: 'push' as const }),
    fc.record({ kind: fc.constant('tasks' as const), count: fc.integer({ min: 0, max: 3 }) }),
    fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: minutes(40) }) }),
    fc.record({ kind: fc.constant('decide' as const), crashAfter: fc.option(fc.integer({ min: 0, max: 1 }), { nil: undefined }) }),
  );

  test('rolls only without active Tasks or after an hour of waiting; always ends up on the newest commit', () => {
    fc.assert(
      fc.property(fc.array(commandArb, { minLength: 1, maxLength: 40, size: 'medium' }), (commands) => {
        const model = new ModelCluster(T0);
        const key = `${NS}/agent`;
        model.agents.set(key, agentView());
        let remote = 'c0';
        let pushes = 0;
        let active = 0;
        const agent = () => model.agents.get(key)!;
        const annotations = () => model.podTemplateAnnotations.get(`${NS}/agent-server`) ?? {};
        model.onWrite = (w, m) => {
          if (w.kind !== 'patchServerPodTemplate') return;
          const pending = findCondition(m.agents.get(key)!.status?.conditions, CONDITIONS.gitSyncPending);
          const forced = pending?.status === 'True' && m.now >= pending.lastTransitionTime + HOUR;
          expect(active === 0 || forced).toBe(true);
        };
        const decide = (crashAfter = Infinity) => {
          const d = decideGitRollout({ agent: agent(), remoteHashes: { config: remote }, podTemplateAnnotations: annotations(), activeTaskCount: active }, model.now);
          model.applyAll(d.writes, crashAfter);
          if (d.wakeAt !== undefined) expect(d.wakeAt).toBeGreaterThan(model.now);
          if (crashAfter >= d.writes.length) {
            expect(decideGitRollout({ agent: agent(), remoteHashes: { config: remote }, podTemplateAnnotations: annotations(), activeTaskCount: active }, model.now).writes).toEqual([]);
          }
          return d;
        };
        for (const c of commands) {
          if (c.kind === 'push') remote = `c${++pushes}`;
          if (c.kind === 'tasks') active = c.count;
          if (c.kind === 'advance') model.now += c.ms;
          if (c.kind === 'decide') decide(c.crashAfter);
        }
        // Tasks keep running forever: deciding at wakeAt alone gets the newest commit rolled out within the hour.
        const first = decide();
        if (agent().status?.gitSyncStatuses?.[0]?.commitHash !== remote) {
          expect(first.wakeAt).toBeDefined();
          expect(first.wakeAt! - model.now).toBeLessThanOrEqual(HOUR);
          model.now = first.wakeAt!;
          decide();
        }
        expect(agent().status?.gitSyncStatuses).toEqual([expect.objectContaining({ name: 'config', commitHash: remote })]);
        // Once anything rolled, the pod template carries the recorded commit.
        const annotated = annotations()['kubeopencode.io/git-hash-config'];
        if (annotated !== undefined) expect(annotated).toBe(remote);
        expect(findCondition(agent().status?.conditions, CONDITIONS.gitSyncPending)?.status ?? 'False').toBe('False');
      }),
      { numRuns: 300 },
    );
  });
});

import fc from 'fast-check';
import { CONDITIONS, REASONS } from '../../../src/api';
import { decideStandby, findCondition, heartbeatStaleness, isActive, type AgentView, type Decision, type TaskView } from '../../../src/controller/decide';
import { minutes, ModelCluster, T0 } from './cluster-model';
import { agentView, NS, taskView } from './fixtures';

const standbyAgent = (overrides: Partial<AgentView> = {}) => agentView({ spec: { standby: { idleTimeout: '30m' } }, ...overrides });
const done = (name: string, completionTime: number): TaskView => taskView(name, { status: { phase: 'Completed', startTime: completionTime - 1000, completionTime } });
const specWrite = (d: Decision) => d.writes.find((w) => w.kind === 'patchAgentSpec');
const statusWrite = (d: Decision) => {
  const w = d.writes.find((x) => x.kind === 'patchAgentStatus');
  return w?.kind === 'patchAgentStatus' ? w.status : undefined;
};
const suspendedCondition = (d: Decision) => statusWrite(d)?.conditions?.find((c) => c.type === CONDITIONS.suspended);

describe('Standby (automatic suspend/resume)', () => {
  test('all Tasks complete → the idle timer starts (status.idleSince = when the last one ended)', () => {
    const d = decideStandby(standbyAgent(), [done('a', T0 - minutes(5)), done('b', T0 - minutes(2))], T0);
    expect(statusWrite(d)?.idleSince).toBe(T0 - minutes(2));
    expect(specWrite(d)).toBeUndefined();
    expect(d.wakeAt).toBe(T0 - minutes(2) + minutes(30));
  });

  test('after idleTimeout with no new Tasks → spec.suspend = true, condition Suspended/Standby', () => {
    const agent = standbyAgent({ status: { ready: true, idleSince: T0 - minutes(30) } });
    const d = decideStandby(agent, [done('a', T0 - minutes(30))], T0);
    expect(d.writes.map((w) => w.kind)).toEqual(['patchAgentStatus', 'patchAgentSpec']); // the condition first: see standby.ts
    expect(specWrite(d)).toEqual({ kind: 'patchAgentSpec', namespace: NS, name: 'agent', spec: { suspend: true } });
    expect(suspendedCondition(d)).toMatchObject({ status: 'True', reason: REASONS.standby });
    expect(decideStandby(agent, [], T0 - 1).writes.some((w) => w.kind === 'patchAgentSpec')).toBe(false);
  });

  test('a new Task arrives → spec.suspend = false, idleSince removed, condition Active', () => {
    const agent = standbyAgent({ spec: { standby: { idleTimeout: '30m' }, suspend: true }, status: { idleSince: T0 - minutes(90) } });
    const d = decideStandby(agent, [taskView('new')], T0);
    expect(d.writes[0]).toEqual({ kind: 'patchAgentSpec', namespace: NS, name: 'agent', spec: { suspend: false } });
    expect(statusWrite(d)?.idleSince).toBeNull();
    expect(suspendedCondition(d)).toMatchObject({ status: 'False', reason: REASONS.active });
  });

  test('manual override: a manual suspend holds until a Task arrives; a manual resume restarts the idle timer', () => {
    const suspended = { type: CONDITIONS.suspended, status: 'True' as const, reason: REASONS.standby, message: 'x', lastTransitionTime: T0 - minutes(60) };
    const manual = standbyAgent({ spec: { standby: { idleTimeout: '30m' }, suspend: true }, status: { idleSince: T0 - minutes(60) } });
    expect(specWrite(decideStandby(manual, [done('a', T0 - minutes(60))], T0))).toBeUndefined();
    const resumed = standbyAgent({ status: { idleSince: T0 - minutes(60), conditions: [suspended] } });
    const d = decideStandby(resumed, [done('a', T0 - minutes(60))], T0);
    expect(specWrite(d)).toBeUndefined(); // not suspended again at once
    expect(statusWrite(d)?.idleSince).toBe(T0);
    expect(d.wakeAt).toBe(T0 + minutes(30));
  });

  test('a Task being stopped does not keep the Agent awake', () => {
    const stopping = taskView('s', { annotations: { 'kubeopencode.io/stop': 'true' }, status: { phase: 'Running', startTime: T0 - minutes(40) } });
    const agent = standbyAgent({ status: { idleSince: T0 - minutes(31) } });
    expect(specWrite(decideStandby(agent, [stopping], T0))).toMatchObject({ spec: { suspend: true } });
  });
});

describe('Standby and an attached client (connection heartbeat)', () => {
  const seconds = (n: number) => n * 1000;
  const condition = (d: Decision, type: string) => statusWrite(d)?.conditions?.find((c) => c.type === type);

  test('a heartbeat fresher than 2m keeps the Agent awake past idleTimeout; ConnectionActive=True; decide again when it goes stale', () => {
    const hb = T0 - seconds(30);
    const agent = standbyAgent({ lastConnectionActive: hb, status: { ready: true, idleSince: T0 - minutes(45) } });
    const d = decideStandby(agent, [done('a', T0 - minutes(45))], T0);
    expect(specWrite(d)).toBeUndefined();
    expect(statusWrite(d)?.idleSince).toBeNull(); // not idle while someone works in the server
    expect(condition(d, CONDITIONS.connectionActive)).toMatchObject({ status: 'True', reason: REASONS.heartbeatFresh });
    expect(d.wakeAt).toBe(hb + minutes(2));
  });

  test('a stale heartbeat no longer counts, but the idle timer starts from it, not from the last Task', () => {
    const hb = T0 - minutes(3);
    const agent = standbyAgent({ lastConnectionActive: hb, status: { ready: true } });
    const d = decideStandby(agent, [done('a', T0 - minutes(50))], T0);
    expect(specWrite(d)).toBeUndefined();
    expect(statusWrite(d)?.idleSince).toBe(hb);
    expect(d.wakeAt).toBe(hb + minutes(30));
    expect(condition(d, CONDITIONS.connectionActive)).toMatchObject({ status: 'False', reason: REASONS.heartbeatStale });
    const later = standbyAgent({ lastConnectionActive: hb, status: { ready: true, idleSince: hb } });
    expect(specWrite(decideStandby(later, [], hb + minutes(30)))).toMatchObject({ spec: { suspend: true } });
  });

  test('the exact edge: a heartbeat exactly the staleness window old is stale', () => {
    const agent = standbyAgent({ lastConnectionActive: T0 - minutes(2), status: { ready: true, idleSince: T0 - minutes(40) } });
    expect(condition(decideStandby(agent, [], T0 - 1), CONDITIONS.connectionActive)?.status).toBe('True');
    expect(condition(decideStandby(agent, [], T0), CONDITIONS.connectionActive)?.status).toBe('False');
  });

  test('an annotation that is not an RFC 3339 time is no heartbeat (the adapter parses it)', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { toAgentView } = require('../../../src/controller/kube/convert');
    const meta = (v: string) => ({ metadata: { namespace: NS, name: 'a', creationTimestamp: '2026-01-01T00:00:00Z', annotations: { 'kubeopencode.io/last-connection-active': v } } });
    expect(toAgentView(meta('2026-01-01T00:01:00Z'), undefined).lastConnectionActive).toBe(Date.parse('2026-01-01T00:01:00Z'));
    expect(toAgentView(meta('yesterday'), undefined).lastConnectionActive).toBeUndefined();
    expect(toAgentView(meta('1700000000'), undefined).lastConnectionActive).toBeUndefined();
  });

  test('idleTimeout shorter than 2m: StandbyConfigWarning/IdleTimeoutTooShort, staleness max(idleTimeout/2, 90s)', () => {
    expect([seconds(30), seconds(90), seconds(119), minutes(2), minutes(30)].map(heartbeatStaleness)).toEqual([seconds(90), seconds(90), seconds(90), minutes(2), minutes(2)]);
    expect(heartbeatStaleness(undefined)).toBe(minutes(2));
    // 30s idleTimeout, heartbeat 40s ago: stale after 30s by idleTimeout, but the window is 90s, so still attached
    const short = agentView({ lastConnectionActive: T0 - seconds(40), spec: { standby: { idleTimeout: '30s' } }, status: { ready: true, idleSince: T0 - minutes(5) } });
    const d = decideStandby(short, [], T0);
    expect(specWrite(d)).toBeUndefined();
    expect(condition(d, CONDITIONS.standbyConfigWarning)).toMatchObject({ status: 'True', reason: REASONS.idleTimeoutTooShort });
    expect(condition(d, CONDITIONS.standbyConfigWarning)?.message).toMatch(/idleTimeout \(30s\).*120s.*90s/);
    expect(specWrite(decideStandby(short, [], T0 + seconds(50)))).toMatchObject({ spec: { suspend: true } });
  });

  test('a client that writes every 60 s is never taken for gone, even with the shortest idleTimeout', () => {
    for (const idleTimeout of ['1s', '30s', '1m', '90s', '2m', '30m']) {
      // a decision woken exactly when the last heartbeat would go stale, just before the next write lands
      for (const at of [seconds(60), seconds(60) + 500]) {
        const agent = agentView({ lastConnectionActive: T0, spec: { standby: { idleTimeout } }, status: { ready: true, idleSince: T0 - minutes(60) } });
        expect(specWrite(decideStandby(agent, [], T0 + at))).toBeUndefined();
      }
    }
  });

  test('the warning goes away when idleTimeout is long enough again', () => {
    const warned = { type: CONDITIONS.standbyConfigWarning, status: 'True' as const, reason: REASONS.idleTimeoutTooShort, message: 'x', lastTransitionTime: T0 - minutes(60) };
    const d = decideStandby(standbyAgent({ status: { ready: true, conditions: [warned] } }), [], T0);
    expect(statusWrite(d)?.removeConditions).toEqual([CONDITIONS.standbyConfigWarning]);
    expect(statusWrite(decideStandby(standbyAgent(), [], T0))?.removeConditions).toBeUndefined();
  });

  test('without standby the heartbeat only drives ConnectionActive (and the wake-up that flips it)', () => {
    const d = decideStandby(agentView({ lastConnectionActive: T0 - seconds(10) }), [], T0);
    expect(specWrite(d)).toBeUndefined();
    expect(condition(d, CONDITIONS.connectionActive)?.status).toBe('True');
    expect(d.wakeAt).toBe(T0 - seconds(10) + minutes(2));
    expect(condition(decideStandby(agentView(), [], T0), CONDITIONS.connectionActive)).toBeUndefined(); // never attached: no condition
  });
});

describe('Suspend without standby', () => {
  test('condition Suspended True/UserRequested; Tasks never resume it; no idle timer', () => {
    const agent = agentView({ spec: { suspend: true }, status: { idleSince: T0 - minutes(5) } });
    const d = decideStandby(agent, [taskView('t')], T0);
    expect(specWrite(d)).toBeUndefined();
    expect(suspendedCondition(d)).toMatchObject({ status: 'True', reason: REASONS.userRequested });
    expect(statusWrite(d)?.idleSince).toBeNull();
    expect(d.wakeAt).toBeUndefined();
  });

  test('running normally: condition Suspended False/Active', () => {
    expect(suspendedCondition(decideStandby(agentView(), [], T0))).toMatchObject({ status: 'False', reason: REASONS.active });
  });
});

// ---------------------------------------------------------------------------------------------------------------

type Command =
  | { kind: 'arrive' }
  | { kind: 'finish'; pick: number }
  | { kind: 'advance'; ms: number }
  | { kind: 'userSuspend'; value: boolean }
  | { kind: 'decide'; crashAfter?: number }
  | { kind: 'heartbeat' };

const commandArb: fc.Arbitrary<Command> = fc.oneof(
  fc.constant({ kind: 'arrive' as const }),
  fc.record({ kind: fc.constant('finish' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: minutes(40) }) }),
  fc.record({ kind: fc.constant('userSuspend' as const), value: fc.boolean() }),
  fc.record({ kind: fc.constant('decide' as const), crashAfter: fc.option(fc.integer({ min: 0, max: 1 }), { nil: undefined }) }),
  fc.record({ kind: fc.constant('decide' as const), crashAfter: fc.constant(undefined) }),
  fc.constant({ kind: 'heartbeat' as const }),
);

describe('decideStandby on a model cluster', () => {
  test('suspends only after idleTimeout without Tasks, resumes for any active Task, and is idempotent', () => {
    fc.assert(
      fc.property(fc.constantFrom('30s', '1m', '90s', '30m', '1h'), fc.array(commandArb, { minLength: 5, maxLength: 50, size: 'medium' }), (idleTimeout, commands) => {
        const timeoutMs = { '30s': 30_000, '1m': minutes(1), '90s': 90_000, '30m': minutes(30), '1h': minutes(60) }[idleTimeout];
        const staleness = heartbeatStaleness(timeoutMs);
        let heartbeat: number | undefined;
        const model = new ModelCluster(T0);
        const key = `${NS}/agent`;
        model.agents.set(key, agentView({ creationTimestamp: T0, spec: { standby: { idleTimeout } } }));
        let lastActivity = T0; // the latest of: a Task finishing, a Task existing, a resume by anyone
        let n = 0;
        model.onWrite = (w, m) => {
          if (w.kind !== 'patchAgentSpec') return;
          if (w.spec.suspend) {
            expect(m.taskList().some(isActive)).toBe(false);
            expect(m.now - lastActivity).toBeGreaterThanOrEqual(timeoutMs);
            // never while a client is attached
            if (heartbeat !== undefined) expect(m.now - heartbeat).toBeGreaterThanOrEqual(staleness);
          } else {
            expect(m.taskList().some(isActive)).toBe(true);
          }
        };
        const agent = () => model.agents.get(key)!;
        const decide = (crashAfter = Infinity) => {
          const d = decideStandby(agent(), model.taskList(), model.now);
          model.applyAll(d.writes, crashAfter);
          if (crashAfter >= d.writes.length) expect(decideStandby(agent(), model.taskList(), model.now).writes).toEqual([]);
          if (d.wakeAt !== undefined) expect(d.wakeAt).toBeGreaterThan(model.now);
          return d;
        };
        for (const c of commands) {
          if (c.kind === 'arrive') model.addTask({ namespace: NS, name: `t${n++}`, spec: { agentRef: { name: 'agent' } } });
          if (c.kind === 'finish') {
            const active = model.taskList().filter(isActive);
            const t = active[c.pick % Math.max(1, active.length)];
            if (t) model.setTask({ ...t, status: { phase: 'Completed', completionTime: model.now } });
          }
          if (c.kind === 'advance') model.now += c.ms;
          if (c.kind === 'heartbeat') {
            heartbeat = model.now;
            lastActivity = Math.max(lastActivity, model.now);
            model.agents.set(key, { ...agent(), lastConnectionActive: heartbeat });
          }
          if (c.kind === 'userSuspend') {
            // A resume restarts the idle timer when the controller had seen the suspension (condition Suspended=True):
            // a suspend and resume both between two decisions leave no trace to go by.
            const seen = findCondition(agent().status?.conditions, CONDITIONS.suspended)?.status === 'True';
            if (seen && !c.value) lastActivity = Math.max(lastActivity, model.now);
            model.agents.set(key, { ...agent(), spec: { ...agent().spec, suspend: c.value } });
          }
          if (model.taskList().some(isActive)) lastActivity = model.now;
          if (c.kind === 'decide') decide(c.crashAfter);
          // After a full decision with an active Task, the Agent is never left suspended.
          if (c.kind === 'decide' && c.crashAfter === undefined && model.taskList().some(isActive)) expect(agent().spec.suspend ?? false).toBe(false);
        }

        // Drain: every Task finishes; deciding on events and at wakeAt alone suspends the Agent exactly on time.
        for (const t of model.taskList().filter(isActive)) {
          model.setTask({ ...t, status: { phase: 'Completed', completionTime: model.now } });
          lastActivity = model.now;
        }
        for (let i = 0; i < 5; i++) {
          const d = decide();
          if (agent().spec.suspend) break;
          expect(d.wakeAt).toBeDefined();
          model.now = d.wakeAt!;
        }
        expect(agent().spec.suspend).toBe(true);
        expect(findCondition(agent().status?.conditions, CONDITIONS.suspended)).toMatchObject({ status: 'True', reason: REASONS.standby });
      }),
      { numRuns: 300 },
    );
  });
});

import { CONDITIONS } from '../../../src/api';
import { REASONS } from '../../../src/api';
import { decideCronTask, type CronTaskView, type Decision, type TaskView } from '../../../src/controller/decide';
import { minutes, T0 } from './cluster-model';
import { cronTaskView, NS, taskView } from './fixtures';

// T0 is Monday 2026-01-05 09:00 UTC; the default schedule is "0 9 * * 1-5" (UTC).
const unix = (t: number) => Math.floor(t / 1000);
const created = (d: Decision) => d.writes.flatMap((w) => (w.kind === 'createTask' ? [w.task.name] : []));
const statusOf = (d: Decision) => {
  const w = d.writes.find((x) => x.kind === 'patchCronTaskStatus');
  return w?.kind === 'patchCronTaskStatus' ? w.status : undefined;
};
const readyReason = (d: Decision) => statusOf(d)?.conditions?.find((c) => c.type === CONDITIONS.ready)?.reason;
const child = (name: string, status?: TaskView['status'], annotations?: Record<string, string>): TaskView =>
  taskView(name, { labels: { 'kubeopencode.io/crontask': 'nightly' }, status, annotations });
const activeChild = (name = 'nightly-1') => child(name, { phase: 'Running', startTime: T0 - minutes(5) });
const doneChild = (name: string, completionTime = T0 - minutes(60)) => child(name, { phase: 'Completed', startTime: completionTime - 1000, completionTime });
const cron = (over: Parameters<typeof cronTaskView>[0] = {}): CronTaskView => cronTaskView({ creationTimestamp: T0 - minutes(60 * 24), ...over });

describe('CronTask basic usage', () => {
  test('at the due time it creates a Task {crontask}-{unix} with the crontask label, an owner reference and the template', () => {
    const ct = cron({ spec: { taskTemplate: { metadata: { labels: { team: 'sec' }, annotations: { note: 'x' } }, spec: { agentRef: { name: 'security-agent' }, description: 'Scan' } } } });
    const d = decideCronTask(ct, [], T0 + 5000);
    expect(d.writes[0]).toEqual({
      kind: 'createTask',
      namespace: NS,
      task: {
        name: `nightly-${unix(T0)}`,
        labels: { 'team': 'sec', 'kubeopencode.io/crontask': 'nightly' },
        annotations: { note: 'x' },
        ownerReferences: [{ apiVersion: 'kubeopencode.io/v1alpha1', kind: 'CronTask', name: 'nightly', uid: 'cron-uid', controller: true, blockOwnerDeletion: true }],
        spec: { agentRef: { name: 'security-agent' }, description: 'Scan' },
      },
    });
    expect(statusOf(d)).toMatchObject({ lastScheduleTime: T0, nextScheduleTime: T0 + minutes(24 * 60), active: 1, activeRefs: [{ name: `nightly-${unix(T0)}` }], totalExecutions: 1 });
    expect(d.wakeAt).toBe(T0 + minutes(24 * 60));
  });

  test('before the due time nothing is created; the timer is the next due time', () => {
    const d = decideCronTask(cron({ status: { lastScheduleTime: T0 - minutes(24 * 60) } }), [], T0 - 1);
    expect(created(d)).toEqual([]);
    expect(d.wakeAt).toBe(T0);
    expect(statusOf(d)).toMatchObject({ nextScheduleTime: T0 });
  });

  test('the time zone is honoured (default UTC): "0 9 * * 1-5" in Asia/Shanghai is due at 01:00 UTC', () => {
    const d = decideCronTask(cron({ spec: { timeZone: 'Asia/Shanghai' } }), [], T0);
    expect(created(d)).toEqual([`nightly-${unix(T0 - minutes(8 * 60))}`]);
  });

  test('deciding twice writes nothing the second time; a crash after the create is recovered by name', () => {
    const d = decideCronTask(cron(), [], T0);
    const name = `nightly-${unix(T0)}`;
    // the create happened, the status write did not: the existing child counts as the run (even at the limit)
    const again = decideCronTask(cron({ spec: { maxRetainedTasks: 1 } }), [child(name)], T0 + 1000);
    expect(created(again)).toEqual([]);
    expect(statusOf(again)).toMatchObject({ lastScheduleTime: T0, totalExecutions: 1 });
    const applied = cron({ status: { ...statusOf(d), nextScheduleTime: statusOf(d)!.nextScheduleTime ?? undefined } });
    expect(decideCronTask(applied, [child(name)], T0).writes).toEqual([]);
  });
});

describe('Concurrency Policy', () => {
  test('Forbid (default): skips the new Task while one is active; the run waits for it (unless its deadline passes)', () => {
    const d = decideCronTask(cron(), [activeChild()], T0);
    expect(created(d)).toEqual([]);
    expect(readyReason(d)).toBe(REASONS.activeTaskExists);
    expect(statusOf(d)?.lastScheduleTime).toBeUndefined();
    // the active Task finishes (a watch event): the run starts then
    expect(created(decideCronTask(cron(), [doneChild('nightly-1')], T0 + minutes(20)))).toEqual([`nightly-${unix(T0)}`]);
    const strict = cron({ spec: { startingDeadlineSeconds: 600 } });
    expect(decideCronTask(strict, [activeChild()], T0).wakeAt).toBe(T0 + minutes(10) + 1); // when it becomes too late
    expect(created(decideCronTask(strict, [doneChild('nightly-1')], T0 + minutes(10)))).toHaveLength(1);
    const late = decideCronTask(strict, [doneChild('nightly-1')], T0 + minutes(20));
    expect(created(late)).toEqual([]);
    expect(readyReason(late)).toBe(REASONS.missedDeadline);
  });

  test('Allow: creates the new Task regardless', () => {
    expect(created(decideCronTask(cron({ spec: { concurrencyPolicy: 'Allow' } }), [activeChild()], T0))).toEqual([`nightly-${unix(T0)}`]);
  });

  test('Replace: stops the running Task (kubeopencode.io/stop=true), creates the new one', () => {
    const running = activeChild('nightly-1');
    const d = decideCronTask(cron({ spec: { concurrencyPolicy: 'Replace' } }), [running, doneChild('nightly-0')], T0);
    expect(d.writes.slice(0, 2)).toEqual([
      { kind: 'annotateTask', namespace: NS, name: 'nightly-1', uid: running.uid, annotations: { 'kubeopencode.io/stop': 'true' } },
      expect.objectContaining({ kind: 'createTask', task: expect.objectContaining({ name: `nightly-${unix(T0)}` }) }),
    ]);
  });
});

describe('maxRetainedTasks', () => {
  test('counts ALL child Tasks (active + finished) and blocks creation, never deletes', () => {
    const children = [doneChild('a'), doneChild('b'), activeChild('c')];
    const d = decideCronTask(cron({ spec: { maxRetainedTasks: 3, concurrencyPolicy: 'Allow' } }), children, T0);
    expect(created(d)).toEqual([]);
    expect(d.writes.some((w) => w.kind === 'deleteTask')).toBe(false);
    expect(readyReason(d)).toBe(REASONS.maxRetainedTasksReached);
    // global cleanup deletes one (a watch event): the run is created then
    expect(created(decideCronTask(cron({ spec: { maxRetainedTasks: 3, concurrencyPolicy: 'Allow' } }), children.slice(1), T0 + 1000))).toEqual([`nightly-${unix(T0)}`]);
  });

  test('defaults to 10', () => {
    const ten = Array.from({ length: 10 }, (_, i) => doneChild(`old-${i}`));
    expect(created(decideCronTask(cron(), ten, T0))).toEqual([]);
    expect(created(decideCronTask(cron(), ten.slice(1), T0))).toHaveLength(1);
  });
});

describe('Manual Trigger (kubeopencode.io/trigger=true)', () => {
  // nothing due (the 09:00 run already happened), unless a test says otherwise
  const triggered = (over: Parameters<typeof cronTaskView>[0] = {}) => cron({ annotations: { 'kubeopencode.io/trigger': 'true' }, status: { lastScheduleTime: T0 }, ...over });
  const now = T0 + minutes(30) + 12_000;

  test('creates a Task at once and removes the annotation; the name is claimed first, so a crash never makes two', () => {
    const d = decideCronTask(triggered(), [], now);
    const seconds = unix(now);
    expect(d.writes.slice(0, 3)).toEqual([
      { kind: 'patchCronTaskAnnotations', namespace: NS, name: 'nightly', annotations: { 'kubeopencode.io/trigger': String(seconds) } },
      expect.objectContaining({ kind: 'createTask', task: expect.objectContaining({ name: `nightly-${seconds}` }) }),
      { kind: 'patchCronTaskAnnotations', namespace: NS, name: 'nightly', annotations: { 'kubeopencode.io/trigger': null } },
    ]);
    // crash after the claim: the claimed name is created later, not a new one
    const claimed = cron({ annotations: { 'kubeopencode.io/trigger': String(seconds) }, status: { lastScheduleTime: T0 } });
    expect(created(decideCronTask(claimed, [], now + minutes(5)))).toEqual([`nightly-${seconds}`]);
    // crash after the create: only the annotation goes
    expect(decideCronTask(claimed, [child(`nightly-${seconds}`)], now + minutes(5)).writes.filter((w) => w.kind !== 'patchCronTaskStatus')).toEqual([
      { kind: 'patchCronTaskAnnotations', namespace: NS, name: 'nightly', annotations: { 'kubeopencode.io/trigger': null } },
    ]);
  });

  test('a trigger at a due time: Replace stops only the older Tasks, Forbid makes the run wait for the triggered one', () => {
    const trigger = { 'kubeopencode.io/trigger': 'true' };
    const replace = decideCronTask(cron({ annotations: trigger, spec: { concurrencyPolicy: 'Replace' } }), [activeChild('nightly-1')], T0);
    expect(replace.writes.map((w) => w.kind)).toEqual(['patchCronTaskAnnotations', 'createTask', 'patchCronTaskAnnotations', 'annotateTask', 'createTask', 'patchCronTaskStatus']);
    expect(replace.writes.find((w) => w.kind === 'annotateTask')).toMatchObject({ name: 'nightly-1' });
    expect(created(replace)).toEqual([`nightly-${unix(T0) + 1}`, `nightly-${unix(T0)}`]);
    const forbid = decideCronTask(cron({ annotations: trigger }), [], T0);
    expect(created(forbid)).toEqual([`nightly-${unix(T0) + 1}`]);
    expect(readyReason(forbid)).toBe(REASONS.activeTaskExists);
  });

  test('a manual Task never takes a scheduled Task\'s name (those are whole minutes)', () => {
    expect(created(decideCronTask(triggered({ status: { lastScheduleTime: T0 } }), [], T0 + minutes(60)))).toEqual([`nightly-${unix(T0 + minutes(60)) + 1}`]);
  });

  test('works while suspended and whatever the concurrencyPolicy; maxRetainedTasks still blocks it', () => {
    expect(created(decideCronTask(triggered({ spec: { suspend: true } }), [activeChild()], now))).toHaveLength(1);
    const full = decideCronTask(triggered({ spec: { maxRetainedTasks: 1 } }), [doneChild('a')], now);
    expect(created(full)).toEqual([]);
    expect(full.writes[0]).toEqual({ kind: 'patchCronTaskAnnotations', namespace: NS, name: 'nightly', annotations: { 'kubeopencode.io/trigger': null } });
    expect(readyReason(full)).toBe(REASONS.maxRetainedTasksReached);
  });
});

describe('Suspend/Resume, missed schedules, invalid schedules', () => {
  test('suspend stops creating new Tasks (existing ones continue); nextScheduleTime is removed', () => {
    const d = decideCronTask(cron({ spec: { suspend: true }, status: { nextScheduleTime: T0 } }), [activeChild()], T0 + minutes(5));
    expect(created(d)).toEqual([]);
    expect(d.writes.some((w) => w.kind === 'annotateTask')).toBe(false);
    expect(statusOf(d)).toMatchObject({ nextScheduleTime: null, conditions: [expect.objectContaining({ status: 'False', reason: REASONS.suspended })] });
    expect(d.wakeAt).toBeUndefined();
  });

  test('after three days down, one Task for the most recent due time, not one per missed run', () => {
    const d = decideCronTask(cron({ status: { lastScheduleTime: T0 - minutes(4 * 24 * 60) } }), [], T0 + minutes(30));
    expect(created(d)).toEqual([`nightly-${unix(T0)}`]);
  });

  test('startingDeadlineSeconds: a run later than that is missed, the next one is awaited', () => {
    const d = decideCronTask(cron({ spec: { startingDeadlineSeconds: 300 } }), [], T0 + minutes(6));
    expect(created(d)).toEqual([]);
    expect(readyReason(d)).toBe(REASONS.missedDeadline);
    expect(d.wakeAt).toBe(T0 + minutes(24 * 60));
    expect(created(decideCronTask(cron({ spec: { startingDeadlineSeconds: 300 } }), [], T0 + minutes(5)))).toHaveLength(1);
  });

  test('an invalid schedule or time zone creates nothing and says why', () => {
    const d = decideCronTask(cron({ spec: { schedule: '0 0 9 * * *' } }), [], T0);
    expect(created(d)).toEqual([]);
    expect(statusOf(d)?.conditions?.[0]).toMatchObject({ status: 'False', reason: REASONS.invalidSchedule, message: expect.stringMatching(/needs 5/) });
    expect(d.wakeAt).toBeUndefined();
    expect(readyReason(decideCronTask(cron({ spec: { timeZone: 'Europe/Atlantis' } }), [], T0))).toBe(REASONS.invalidSchedule);
  });

  test('lastSuccessfulTime follows the newest Completed child', () => {
    const d = decideCronTask(cron({ status: { lastScheduleTime: T0 } }), [doneChild('a', T0 + 1000), doneChild('b', T0 + 5000), child('c', { phase: 'Failed', completionTime: T0 + 9000 })], T0 + 10_000);
    expect(statusOf(d)?.lastSuccessfulTime).toBe(T0 + 5000);
  });
});

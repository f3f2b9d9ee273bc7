/**
 * CronTask: creates Tasks `{crontask}-{unix seconds}` on a cron schedule, like a CronJob creates Jobs.
 *
 * Restart safety comes from the names: a scheduled Task is named after its due time, so creating it twice answers
 * AlreadyExists, and a due time whose Task already exists counts as done. A manual trigger claims its name in the
 * annotation first (`kubeopencode.io/trigger: "<unix seconds>"`), so a crash between creating the Task and removing
 * the annotation does not create a second one.
 */
import { ANNOTATIONS, ANNOTATION_TRUE, API_VERSION, CONDITIONS, DEFAULTS, LABELS, NAMES, REASONS } from '../../api';
import { conditionChange, type ConditionContent } from './conditions';
import { dueTimes, scheduleProblem, type CronSchedule } from './schedule';
import { byName, isFinished, isStopRequested } from './tasks';
import { earliest, iso, type EpochMs } from './time';
import type { CronTaskView, TaskView } from './views';
import { NOTHING, type CronTaskStatusPatch, type Decision, type NewTask, type Write } from './writes';

/**
 * Decides for one CronTask; `children` are all Tasks labelled `kubeopencode.io/crontask=<name>` in its namespace.
 *
 * - Manual trigger (`kubeopencode.io/trigger: "true"`): creates one Task at once, whatever concurrencyPolicy and
 *   suspend say (suspend pauses the schedule, not people), unless maxRetainedTasks is reached; the annotation is
 *   removed either way.
 * - Schedule (unless suspended or invalid): the most recent due time after max(creationTimestamp, lastScheduleTime)
 *   is run, older missed ones are not. With startingDeadlineSeconds, one more than that late is missed.
 *   maxRetainedTasks counts ALL children and blocks creation (never deletes). With active children, Forbid waits,
 *   Replace annotates them `kubeopencode.io/stop=true` and creates, Allow creates. A blocked due time is not consumed:
 *   it runs when the block goes away (a child finishes or is deleted), unless its deadline has passed by then.
 * - Writes, in order: claim the trigger, create the triggered Task, remove the trigger; stop annotations, create the
 *   scheduled Task; the status (lastScheduleTime, nextScheduleTime, active, activeRefs, lastSuccessfulTime,
 *   totalExecutions, condition Ready). wakeAt: the next due time, or when a blocked run becomes too late.
 */
export function decideCronTask(cronTask: CronTaskView, children: readonly TaskView[], now: EpochMs): Decision {
  const spec = cronTask.spec;
  const maxRetained = spec.maxRetainedTasks ?? DEFAULTS.cronMaxRetainedTasks;
  const names = new Set(children.map((c) => c.name));
  const active = children.filter((c) => !isFinished(c)).map((c) => c.name);
  const writes: Write[] = [];
  let created = 0;
  const create = (name: string) => {
    writes.push({ kind: 'createTask', namespace: cronTask.namespace, task: newTask(cronTask, name) });
    names.add(name);
    active.push(name);
    created++;
  };

  // Manual trigger, first: the schedule below then sees the state the next decision will see (the slot it took, the
  // Task it made, which a Forbid run waits for), so a second decision agrees with this one.
  const trigger = cronTask.annotations?.[ANNOTATIONS.trigger];
  const claimed = trigger !== undefined && /^[0-9]+$/.test(trigger) ? NAMES.cronTaskChild(cronTask.name, Number(trigger)) : undefined;
  if (trigger === ANNOTATION_TRUE || claimed) {
    let name = claimed;
    if (!name && names.size < maxRetained) {
      const seconds = manualSeconds(cronTask.name, names, now);
      name = NAMES.cronTaskChild(cronTask.name, seconds);
      writes.push({ kind: 'patchCronTaskAnnotations', namespace: cronTask.namespace, name: cronTask.name, annotations: { [ANNOTATIONS.trigger]: String(seconds) } });
    }
    if (name && !names.has(name) && names.size < maxRetained) create(name);
    writes.push({ kind: 'patchCronTaskAnnotations', namespace: cronTask.namespace, name: cronTask.name, annotations: { [ANNOTATIONS.trigger]: null } });
  }

  // Schedule.
  const schedule: CronSchedule = { expression: spec.schedule, timeZone: spec.timeZone ?? DEFAULTS.cronTimeZone };
  const problem = scheduleProblem(schedule);
  let ready: ConditionContent | undefined;
  let lastScheduleTime = cronTask.status?.lastScheduleTime;
  let next: EpochMs | undefined;
  let wakeAt: EpochMs | undefined;
  if (problem) {
    ready = readyCondition('False', REASONS.invalidSchedule, `No Task is scheduled: ${problem}`);
  } else if (spec.suspend) {
    ready = readyCondition('False', REASONS.suspended, 'spec.suspend is true: no Task is scheduled (a manual trigger still works)');
  } else {
    const due = dueTimes(schedule, Math.max(cronTask.creationTimestamp, lastScheduleTime ?? -Infinity), now);
    next = due.next;
    wakeAt = next;
    if (due.mostRecent !== undefined) {
      const name = NAMES.cronTaskChild(cronTask.name, Math.floor(due.mostRecent / 1000));
      // The first instant at which the run is too late (more than startingDeadlineSeconds after its due time).
      const missedFrom = spec.startingDeadlineSeconds === undefined ? undefined : due.mostRecent + spec.startingDeadlineSeconds * 1000 + 1;
      const policy = spec.concurrencyPolicy ?? DEFAULTS.cronConcurrencyPolicy;
      if (names.has(name)) {
        // Created before a restart, which also lost the status write that would have counted it.
        lastScheduleTime = due.mostRecent;
        created++;
      } else if (missedFrom !== undefined && now >= missedFrom) {
        ready = readyCondition('True', REASONS.missedDeadline, `The run due at ${iso(due.mostRecent)} missed startingDeadlineSeconds (${spec.startingDeadlineSeconds}); waiting for the next due time`);
      } else if (names.size >= maxRetained) {
        wakeAt = earliest(wakeAt, missedFrom);
      } else if (active.length > 0 && policy === 'Forbid') {
        ready = readyCondition('True', REASONS.activeTaskExists, `concurrencyPolicy Forbid: the run due at ${iso(due.mostRecent)} waits for ${[...active].sort().join(', ')} to finish`);
        wakeAt = earliest(wakeAt, missedFrom);
      } else {
        // A Task triggered in this decision is not among `children`: it is newer than the run and is not stopped.
        if (policy === 'Replace') writes.push(...stopWrites(cronTask, children, active));
        create(name);
        lastScheduleTime = due.mostRecent;
      }
    }
  }

  // Unless invalid or suspended: at the limit the condition says so even before the next run is due (it also explains
  // an ignored trigger).
  const readyNow: ConditionContent = ready ?? (names.size >= maxRetained
    ? readyCondition('False', REASONS.maxRetainedTasksReached, `${names.size} child Tasks exist and maxRetainedTasks is ${maxRetained}: no Task is created until cleanup deletes some`)
    : readyCondition('True', REASONS.scheduled, 'Waiting for the next due time'));

  const status = statusPatch(cronTask, children, { lastScheduleTime, next, active, created, ready: readyNow }, now);
  if (status) writes.push({ kind: 'patchCronTaskStatus', namespace: cronTask.namespace, name: cronTask.name, status });
  return { writes, wakeAt };
}

/**
 * The second to name a manually triggered Task after: now, moved off whole minutes (cron due times are always whole
 * minutes, so a manual Task never takes a scheduled Task's name) and past any existing child's name.
 */
function manualSeconds(cronTaskName: string, names: ReadonlySet<string>, now: EpochMs): number {
  let seconds = Math.floor(now / 1000);
  while (seconds % 60 === 0 || names.has(NAMES.cronTaskChild(cronTaskName, seconds))) seconds++;
  return seconds;
}

function newTask(cronTask: CronTaskView, name: string): NewTask {
  const template = cronTask.spec.taskTemplate;
  return {
    name,
    labels: { ...(template.metadata?.labels ?? {}), [LABELS.cronTask]: cronTask.name },
    annotations: { ...(template.metadata?.annotations ?? {}) },
    ownerReferences: [{ apiVersion: API_VERSION, kind: 'CronTask', name: cronTask.name, uid: cronTask.uid, controller: true, blockOwnerDeletion: true }],
    spec: template.spec,
  };
}

function stopWrites(cronTask: CronTaskView, children: readonly TaskView[], names: readonly string[]): Write[] {
  return children
    .filter((c) => names.includes(c.name) && !isStopRequested(c))
    .sort(byName)
    .map((c) => ({ kind: 'annotateTask', namespace: cronTask.namespace, name: c.name, uid: c.uid, annotations: { [ANNOTATIONS.stop]: ANNOTATION_TRUE } }));
}

const readyCondition = (status: 'True' | 'False', reason: string, message: string): ConditionContent => ({ type: CONDITIONS.ready, status, reason, message });

interface CronOutcome {
  readonly lastScheduleTime?: EpochMs;
  readonly next?: EpochMs;
  readonly active: readonly string[];
  readonly created: number;
  readonly ready: ConditionContent;
}

/**
 * Only what differs from the current status, so a second decision on the result writes nothing. totalExecutions counts
 * the Tasks created by this decision; a crash between a trigger's annotation removal and this write loses one count.
 */
function statusPatch(cronTask: CronTaskView, children: readonly TaskView[], o: CronOutcome, now: EpochMs): CronTaskStatusPatch | undefined {
  const current = cronTask.status ?? {};
  const activeRefs = [...o.active].sort().map((name) => ({ name }));
  const sameRefs = (current.activeRefs ?? []).map((r) => r.name).join('\n') === activeRefs.map((r) => r.name).join('\n');
  let lastSuccessfulTime = current.lastSuccessfulTime;
  for (const c of children) {
    const t = c.status?.completionTime;
    if (c.status?.phase === 'Completed' && t !== undefined && (lastSuccessfulTime === undefined || t > lastSuccessfulTime)) lastSuccessfulTime = t;
  }
  const condition = conditionChange(current.conditions, o.ready, now);
  const patch: CronTaskStatusPatch = {
    ...(o.lastScheduleTime !== current.lastScheduleTime && o.lastScheduleTime !== undefined ? { lastScheduleTime: o.lastScheduleTime } : {}),
    ...(o.next !== current.nextScheduleTime ? { nextScheduleTime: o.next ?? null } : {}),
    ...(lastSuccessfulTime !== current.lastSuccessfulTime && lastSuccessfulTime !== undefined ? { lastSuccessfulTime } : {}),
    ...(o.created ? { totalExecutions: (current.totalExecutions ?? 0) + o.created } : {}),
    ...(activeRefs.length !== (current.active ?? 0) ? { active: activeRefs.length } : {}),
    ...(!sameRefs ? { activeRefs } : {}),
    ...(condition ? { conditions: [condition] } : {}),
  };
  return Object.keys(patch).length ? patch : undefined;
}

/** spec.suspend of the CronTask mirrored onto its CronJob, so a suspended CronTask fires no job either. */
export function decideCronJobSuspend(
  cronTask: { readonly namespace: string; readonly name: string; readonly suspend?: boolean },
  cronJob: { readonly resourceVersion?: string; readonly suspend?: boolean } | undefined,
): Decision {
  const suspend = cronTask.suspend === true;
  if (!cronJob || (cronJob.suspend === true) === suspend) return NOTHING;
  return { writes: [{ kind: 'suspendCronJob', namespace: cronTask.namespace, name: cronTask.name, resourceVersion: cronJob.resourceVersion, suspend }] };
}

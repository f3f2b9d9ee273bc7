/**
 * CronTask schedules: 5-field cron expressions in an IANA time zone, evaluated by cron-parser.
 *
 * Around DST changes cron-parser's answer depends on where it starts, and even on whether an iterator is continued or
 * parsed afresh at the same instant (for "every 7 minutes of hour 2" in America/New_York, continuing past the shifted 03:00 gives
 * 03:07, a fresh parse gives the next day). Due times are therefore defined as a chain of fresh parses, each starting
 * at the previous due time, from a persisted instant (the CronTask's creation or its lastScheduleTime, itself a due
 * time): every decision, before or after a restart, walks the same chain. Consequences, pinned by tests: a daily
 * 02:30 runs once on a fall-back day (at the first 02:30) and at 03:30 on a spring-forward day, in Europe/Berlin and
 * America/New_York alike; an hourly schedule runs every real hour.
 */
import { CronExpressionParser, type CronExpression } from 'cron-parser';
import { cronFields, cronSyntaxError, isTimeZone } from '../../common/cron';
import type { EpochMs } from './time';

export interface CronSchedule {
  readonly expression: string;
  readonly timeZone: string;
}

/**
 * Past this many steps from the persisted start (a long outage or a long Forbid wait on a dense schedule) the most
 * recent due time is taken from cron-parser's prev() instead; it can differ from the chain only within a DST change.
 * A step (parse and next) takes ~0.2 ms.
 */
const MAX_FORWARD_STEPS = 200;

/** An error for people, or undefined when the expression and zone are usable. */
export function scheduleProblem(schedule: CronSchedule): string | undefined {
  const fields = cronFields(schedule.expression);
  if (fields.length !== 5) {
    return `schedule '${schedule.expression}' has ${fields.length} fields; it needs 5 (minute hour day-of-month month day-of-week), e.g. '0 9 * * 1-5'`;
  }
  if (!isTimeZone(schedule.timeZone)) {
    return `timeZone '${schedule.timeZone}' is not an IANA time zone (e.g. UTC, Europe/Berlin, America/New_York)`;
  }
  const error = cronSyntaxError(schedule.expression, schedule.timeZone, new Date(0));
  return error === undefined ? undefined : `schedule '${schedule.expression}' is not a valid cron expression: ${error}`;
}

export interface DueTimes {
  /** The latest due time in (since, now], if any. */
  readonly mostRecent?: EpochMs;
  /** The first due time after now. */
  readonly next: EpochMs;
}

/** Due times relative to `now` of the sequence that starts after `since`. The schedule must be valid. */
export function dueTimes(schedule: CronSchedule, since: EpochMs, now: EpochMs): DueTimes {
  let mostRecent: EpochMs | undefined;
  let cursor = since;
  for (let step = 0; step < MAX_FORWARD_STEPS; step++) {
    const t = parse(schedule, cursor).next().getTime();
    if (t > now) return { mostRecent, next: t };
    mostRecent = cursor = t;
  }
  // cron-parser's prev() is exclusive: starting 1 ms after now makes a due time at exactly now count.
  const previous = parse(schedule, now + 1).prev().getTime();
  return { mostRecent: previous > since ? previous : mostRecent, next: parse(schedule, now).next().getTime() };
}

function parse(schedule: CronSchedule, from: EpochMs): CronExpression {
  return CronExpressionParser.parse(schedule.expression.trim(), { currentDate: new Date(from), tz: schedule.timeZone });
}

import fc from 'fast-check';
import { dueTimes, scheduleProblem, type CronSchedule } from '../../../src/controller/decide';
import { minutes } from './cluster-model';

const at = (s: string) => Date.parse(s);
const iso = (t: number | undefined) => (t === undefined ? undefined : new Date(t).toISOString());

/** The canonical sequence: forward from `from`, as every decision sees it. */
function sequence(schedule: CronSchedule, from: number, to: number): number[] {
  const out: number[] = [];
  for (let since = from; ; ) {
    const { next } = dueTimes(schedule, since, since);
    if (next > to) return out;
    out.push(next);
    since = next;
  }
}

describe('schedules (5-field cron in an IANA time zone)', () => {
  test('the guide\'s "0 9 * * 1-5" in Asia/Shanghai: weekdays at 09:00 local (01:00 UTC)', () => {
    const s = { expression: '0 9 * * 1-5', timeZone: 'Asia/Shanghai' };
    expect(sequence(s, at('2026-01-02T00:00:00Z'), at('2026-01-07T00:00:00Z')).map(iso)).toEqual(['2026-01-02T01:00:00.000Z', '2026-01-05T01:00:00.000Z', '2026-01-06T01:00:00.000Z']);
  });

  test('a due time at exactly now is due; the most recent one is reported, older ones are not', () => {
    const s = { expression: '0 9 * * *', timeZone: 'UTC' };
    expect(dueTimes(s, at('2026-03-01T00:00:00Z'), at('2026-03-10T09:00:00Z'))).toEqual({ mostRecent: at('2026-03-10T09:00:00Z'), next: at('2026-03-11T09:00:00Z') });
    expect(dueTimes(s, at('2026-03-10T09:00:00Z'), at('2026-03-10T09:00:00Z')).mostRecent).toBeUndefined(); // since is exclusive
  });

  test('Europe/Berlin daily 02:30: at 03:30 CEST on the spring-forward day, once (the first 02:30) on the fall-back day', () => {
    const s = { expression: '30 2 * * *', timeZone: 'Europe/Berlin' };
    expect(sequence(s, at('2026-03-28T00:00:00Z'), at('2026-03-31T00:00:00Z')).map(iso)).toEqual(['2026-03-28T01:30:00.000Z', '2026-03-29T01:30:00.000Z', '2026-03-30T00:30:00.000Z']);
    expect(sequence(s, at('2026-10-24T00:00:00Z'), at('2026-10-27T00:00:00Z')).map(iso)).toEqual(['2026-10-24T00:30:00.000Z', '2026-10-25T00:30:00.000Z', '2026-10-26T01:30:00.000Z']);
  });

  test('America/New_York daily 02:30 and 01:30: the same rules', () => {
    expect(sequence({ expression: '30 2 * * *', timeZone: 'America/New_York' }, at('2026-03-07T00:00:00Z'), at('2026-03-10T00:00:00Z')).map(iso)).toEqual(['2026-03-07T07:30:00.000Z', '2026-03-08T07:30:00.000Z', '2026-03-09T06:30:00.000Z']);
    expect(sequence({ expression: '30 1 * * *', timeZone: 'America/New_York' }, at('2026-10-31T00:00:00Z'), at('2026-11-03T00:00:00Z')).map(iso)).toEqual(['2026-10-31T05:30:00.000Z', '2026-11-01T05:30:00.000Z', '2026-11-02T06:30:00.000Z']);
  });

  test('hourly across the Berlin fall-back: every real hour, the repeated 02:00 included', () => {
    expect(sequence({ expression: '0 * * * *', timeZone: 'Europe/Berlin' }, at('2026-10-24T23:30:00Z'), at('2026-10-25T03:30:00Z')).map(iso)).toEqual([
      '2026-10-25T00:00:00.000Z', '2026-10-25T01:00:00.000Z', '2026-10-25T02:00:00.000Z', '2026-10-25T03:00:00.000Z',
    ]);
  });

  test('problems are reported for people', () => {
    expect(scheduleProblem({ expression: '0 9 * * 1-5', timeZone: 'UTC' })).toBeUndefined();
    expect(scheduleProblem({ expression: '0 0 9 * * *', timeZone: 'UTC' })).toMatch(/has 6 fields; it needs 5/);
    expect(scheduleProblem({ expression: '@daily', timeZone: 'UTC' })).toMatch(/needs 5/);
    expect(scheduleProblem({ expression: '61 9 * * *', timeZone: 'UTC' })).toMatch(/not a valid cron expression/);
    expect(scheduleProblem({ expression: '0 9 * * *', timeZone: 'Mars/Olympus' })).toMatch(/not an IANA time zone/);
  });
});

describe('dueTimes properties', () => {
  const scheduleArb = fc.record({
    expression: fc.constantFrom('*/30 * * * *', '30 2 * * *', '0 * * * *', '15 1,2,3 * * *', '0 9 * * 1-5', '*/7 2 * * *', '0 3 * * 0'),
    timeZone: fc.constantFrom('UTC', 'Europe/Berlin', 'America/New_York'),
  });
  // around the 2026 DST changes of both zones
  const startArb = fc.constantFrom(at('2026-03-07T20:00:00Z'), at('2026-03-28T20:00:00Z'), at('2026-10-24T20:00:00Z'), at('2026-10-31T20:00:00Z'));

  test('deciding from any due time or at any instant sees one sequence: strictly increasing, nothing twice', () => {
    fc.assert(
      fc.property(scheduleArb, startArb, fc.array(fc.integer({ min: 0, max: minutes(36 * 60) }), { minLength: 1, maxLength: 8 }), (schedule, start, offsets) => {
        // The chain from the start, extended on demand far enough to judge any answer.
        const canonical: number[] = [];
        const reach = (t: number) => {
          while (!canonical.length || canonical[canonical.length - 1] < t) canonical.push(dueTimes(schedule, canonical[canonical.length - 1] ?? start, 0).next);
        };
        reach(start + minutes(36 * 60));
        for (let i = 1; i < canonical.length; i++) expect(canonical[i]).toBeGreaterThan(canonical[i - 1]);
        // A controller that records each due time it runs and decides at arbitrary instants only ever finds canonical ones.
        let since = start;
        for (const now of offsets.map((o) => start + o).sort((a, b) => a - b)) {
          const due = dueTimes(schedule, since, now);
          reach(due.next);
          expect(canonical).toContain(due.next);
          expect(due.next).toBeGreaterThan(now);
          if (due.mostRecent !== undefined) {
            expect(canonical).toContain(due.mostRecent);
            expect(due.mostRecent).toBeGreaterThan(since);
            expect(due.mostRecent).toBeLessThanOrEqual(now);
            // it is the latest canonical one not after now
            expect(canonical.filter((t) => t <= now).pop()).toBe(due.mostRecent);
            since = due.mostRecent;
          }
        }
      }),
      { numRuns: 40 },
    );
  });
});

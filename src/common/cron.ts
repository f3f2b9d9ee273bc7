/**
 * What makes a CronTask schedule usable, for the construct (synth-time errors) and the controller (a CronTask applied
 * without the construct): five fields, an IANA time zone, and an expression cron-parser accepts.
 */
import { CronExpressionParser } from 'cron-parser';

/** The whitespace-separated fields of a cron expression. */
export function cronFields(expression: string): string[] {
  return expression.trim().split(/\s+/);
}

export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** cron-parser's complaint about the expression in the zone, or undefined when it parses. */
export function cronSyntaxError(expression: string, timeZone: string, from?: Date): string | undefined {
  try {
    const e = CronExpressionParser.parse(expression.trim(), { currentDate: from, tz: timeZone });
    if (from) e.next();
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

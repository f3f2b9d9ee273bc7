/**
 * Go durations as the CRDs accept them ("30m", "1h30m", "1.5h", "90s"): the constructs validate them at synth, the
 * controller reads them at run time (standby idleTimeout, sync intervals, POD_START_GRACE_SECONDS).
 */

const GO_DURATION = /^(?:[0-9]+(?:\.[0-9]+)?(?:ns|us|µs|ms|s|m|h))+$/;
const UNIT_SECONDS: Readonly<Record<string, number>> = { ns: 1e-9, us: 1e-6, µs: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };
const UNIT_MS: Readonly<Record<string, number>> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1e3, m: 6e4, h: 3.6e6 };

export function isGoDuration(text: string): boolean {
  return GO_DURATION.test(text);
}

function sum(text: string, unit: Readonly<Record<string, number>>): number {
  let total = 0;
  for (const m of text.matchAll(/([0-9]+(?:\.[0-9]+)?)(ns|us|µs|ms|s|m|h)/g)) total += parseFloat(m[1]) * unit[m[2]];
  return total;
}

/** The seconds a Go duration stands for (fractions kept); 0 for text that is not one (check with isGoDuration). */
export function goDurationSeconds(text: string): number {
  return sum(text, UNIT_SECONDS);
}

/** A Go duration in whole milliseconds, or undefined when the text is not one. */
export function parseGoDurationMs(text: string): number | undefined {
  return GO_DURATION.test(text) ? Math.round(sum(text, UNIT_MS)) : undefined;
}

/**
 * Time in the decision core. Every instant is a number of milliseconds since the Unix epoch, inputs and outputs alike;
 * the API adapter converts RFC 3339 strings (and client-node Dates) at the edge. One representation means no
 * comparison ever mixes strings and numbers, and a round trip ms → ISO → ms is exact.
 */
export type EpochMs = number;

const GO_DURATION = /^(?:[0-9]+(?:\.[0-9]+)?(?:ns|us|µs|ms|s|m|h))+$/;
const UNIT_MS: Readonly<Record<string, number>> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1e3, m: 6e4, h: 3.6e6 };

/**
 * A Go duration as the CRDs accept it ("30m", "1h30m", "1.5h", "90s") in whole milliseconds, or undefined when the text
 * is not one. Written here rather than imported from src/validation.ts, which pulls in `constructs`.
 */
export function parseGoDurationMs(text: string): number | undefined {
  if (!GO_DURATION.test(text)) return undefined;
  let total = 0;
  for (const m of text.matchAll(/([0-9]+(?:\.[0-9]+)?)(ns|us|µs|ms|s|m|h)/g)) total += parseFloat(m[1]) * UNIT_MS[m[2]];
  return Math.round(total);
}

/** The earliest of the given instants, ignoring undefined; undefined when none is given. */
export function earliest(...times: ReadonlyArray<EpochMs | undefined>): EpochMs | undefined {
  let min: EpochMs | undefined;
  for (const t of times) if (t !== undefined && (min === undefined || t < min)) min = t;
  return min;
}

/** RFC 3339 for messages meant for people. */
export const iso = (t: EpochMs): string => new Date(t).toISOString();

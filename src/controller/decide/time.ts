/**
 * Time in the decision core. Every instant is a number of milliseconds since the Unix epoch, inputs and outputs alike;
 * the API adapter converts RFC 3339 strings (and client-node Dates) at the edge. One representation means no
 * comparison ever mixes strings and numbers, and a round trip ms → ISO → ms is exact.
 */
export type EpochMs = number;

export { parseGoDurationMs } from '../../common/go-duration';

/** The earliest of the given instants, ignoring undefined; undefined when none is given. */
export function earliest(...times: ReadonlyArray<EpochMs | undefined>): EpochMs | undefined {
  let min: EpochMs | undefined;
  for (const t of times) if (t !== undefined && (min === undefined || t < min)) min = t;
  return min;
}

/** RFC 3339 for messages meant for people. */
export const iso = (t: EpochMs): string => new Date(t).toISOString();

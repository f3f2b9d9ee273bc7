import { createHash } from 'crypto';

/** First 16 hex characters of a sha256 over the sorted keys and values: stable across runs and key order. */
export function hashOf(data: Record<string, string>): string {
  const h = createHash('sha256');
  for (const k of Object.keys(data).sort()) h.update(k).update('\0').update(data[k]).update('\0');
  return h.digest('hex').slice(0, 16);
}

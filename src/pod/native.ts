import { Problems, quoteValue } from '../validation';

/**
 * cdk8s's generated L1 classes silently drop keys they do not know. For Kubernetes-native objects that users pass
 * through (securityContext, affinity, …) that would turn a typo into a silently wrong manifest, so we convert the
 * object with the L1's own toJson function and report every key that did not survive.
 */
export function checkKnownFields(
  problems: Problems,
  field: string,
  value: unknown,
  toJson: (v: any) => unknown,
): void {
  if (value === undefined) return;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    problems.add(field, `must be an object, got ${quoteValue(value)}`);
    return;
  }
  let converted: unknown;
  try {
    converted = toJson(value);
  } catch (e) {
    problems.add(field, `is not a valid Kubernetes object: ${(e as Error).message}`);
    return;
  }
  for (const path of lostKeys(value, converted, field)) {
    problems.add(path, 'is not a field of this Kubernetes type (check the spelling)');
  }
}

function lostKeys(input: unknown, output: unknown, at: string): string[] {
  if (Array.isArray(input)) {
    const out = Array.isArray(output) ? output : [];
    return input.flatMap((v, i) => lostKeys(v, out[i], `${at}[${i}]`));
  }
  if (!input || typeof input !== 'object') return [];
  const out = (output && typeof output === 'object' ? output : {}) as Record<string, unknown>;
  return Object.entries(input as Record<string, unknown>).flatMap(([k, v]) => {
    if (v === undefined) return [];
    if (!(k in out)) return [`${at}.${k}`];
    return lostKeys(v, out[k], `${at}.${k}`);
  });
}

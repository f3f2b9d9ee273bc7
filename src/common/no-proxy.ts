import { ALWAYS_NO_PROXY } from '../api';

/**
 * NO_PROXY as the pods get it and the controller's own `git ls-remote` uses it: the user's entries, then `.svc` and
 * `.cluster.local` unless present, so in-cluster traffic never leaves through the proxy.
 */
export function mergeNoProxy(noProxy: string | undefined): string {
  const entries = (noProxy ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  for (const suffix of ALWAYS_NO_PROXY) if (!entries.includes(suffix)) entries.push(suffix);
  return entries.join(',');
}

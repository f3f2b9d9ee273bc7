import { Problems } from '../validation';

/** Parses `config` (a JSON object as a string), reporting a synth error with the parser's message. */
export function parseOpencodeConfig(config: string | undefined, problems: Problems): Record<string, unknown> | undefined {
  if (config === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(config);
  } catch (e) {
    problems.add('config', `is not valid JSON (${(e as Error).message}); it must be an OpenCode configuration object`);
    return undefined;
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    problems.add('config', 'must be a JSON object (an OpenCode configuration), e.g. {"model": "provider/model"}');
    return undefined;
  }
  return parsed as Record<string, unknown>;
}

/**
 * The opencode.json written to /tools/opencode.json: the user's config with the skills directories appended to
 * `skills.paths`. Undefined when there is nothing to write (OPENCODE_CONFIG is then not set).
 */
export function renderOpencodeConfig(config: Record<string, unknown> | undefined, skillPaths: string[]): string | undefined {
  if (!config && skillPaths.length === 0) return undefined;
  const out: Record<string, unknown> = { ...(config ?? {}) };
  if (skillPaths.length > 0) {
    const skills = (out.skills && typeof out.skills === 'object' ? out.skills : {}) as Record<string, unknown>;
    const existing = Array.isArray(skills.paths) ? (skills.paths as unknown[]) : [];
    out.skills = { ...skills, paths: [...existing, ...skillPaths.filter((p) => !existing.includes(p))] };
  }
  return JSON.stringify(out, null, 2) + '\n';
}

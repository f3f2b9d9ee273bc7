import { Environment, PodSettings } from '../api';
import { validateContexts } from '../pod/contexts';
import { validateCredentials } from '../pod/credentials';
import { parseOpencodeConfig } from '../pod/opencode-config';
import { validatePodSettings } from '../pod/security';
import { validateSkills } from '../pod/skills';
import { Problems, isDnsLabel, isDnsSubdomain, warnProxyPasswords } from '../validation';

/** Checks the execution-environment fields Agent and AgentTemplate share. Returns the parsed config. */
export function validateEnvironment(
  e: Environment,
  problems: Problems,
  opts: { requireCore: boolean },
): Record<string, unknown> | undefined {
  if (opts.requireCore) {
    problems.check(!!e.workspaceDir, 'workspaceDir', 'is required (an absolute path, e.g. /workspace)');
    problems.check(!!e.serviceAccountName, 'serviceAccountName', 'is required (the ServiceAccount of the generated pods)');
  }
  if (e.workspaceDir !== undefined) {
    problems.check(e.workspaceDir.startsWith('/') && e.workspaceDir !== '/', 'workspaceDir', `'${e.workspaceDir}' must be an absolute path other than /`);
  }
  if (e.serviceAccountName !== undefined) {
    problems.check(isDnsSubdomain(e.serviceAccountName), 'serviceAccountName', `'${e.serviceAccountName}' is not a valid ServiceAccount name (a DNS subdomain)`);
  }
  for (const f of ['agentImage', 'executorImage', 'attachImage'] as const) {
    const v = e[f];
    if (v !== undefined) problems.check(v.trim() !== '' && !/\s/.test(v), f, `'${v}' is not an image reference`);
  }
  validateContexts(e.contexts, e.workspaceDir, problems);
  warnProxyPasswords(e.proxy, problems);
  validateCredentials(e.credentials, problems);
  validateSkills(e.skills, problems);
  if (e.caBundle) {
    problems.check(!!e.caBundle.configMapRef !== !!e.caBundle.secretRef, 'caBundle', 'set exactly one of configMapRef and secretRef');
  }
  (e.imagePullSecrets ?? []).forEach((s, i) =>
    problems.check(isDnsSubdomain(s.name ?? ''), `imagePullSecrets[${i}].name`, `'${s.name}' is not a Secret name`));
  validatePodLabels(e.podSpec, problems);
  validatePodSettings(e.podSpec, problems);
  return parseOpencodeConfig(e.config, problems);
}

const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

function validatePodLabels(pod: PodSettings | undefined, problems: Problems): void {
  for (const [k, v] of Object.entries(pod?.labels ?? {})) {
    const [prefix, name] = k.includes('/') ? k.split('/', 2) : [undefined, k];
    problems.check((prefix === undefined || isDnsSubdomain(prefix)) && /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/.test(name),
      `podSpec.labels`, `'${k}' is not a label key`);
    problems.check(v.length <= 63 && LABEL_VALUE.test(v), `podSpec.labels.${k}`, `'${v}' is not a label value`);
  }
}

/** Kubernetes names the constructs derive from (Service names must be DNS-1035 labels: start with a letter). */
export function validateObjectName(name: string, problems: Problems, maxLength = 63): void {
  problems.check(isDnsLabel(name) && /^[a-z]/.test(name) && name.length <= maxLength, 'metadata.name',
    `'${name}' must be a DNS label starting with a letter, at most ${maxLength} characters (lowercase letters, digits, '-'); it names the Service and the server URL`);
}

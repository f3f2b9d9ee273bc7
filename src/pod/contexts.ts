import * as path from 'path';
import { k8s } from 'cdk8s-plus-28';
import { ContextItem, DEFAULTS, LIMITS, PATHS } from '../api';
import { Problems, ValidationError, durationSeconds, hasUserinfo, isConfigMapKey, isDnsLabel, isDnsSubdomain, isDuration, isGitUrl } from '../validation';
import { contextInitContainer } from './context-init';
import { gitCredentials, gitInitContainer, gitSyncContainers } from './git-init';
import { CONTEXT_SOURCES_VOLUME, SystemBase, WORKSPACE_VOLUME } from './system';
import { urlFetchContainer } from './url-fetch';

const FIELD_OF_TYPE: Record<string, keyof ContextItem | undefined> = {
  Text: 'text',
  ConfigMap: 'configMap',
  Git: 'git',
  URL: 'url',
  Runtime: undefined,
};
const TYPED_FIELDS = ['text', 'configMap', 'git', 'url'] as const;

/** The name a context goes by in logs, container names and context.md: its own, or `<type>-<index>`. */
export function contextName(c: ContextItem, index: number): string {
  return c.name ?? `${String(c.type).toLowerCase()}-${index}`;
}

/** Where a mountPath lands: relative paths are under workspaceDir; absolute ones must be. */
export function resolveMountPath(workspaceDir: string, mountPath: string): string {
  return path.posix.normalize(path.posix.isAbsolute(mountPath) ? mountPath : path.posix.join(workspaceDir, mountPath)).replace(/\/$/, '') || '/';
}

function insideWorkspace(workspaceDir: string, p: string): boolean {
  const ws = path.posix.normalize(workspaceDir).replace(/\/$/, '');
  return p === ws || p.startsWith(ws + '/');
}

export function isHotReload(c: ContextItem): boolean {
  return c.type === 'Git' && !!c.git?.sync?.enabled && (c.git.sync.policy ?? DEFAULTS.gitSyncPolicy) === 'HotReload';
}

export function isRollout(c: ContextItem): boolean {
  return c.type === 'Git' && !!c.git?.sync?.enabled && c.git.sync.policy === 'Rollout';
}

export function validateContexts(
  contexts: readonly ContextItem[] | undefined,
  workspaceDir: string | undefined,
  problems: Problems,
  field = 'contexts',
): void {
  const names = new Set<string>();
  (contexts ?? []).forEach((c, i) => {
    const f = `${field}[${i}]`;
    const name = contextName(c, i);
    if (c.name !== undefined) problems.check(isDnsLabel(c.name), `${f}.name`, `'${c.name}' is not a DNS label (lowercase letters, digits, '-')`);
    problems.check(!names.has(name), `${f}.name`, `'${name}' is used twice; context names must be unique`);
    names.add(name);
    if (!(String(c.type) in FIELD_OF_TYPE)) {
      problems.add(`${f}.type`, `'${c.type}' is not a context type (Text, ConfigMap, Git, Runtime, URL)`);
      return;
    }
    validateContextPlacement(c, f, workspaceDir, problems);
    switch (c.type) {
      case 'Text': return validateTextContext(c, f, problems);
      case 'Runtime': return problems.check(c.mountPath === undefined, `${f}.mountPath`, 'a Runtime context always goes into context.md; remove mountPath');
      case 'ConfigMap': return validateConfigMapContext(c, f, problems);
      case 'URL': return validateUrlContext(c, f, problems);
      case 'Git': return validateGitContext(c, f, workspaceDir, problems);
    }
  });
}

/** What every context type shares: exactly its own typed field, a mountPath inside the workspace, a file mode. */
function validateContextPlacement(c: ContextItem, f: string, workspaceDir: string | undefined, problems: Problems): void {
  const wanted = FIELD_OF_TYPE[c.type];
  for (const k of TYPED_FIELDS) {
    if (k === wanted) problems.check(c[k] !== undefined, `${f}.${k}`, `is required for a ${c.type} context`);
    else problems.check(c[k] === undefined, `${f}.${k}`, `is not allowed for a ${c.type} context (set ${wanted ?? 'nothing'} instead)`);
  }
  if (c.mountPath !== undefined && workspaceDir) {
    const p = resolveMountPath(workspaceDir, c.mountPath);
    problems.check(insideWorkspace(workspaceDir, p), `${f}.mountPath`, `'${c.mountPath}' must be inside workspaceDir ${workspaceDir}`);
  }
  if (c.fileMode !== undefined) {
    problems.check(Number.isInteger(c.fileMode) && c.fileMode >= 0 && c.fileMode <= 0o777, `${f}.fileMode`, `${c.fileMode} is not a file mode (0 to 511, e.g. 493 for 0755)`);
  }
}

function validateTextContext(c: ContextItem, f: string, problems: Problems): void {
  problems.check(typeof c.text === 'string', `${f}.text`, 'must be a string');
  if (typeof c.text === 'string') {
    problems.check(c.text.length <= LIMITS.contextText, `${f}.text`, `is ${c.text.length} characters; at most ${LIMITS.contextText} (the Text contexts share one ConfigMap of at most 1 MiB)`);
  }
}

function validateConfigMapContext(c: ContextItem, f: string, problems: Problems): void {
  if (!c.configMap) return;
  problems.check(isDnsSubdomain(c.configMap.name ?? ''), `${f}.configMap.name`, `'${c.configMap.name}' is not a ConfigMap name (a DNS subdomain)`);
  if (c.configMap.key !== undefined) {
    problems.check(isConfigMapKey(c.configMap.key), `${f}.configMap.key`,
      `${JSON.stringify(c.configMap.key)} is not a ConfigMap key (letters, digits, '-', '_' and '.', at most 253 characters, not '.' and not starting with '..')`);
  }
}

function validateUrlContext(c: ContextItem, f: string, problems: Problems): void {
  if (!c.url) return;
  problems.check(/^https?:\/\/[^/\s]+/.test(c.url.source ?? ''), `${f}.url.source`, `'${c.url.source}' is not an http:// or https:// URL`);
  problems.check(!hasUserinfo(c.url.source ?? ''), `${f}.url.source`, 'carries credentials (user:password@ before the host); a URL is plain text in the manifest and the pod spec: fetch a URL that needs no credentials in it');
  if (c.url.timeout !== undefined) problems.check(isDuration(c.url.timeout), `${f}.url.timeout`, `'${c.url.timeout}' is not a duration (e.g. 30s, 2m)`);
}

function validateGitContext(c: ContextItem, f: string, workspaceDir: string | undefined, problems: Problems): void {
  if (!c.git) return;
  validateGitRepository(c.git.repository, `${f}.git.repository`, problems);
  problems.check(c.mountPath !== undefined, `${f}.mountPath`, 'is required for a Git context (where in the workspace to check it out)');
  if (c.git.depth !== undefined) problems.check(Number.isInteger(c.git.depth) && c.git.depth >= 0, `${f}.git.depth`, `${c.git.depth} must be 0 (full history) or a positive integer`);
  if (c.git.secretRef) problems.check(isDnsSubdomain(c.git.secretRef.name ?? ''), `${f}.git.secretRef.name`, 'must name a Secret');
  if (c.git.sync?.interval !== undefined) problems.check(isDuration(c.git.sync.interval), `${f}.git.sync.interval`, `'${c.git.sync.interval}' is not a duration (e.g. 5m)`);
  if (c.git.sync?.policy !== undefined) problems.check(['HotReload', 'Rollout'].includes(c.git.sync.policy), `${f}.git.sync.policy`, `'${c.git.sync.policy}' is not HotReload or Rollout`);
  if (isHotReload(c) && c.mountPath !== undefined && workspaceDir) {
    problems.check(resolveMountPath(workspaceDir, c.mountPath) !== resolveMountPath(workspaceDir, '.'), `${f}.mountPath`,
      'HotReload swaps a symlink and cannot sync the workspace root itself; use a subdirectory or policy Rollout');
  }
}

/** A Git URL the pods may fetch: https, http or ssh, without credentials (those belong in secretRef). */
export function validateGitRepository(repository: string | undefined, field: string, problems: Problems): void {
  if (!repository || !isGitUrl(repository)) {
    problems.add(field, `${JSON.stringify(repository ?? '')} is not a Git URL (https://, http://, ssh:// or git@; file:// and other transports are refused)`);
    return;
  }
  problems.check(!hasUserinfo(repository), field,
    'carries credentials (user:token@ before the host); they would be plain text in the manifest, the pod spec and the agent\'s view: put them in a Secret (keys username and password) and name it in secretRef');
}

/**
 * One line of context-init's CONTEXT_PARTS (NAME|TYPE|SOURCE[|optional]). A field with a line break or `|` would
 * start another part (another file copied into context.md, which goes to the model provider): validation rejects such
 * names and keys, and this refuses them whatever path they came by.
 */
export function contextPart(name: string, type: string, source: string, optional?: boolean): string {
  for (const [what, v] of [['name', name], ['type', type], ['source', source]] as const) {
    if (/[\r\n|]/.test(v)) throw new ValidationError(`context ${JSON.stringify(name)}: the ${what} ${JSON.stringify(v)} contains a line break or '|'`);
  }
  return `${name}|${type}|${source}${optional ? '|optional' : ''}`;
}

/** What the contexts add to a pod. */
export interface ContextPlan {
  readonly initContainers: k8s.Container[];
  readonly sidecars: k8s.Container[];
  readonly volumes: k8s.Volume[];
  /** Mounts of the main container (ConfigMap contexts with a mountPath). */
  readonly mainMounts: k8s.VolumeMount[];
  /** Generated files (Text and Runtime contexts) for the generated ConfigMap. */
  readonly generated: Record<string, string>;
  /** True when some context goes into context.md. */
  readonly aggregated: boolean;
  /** Git checkouts the agent works in (git-init writes them as another uid): safe.directory for its own git. */
  readonly agentCheckouts: string[];
}

export interface ContextInputs {
  readonly contexts: readonly ContextItem[];
  readonly base: SystemBase;
  /** Text of the Runtime context, rendered by the caller (it knows the agent). */
  readonly runtimeText: () => string;
  /** Name of the generated volume that holds context-<i>.md. */
  readonly generatedVolume: string;
}

/** What planContexts builds up while it walks the contexts: the plan, plus what only context-init needs. */
interface ContextPlanner {
  readonly base: SystemBase;
  readonly workspaceMount: k8s.VolumeMount;
  readonly runtimeText: () => string;
  readonly generatedVolume: string;
  readonly plan: {
    initContainers: k8s.Container[];
    sidecars: k8s.Container[];
    volumes: k8s.Volume[];
    mainMounts: k8s.VolumeMount[];
    generated: Record<string, string>;
    aggregated: boolean;
    agentCheckouts: string[];
  };
  /** context-init's CONTEXT_PARTS: the contexts that go into context.md, in order. */
  readonly parts: string[];
  /** Where context-init reads the ConfigMap contexts it aggregates. */
  readonly contextInitMounts: k8s.VolumeMount[];
  /** True when a URL context is fetched into the shared context-sources volume. */
  needSources: boolean;
}

/** One context's place in the list: its index, its name and where it is mounted (undefined: into context.md). */
interface PlacedContext {
  readonly c: ContextItem;
  readonly i: number;
  readonly name: string;
  readonly target: string | undefined;
}

export function planContexts({ contexts, base, runtimeText, generatedVolume }: ContextInputs): ContextPlan {
  const p: ContextPlanner = {
    base,
    workspaceMount: { name: WORKSPACE_VOLUME, mountPath: base.workspaceDir },
    runtimeText,
    generatedVolume,
    plan: { initContainers: [], sidecars: [], volumes: [], mainMounts: [], generated: {}, aggregated: false, agentCheckouts: [] },
    parts: [],
    contextInitMounts: [],
    needSources: false,
  };
  contexts.forEach((c, i) => {
    const at: PlacedContext = {
      c,
      i,
      name: contextName(c, i),
      target: c.mountPath !== undefined ? resolveMountPath(base.workspaceDir, c.mountPath) : undefined,
    };
    switch (c.type) {
      case 'Text':
      case 'Runtime': return planGeneratedContext(p, at);
      case 'ConfigMap': return planConfigMapContext(p, at);
      case 'URL': return planUrlContext(p, at);
      case 'Git': return planGitContext(p, at);
    }
  });
  planContextInit(p);
  return p.plan;
}

/** A Text or Runtime context: a generated file, mounted where asked or aggregated into context.md. */
function planGeneratedContext({ plan, parts, runtimeText, generatedVolume }: ContextPlanner, { c, i, name, target }: PlacedContext): void {
  const key = c.type === 'Runtime' ? `runtime-${i}.md` : `context-${i}.md`;
  plan.generated[key] = c.type === 'Runtime' ? runtimeText() : c.text ?? '';
  if (target) {
    // a Text context with mountPath: the generated file, mounted where asked
    plan.mainMounts.push({ name: generatedVolume, mountPath: target, subPath: key, readOnly: true });
  } else {
    parts.push(contextPart(name, c.type, `${PATHS.generatedDir}/${key}`));
  }
}

/** A ConfigMap context: its own volume, mounted where asked or read by context-init. */
function planConfigMapContext({ plan, parts, contextInitMounts }: ContextPlanner, { c, i, name, target }: PlacedContext): void {
  const cm = c.configMap!;
  const volume = `ctx-${i}`;
  plan.volumes.push({
    name: volume,
    configMap: { name: cm.name, optional: cm.optional, defaultMode: c.fileMode },
  });
  if (target) {
    plan.mainMounts.push(cm.key
      ? { name: volume, mountPath: target, subPath: cm.key, readOnly: true }
      : { name: volume, mountPath: target, readOnly: true });
  } else {
    const dir = `${PATHS.contextSourcesDir}/cm-${i}`;
    contextInitMounts.push({ name: volume, mountPath: dir, readOnly: true });
    parts.push(contextPart(name, 'ConfigMap', cm.key ? `${dir}/${cm.key}` : dir, cm.optional));
  }
}

/** A URL context: url-fetch downloads it where asked, or into the context sources for context.md. */
function planUrlContext(p: ContextPlanner, { c, i, name, target }: PlacedContext): void {
  const dest = target ?? `${PATHS.contextSourcesDir}/fetched/url-${i}`;
  if (!target) {
    p.needSources = true;
    p.parts.push(contextPart(name, 'URL', dest));
  }
  p.plan.initContainers.push(urlFetchContainer(p.base, {
    index: i,
    name,
    source: c.url!.source,
    dest,
    timeoutSeconds: Math.max(1, Math.round(durationSeconds(c.url!.timeout ?? '30s'))),
    mounts: target ? [p.workspaceMount] : [{ name: CONTEXT_SOURCES_VOLUME, mountPath: `${PATHS.contextSourcesDir}/fetched` }],
  }));
}

/** A Git context: git-init checks it out once (None, Rollout), or git-sync keeps it current (HotReload). */
function planGitContext({ base, plan, workspaceMount }: ContextPlanner, { c, i, name, target }: PlacedContext): void {
  const git = c.git!;
  const creds = gitCredentials(git.secretRef?.name, `ctx-${i}-git`, name);
  plan.volumes.push(...creds.volumes);
  const common = {
    index: i,
    contextName: name,
    repository: git.repository,
    ref: git.ref ?? DEFAULTS.gitRef,
    depth: git.depth ?? DEFAULTS.gitDepth,
    recurseSubmodules: git.recurseSubmodules ?? false,
    credentials: creds,
    mounts: [workspaceMount],
  };
  if (isHotReload(c)) {
    // The sync repository (and the token-bearing fetches it drives) lives in its own volume: writable by the
    // git-sync containers only, read-only in the main container, which reads the worktree through the link.
    const root = `${base.workspaceDir}/.kubeopencode/git/${name}`;
    const syncVolume = `git-sync-${i}`;
    plan.volumes.push({ name: syncVolume, emptyDir: {} });
    plan.mainMounts.push({ name: syncVolume, mountPath: root, readOnly: true });
    const sync = gitSyncContainers(base, {
      ...common,
      mounts: [workspaceMount, { name: syncVolume, mountPath: root }],
      root,
      link: target!,
      intervalSeconds: Math.max(1, Math.round(durationSeconds(git.sync?.interval ?? DEFAULTS.gitSyncInterval))),
    });
    plan.initContainers.push(sync.init);
    plan.sidecars.push(sync.sidecar);
  } else {
    // Rollout contexts: a restart exists to pick up the new commit, so an existing checkout is updated
    plan.initContainers.push(gitInitContainer(base, { ...common, dest: target!, updateExisting: isRollout(c) }));
    plan.agentCheckouts.push(target!);
  }
}

/** context-init, when some context goes into context.md; the context sources volume, when a URL was fetched there. */
function planContextInit({ base, plan, parts, contextInitMounts, needSources, workspaceMount, generatedVolume }: ContextPlanner): void {
  if (needSources) plan.volumes.push({ name: CONTEXT_SOURCES_VOLUME, emptyDir: {} });
  if (parts.length === 0) return;
  plan.aggregated = true;
  plan.initContainers.push(contextInitContainer(base, {
    parts,
    contextFile: `${base.workspaceDir}/${PATHS.contextFile}`,
    mounts: [
      workspaceMount,
      { name: generatedVolume, mountPath: PATHS.generatedDir, readOnly: true },
      ...(needSources ? [{ name: CONTEXT_SOURCES_VOLUME, mountPath: `${PATHS.contextSourcesDir}/fetched`, readOnly: true }] : []),
      ...contextInitMounts,
    ],
  }));
}

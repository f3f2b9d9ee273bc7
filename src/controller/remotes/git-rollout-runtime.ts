/**
 * The I/O half of Git Auto-Sync with the Rollout policy (the decision is decide/git-rollout.ts): for an Agent's server
 * Deployment, asks the remotes what their refs point at — each at most once per `interval` — and hands the answer to
 * decideGitRollout.
 *
 * - Which contexts: the Deployment's `kubeopencode.io/git-rollout` annotation (JSON list of {name, repository, ref,
 *   interval, secretRef?}), written at synth from the merged environment, so contexts an AgentTemplate supplied count.
 * - Credentials: the context's secretRef, a Secret in the Agent's namespace with keys `password` and optionally
 *   `username` (the keys the pods' credential helper reads).
 * - CA bundle and proxy: what the server pod gets — the `custom-ca` volume's ConfigMap/Secret key and the server
 *   container's HTTPS_PROXY/HTTP_PROXY/NO_PROXY env — since a templated Agent's spec need not carry them; else the
 *   Agent's spec.caBundle / spec.proxy; else (proxy only) the cluster proxy of KubeOpenCodeConfig `cluster`.
 * - Memory: per context, when the remote was last asked and what it answered. That is only a rate limit (lost on
 *   restart: the next reconcile asks again); the commit state lives in Agent status.gitSyncStatuses and the pod
 *   template annotations, which the decision reads. The last answer is passed to every decision so a rollout held for
 *   Tasks happens as soon as they finish, not at the next check.
 * - Annotation keys: `kubeopencode.io/git-hash-<ctx>`, or `git-hash-<first 40 chars>-<8 hex of sha256(ctx)>` when the
 *   name part would exceed the 63-character limit (see gitHashAnnotation in decide/git-rollout.ts).
 */
import { ANNOTATIONS, DEFAULTS, type Proxy } from '../../api';
import { mergeNoProxy } from '../../common/no-proxy';
import type { RolloutContext } from '../../common/rollout-context';
import { decideGitRollout, isActive, parseGoDurationMs, type Decision, type TaskView } from '../decide';
import { lsRemote as realLsRemote, type GitCredentials, type GitProxy, type LsRemoteOptions } from './git-remote';
import { type Rest, paths } from '../kube/rest';
import { type Obj, toAgentView, toTaskView } from '../kube/convert';


export interface GitRolloutDeps {
  /** For the default readSecret/readConfigMap (live GETs). */
  readonly rest?: Rest;
  readSecret?(namespace: string, name: string): Promise<Obj | undefined>;
  readConfigMap?(namespace: string, name: string): Promise<Obj | undefined>;
  /** @default the real `git ls-remote` (./git-remote) */
  readonly lsRemote?: (opts: LsRemoteOptions) => Promise<string>;
  /** @default Date.now */
  readonly now?: () => number;
  /** spec.proxy of KubeOpenCodeConfig `cluster`, used when neither the server pod nor the Agent has a proxy. */
  readonly clusterProxy?: () => Proxy | undefined;
  /** ls-remote timeout. @default 30000 */
  readonly timeoutMs?: number;
}

export interface GitRolloutProblem {
  readonly context: string;
  readonly message: string;
}

/** The decision to execute (writes + wakeAt, which includes the next remote check) and what happened. */
export interface GitRolloutResult extends Decision {
  /** When the next remote check is due (already folded into wakeAt). */
  readonly nextCheckAt?: number;
  /** Contexts whose remote was asked in this call. */
  readonly checked: readonly string[];
  /** Lookups that failed (bad annotation, missing Secret/CA, git errors); worth a Warning event. */
  readonly problems: readonly GitRolloutProblem[];
}

const MIN_INTERVAL_MS = 1000;
const FAILURE_RETRY_MS = 15_000;

/** Parses the Deployment annotation; malformed entries are reported, not fatal. */
export function parseRolloutAnnotation(value: string | undefined): { contexts: RolloutContext[]; problems: GitRolloutProblem[] } {
  if (!value) return { contexts: [], problems: [] };
  let list: unknown;
  try {
    list = JSON.parse(value);
  } catch (e) {
    return { contexts: [], problems: [{ context: '*', message: `annotation ${ANNOTATIONS.gitRollout} is not JSON: ${(e as Error).message}` }] };
  }
  if (!Array.isArray(list)) return { contexts: [], problems: [{ context: '*', message: `annotation ${ANNOTATIONS.gitRollout} is not a JSON list` }] };
  const contexts: RolloutContext[] = [];
  const problems: GitRolloutProblem[] = [];
  const seen = new Set<string>();
  list.forEach((e: any, i) => {
    const name = typeof e?.name === 'string' && e.name ? e.name : undefined;
    if (!name || typeof e.repository !== 'string' || !e.repository) {
      problems.push({ context: name ?? `#${i}`, message: `entry ${i} of annotation ${ANNOTATIONS.gitRollout} needs a name and a repository` });
      return;
    }
    if (seen.has(name)) {
      problems.push({ context: name, message: `context '${name}' appears twice in annotation ${ANNOTATIONS.gitRollout}; the first is used` });
      return;
    }
    seen.add(name);
    contexts.push({
      name,
      repository: e.repository,
      ref: typeof e.ref === 'string' && e.ref ? e.ref : DEFAULTS.gitRef,
      interval: typeof e.interval === 'string' && e.interval ? e.interval : DEFAULTS.gitSyncInterval,
      secretRef: typeof e.secretRef === 'string' && e.secretRef ? e.secretRef : undefined,
    });
  });
  return { contexts, problems };
}

interface Memory {
  /** What the check depends on; a change (new repository, ref, Secret name, Agent uid) forgets the rest. */
  readonly signature: string;
  readonly lastCheck: number;
  readonly nextCheck: number;
  readonly hash?: string;
  readonly failures: number;
}

export class GitRolloutRuntime {
  private readonly memory = new Map<string, Map<string, Memory>>();
  private readonly lsRemote: (opts: LsRemoteOptions) => Promise<string>;

  constructor(private readonly deps: GitRolloutDeps) {
    this.lsRemote = deps.lsRemote ?? realLsRemote;
  }

  /**
   * Decides for one Agent. `tasks`: the Agent's Tasks (objects or views); `now` defaults to deps.now. Returns
   * nothing to do when the Deployment is missing or has no Rollout contexts. Never throws for remote or Secret
   * problems (they are in `problems`); API errors other than 404 on the Secret/ConfigMap reads do propagate.
   */
  async reconcile(agent: Obj, deployment: Obj | undefined, tasks: ReadonlyArray<TaskView | Obj>, now: number = (this.deps.now ?? Date.now)()): Promise<GitRolloutResult> {
    const ns: string = agent.metadata.namespace;
    const agentKey = `${ns}/${agent.metadata.name}`;
    const { contexts, problems } = parseRolloutAnnotation(deployment?.metadata?.annotations?.[ANNOTATIONS.gitRollout]);
    if (!deployment || contexts.length === 0) {
      this.memory.delete(agentKey);
      return { writes: [], checked: [], problems };
    }
    const mem = this.memory.get(agentKey) ?? new Map<string, Memory>();
    this.memory.set(agentKey, mem);
    for (const name of [...mem.keys()]) if (!contexts.some((c) => c.name === name)) mem.delete(name);

    const due = contexts.filter((c) => {
      const m = mem.get(c.name);
      return !m || m.signature !== signature(agent, c) || now >= m.nextCheck;
    });
    const checked: string[] = [];
    if (due.length) {
      const access = await this.access(agent, deployment);
      await Promise.all(due.map(async (c) => {
        checked.push(c.name);
        const sig = signature(agent, c);
        const prev = mem.get(c.name);
        const keep = prev?.signature === sig ? prev : undefined;
        const interval = intervalMs(c, problems);
        try {
          // checking without the CA would only fail TLS, with a less helpful message
          if (access.problem) throw new Error(access.problem);
          const credentials = await this.credentials(ns, c);
          const hash = await this.lsRemote({
            repository: c.repository,
            ref: c.ref,
            credentials,
            caPem: access.caPem,
            proxy: access.proxy,
            timeoutMs: this.deps.timeoutMs,
          });
          mem.set(c.name, { signature: sig, lastCheck: now, nextCheck: now + interval, hash, failures: 0 });
        } catch (e) {
          const failures = (keep?.failures ?? 0) + 1;
          const retry = Math.min(interval, FAILURE_RETRY_MS * 2 ** Math.min(failures - 1, 10));
          // the last answer stays: a held rollout still happens when the Tasks finish
          mem.set(c.name, { signature: sig, lastCheck: now, nextCheck: now + retry, hash: keep?.hash, failures });
          problems.push({ context: c.name, message: (e as Error).message ?? String(e) });
        }
      }));
    }

    const remoteHashes: Record<string, string> = {};
    for (const c of contexts) {
      const h = mem.get(c.name)?.hash;
      if (h) remoteHashes[c.name] = h;
    }
    const views = tasks.map((t) => ('metadata' in t ? toTaskView(t as Obj) : (t as TaskView)));
    const decision = decideGitRollout({
      agent: toAgentView(agent, deployment),
      remoteHashes,
      podTemplateAnnotations: deployment.spec?.template?.metadata?.annotations ?? {},
      activeTaskCount: views.filter(isActive).length,
    }, now);
    const writes = decision.writes;

    let nextCheckAt: number | undefined;
    for (const c of contexts) {
      const n = mem.get(c.name)?.nextCheck;
      if (n !== undefined && (nextCheckAt === undefined || n < nextCheckAt)) nextCheckAt = n;
    }
    const wakeAt = decision.wakeAt === undefined ? nextCheckAt : nextCheckAt === undefined ? decision.wakeAt : Math.min(decision.wakeAt, nextCheckAt);
    return { writes, wakeAt, nextCheckAt, checked: checked.sort(), problems };
  }

  /** Drops what is remembered about an Agent (call when it is deleted). */
  forget(namespace: string, name: string): void {
    this.memory.delete(`${namespace}/${name}`);
  }

  /** CA and proxy as the server pod has them, else from the Agent's spec (and the cluster proxy). */
  private async access(agent: Obj, deployment: Obj): Promise<{ caPem?: string; proxy?: GitProxy; problem?: string }> {
    const ns: string = agent.metadata.namespace;
    const podSpec = deployment.spec?.template?.spec ?? {};
    const containers: Obj[] = podSpec.containers ?? [];
    const server = containers.find((c) => c.name === 'server') ?? containers[0];
    const env = new Map<string, string>();
    for (const e of server?.env ?? []) if (typeof e?.value === 'string') env.set(e.name, e.value);
    const pick = (name: string) => env.get(name) ?? env.get(name.toLowerCase());
    let proxy: GitProxy | undefined;
    if (pick('HTTPS_PROXY') || pick('HTTP_PROXY') || pick('NO_PROXY')) {
      proxy = { httpsProxy: pick('HTTPS_PROXY'), httpProxy: pick('HTTP_PROXY'), noProxy: pick('NO_PROXY') };
    } else {
      const p: Proxy | undefined = hasProxy(agent.spec?.proxy) ? agent.spec.proxy : this.deps.clusterProxy?.();
      if (hasProxy(p)) proxy = { httpsProxy: p!.httpsProxy, httpProxy: p!.httpProxy, noProxy: mergeNoProxy(p!.noProxy) };
    }

    let source: { kind: 'ConfigMap' | 'Secret'; name: string; key: string } | undefined;
    const volume = (podSpec.volumes ?? []).find((v: Obj) => v.name === 'custom-ca');
    if (volume?.configMap?.name) {
      source = { kind: 'ConfigMap', name: volume.configMap.name, key: volume.configMap.items?.[0]?.key ?? DEFAULTS.caConfigMapKey };
    } else if (volume?.secret?.secretName) {
      source = { kind: 'Secret', name: volume.secret.secretName, key: volume.secret.items?.[0]?.key ?? DEFAULTS.caSecretKey };
    } else if (agent.spec?.caBundle?.configMapRef?.name) {
      const r = agent.spec.caBundle.configMapRef;
      source = { kind: 'ConfigMap', name: r.name, key: r.key ?? DEFAULTS.caConfigMapKey };
    } else if (agent.spec?.caBundle?.secretRef?.name) {
      const r = agent.spec.caBundle.secretRef;
      source = { kind: 'Secret', name: r.name, key: r.key ?? DEFAULTS.caSecretKey };
    }
    if (!source) return { proxy };
    const obj = source.kind === 'ConfigMap' ? await this.readConfigMap(ns, source.name) : await this.readSecret(ns, source.name);
    const pem = source.kind === 'ConfigMap'
      ? obj?.data?.[source.key] ?? (obj?.binaryData?.[source.key] ? Buffer.from(obj.binaryData[source.key], 'base64').toString('utf8') : undefined)
      : obj?.data?.[source.key] ? Buffer.from(obj.data[source.key], 'base64').toString('utf8') : undefined;
    if (!pem) {
      return { proxy, problem: `CA bundle: ${source.kind} ${ns}/${source.name} ${obj ? `has no key '${source.key}'` : 'does not exist'}` };
    }
    return { caPem: pem, proxy };
  }

  private async credentials(ns: string, c: RolloutContext): Promise<GitCredentials | undefined> {
    if (!c.secretRef) return undefined;
    const secret = await this.readSecret(ns, c.secretRef);
    if (!secret) throw new Error(`Secret ${ns}/${c.secretRef} (git.secretRef of context '${c.name}') does not exist`);
    const decode = (k: string) => (secret.data?.[k] ? Buffer.from(secret.data[k], 'base64').toString('utf8') : undefined);
    const password = decode('password');
    if (!password) throw new Error(`Secret ${ns}/${c.secretRef} (git.secretRef of context '${c.name}') has no key 'password'`);
    return { username: decode('username'), password };
  }

  private readSecret(ns: string, name: string): Promise<Obj | undefined> {
    if (this.deps.readSecret) return this.deps.readSecret(ns, name);
    if (!this.deps.rest) throw new Error('GitRolloutRuntime needs deps.rest or deps.readSecret');
    return this.deps.rest.tryGet(paths.core('secrets', ns, name));
  }

  private readConfigMap(ns: string, name: string): Promise<Obj | undefined> {
    if (this.deps.readConfigMap) return this.deps.readConfigMap(ns, name);
    if (!this.deps.rest) throw new Error('GitRolloutRuntime needs deps.rest or deps.readConfigMap');
    return this.deps.rest.tryGet(paths.core('configmaps', ns, name));
  }
}

function signature(agent: Obj, c: RolloutContext): string {
  return JSON.stringify([agent.metadata.uid, c.repository, c.ref, c.secretRef ?? '']);
}

function intervalMs(c: RolloutContext, problems: GitRolloutProblem[]): number {
  const ms = parseGoDurationMs(c.interval);
  if (ms === undefined) {
    problems.push({ context: c.name, message: `interval '${c.interval}' is not a duration; using ${DEFAULTS.gitSyncInterval}` });
    return parseGoDurationMs(DEFAULTS.gitSyncInterval)!;
  }
  return Math.max(MIN_INTERVAL_MS, ms);
}

const hasProxy = (p: Proxy | undefined): boolean => !!(p && (p.httpProxy || p.httpsProxy || p.noProxy));

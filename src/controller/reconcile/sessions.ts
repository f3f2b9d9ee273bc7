/**
 * The controller's calls to an Agent's OpenCode server: find a Task's session, abort it, read its outcome. What the
 * answers mean for the Task is decided in decide/session.ts.
 */
import { CONDITIONS, DEFAULTS, NAMES, REASONS } from '../../api';
import { type SessionFacts, type TaskStatusWrite, stopsTask, withSessionOutcome } from '../decide';
import type { Rest } from '../kube/rest';
import { paths } from '../kube/rest';
import type { Logger } from '../runtime/log';
import { type Obj, mergeConditions } from '../kube/convert';
import { OpencodeClient } from '../remotes/opencode-client';
import { sessionTitle } from '../kube/task-pod-manifest';

export interface AgentSessionsOptions {
  readonly rest: Rest;
  /** Where an Agent's OpenCode server answers. @default its Service URL (status.url) */
  readonly serverUrl?: (agent: Obj) => string;
  readonly clusterDomain: () => string;
  readonly now: () => number;
  readonly log: Logger;
  /** The Agent as the controller last knew it (its conditions). */
  readonly agent: (namespace: string, name: string) => Obj | undefined;
  /** Its server password Secret is gone: the Agent's reconcile creates it again. */
  readonly onSecretMissing: (namespace: string, name: string) => void;
}

export class AgentSessions {
  /** Server passwords by Agent `ns/name` (with its uid), read from its Secret at most once a minute; dropped on a 401. */
  private readonly passwords = new Map<string, { uid: string; value: string | undefined; at: number }>();

  constructor(private readonly opts: AgentSessionsOptions) {}

  /** The write that ends `task`, with the session's outcome folded in. */
  async outcome(task: Obj, agent: Obj, w: TaskStatusWrite, now: number): Promise<TaskStatusWrite> {
    return withSessionOutcome(w, await this.facts(task, agent, stopsTask(w)), now);
  }

  /** Aborts the session of a deleted Task; the session id, if there was one. */
  async abort(task: Obj, agent: Obj): Promise<string | undefined> {
    const client = await this.client(agent);
    const session = await client.findSession(sessionTitle(task));
    if (session) await client.abort(session.id);
    return session?.id;
  }

  private async facts(task: Obj, agent: Obj, stop: boolean): Promise<SessionFacts> {
    let client: OpencodeClient;
    let session: { id: string; title: string } | undefined;
    try {
      client = await this.client(agent);
      session = await client.findSession(sessionTitle(task));
    } catch (e) {
      return { reachable: false, error: (e as Error).message };
    }
    if (!session) return { reachable: true };
    if (stop) {
      try {
        await client.abort(session.id);
        return { reachable: true, session };
      } catch (e) {
        return { reachable: true, session, abortError: (e as Error).message };
      }
    }
    try {
      const sum = await client.summary(session);
      return { reachable: true, session, summary: { id: sum.id, title: sum.title, messageCount: sum.messageCount, tokenUsage: sum.tokenUsage, error: sum.error } };
    } catch {
      return { reachable: true, session };
    }
  }

  /** What is kept for an Agent that is gone. */
  forget(ns: string, name: string): void {
    this.passwords.delete(`${ns}/${name}`);
  }

  private async client(agent: Obj): Promise<OpencodeClient> {
    const { namespace: ns, name } = agent.metadata;
    const url = this.opts.serverUrl?.(agent) ?? agent.status?.url ?? NAMES.serverUrl(name, ns, agent.spec?.port ?? DEFAULTS.port, this.opts.clusterDomain());
    return new OpencodeClient(url, await this.password(agent), {
      onUnauthorized: () => this.serverRefusedAuth(agent),
      onAuthorized: () => this.serverAcceptedAuth(agent),
    });
  }

  private async password(agent: Obj): Promise<string | undefined> {
    const { namespace: ns, name } = agent.metadata;
    const auth = agent.spec?.serverAuth;
    if (auth?.enabled === false) return undefined;
    const key = `${ns}/${name}`;
    const cached = this.passwords.get(key);
    if (cached && cached.uid === agent.metadata.uid && this.opts.now() - cached.at < 60_000) return cached.value;
    const secret = await this.rest.tryGet(paths.core('secrets', ns, auth?.secretRef?.name ?? NAMES.serverAuthSecret(name)));
    if (!secret) this.opts.onSecretMissing(ns, name);
    const data = secret?.data?.[auth?.secretRef?.key ?? DEFAULTS.serverAuthKey];
    const password = data ? Buffer.from(data, 'base64').toString('utf8') : undefined;
    this.passwords.set(key, { uid: agent.metadata.uid, value: password, at: this.opts.now() });
    return password;
  }

  /**
   * The Agent's server answered 401 to the controller's password (rotated in the Secret but not yet in the server, or
   * the other way round): the cached password goes, and the Agent's status says so instead of silently losing the
   * session checks (outcome, abort on stop). A later call that gets through sets it back.
   */
  private async serverRefusedAuth(agent: Obj): Promise<void> {
    const { namespace: ns, name } = agent.metadata;
    this.passwords.delete(`${ns}/${name}`);
    this.opts.log.warn({ agent: `${ns}/${name}` }, 'the agent server refused the controller\'s password (HTTP 401)');
    await this.setServerAuthCondition(agent, 'False', REASONS.unauthorized,
      `The agent server answered HTTP 401 to the password in Secret '${agent.spec?.serverAuth?.secretRef?.name ?? NAMES.serverAuthSecret(name)}': ` +
      'the Secret and the running server disagree (a rotated password reaches the server when its pod restarts). Session outcomes and aborts are skipped until they agree.');
  }

  /** After a 401: the server takes the password again (only then is the condition written). */
  private async serverAcceptedAuth(agent: Obj): Promise<void> {
    const current = this.opts.agent(agent.metadata.namespace, agent.metadata.name) ?? agent;
    const had = (current.status?.conditions ?? []).find((c: Obj) => c.type === CONDITIONS.serverAuthorized);
    if (had?.status === 'False') await this.setServerAuthCondition(agent, 'True', REASONS.authorized, 'The agent server accepts the controller\'s password.');
  }

  private async setServerAuthCondition(agent: Obj, status: 'True' | 'False', reason: string, message: string): Promise<void> {
    const { namespace: ns, name } = agent.metadata;
    const current = this.opts.agent(ns, name) ?? agent;
    const had = (current.status?.conditions ?? []).find((c: Obj) => c.type === CONDITIONS.serverAuthorized);
    if (had?.status === status && had?.reason === reason) return;
    await this.rest.patch(`${paths.cr('agents', ns, name)}/status`, {
      status: { conditions: mergeConditions(current.status?.conditions, [{ type: CONDITIONS.serverAuthorized, status, reason, message, lastTransitionTime: this.opts.now() }], current.metadata.generation) },
    }).catch((e) => this.opts.log.warn({ agent: `${ns}/${name}`, err: (e as Error).message }, 'cannot write the ServerAuthorized condition'));
  }

  private get rest(): Rest {
    return this.opts.rest;
  }
}

/**
 * The controller's calls to an Agent's OpenCode server: find a Task's session, abort it, read its outcome. What the
 * answers mean for the Task is decided in decide/session.ts.
 */
import { DEFAULTS, NAMES } from '../../api';
import { type SessionFacts, type TaskStatusWrite, stopsTask, withSessionOutcome } from '../decide';
import type { Rest } from '../kube/rest';
import { paths } from '../kube/rest';
import type { Obj } from '../kube/views';
import { OpencodeClient } from '../opencode-client';
import { sessionTitle } from '../task-pod';

export interface AgentSessionsOptions {
  readonly rest: Rest;
  /** Where an Agent's OpenCode server answers. @default its Service URL (status.url) */
  readonly serverUrl?: (agent: Obj) => string;
  readonly clusterDomain: () => string;
}

export class AgentSessions {
  /** Server passwords by Agent uid, read from its Secret at most once a minute. */
  private readonly passwords = new Map<string, { value: string | undefined; at: number }>();

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

  private async client(agent: Obj): Promise<OpencodeClient> {
    const { namespace: ns, name } = agent.metadata;
    const url = this.opts.serverUrl?.(agent) ?? agent.status?.url ?? NAMES.serverUrl(name, ns, agent.spec?.port ?? DEFAULTS.port, this.opts.clusterDomain());
    const auth = agent.spec?.serverAuth;
    let password: string | undefined;
    if (auth?.enabled !== false) {
      const cached = this.passwords.get(agent.metadata.uid);
      if (cached && Date.now() - cached.at < 60_000) {
        password = cached.value;
      } else {
        const secret = await this.rest.get(paths.core('secrets', ns, auth?.secretRef?.name ?? NAMES.serverAuthSecret(name)));
        const data = secret.data?.[auth?.secretRef?.key ?? DEFAULTS.serverAuthKey];
        password = data ? Buffer.from(data, 'base64').toString('utf8') : undefined;
        this.passwords.set(agent.metadata.uid, { value: password, at: Date.now() });
      }
    }
    return new OpencodeClient(url, password);
  }

  private get rest(): Rest {
    return this.opts.rest;
  }
}

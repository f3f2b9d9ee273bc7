/**
 * The few calls the controller makes to an Agent's OpenCode server (HTTP Basic auth, user `opencode`): find a Task's
 * session by its title, abort it, and read its outcome. Every call is bounded by a timeout: an unreachable server
 * never holds a reconcile (or a Task's deletion) for long.
 */
export interface SessionSummary {
  readonly id: string;
  readonly title: string;
  readonly messageCount: number;
  readonly tokenUsage: { input: number; output: number; reasoning: number; cache: number };
  /** The error of the last assistant turn (the model or a tool failed), if any. */
  readonly error?: string;
  /** True while the last assistant turn has not finished. */
  readonly busy: boolean;
}

/** Messages read for a session's outcome: the newest this many (messageCount and tokenUsage count at most these). */
export const MESSAGE_LIMIT = 1000;
/** The most a server answer may weigh: a session's messages carry their parts (tool output…). */
export const MAX_RESPONSE_BYTES = 32 << 20;

/** The body as text, refusing one larger than `max` bytes (read as it streams, never held whole beyond that). */
async function readBounded(res: Response, max: number): Promise<string> {
  if (!res.body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.length;
    if (size > max) throw new Error(`the agent server's answer exceeds ${max} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export class OpencodeClient {
  constructor(
    private readonly baseUrl: string,
    private readonly password: string | undefined,
    private readonly opts: { username?: string; timeoutMs?: number; onUnauthorized?: () => Promise<void> | void; onAuthorized?: () => Promise<void> | void } = {},
  ) {}

  private async call(path: string, method = 'GET'): Promise<any> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.password !== undefined) {
      headers.authorization = `Basic ${Buffer.from(`${this.opts.username ?? 'opencode'}:${this.password}`).toString('base64')}`;
    }
    const res = await fetch(this.baseUrl.replace(/\/$/, '') + path, { method, headers, signal: AbortSignal.timeout(this.opts.timeoutMs ?? 5000) });
    if (res.status === 401) await this.opts.onUnauthorized?.();
    else if (res.ok) await this.opts.onAuthorized?.();
    if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status}`);
    const text = await readBounded(res, MAX_RESPONSE_BYTES);
    return text ? JSON.parse(text) : undefined;
  }

  /** The session whose title is exactly `title` (the task pod's `--title`). */
  async findSession(title: string): Promise<{ id: string; title: string } | undefined> {
    const list = (await this.call(`/session?search=${encodeURIComponent(title)}`)) as Array<{ id: string; title: string }>;
    return (list ?? []).find((s) => s.title === title);
  }

  async abort(id: string): Promise<void> {
    await this.call(`/session/${encodeURIComponent(id)}/abort`, 'POST');
  }

  async summary(session: { id: string; title: string }): Promise<SessionSummary> {
    // bounded: the newest MESSAGE_LIMIT messages (the server's `limit`), and the response size
    const messages = ((await this.call(`/session/${encodeURIComponent(session.id)}/message?limit=${MESSAGE_LIMIT}`)) ?? []) as Array<{ info: any }>;
    const usage = { input: 0, output: 0, reasoning: 0, cache: 0 };
    for (const m of messages) {
      const t = m.info?.tokens;
      if (!t) continue;
      usage.input += t.input ?? 0;
      usage.output += t.output ?? 0;
      usage.reasoning += t.reasoning ?? 0;
      usage.cache += (t.cache?.read ?? 0) + (t.cache?.write ?? 0);
    }
    const last = [...messages].reverse().find((m) => m.info?.role === 'assistant');
    const err = last?.info?.error;
    return {
      id: session.id,
      title: session.title,
      messageCount: messages.length,
      tokenUsage: usage,
      error: err ? describeError(err) : undefined,
      busy: !!last && !last.info?.finish && !last.info?.time?.completed && !err,
    };
  }
}

function describeError(e: any): string {
  const name = e.name ?? 'Error';
  const msg = e.data?.message ?? e.message ?? JSON.stringify(e.data ?? e);
  const code = e.data?.statusCode ? ` (HTTP ${e.data.statusCode})` : '';
  return `${name}${code}: ${String(msg).slice(0, 500)}`;
}

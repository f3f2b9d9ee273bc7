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

export class OpencodeClient {
  constructor(
    private readonly baseUrl: string,
    private readonly password: string | undefined,
    private readonly opts: { username?: string; timeoutMs?: number } = {},
  ) {}

  private async call(path: string, method = 'GET'): Promise<any> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.password !== undefined) {
      headers.authorization = `Basic ${Buffer.from(`${this.opts.username ?? 'opencode'}:${this.password}`).toString('base64')}`;
    }
    const res = await fetch(this.baseUrl.replace(/\/$/, '') + path, { method, headers, signal: AbortSignal.timeout(this.opts.timeoutMs ?? 5000) });
    if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status}`);
    const text = await res.text();
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
    const messages = ((await this.call(`/session/${encodeURIComponent(session.id)}/message`)) ?? []) as Array<{ info: any }>;
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

/**
 * `kubeoc agent attach`: the user's own `opencode attach` TUI, connected to an Agent's OpenCode server in the cluster
 * through the API server's service proxy (no Ingress, no port-forward, no kubectl).
 *
 * A listener on 127.0.0.1 forwards every request to
 * `/api/v1/namespaces/{ns}/services/{agent}:{port}/proxy/{path}` with the user's kubeconfig credentials, so the API
 * server authenticates and authorizes the user (RBAC: `services/proxy` on that one Service) and streams the answer
 * back unbuffered (the TUI lives on the `/event` server-sent events). The API server consumes the Authorization
 * header itself and never forwards it, so the OpenCode server's Basic auth travels in the query parameter opencode
 * also accepts (`auth_token` = base64("opencode:<password>")), read from the Agent's server-auth Secret.
 * While attached, the Agent carries the heartbeat annotation (kubeopencode.io/last-connection-active, every 60 s), so
 * standby does not suspend it under the user.
 */
import { spawn } from 'child_process';
import * as http from 'http';
import * as os from 'os';
import { AddressInfo } from 'net';
import { ANNOTATIONS, CONNECTION_HEARTBEAT, DEFAULTS, NAMES } from '../api';
import { KubeClient, KubeError, Obj, forbiddenMessage, paths } from './kube';
import type { Io } from './verbs';

export interface AttachOptions {
  readonly namespace: string;
  readonly agent: string;
  /** Local port of the listener; 0 picks a free one. @default - the Agent's port (4096), as upstream */
  readonly localPort?: number;
  /** The opencode binary. @default 'opencode' (from PATH) */
  readonly opencode?: string;
  /** Extra arguments for `opencode attach` (after `--`). */
  readonly extraArgs?: readonly string[];
}

/** Request headers that belong to one hop (RFC 9110 §7.6.1) or to the API server, not to the OpenCode server. */
const HOP_HEADERS = new Set(['host', 'authorization', 'connection', 'keep-alive', 'proxy-authorization', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

function endToEnd(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  return Object.fromEntries(Object.entries(headers).filter(([k]) => !HOP_HEADERS.has(k.toLowerCase())));
}

export interface AgentTarget {
  readonly namespace: string;
  readonly agent: string;
  readonly service: string;
  readonly port: number;
  /** base64("user:password"), or undefined when the server runs without auth. */
  readonly authToken?: string;
}

/** Looks the Agent up and reads its server password; errors say what to do (resume, wait, which RBAC). */
export async function resolveTarget(client: KubeClient, namespace: string, agent: string): Promise<AgentTarget> {
  const a = await client.request<Obj>({ verb: 'get', resource: 'agents', group: 'kubeopencode.io', namespace, name: agent }, 'GET', paths.cr('agents', namespace, agent));
  if (a.spec?.suspend) throw new Error(`agent ${agent} is suspended: resume it first with \`kubeoc agent resume ${agent} -n ${namespace}\``);
  if (a.status && a.status.ready === false) {
    throw new Error(`agent ${agent} is not ready (its server ${NAMES.serverDeployment(agent)} has no ready replica); check \`kubectl get deployment ${NAMES.serverDeployment(agent)} -n ${namespace}\``);
  }
  const port: number = a.spec?.port ?? DEFAULTS.port;
  const auth = a.spec?.serverAuth ?? {};
  let authToken: string | undefined;
  if (auth.enabled !== false) {
    const secretName: string = auth.secretRef?.name ?? NAMES.serverAuthSecret(agent);
    const key: string = auth.secretRef?.key ?? DEFAULTS.serverAuthKey;
    const secret = await client.request<Obj>({ verb: 'get', resource: 'secrets', group: '', namespace, name: secretName }, 'GET', paths.core('secrets', namespace, secretName));
    const value = secret.data?.[key];
    if (!value) throw new Error(`secret ${secretName} in namespace ${namespace} has no key ${key}: the controller creates it with the Agent's server password; is the controller running?`);
    const password = Buffer.from(value, 'base64').toString('utf8');
    authToken = Buffer.from(`${DEFAULTS.serverUsername}:${password}`).toString('base64');
  }
  return { namespace, agent, service: NAMES.service(agent), port, authToken };
}

/** The local forwarder. `url` is what `opencode attach` connects to. */
export class AttachProxy {
  private server?: http.Server;
  private readonly sockets = new Set<import('net').Socket>();

  constructor(private readonly client: KubeClient, private readonly target: AgentTarget) {}

  /** The API server path prefix of the Agent's server. */
  public get prefix(): string {
    const t = this.target;
    return `${paths.core('services', t.namespace, `${t.service}:${t.port}`)}/proxy`;
  }

  public get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  public async listen(port: number): Promise<string> {
    this.server = http.createServer((req, res) => void this.forward(req, res));
    this.server.on('connection', (s) => {
      s.setNoDelay(true);
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', (e: NodeJS.ErrnoException) =>
        reject(e.code === 'EADDRINUSE' ? new Error(`local port ${port} is already in use; pick another with --local-port (0: any free port)`) : e));
      this.server!.listen(port, '127.0.0.1', resolve);
    });
    return this.url;
  }

  /** The API server path for a local request path (query kept, the server's auth added). */
  public upstreamPath(localPath: string): string {
    const u = new URL(localPath, 'http://local');
    if (this.target.authToken) u.searchParams.set('auth_token', this.target.authToken);
    const q = u.searchParams.toString();
    return `${this.prefix}${u.pathname}${q ? `?${q}` : ''}`;
  }

  private async forward(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    try {
      const up = await this.client.open(req.method ?? 'GET', this.upstreamPath(req.url ?? '/'), endToEnd(req.headers));
      up.on('response', (ur) => {
        res.writeHead(ur.statusCode ?? 502, endToEnd(ur.headers));
        res.flushHeaders();
        ur.on('data', (c: Buffer) => res.write(c)); // each chunk at once: server-sent events must not wait
        ur.on('end', () => res.end());
        ur.on('error', () => res.destroy());
      });
      up.on('error', (e) => {
        if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(`kubeoc: the API server could not be reached: ${e.message}\n`);
      });
      res.on('close', () => up.destroy()); // the TUI went away: end the stream upstream too
      req.pipe(up);
    } catch (e) {
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`kubeoc: ${(e as Error).message}\n`);
    }
  }

  /**
   * One request through the whole path before the TUI starts, so that a missing permission or an unreachable server
   * is a clear error rather than a TUI that never connects.
   */
  public async check(): Promise<void> {
    const t = this.target;
    // the proxied id is the resource name RBAC sees: {service}:{port}
    const access = { verb: 'get', resource: 'services/proxy', group: '', namespace: t.namespace, name: `${t.service}:${t.port}` };
    const req = await this.client.open('GET', this.upstreamPath('/global/health'), { Accept: 'application/json' });
    const answer = await new Promise<http.IncomingMessage>((resolve, reject) => req.on('response', resolve).on('error', reject).end());
    const body = await new Promise<string>((resolve) => {
      let text = '';
      answer.on('data', (c: Buffer) => (text += c.toString('utf8')));
      answer.on('end', () => resolve(text));
    });
    const status = answer.statusCode ?? 0;
    if (status === 200) return;
    let message = body.trim();
    try { message = JSON.parse(body).message ?? message; } catch { /* not JSON */ }
    if (status === 403) {
      throw new KubeError(`${forbiddenMessage(access, message)}\n  (attaching forwards every OpenCode request through the Service's proxy: grant verbs get, create, update, patch and delete on services/proxy ${t.service}:${t.port})`, 403);
    }
    if (status === 401 && !/^\{/.test(body)) {
      throw new KubeError(`the OpenCode server of agent ${t.agent} refused its password (HTTP 401); the Secret ${NAMES.serverAuthSecret(t.agent)} may have changed since the server started: restart its pods`, 401);
    }
    if (status === 503) throw new KubeError(`agent ${t.agent}'s server is not reachable through the API server: ${message || 'HTTP 503'}`, 503);
    throw new KubeError(`agent ${t.agent}'s server answered HTTP ${status} through the API server: ${message.slice(0, 200)}`, status);
  }

  public async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

/** Writes the heartbeat annotation now and every interval until stopped; the first failure is reported once. */
export function startHeartbeat(client: KubeClient, io: Io, namespace: string, agent: string, intervalMs: number = CONNECTION_HEARTBEAT.intervalMs): () => Promise<void> {
  let warned = false;
  let pending: Promise<unknown> = Promise.resolve();
  const beat = () => {
    const at = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    pending = client.request({ verb: 'patch', resource: 'agents', group: 'kubeopencode.io', namespace, name: agent }, 'PATCH', paths.cr('agents', namespace, agent),
      { metadata: { annotations: { [ANNOTATIONS.lastConnectionActive]: at } } }, 'application/merge-patch+json').catch((e: Error) => {
      if (!warned) io.err.write(`kubeoc: warning: the connection heartbeat failed, standby may suspend the agent while you work: ${e.message}\n`);
      warned = true;
    });
  };
  beat();
  const timer = setInterval(beat, intervalMs);
  return async () => {
    clearInterval(timer);
    await pending;
  };
}

/** The whole verb; resolves with opencode's exit status. */
export async function attach(client: KubeClient, io: Io, o: AttachOptions): Promise<number> {
  const target = await resolveTarget(client, o.namespace, o.agent);
  const proxy = new AttachProxy(client, target);
  const url = await proxy.listen(o.localPort ?? target.port);
  try {
    await proxy.check();
    io.err.write(`kubeoc: agent ${o.namespace}/${o.agent} at ${url} (through the API server's service proxy); running opencode attach\n`);
    const stopHeartbeat = startHeartbeat(client, io, o.namespace, o.agent);
    try {
      return await runOpencode(o.opencode ?? 'opencode', ['attach', url, ...(o.extraArgs ?? [])]);
    } finally {
      await stopHeartbeat();
    }
  } finally {
    await proxy.close();
  }
}

/** Runs opencode on this terminal; Ctrl-C belongs to the TUI, so kubeoc ignores SIGINT meanwhile. */
function runOpencode(bin: string, args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: 'inherit' });
    const ignore = () => undefined;
    process.on('SIGINT', ignore);
    const forward = (sig: NodeJS.Signals) => () => child.kill(sig);
    const term = forward('SIGTERM');
    const hup = forward('SIGHUP');
    process.on('SIGTERM', term);
    process.on('SIGHUP', hup);
    const cleanup = () => {
      process.off('SIGINT', ignore);
      process.off('SIGTERM', term);
      process.off('SIGHUP', hup);
    };
    child.on('error', (e: NodeJS.ErrnoException) => {
      cleanup();
      reject(e.code === 'ENOENT' ? new Error(`${bin} not found: install OpenCode (npm i -g opencode-ai) or put it on PATH`) : e);
    });
    child.on('exit', (code, signal) => {
      cleanup();
      resolve(code ?? 128 + (signal ? os.constants.signals[signal] ?? 1 : 1));
    });
  });
}

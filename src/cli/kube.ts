/**
 * The CLI's connection to the API server: the user's kubeconfig (through @kubernetes/client-node, so every auth method
 * it supports works: client certificates, tokens, exec plugins, OIDC), raw requests whose bodies reach the server
 * unchanged, and errors that say which RBAC permission was missing.
 */
import * as http from 'http';
import * as https from 'https';
import { KubeConfig } from '@kubernetes/client-node';

export type Obj = Record<string, any>;

/** What a request does, in RBAC words: named in the error when the server answers 403. */
export interface Access {
  readonly verb: string;
  /** e.g. 'agents', 'services/proxy', 'pods/log' */
  readonly resource: string;
  /** API group ('' for core). */
  readonly group: string;
  readonly namespace?: string;
  readonly name?: string;
}

export class KubeError extends Error {
  constructor(message: string, readonly status: number, readonly body?: Obj) {
    super(message);
  }
}

/** The message for a 403: who may not do what, and the Role rule that would allow it. */
export function forbiddenMessage(a: Access, serverMessage?: string): string {
  const where = a.namespace ? ` in namespace ${a.namespace}` : '';
  const names = a.name ? `, resourceNames: ["${a.name}"]` : '';
  const rule = `{apiGroups: ["${a.group}"], resources: ["${a.resource}"]${names}, verbs: ["${a.verb}"]}`;
  return `forbidden: you may not ${a.verb} ${a.resource}${a.name ? ` ${a.name}` : ''}${where}; ask for a ${where ? `Role${where}` : 'ClusterRole'}, bound to you, with the rule ${rule}`
    + (serverMessage ? `\n  (API server: ${serverMessage})` : '');
}

export interface ClientOptions {
  /** Path of a kubeconfig file. @default - $KUBECONFIG, else ~/.kube/config (client-node's loadFromDefault) */
  readonly kubeconfig?: string;
  /** Context to use. @default - the kubeconfig's current context */
  readonly context?: string;
}

export class KubeClient {
  public readonly kc: KubeConfig;

  constructor(opts: ClientOptions = {}) {
    this.kc = new KubeConfig();
    if (opts.kubeconfig) this.kc.loadFromFile(opts.kubeconfig);
    else this.kc.loadFromDefault();
    if (opts.context) {
      if (!this.kc.getContextObject(opts.context)) throw new Error(`context ${opts.context} not found in the kubeconfig (have: ${this.kc.getContexts().map((c) => c.name).join(', ') || 'none'})`);
      this.kc.setCurrentContext(opts.context);
    }
    if (!this.kc.getCurrentCluster()) throw new Error('no cluster in the kubeconfig: set KUBECONFIG, pass --kubeconfig, or pick one with --context');
  }

  /** The namespace of the current context, else "default" (as kubectl). */
  public get defaultNamespace(): string {
    return this.kc.getContextObject(this.kc.getCurrentContext())?.namespace || 'default';
  }

  public get server(): URL {
    return new URL(this.kc.getCurrentCluster()!.server);
  }

  /** Request options carrying the user's credentials and the cluster's CA for `path` (query included). */
  public async requestOptions(method: string, path: string, headers: http.OutgoingHttpHeaders = {}): Promise<https.RequestOptions> {
    const base = this.server;
    const opts: https.RequestOptions = {
      protocol: base.protocol,
      hostname: base.hostname.replace(/^\[|\]$/g, ''),
      port: base.port || (base.protocol === 'https:' ? 443 : 80),
      method,
      path: base.pathname.replace(/\/$/, '') + path,
      headers: { ...headers },
    };
    await this.kc.applyToHTTPSOptions(opts);
    return opts;
  }

  /** Opens a request; the caller writes the body and reads the streamed response. */
  public async open(method: string, path: string, headers: http.OutgoingHttpHeaders = {}): Promise<http.ClientRequest> {
    const opts = await this.requestOptions(method, path, headers);
    return (opts.protocol === 'https:' ? https : http).request(opts);
  }

  /** One JSON request; throws KubeError (403: naming `access`) on HTTP status >= 400. */
  public async request<T = Obj>(access: Access, method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<T> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = await this.open(method, path, {
      Accept: 'application/json',
      ...(payload !== undefined ? { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(payload) } : {}),
    });
    const res = await send(req, payload);
    const text = await readAll(res);
    let parsed: any = text;
    try { parsed = text ? JSON.parse(text) : undefined; } catch { /* not JSON */ }
    const status = res.statusCode ?? 0;
    if (status >= 400) throw toKubeError(access, status, parsed);
    return parsed as T;
  }

  /** A streamed GET (pod logs): resolves with the response once the status is known; throws KubeError on >= 400. */
  public async stream(access: Access, path: string): Promise<http.IncomingMessage> {
    const res = await send(await this.open('GET', path, { Accept: '*/*' }));
    const status = res.statusCode ?? 0;
    if (status >= 400) {
      const text = await readAll(res);
      let parsed: any = text;
      try { parsed = JSON.parse(text); } catch { /* not JSON */ }
      throw toKubeError(access, status, parsed);
    }
    return res;
  }
}

export function toKubeError(access: Access, status: number, body: any): KubeError {
  const serverMessage = typeof body === 'object' && body ? body.message : typeof body === 'string' ? body.trim() : undefined;
  const what = `${access.resource.split('/')[0]}${access.name ? ` ${access.name}` : ''}${access.namespace ? ` in namespace ${access.namespace}` : ''}`;
  if (status === 401) return new KubeError(`unauthorized: the API server did not accept your credentials (${serverMessage ?? 'no detail'}); check your kubeconfig`, status, body);
  if (status === 403) return new KubeError(forbiddenMessage(access, serverMessage), status, body);
  if (status === 404 && access.verb !== 'list') return new KubeError(`${what} not found`, status, body);
  return new KubeError(`${access.verb} ${what}: HTTP ${status}${serverMessage ? `: ${serverMessage}` : ''}`, status, body);
}

function send(req: http.ClientRequest, payload?: string): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    req.on('response', resolve);
    req.on('error', reject);
    req.end(payload);
  });
}

function readAll(res: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', reject);
  });
}

/** API paths of the kinds the CLI touches. */
export const paths = {
  cr: (plural: string, ns?: string, name?: string) =>
    `/apis/kubeopencode.io/v1alpha1${ns ? `/namespaces/${ns}` : ''}/${plural}${name ? `/${name}` : ''}`,
  core: (plural: string, ns: string, name?: string) => `/api/v1/namespaces/${ns}/${plural}${name ? `/${name}` : ''}`,
};

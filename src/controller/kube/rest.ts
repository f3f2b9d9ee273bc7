import * as http from 'http';
import * as https from 'https';
import { CONTROLLER } from '../../api';
import type { ClusterAccess } from './kubeconfig';

/**
 * A thin REST client over the kubeconfig's cluster. Why not client-node's typed APIs for writes: they serialize bodies
 * through model classes that drop unknown keys and cannot target every subresource/content type uniformly; here every
 * request is exactly what the API server receives, and every write is counted (the benchmark reports writes per Task).
 * Reads of watched kinds come from informer caches; this client does the writes and the few direct reads.
 */
export class ApiError extends Error {
  constructor(public readonly code: number, message: string, public readonly body?: any, public readonly retryAfterSeconds?: number) {
    super(message);
    this.name = 'ApiError';
  }
}

export const isNotFound = (e: unknown) => e instanceof ApiError && e.code === 404;
export const isConflict = (e: unknown) => e instanceof ApiError && e.code === 409;
export const isAlreadyExists = (e: unknown) => e instanceof ApiError && e.code === 409 && e.body?.reason === 'AlreadyExists';
/** Worth retrying after a pause: throttling, server errors, connection trouble. */
export const isTransient = (e: unknown) =>
  !(e instanceof ApiError) || e.code === 429 || e.code >= 500;

export type PatchType = 'merge' | 'json' | 'strategic' | 'apply';
const PATCH_CONTENT_TYPE: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  json: 'application/json-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  apply: 'application/apply-patch+yaml',
};

export interface RestOptions {
  fieldManager?: string;
  /** Called for every write (verb, path) — metrics. */
  onWrite?: (verb: string, path: string) => void;
  /** Called for every request (method, path) — the RBAC test checks each against the ClusterRole. */
  onRequest?: (method: string, path: string) => void;
  /** Retries of transient failures per request. */
  retries?: number;
}

export class Rest {
  private readonly server: URL;
  private readonly agent: http.Agent;
  private httpsOptions?: { readonly value: https.RequestOptions; readonly at: number };

  constructor(private readonly kc: ClusterAccess, private readonly opts: RestOptions = {}) {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    this.server = new URL(cluster.server);
    this.agent = this.server.protocol === 'https:' ? new https.Agent({ keepAlive: true, maxSockets: 16 }) : new http.Agent({ keepAlive: true, maxSockets: 16 });
  }

  get fieldManager(): string {
    return this.opts.fieldManager ?? CONTROLLER.name;
  }

  async get<T = any>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }

  /** GET that answers undefined for 404. */
  async tryGet<T = any>(path: string): Promise<T | undefined> {
    try {
      return await this.get<T>(path);
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  async create<T = any>(path: string, body: unknown): Promise<T> {
    return this.request<T>('POST', `${path}?fieldManager=${this.fieldManager}`, body);
  }

  async patch<T = any>(path: string, body: unknown, type: PatchType = 'merge'): Promise<T> {
    const sep = path.includes('?') ? '&' : '?';
    return this.request<T>('PATCH', `${path}${sep}fieldManager=${this.fieldManager}`, body, PATCH_CONTENT_TYPE[type]);
  }

  /** PUT: the body carries metadata.resourceVersion, so a stale write is a 409. */
  async replace<T = any>(path: string, body: unknown): Promise<T> {
    return this.request<T>('PUT', `${path}?fieldManager=${this.fieldManager}`, body);
  }

  async delete(path: string, body?: unknown): Promise<void> {
    await this.request('DELETE', path, body);
  }

  /**
   * The credentials, asked of the kubeconfig again after {@link CREDENTIALS_TTL_MS} and after a 401: a ServiceAccount
   * token file rotates (the kubelet replaces it well before its expiry), and so do exec-plugin tokens.
   */
  private async options(): Promise<https.RequestOptions> {
    const now = Date.now();
    if (!this.httpsOptions || now - this.httpsOptions.at >= CREDENTIALS_TTL_MS) {
      const o: https.RequestOptions = {};
      await this.kc.applyToHTTPSOptions(o);
      this.httpsOptions = { value: o, at: now };
    }
    return this.httpsOptions.value;
  }

  async request<T>(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<T> {
    const retries = this.opts.retries ?? 4;
    let reauthenticated = false;
    for (let attempt = 0; ; attempt++) {
      try {
        if (method !== 'GET') this.opts.onWrite?.(method, path);
        this.opts.onRequest?.(method, path);
        return await this.once<T>(method, path, body, contentType);
      } catch (e) {
        if (e instanceof ApiError && e.code === 401 && !reauthenticated) {
          // the token may have rotated since it was read: read it again and retry once, at once
          reauthenticated = true;
          this.httpsOptions = undefined;
          attempt--;
          continue;
        }
        if (attempt >= retries || !isTransient(e)) throw e;
        const retryAfter = e instanceof ApiError && e.retryAfterSeconds ? e.retryAfterSeconds * 1000 : 0;
        await sleep(Math.max(retryAfter, Math.min(2000, 50 * 2 ** attempt)));
      }
    }
  }

  private async once<T>(method: string, path: string, body: unknown, contentType: string): Promise<T> {
    const base = await this.options();
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const mod = this.server.protocol === 'https:' ? https : http;
    return new Promise<T>((resolve, reject) => {
      const req = mod.request(
        {
          ...base,
          agent: this.agent,
          method,
          hostname: this.server.hostname,
          port: this.server.port,
          path: this.server.pathname.replace(/\/$/, '') + path,
          headers: {
            ...(base.headers ?? {}),
            accept: 'application/json',
            ...(payload ? { 'content-type': contentType, 'content-length': String(payload.length) } : {}),
          },
          timeout: 30_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: any;
            try {
              parsed = text ? JSON.parse(text) : undefined;
            } catch {
              parsed = text;
            }
            const code = res.statusCode ?? 0;
            if (code >= 200 && code < 300) return resolve(parsed as T);
            const retryAfter = Number(res.headers['retry-after']) || undefined;
            reject(new ApiError(code, `${method} ${path}: ${code} ${parsed?.message ?? text.slice(0, 200)}`, parsed, retryAfter));
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timed out`)));
      req.on('error', reject);
      if (payload) req.write(payload);
      req.end();
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** How long the credentials read from the kubeconfig are used before they are read again (client-node's own FileAuth re-reads a token file after 60 s too). */
export const CREDENTIALS_TTL_MS = 60_000;

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Paths of the kinds the controller touches. */
export const paths = {
  cr: (plural: string, ns?: string, name?: string) =>
    `/apis/kubeopencode.io/v1alpha1${ns ? `/namespaces/${ns}` : ''}/${plural}${name ? `/${name}` : ''}`,
  core: (resource: string, ns?: string, name?: string) =>
    `/api/v1${ns ? `/namespaces/${ns}` : ''}/${resource}${name ? `/${name}` : ''}`,
  apps: (resource: string, ns?: string, name?: string) =>
    `/apis/apps/v1${ns ? `/namespaces/${ns}` : ''}/${resource}${name ? `/${name}` : ''}`,
  batch: (resource: string, ns?: string, name?: string) =>
    `/apis/batch/v1${ns ? `/namespaces/${ns}` : ''}/${resource}${name ? `/${name}` : ''}`,
  lease: (ns: string, name?: string) => `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases${name ? `/${name}` : ''}`,
};

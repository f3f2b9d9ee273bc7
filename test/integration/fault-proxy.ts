/**
 * A small HTTP proxy in front of the test API server that injects the faults a controller meets in a real cluster:
 * dropped watches, watch streams that answer 410 Gone, throttling (429 with Retry-After) and server errors (5xx).
 * The controller talks plain HTTP to it; it talks HTTPS to the API server.
 */
import * as http from 'http';
import * as https from 'https';
import { AddressInfo } from 'net';
import { KubeConfig } from '@kubernetes/client-node';

export interface Faults {
  /** Fraction of non-watch requests answered 429 (Retry-After: 0). */
  throttle?: number;
  /** Fraction of non-watch requests answered 500/503. */
  serverError?: number;
  /** Watch streams are cut after this many ms. */
  dropWatchAfterMs?: number;
  /** Fraction of watch requests answered with an ERROR event (410 Gone). */
  gone?: number;
  /**
   * Requests answered with this status and message, as an admission webhook, a ResourceQuota or validation would
   * refuse them (e.g. POST of pods: 403). `times` bounds how many (default: all).
   */
  refuse?: { method: string; path: RegExp; code: number; reason: string; message: string; times?: number };
  /** Requests held this long before they are forwarded (a slow write: what the controller does meanwhile). */
  hold?: { method: string; path: RegExp; ms: number };
}

/** A write the proxy forwarded: method, path (without the query) and the parsed JSON body. */
export interface RecordedWrite {
  readonly method: string;
  readonly path: string;
  readonly body: any;
}

export class FaultProxy {
  public readonly counts = { throttled: 0, errors: 0, dropped: 0, gone: 0, forwarded: 0, refused: 0, held: 0 };
  /** Every write (POST, PUT, PATCH, DELETE) forwarded to the API server, in order. */
  public readonly writes: RecordedWrite[] = [];
  private server?: http.Server;
  private readonly sockets = new Set<import('net').Socket>();
  public faults: Faults = {};
  private rng = 1;

  constructor(private readonly upstream: KubeConfig) {}

  /** Deterministic pseudo-random numbers, so a failing run can be replayed. */
  private random(): number {
    this.rng = (this.rng * 1103515245 + 12345) % 2147483648;
    return this.rng / 2147483648;
  }

  async start(): Promise<number> {
    const cluster = this.upstream.getCurrentCluster()!;
    const target = new URL(cluster.server);
    const tls: https.RequestOptions = {};
    await this.upstream.applyToHTTPSOptions(tls);
    this.server = http.createServer((req, res) => {
      const isWatch = /[?&]watch=(true|1)/.test(req.url ?? '');
      const f = this.faults;
      const r = f.refuse;
      if (r && req.method === r.method && r.path.test(req.url ?? '') && (r.times === undefined || this.counts.refused < r.times)) {
        this.counts.refused++;
        req.resume();
        res.writeHead(r.code, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: r.reason, code: r.code, message: r.message }));
        return;
      }
      if (!isWatch && req.method !== undefined) {
        if (f.throttle && this.random() < f.throttle) {
          this.counts.throttled++;
          res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '0' });
          res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'TooManyRequests', code: 429, message: 'injected throttle' }));
          return;
        }
        if (f.serverError && this.random() < f.serverError) {
          this.counts.errors++;
          res.writeHead(503, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 503, message: 'injected server error' }));
          return;
        }
      }
      if (isWatch && f.gone && this.random() < f.gone) {
        this.counts.gone++;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Expired', code: 410, message: 'injected: too old resource version' } }) + '\n');
        return;
      }
      this.counts.forwarded++;
      const up = https.request({
        ...tls,
        hostname: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: target.host },
      }, (ur) => {
        res.writeHead(ur.statusCode ?? 502, ur.headers);
        // a watch sends its headers before any event: pass them on at once, or a quiet watch never connects
        res.flushHeaders();
        ur.pipe(res);
        if (isWatch && f.dropWatchAfterMs) {
          setTimeout(() => {
            this.counts.dropped++;
            ur.destroy();
            res.destroy();
          }, f.dropWatchAfterMs * (0.5 + this.random())).unref();
        }
      });
      up.on('error', () => res.destroy());
      if (req.method === 'GET') {
        req.pipe(up);
        return;
      }
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks);
        let body: any;
        try {
          body = raw.length ? JSON.parse(raw.toString('utf8')) : undefined;
        } catch {
          body = raw.toString('utf8');
        }
        this.writes.push({ method: req.method!, path: (req.url ?? '').split('?')[0], body });
        const h = f.hold;
        if (h && req.method === h.method && h.path.test(req.url ?? '')) {
          this.counts.held++;
          setTimeout(() => up.end(raw), h.ms);
        } else {
          up.end(raw);
        }
      });
    });
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    return (this.server.address() as AddressInfo).port;
  }

  /** A kubeconfig that points at the proxy. */
  kubeConfig(port: number): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'proxy', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
      users: [{ name: 'test' }],
      contexts: [{ name: 'proxy', cluster: 'proxy', user: 'test' }],
      currentContext: 'proxy',
    });
    return kc;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

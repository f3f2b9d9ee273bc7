/**
 * The harness's own watch: a streaming GET ?watch=1 whose events carry the time (performance.now()) their bytes
 * arrived, so the benchmark can measure latencies finer than creationTimestamp's one-second granularity.
 */
import * as http from 'http';
import * as https from 'https';
import type { KubeConfig } from '@kubernetes/client-node';

export type Obj = Record<string, any>;
export interface WatchEvent { type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR'; object: Obj; at: number }

export interface RunningWatch {
  stop(): void;
  /** Rejects when the stream ends or fails before stop(). */
  readonly ended: Promise<void>;
}

export async function watch(kc: KubeConfig, path: string, query: Record<string, string>, onEvent: (e: WatchEvent) => void): Promise<RunningWatch> {
  const server = new URL(kc.getCurrentCluster()!.server);
  const opts: https.RequestOptions = {};
  await kc.applyToHTTPSOptions(opts);
  const qs = new URLSearchParams({ ...query, watch: '1', timeoutSeconds: '3600', allowWatchBookmarks: 'false' }).toString();
  let stopped = false;
  let req: http.ClientRequest | undefined;
  const ended = new Promise<void>((resolve, reject) => {
    const mod = server.protocol === 'https:' ? https : http;
    req = mod.request({ ...opts, method: 'GET', hostname: server.hostname, port: server.port, path: `${server.pathname.replace(/\/$/, '')}${path}?${qs}`, headers: { ...(opts.headers ?? {}), accept: 'application/json' } }, (res) => {
      if (res.statusCode !== 200) {
        reject(new Error(`watch ${path}: HTTP ${res.statusCode}`));
        res.resume();
        return;
      }
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        const at = performance.now();
        buf += chunk;
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (!line.trim()) continue;
          const e = JSON.parse(line);
          onEvent({ type: e.type, object: e.object, at });
        }
      });
      res.on('end', () => (stopped ? resolve() : reject(new Error(`watch ${path} ended`))));
      res.on('error', (err) => (stopped ? resolve() : reject(err)));
    });
    req.on('error', (err) => (stopped ? resolve() : reject(err)));
    req.end();
  });
  ended.catch(() => undefined); // observed by whoever awaits it
  return {
    stop: () => {
      stopped = true;
      req?.destroy();
    },
    ended,
  };
}

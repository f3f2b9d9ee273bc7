/**
 * The harness's own watch: a streaming GET ?watch=1 whose events carry the time (performance.now()) their bytes
 * arrived, so the benchmark can measure latencies finer than creationTimestamp's one-second granularity.
 * The API server closes a watch whose reader falls behind (on a loaded machine, the harness itself); the stream then
 * resumes from the last resourceVersion it delivered, so no event is lost (410 Gone: too old to resume, a failure).
 */
import * as http from 'http';
import * as https from 'https';
import type { KubeConfig } from '@kubernetes/client-node';

export type Obj = Record<string, any>;
export interface WatchEvent { type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR'; object: Obj; at: number }

export interface RunningWatch {
  stop(): void;
  /** Rejects when the stream fails beyond resuming before stop(). */
  readonly ended: Promise<void>;
  /** How many times the server closed the stream and it resumed. */
  readonly resumed: number;
}

export async function watch(kc: KubeConfig, path: string, query: Record<string, string>, onEvent: (e: WatchEvent) => void): Promise<RunningWatch> {
  const server = new URL(kc.getCurrentCluster()!.server);
  const opts: https.RequestOptions = {};
  await kc.applyToHTTPSOptions(opts);
  const mod = server.protocol === 'https:' ? https : http;
  let stopped = false;
  let req: http.ClientRequest | undefined;
  let resourceVersion = query.resourceVersion;
  const state = { resumed: 0 };
  const ended = new Promise<void>((resolve, reject) => {
    const open = () => {
      const qs = new URLSearchParams({ ...query, ...(resourceVersion ? { resourceVersion } : {}), watch: '1', timeoutSeconds: '3600', allowWatchBookmarks: 'false' }).toString();
      let closed = false;
      const again = () => {
        if (closed) return;
        closed = true;
        if (stopped) return resolve();
        state.resumed++;
        setTimeout(open, 10);
      };
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
            if (e.type === 'ERROR') {
              stopped = true;
              req?.destroy();
              reject(new Error(`watch ${path}: ${e.object?.message ?? JSON.stringify(e.object)}`));
              return;
            }
            resourceVersion = e.object?.metadata?.resourceVersion ?? resourceVersion;
            onEvent({ type: e.type, object: e.object, at });
          }
        });
        res.on('end', again);
        res.on('error', again);
      });
      req.on('error', again);
      req.end();
    };
    open();
  });
  ended.catch(() => undefined); // observed by whoever awaits it
  return {
    stop: () => {
      stopped = true;
      req?.destroy();
    },
    ended,
    get resumed() {
      return state.resumed;
    },
  };
}

/**
 * A controller in its own process, driven over IPC by bench/lib/controller-host.ts (so its RSS is its own and the
 * harness's watch does not share its event loop). Runs compiled (bench/lib/build.ts) or under ts-node.
 *
 * Messages in: { id, cmd: 'mem' | 'start' | 'settle' | 'metrics' | 'stop', args? }; out: { id, result } | { id, error }.
 * Sends { ready: true, mem } once its modules are loaded, before any controller exists.
 */
import * as fs from 'fs';
import { Writable } from 'stream';
import { Controller } from '../../src/controller/controller';
import { createLogger } from '../../src/controller/runtime/log';
import { loadKubeConfig } from '../../src/controller/settings';

const loadedMem = memory();
let controller: Controller | undefined;
let startedAt = 0;
/** Responses by status code of every request the controller's REST client sent (each attempt). */
const responses: Record<string, number> = {};
/** Task writes by what they say (phase / podName / finalizers) and outcome: duplicates and conflicts show up here. */
const taskWrites: Record<string, number> = {};

function classify(method: string, p: string, body: any, code: string): void {
  const m = p.split('?')[0].match(/\/tasks\/[^/]+(\/status)?$/);
  if (method !== 'PATCH' || !m) return;
  const what = m[1]
    ? `tasks/status ${body?.status?.phase ?? (body?.status?.podName ? 'podName' : 'other')}`
    : `tasks ${body?.metadata?.finalizers ? (body.metadata.finalizers.length ? 'finalizer add' : 'finalizer remove') : 'other'}`;
  const k = `${what} ${code}`;
  taskWrites[k] = (taskWrites[k] ?? 0) + 1;
}
const warnings = { count: 0, samples: [] as string[] };

function memory() {
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers, maxRss: process.resourceUsage().maxRSS * 1024 };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function counterValues(c: { get(): Promise<{ values: Array<{ labels: Record<string, string | number>; value: number }> }> }) {
  return (await c.get()).values.map((v) => ({ labels: v.labels, value: v.value }));
}

const commands: Record<string, (args: any) => Promise<unknown>> = {
  async mem(args: { gc?: boolean }) {
    const before = memory();
    if (args?.gc && (global as any).gc) {
      (global as any).gc();
      return { ...before, afterGc: memory() };
    }
    return before;
  },

  async start(args: { kubeconfig: string; concurrency?: number; serverUrl?: string }) {
    // as the bin loads it (settings.ts), so the child carries the modules production carries
    const kc = loadKubeConfig({ KUBECONFIG: args.kubeconfig });
    const sink = new Writable({
      write(chunk, _enc, cb) {
        for (const line of String(chunk).split('\n').filter(Boolean)) {
          warnings.count++;
          if (warnings.samples.length < 8) warnings.samples.push(line.slice(0, 400));
        }
        cb();
      },
    });
    controller = new Controller({
      kubeConfig: kc,
      leaderElection: false,
      log: createLogger('warn', sink),
      concurrency: args.concurrency,
      // the Agents' OpenCode servers (the harness plays them); an option older controllers ignore
      ...(args.serverUrl ? { serverUrl: () => args.serverUrl! } : {}),
    } as ConstructorParameters<typeof Controller>[0]);
    // count responses per status code (bench instrumentation only; the controller's own counter counts attempts)
    const rest = controller.rest as any;
    const once = rest.once.bind(rest);
    // BENCH_TRACE=<file>: one line per request (start and end wall-clock ms, method, path, status, body excerpt)
    const trace = process.env.BENCH_TRACE ? fs.openSync(process.env.BENCH_TRACE, 'a') : undefined;
    const record = (t0: number, method: string, p: string, code: string, body: unknown) => {
      if (trace !== undefined) fs.writeSync(trace, `${t0.toFixed(1)} ${Date.now().toFixed(1)} ${method} ${p.split('?')[0]} ${code} ${body === undefined ? '' : JSON.stringify(body).slice(0, 300)}\n`);
    };
    rest.once = async (method: string, p: string, body: unknown, contentType: string) => {
      const t0 = Date.now();
      try {
        const r = await once(method, p, body, contentType);
        responses[`${method} 2xx`] = (responses[`${method} 2xx`] ?? 0) + 1;
        record(t0, method, p, '2xx', body);
        classify(method, p, body, '2xx');
        return r;
      } catch (e: any) {
        const k = `${method} ${e?.code ?? 'error'}`;
        responses[k] = (responses[k] ?? 0) + 1;
        record(t0, method, p, String(e?.code ?? 'error'), body);
        classify(method, p, body, String(e?.code ?? 'error'));
        throw e;
      }
    };
    startedAt = performance.now();
    await controller.start();
    return { syncMs: performance.now() - startedAt };
  },

  /** Waits until the queue is idle and stays idle (no reconcile ran) for `quietMs`. */
  async settle(args: { quietMs?: number; timeoutMs?: number }) {
    const c = controller!;
    const quiet = args?.quietMs ?? 300;
    const deadline = Date.now() + (args?.timeoutMs ?? 120_000);
    const t0 = performance.now();
    const total = async () => (await counterValues(c.metrics.reconciles)).reduce((a, v) => a + v.value, 0);
    for (;;) {
      await c.idle();
      const idleAt = performance.now();
      const n = await total();
      await sleep(quiet);
      if ((await total()) === n) return { ms: idleAt - t0, sinceStartMs: idleAt - startedAt };
      if (Date.now() > deadline) throw new Error('controller did not settle');
    }
  },

  async metrics() {
    const c = controller!;
    return {
      apiWrites: await counterValues(c.metrics.apiWrites),
      reconciles: await counterValues(c.metrics.reconciles),
      reconcileErrors: await counterValues(c.metrics.reconcileErrors),
      admissions: await counterValues(c.metrics.admissions),
      responses: { ...responses },
      taskWrites: { ...taskWrites },
      cpuMs: (() => {
        const c = process.cpuUsage();
        return (c.user + c.system) / 1000;
      })(),
      warnings: { count: warnings.count, samples: [...warnings.samples] },
    };
  },

  async stop() {
    await controller?.stop();
    controller = undefined;
    setTimeout(() => process.exit(0), 10).unref();
    return true;
  },
};

process.on('message', (msg: any) => {
  const fn = commands[msg?.cmd];
  if (!fn) {
    process.send!({ id: msg?.id, error: `unknown command ${msg?.cmd}` });
    return;
  }
  fn(msg.args).then(
    (result) => process.send!({ id: msg.id, result }),
    (err) => process.send!({ id: msg.id, error: String(err?.stack ?? err) }),
  );
});
process.on('disconnect', () => process.exit(0));
process.send!({ ready: true, mem: loadedMem });

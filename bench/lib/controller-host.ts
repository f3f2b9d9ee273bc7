/** Parent side of bench/lib/controller-child.ts: fork it, call its commands, kill it by pid. */
import { ChildProcess, fork } from 'child_process';
import type { Build } from './build';

export interface Mem { rss: number; heapUsed: number; heapTotal: number; external: number; arrayBuffers: number; maxRss: number; afterGc?: Omit<Mem, 'afterGc'> }
export interface CounterValue { labels: Record<string, string | number>; value: number }
export interface ChildMetrics {
  apiWrites: CounterValue[];
  reconciles: CounterValue[];
  reconcileErrors: CounterValue[];
  admissions: CounterValue[];
  responses: Record<string, number>;
  taskWrites: Record<string, number>;
  /** CPU time (user + system) the child used so far. */
  cpuMs: number;
  warnings: { count: number; samples: string[] };
}

export class ControllerProcess {
  private seq = 0;
  private readonly pending = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();
  private exited = false;

  private constructor(private readonly child: ChildProcess, public readonly loadedMem: Mem) {
    child.on('message', (m: any) => {
      const p = this.pending.get(m?.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.error) p.reject(new Error(`controller child: ${m.error}`));
      else p.resolve(m.result);
    });
    child.on('exit', (code, signal) => {
      this.exited = true;
      for (const p of this.pending.values()) p.reject(new Error(`controller child exited (${code ?? signal})`));
      this.pending.clear();
    });
  }

  /** Forks the compiled child (plain node) and waits for its 'ready' message. */
  static spawn(build: Build): Promise<ControllerProcess> {
    const child = fork(build.entry('bench/lib/controller-child.ts'), [], {
      env: build.env,
      execArgv: ['--expose-gc', '--no-warnings'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    return new Promise((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`controller child exited before ready (${code})`));
      child.once('exit', onExit);
      child.once('message', (m: any) => {
        child.off('exit', onExit);
        if (m?.ready) resolve(new ControllerProcess(child, m.mem));
        else reject(new Error(`unexpected first message ${JSON.stringify(m)}`));
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  call<T = any>(cmd: string, args?: unknown): Promise<T> {
    if (this.exited) return Promise.reject(new Error('controller child has exited'));
    const id = ++this.seq;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.child.send({ id, cmd, args });
    });
  }

  mem(gc = false): Promise<Mem> {
    return this.call('mem', { gc });
  }

  metrics(): Promise<ChildMetrics> {
    return this.call('metrics');
  }

  /** Stops the controller gracefully, then makes sure the process is gone (by pid). */
  async stop(): Promise<void> {
    if (this.exited) return;
    try {
      await Promise.race([this.call('stop'), new Promise((r) => setTimeout(r, 5000))]);
    } catch {
      // exited already
    }
    await this.kill();
  }

  async kill(): Promise<void> {
    if (this.exited || this.child.pid === undefined) return;
    const gone = new Promise<void>((r) => this.child.once('exit', () => r()));
    const t = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    this.child.kill('SIGTERM');
    await gone;
    clearTimeout(t);
  }
}

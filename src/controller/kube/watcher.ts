import { KubeConfig, KubernetesObject, makeInformer } from '@kubernetes/client-node';
import type { Logger } from '../runtime/log';
import { Rest } from './rest';

export interface WatchedObject extends KubernetesObject {
  metadata?: KubernetesObject['metadata'] & { name?: string; namespace?: string };
  [k: string]: any;
}

/**
 * An informer (list + watch, cached) that keeps going: client-node's informer stops on its first error (a dropped
 * watch, 410 Gone, the 429 a server answers while a CRD's storage initializes), so we restart it — which relists —
 * after a short, growing pause. Listing goes through our REST client so the list is exactly what the server sent.
 */
export class Watcher<T extends WatchedObject> {
  private informer?: ReturnType<typeof makeInformer<T>>;
  private stopped = false;
  private restarts = 0;
  private syncedResolve!: () => void;
  /** Resolves after the first successful list. */
  public readonly synced = new Promise<void>((r) => (this.syncedResolve = r));

  constructor(
    private readonly kc: KubeConfig,
    private readonly rest: Rest,
    private readonly path: string,
    private readonly onEvent: (type: 'add' | 'update' | 'delete', obj: T) => void,
    private readonly log: Logger,
    private readonly labelSelector?: string,
  ) {}

  async start(): Promise<void> {
    this.stopped = false;
    let listed = false;
    const informer = makeInformer<T>(
      this.kc,
      this.path,
      async () => {
        // pages of 500: one response for 10,000 Tasks would be the process's high-water mark
        const items: T[] = [];
        let cont: string | undefined;
        let list: any;
        do {
          const q = new URLSearchParams({ limit: '500' });
          if (this.labelSelector) q.set('labelSelector', this.labelSelector);
          if (cont) q.set('continue', cont);
          list = await this.rest.get(`${this.path}?${q}`);
          for (const item of list.items ?? []) items.push(slim(item));
          cont = list.metadata?.continue || undefined;
        } while (cont);
        listed = true;
        return { ...list, items };
      },
      this.labelSelector,
    );
    this.informer = informer;
    informer.on('add', (o) => this.onEvent('add', slim(o)));
    informer.on('update', (o) => this.onEvent('update', slim(o)));
    informer.on('delete', (o) => this.onEvent('delete', o));
    // client-node emits 'connect' before listing; the cache is complete only once start() returns after a list
    const run = async () => {
      await informer.start();
      if (listed && !this.stopped) {
        this.restarts = 0;
        this.syncedResolve();
      }
    };
    informer.on('error', (err: any) => {
      if (this.stopped) return;
      const delay = Math.min(5000, 100 * 2 ** this.restarts++);
      this.log.warn({ path: this.path, err: String(err?.message ?? err), delayMs: delay }, 'watch ended; resuming');
      setTimeout(() => {
        if (!this.stopped) void run();
      }, delay).unref?.();
    });
    await run();
  }

  list(namespace?: string): T[] {
    return (this.informer?.list(namespace) ?? []) as T[];
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.informer?.get(name, namespace) as T | undefined;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.informer?.stop();
  }
}


/**
 * Drops metadata.managedFields, which the controller never reads and which is about half of a Task's JSON: the
 * informer hands its cached object to the callbacks, so this shrinks the cache itself.
 */
function slim<T extends WatchedObject>(o: T): T {
  if (o.metadata && 'managedFields' in o.metadata) delete (o.metadata as any).managedFields;
  return o;
}

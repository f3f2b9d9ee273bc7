import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
// the informer's own module, not the package's index (which loads the whole generated API: see kubeconfig.ts)
import { makeInformer } from '@kubernetes/client-node/dist/informer.js';
import type { ClusterAccess } from './kubeconfig';
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
    private readonly kc: ClusterAccess,
    private readonly rest: Rest,
    private readonly path: string,
    private readonly onEvent: (type: 'add' | 'update' | 'delete', obj: T) => void,
    private readonly log: Logger,
    private readonly labelSelector?: string,
    /** What the cache keeps of each object. @default the object without metadata.managedFields */
    private readonly slim: (o: T) => T = dropManagedFields,
  ) {}

  async start(): Promise<void> {
    this.stopped = false;
    let listed = false;
    const informer = makeInformer<T>(
      // its Watch calls only getCurrentCluster() and applyToFetchOptions()
      this.kc as KubeConfig,
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
          for (const item of list.items ?? []) items.push(this.slim(item));
          cont = list.metadata?.continue || undefined;
        } while (cont);
        listed = true;
        return { ...list, items };
      },
      this.labelSelector,
    );
    this.informer = informer;
    informer.on('add', (o) => this.onEvent('add', this.slim(o)));
    informer.on('update', (o) => this.onEvent('update', this.slim(o)));
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
 * The default for what a cache keeps: drops metadata.managedFields, which the controller never reads and which is
 * about half of a Task's JSON. In place: the informer hands its cached object to the callbacks, so this shrinks the
 * cache itself.
 */
export function dropManagedFields<T extends WatchedObject>(o: T): T {
  if (o.metadata && 'managedFields' in o.metadata) delete (o.metadata as any).managedFields;
  return o;
}

/**
 * What the task-pod cache keeps: identity, labels, owner and timestamps, and the status fields admission and the
 * Task's end read (phase, reason, message, conditions, container states) — not the spec, annotations or managedFields.
 * Admission counts a Task whose pod ended as holding no slot from this cache, so the next pod starts on the pod's
 * event without a GET. resourceVersion stays: the informer compares it to tell an update. A task pod is several KB of
 * JSON, mostly its spec; this keeps well under 1 KB. In place, as above.
 */
export function taskPodSummary<T extends WatchedObject>(o: T): T {
  for (const k of Object.keys(o)) if (!TOP.has(k)) delete o[k];
  const m = (o.metadata ?? {}) as Record<string, unknown>;
  for (const k of Object.keys(m)) if (!IDENTITY.has(k)) delete m[k];
  const s = o.status as Record<string, unknown> | undefined;
  if (s) for (const k of Object.keys(s)) if (!POD_STATUS.has(k)) delete s[k];
  return o;
}

const TOP = new Set(['apiVersion', 'kind', 'metadata', 'status']);
const IDENTITY = new Set(['name', 'namespace', 'uid', 'resourceVersion', 'labels', 'ownerReferences', 'creationTimestamp', 'deletionTimestamp']);
const POD_STATUS = new Set(['phase', 'reason', 'message', 'conditions', 'initContainerStatuses', 'containerStatuses']);

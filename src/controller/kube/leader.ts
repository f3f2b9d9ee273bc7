import type { Logger } from '../runtime/log';
import { Rest, isConflict, isNotFound, paths } from './rest';

export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  identity: string;
  /** @default 15 */
  leaseDurationSeconds?: number;
  /** How often to try to acquire or renew. @default 2000 */
  retryPeriodMs?: number;
  /** A leader that could not renew for this long stops leading. @default 10000 */
  renewDeadlineMs?: number;
  now?: () => number;
}

/**
 * Leader election on a coordination.k8s.io Lease, with optimistic concurrency (replace with the read
 * resourceVersion): two replicas can never both hold it, because the second write of the same version gets a 409.
 */
export class LeaderElector {
  private timer?: NodeJS.Timeout;
  private leading = false;
  private lastRenew = 0;
  private stopped = false;
  /** The other holder this replica last said it waits for (logged once per holder, not every retry). */
  private waitingFor?: string;
  private holder?: string;

  constructor(
    private readonly rest: Rest,
    private readonly opts: LeaderElectionOptions,
    private readonly log: Logger,
    private readonly callbacks: { onStartedLeading: () => void; onStoppedLeading: () => void },
  ) {}

  get isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    this.stopped = false;
    const tick = async () => {
      if (this.stopped) return;
      try {
        const ok = await this.tryAcquireOrRenew();
        if (ok) {
          this.lastRenew = this.now();
          if (!this.leading) {
            this.leading = true;
            this.waitingFor = undefined;
            this.log.info({ lease: this.opts.name, identity: this.opts.identity }, 'became leader');
            this.callbacks.onStartedLeading();
          }
        } else if (this.leading) {
          this.lose('another replica holds the lease');
        } else if (this.holder !== this.waitingFor) {
          this.waitingFor = this.holder;
          this.log.info({ lease: `${this.opts.namespace}/${this.opts.name}`, holder: this.holder, identity: this.opts.identity },
            `waiting for the leader Lease ${this.opts.namespace}/${this.opts.name}: held by ${this.holder ?? 'another replica'}; this replica acts once it expires or is released`);
        }
      } catch (err) {
        this.log.warn({ err: String(err) }, 'lease renewal failed');
        if (this.leading && this.now() - this.lastRenew > (this.opts.renewDeadlineMs ?? 10_000)) this.lose('renew deadline passed');
      }
      if (!this.stopped) this.timer = setTimeout(tick, this.opts.retryPeriodMs ?? 2000);
    };
    void tick();
  }

  /** Stops trying; a leader gives the lease up (so a standby takes over at once instead of after the lease expires). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.leading) {
      this.leading = false;
      try {
        const lease = await this.rest.get(paths.lease(this.opts.namespace, this.opts.name));
        if (lease.spec?.holderIdentity === this.opts.identity) {
          await this.rest.replace(paths.lease(this.opts.namespace, this.opts.name), {
            ...lease,
            spec: { ...lease.spec, holderIdentity: null, leaseDurationSeconds: 1, renewTime: microTime(this.now() - 2000) },
          });
        }
      } catch {
        // best effort: the lease expires by itself
      }
    }
  }

  private lose(why: string): void {
    this.leading = false;
    this.log.warn({ why }, 'stopped leading');
    this.callbacks.onStoppedLeading();
  }

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const path = paths.lease(this.opts.namespace, this.opts.name);
    const duration = this.opts.leaseDurationSeconds ?? 15;
    const nowIso = microTime(this.now());
    const lease = await this.rest.tryGet(path);
    if (!lease) {
      try {
        await this.rest.create(paths.lease(this.opts.namespace), {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name: this.opts.name, namespace: this.opts.namespace },
          spec: { holderIdentity: this.opts.identity, leaseDurationSeconds: duration, acquireTime: nowIso, renewTime: nowIso, leaseTransitions: 0 },
        });
        return true;
      } catch (e) {
        if (isConflict(e)) return false;
        throw e;
      }
    }
    const spec = lease.spec ?? {};
    const mine = spec.holderIdentity === this.opts.identity;
    const renewed = spec.renewTime ? Date.parse(spec.renewTime) : 0;
    const expired = !spec.holderIdentity || renewed + (spec.leaseDurationSeconds ?? duration) * 1000 < this.now();
    this.holder = spec.holderIdentity ?? undefined;
    if (!mine && !expired) return false;
    try {
      await this.rest.replace(path, {
        ...lease,
        spec: {
          ...spec,
          holderIdentity: this.opts.identity,
          leaseDurationSeconds: duration,
          renewTime: nowIso,
          ...(mine ? {} : { acquireTime: nowIso, leaseTransitions: (spec.leaseTransitions ?? 0) + 1 }),
        },
      });
      return true;
    } catch (e) {
      if (isConflict(e) || isNotFound(e)) return false;
      throw e;
    }
  }
}

/** metav1.MicroTime wants exactly six fractional digits. */
function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/Z$/, '000Z');
}

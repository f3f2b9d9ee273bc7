/**
 * The runtime controller, wired: watches Tasks, Agents, CronTasks, the server Deployments and the task pods; turns
 * every change into a key on a work queue; hands each key to the reconciler of its kind (reconcile/). Each reconcile
 * reads the current state from the caches, asks the pure decision core (decide/) what to write, and has the executor
 * (kube/executor.ts) write it. Level-triggered: a reconcile never trusts the event that woke it, and running it twice
 * writes nothing the second time.
 */
import { randomBytes } from 'crypto';
import * as os from 'os';
import { CONTROLLER, CONTROLLER_DEFAULTS, CONTROLLER_ENV, LABELS, SELECTORS } from '../api';
import { isFinished } from './decide';
import type { LsRemoteOptions } from './remotes/git-remote';
import { GitRolloutRuntime } from './remotes/git-rollout-runtime';
import { HealthServer } from './runtime/health';
import { EventRecorder } from './kube/events';
import { WriteExecutor } from './kube/executor';
import type { ClusterAccess } from './kube/kubeconfig';
import { LeaderElector } from './kube/leader';
import { Rest, isConflict, paths } from './kube/rest';
import { Obj, toTaskView } from './kube/convert';
import { Watcher, taskPodSummary } from './kube/watcher';
import { Logger, createLogger } from './runtime/log';
import { ControllerMetrics } from './runtime/metrics';
import { AgentReconciler } from './reconcile/agent-reconciler';
import { CLEANUP_KEY, CleanupReconciler } from './reconcile/cleanup-reconciler';
import { CronTaskReconciler } from './reconcile/crontask-reconciler';
import { AgentSessions } from './reconcile/sessions';
import { Caches, Shell, key } from './reconcile/shell';
import { TaskReconciler } from './reconcile/task-reconciler';
import { WorkQueue } from './runtime/workqueue';

export interface ControllerOptions {
  /** The cluster: settings.loadKubeConfig() in the bin, or a client-node KubeConfig. */
  readonly kubeConfig: ClusterAccess;
  /** Namespace of the leader-election Lease. @default POD_NAMESPACE or kubeopencode-system */
  readonly namespace?: string;
  /** This replica's identity in the Lease. @default POD_NAME or hostname + random suffix */
  readonly identity?: string;
  /** @default true */
  readonly leaderElection?: boolean;
  /** How long a task pod may fail to start before its Task fails. @default 300 */
  readonly podStartGraceSeconds?: number;
  readonly log?: Logger;
  readonly metrics?: ControllerMetrics;
  /** The clock (tests use a fake one). @default Date.now */
  readonly now?: () => number;
  /** Reconciles running at once (different keys). @default 8 */
  readonly concurrency?: number;
  /** Port of /healthz, /readyz and /metrics; undefined: no server. */
  readonly healthPort?: number;
  /** A second port for /metrics (the metrics Service's). */
  readonly metricsPort?: number;
  /** Where an Agent's OpenCode server answers. @default its Service URL (status.url) */
  readonly serverUrl?: (agent: Obj) => string;
  /** A Task being deleted is kept (finalizer) at most this long while its session is aborted. @default 30 */
  readonly finalizerTimeoutSeconds?: number;
  /** Sees every API request the controller makes (tests: least-privilege RBAC). */
  readonly onApiRequest?: (method: string, path: string) => void;
  /** Replaces `git ls-remote` for Rollout contexts (tests). */
  readonly gitLsRemote?: (o: LsRemoteOptions) => Promise<string>;
}

export class Controller {
  public readonly rest: Rest;
  public readonly metrics: ControllerMetrics;
  private readonly log: Logger;
  private readonly queue: WorkQueue;
  private readonly caches: Caches;
  private readonly agents: AgentReconciler;
  private readonly tasks: TaskReconciler;
  private readonly cronTasks: CronTaskReconciler;
  private readonly cleanup: CleanupReconciler;
  private readonly shell: Shell;
  private readonly now: () => number;
  private readonly elector?: LeaderElector;
  private readonly health?: HealthServer;
  private synced = false;
  private leading = false;

  constructor(private readonly opts: ControllerOptions) {
    this.log = opts.log ?? createLogger();
    this.metrics = opts.metrics ?? new ControllerMetrics();
    this.now = opts.now ?? Date.now;
    this.rest = new Rest(opts.kubeConfig, {
      onWrite: (verb, p) => this.metrics.apiWrites.inc({ verb, resource: resourceOf(p) }),
      onRequest: opts.onApiRequest,
    });
    this.queue = this.createQueue();
    this.caches = this.createCaches();
    const shell = (this.shell = this.createShell());
    this.agents = new AgentReconciler(shell, new GitRolloutRuntime({
      rest: this.rest,
      now: this.now,
      lsRemote: opts.gitLsRemote,
      clusterProxy: () => this.caches.configs.get(undefined, 'cluster')?.spec?.proxy,
    }));
    this.tasks = new TaskReconciler(shell, opts);
    this.cronTasks = new CronTaskReconciler(shell);
    this.cleanup = new CleanupReconciler(shell);
    if (opts.leaderElection ?? true) this.elector = this.createElector();
    if (opts.healthPort !== undefined) this.health = new HealthServer(this.metrics.registry, () => this.synced);
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** Starts the caches; reconciles begin once this replica leads (at once without leader election). */
  async start(): Promise<void> {
    if (this.health) {
      const healthPort = await this.health.listen(this.opts.healthPort!);
      const metricsPort = this.opts.metricsPort !== undefined ? await this.health.listen(this.opts.metricsPort) : undefined;
      this.log.info({ healthPort, metricsPort }, 'serving /healthz, /readyz and /metrics');
    }
    const all = Object.values(this.caches);
    await Promise.all(all.map((x) => x.start()));
    await Promise.all(all.map((x) => x.synced));
    this.synced = true;
    this.log.info('caches synced');
    if (this.elector) this.elector.start();
    else this.startLeading();
  }

  async stop(): Promise<void> {
    this.queue.stop();
    this.leading = false;
    await this.shell.settled();
    await this.elector?.stop();
    await Promise.all(Object.values(this.caches).map((x) => x.stop()));
    await this.health?.close();
    this.rest.close();
  }

  /** Resolves when no reconcile is queued or running and no write is in flight (tests, benchmarks). */
  async idle(): Promise<void> {
    do {
      await this.queue.idle();
      await this.shell.settled();
    } while (!this.queue.isIdle);
  }

  /** Reconciles everything once more (tests that move a fake clock past a wake-up). */
  resync(): void {
    if (this.leading) this.enqueueAll();
  }

  private createQueue(): WorkQueue {
    return new WorkQueue((k) => this.reconcile(k), {
      concurrency: this.opts.concurrency ?? CONTROLLER_DEFAULTS.concurrency,
      onError: (k, err) => {
        this.metrics.reconcileErrors.inc({ kind: k.split('/')[0] });
        if (isConflict(err)) this.log.debug({ key: k }, 'conflict; deciding again');
        else this.log.warn({ key: k, err: String((err as Error)?.message ?? err) }, 'reconcile failed; retrying');
      },
      baseDelayMs: 20,
    });
  }

  /** The watched kinds, each event mapped to the keys it may change. */
  private createCaches(): Caches {
    const w = (path: string, onEvent: (type: string, o: Obj) => void, selector?: string, slim?: (o: Obj) => Obj) =>
      new Watcher<Obj>(this.opts.kubeConfig, this.rest, path, (type, o) => onEvent(type, o), this.log, selector, slim);
    return {
      tasks: w(paths.cr('tasks'), (type, t) => this.onTask(type, t)),
      agents: w(paths.cr('agents'), (_t, a) => this.queue.add(key('agent', a))),
      templates: w(paths.cr('agenttemplates'), (_t, t) => this.onTemplate(t)),
      cronTasks: w(paths.cr('crontasks'), (_t, c) => this.queue.add(key('crontask', c))),
      pods: w(paths.core('pods'), (_t, p) => this.onTaskPod(p), SELECTORS.taskPods, taskPodSummary),
      deployments: w(paths.apps('deployments'), (_t, d) => {
        const agent = d.metadata?.labels?.[LABELS.agent];
        if (agent) this.queue.add(`agent/${d.metadata.namespace}/${agent}`);
      }, SELECTORS.serverDeployments),
      podTemplates: w(paths.core('podtemplates'), () => undefined, SELECTORS.taskPodTemplates),
      configs: w(paths.cr('kubeopencodeconfigs'), () => this.queue.add(CLEANUP_KEY)),
    };
  }

  private createShell(): Shell {
    const events = new EventRecorder(this.rest, this.log, this.now);
    const clusterDomain = () => shell.clusterDomain();
    const shell: Shell = new Shell({
      caches: this.caches,
      rest: this.rest,
      events,
      log: this.log,
      metrics: this.metrics,
      queue: this.queue,
      executor: new WriteExecutor(this.rest, events, this.log),
      sessions: new AgentSessions({
        rest: this.rest,
        serverUrl: this.opts.serverUrl,
        clusterDomain,
        now: this.now,
        log: this.log,
        agent: (ns, name) => shell.get('Agent', ns, name),
        onSecretMissing: (ns, name) => this.agents.secretMissing(ns, name),
      }),
      now: this.now,
    });
    return shell;
  }

  private createElector(): LeaderElector {
    return new LeaderElector(this.rest, {
      namespace: this.opts.namespace ?? process.env[CONTROLLER_ENV.podNamespace] ?? CONTROLLER.namespace,
      name: CONTROLLER.name,
      identity: this.opts.identity ?? process.env[CONTROLLER_ENV.podName] ?? `${os.hostname()}-${randomBytes(4).toString('hex')}`,
    }, this.log, {
      onStartedLeading: () => this.startLeading(),
      onStoppedLeading: () => this.stopLeading(),
    });
  }

  private startLeading(): void {
    this.leading = true;
    this.metrics.isLeader.set(1);
    this.enqueueAll();
  }

  private enqueueAll(): void {
    // level-triggered: one pass over all objects catches up with whatever happened before
    for (const a of this.caches.agents.list()) this.queue.add(key('agent', a));
    // a finished Task needs nothing unless it is going away with an older controller's finalizer: at 10,000 Tasks,
    // skipping them is most of a restart's queue (the cleanup key still sees them for TTL and retention)
    for (const t of this.caches.tasks.list()) if (!settled(t)) this.queue.add(key('task', t));
    for (const c of this.caches.cronTasks.list()) this.queue.add(key('crontask', c));
    this.queue.add(CLEANUP_KEY);
  }

  private stopLeading(): void {
    this.leading = false;
    this.metrics.isLeader.set(0);
  }

  private onTask(type: string, t: Obj): void {
    const ns = t.metadata.namespace;
    if (type === 'delete' && this.leading) void this.tasks.deleted(t);
    this.queue.add(key('task', t));
    // a Task arriving, finishing or going away changes its Agent's admission and standby
    if (t.spec?.agentRef?.name) this.queue.add(`agent/${ns}/${t.spec.agentRef.name}`);
    const cron = t.metadata.labels?.[LABELS.cronTask];
    if (cron) this.queue.add(`crontask/${ns}/${cron}`);
    if (type !== 'add' && isFinished(toTaskView(t))) this.queue.add(CLEANUP_KEY);
  }

  private onTaskPod(p: Obj): void {
    const ns = p.metadata.namespace;
    const task = p.metadata?.labels?.[LABELS.task];
    if (!task) return;
    // a pod that ended frees its slot now: the Agent's admission goes first, the Task's own end (the session's
    // outcome, the status write) follows beside it, off the path to the next pod
    const phase = p.status?.phase;
    const agent = phase === 'Succeeded' || phase === 'Failed' ? this.caches.tasks.get(ns, task)?.spec?.agentRef?.name : undefined;
    if (agent) this.queue.add(`agent/${ns}/${agent}`);
    this.queue.add(`task/${ns}/${task}`);
  }

  private onTemplate(tpl: Obj): void {
    // template Tasks held for a missing template start once it exists
    for (const t of this.caches.tasks.list(tpl.metadata.namespace)) {
      if (t.spec?.templateRef?.name === tpl.metadata.name) this.queue.add(key('task', t));
    }
  }

  private async reconcile(k: string): Promise<void> {
    if (!this.leading) return;
    const [kind, ns, name] = k.split('/');
    this.metrics.reconciles.inc({ kind });
    try {
      if (kind === 'agent') await this.agents.reconcile(ns, name);
      else if (kind === 'task') await this.tasks.reconcile(ns, name);
      else if (kind === 'crontask') await this.cronTasks.reconcile(ns, name);
      else if (kind === CLEANUP_KEY) await this.cleanup.reconcile();
    } catch (e) {
      if (isConflict(e)) {
        // someone (often our own previous write, not yet in the cache) changed the object: decide again shortly
        this.queue.addAt(k, this.now() + 25);
        return;
      }
      throw e;
    }
  }
}

/** Finished, not being deleted, holding no finalizer of ours: a reconcile would find nothing to do. */
function settled(t: Obj): boolean {
  const phase = t.status?.phase;
  return (phase === 'Completed' || phase === 'Failed') && !t.metadata.deletionTimestamp && !(t.metadata.finalizers ?? []).includes(CONTROLLER.sessionFinalizer);
}

function resourceOf(p: string): string {
  const parts = p.split('?')[0].split('/');
  const i = parts.indexOf('namespaces');
  return (i >= 0 ? parts[i + 2] : parts[parts.length - 1]) + (p.includes('/status') ? '/status' : '');
}

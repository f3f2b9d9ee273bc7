/**
 * The runtime controller: watches Tasks, Agents, CronTasks, the server Deployments and the task pods; turns every
 * change into a key on a work queue; each reconcile reads the current state from the caches (and, for a task pod, a
 * live GET), asks the pure decision core what to write, and writes it. Level-triggered: a reconcile never trusts the
 * event that woke it, and running it twice writes nothing the second time.
 */
import { randomBytes } from 'crypto';
import * as os from 'os';
import { KubeConfig } from '@kubernetes/client-node';
import { API_VERSION, CONDITIONS, CONTROLLER, CONTROLLER_DEFAULTS, CONTROLLER_ENV, DEFAULTS, LABELS, NAMES, REASONS } from '../api';
import {
  Decision,
  TaskView,
  Write,
  admitQueuedTasks,
  admitTemplateTasks,
  decideCleanup,
  decideCronTask,
  decideStandby,
  decideTaskFromPod,
  holdTasksForMissingReference,
  isFinished,
  isWaiting,
} from './decide';
import type { LsRemoteOptions } from './git-remote';
import { GitRolloutRuntime } from './git-rollout-runtime';
import { HealthServer } from './health';
import { EventRecorder } from './kube/events';
import { ExecutionContext, MissingPodTemplate, WriteExecutor } from './kube/executor';
import { LeaderElector } from './kube/leader';
import { Rest, isConflict, paths } from './kube/rest';
import { Obj, mergeConditions, ms, rfc3339, toAgentView, toCronTaskView, toPodView, toTaskView } from './kube/views';
import { Watcher } from './kube/watcher';
import { Logger, createLogger } from './log';
import { ControllerMetrics } from './metrics';
import { OpencodeClient } from './opencode-client';
import { sessionTitle } from './task-pod';
import { WorkQueue } from './workqueue';

export interface ControllerOptions {
  readonly kubeConfig: KubeConfig;
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

/** Held by agentRef Tasks while running, so that deleting one aborts its session on the server first. */
export const SESSION_FINALIZER = CONTROLLER.sessionFinalizer;

const CLUSTER_KEY = 'cleanup';

export class Controller {
  public readonly rest: Rest;
  public readonly metrics: ControllerMetrics;
  private readonly log: Logger;
  private readonly queue: WorkQueue;
  private readonly executor: WriteExecutor;
  private readonly events: EventRecorder;
  private readonly gitRollout: GitRolloutRuntime;
  private readonly now: () => number;
  private readonly tasks: Watcher<Obj>;
  private readonly agents: Watcher<Obj>;
  private readonly templates: Watcher<Obj>;
  private readonly cronTasks: Watcher<Obj>;
  private readonly pods: Watcher<Obj>;
  private readonly deployments: Watcher<Obj>;
  private readonly podTemplates: Watcher<Obj>;
  private readonly configs: Watcher<Obj>;
  private readonly elector?: LeaderElector;
  private readonly health?: HealthServer;
  private synced = false;
  private leading = false;
  /** Agents whose server password Secret is known to exist (an optimisation only: a restart checks again). */
  private readonly authEnsured = new Set<string>();
  /**
   * Objects as our own writes left them, until the cache shows the same resourceVersion ("expectations"): the Agent's
   * status event can arrive before the Task's, and a decision from a Task cache that lags behind would start it again.
   * Kept at most a few seconds; a write from a stale view is still stopped by its resourceVersion (409).
   */
  private readonly written = new Map<string, { obj: Obj; at: number }>();
  /** Server passwords by Agent uid, read from its Secret at most once a minute. */
  private readonly passwords = new Map<string, { value: string | undefined; at: number }>();

  constructor(private readonly opts: ControllerOptions) {
    this.log = opts.log ?? createLogger();
    this.metrics = opts.metrics ?? new ControllerMetrics();
    this.now = opts.now ?? Date.now;
    this.rest = new Rest(opts.kubeConfig, {
      onWrite: (verb, p) => this.metrics.apiWrites.inc({ verb, resource: resourceOf(p) }),
      onRequest: opts.onApiRequest,
    });
    this.events = new EventRecorder(this.rest, this.log, this.now);
    this.executor = new WriteExecutor(this.rest, this.events);
    this.gitRollout = new GitRolloutRuntime({
      rest: this.rest,
      now: this.now,
      lsRemote: opts.gitLsRemote,
      clusterProxy: () => this.configs.get(undefined, 'cluster')?.spec?.proxy,
    });
    this.queue = new WorkQueue((key) => this.reconcile(key), {
      concurrency: opts.concurrency ?? CONTROLLER_DEFAULTS.concurrency,
      onError: (key, err) => {
        this.metrics.reconcileErrors.inc({ kind: key.split('/')[0] });
        if (isConflict(err)) this.log.debug({ key }, 'conflict; deciding again');
        else this.log.warn({ key, err: String((err as Error)?.message ?? err) }, 'reconcile failed; retrying');
      },
      baseDelayMs: 20,
    });
    const kc = opts.kubeConfig;
    const w = (path: string, onEvent: (type: string, o: Obj) => void, selector?: string) =>
      new Watcher<Obj>(kc, this.rest, path, (type, o) => onEvent(type, o), this.log, selector);
    this.tasks = w(paths.cr('tasks'), (type, t) => this.onTask(type, t));
    this.agents = w(paths.cr('agents'), (_t, a) => this.queue.add(key('agent', a)));
    this.templates = w(paths.cr('agenttemplates'), (_t, t) => this.onTemplate(t));
    this.cronTasks = w(paths.cr('crontasks'), (_t, c) => this.queue.add(key('crontask', c)));
    this.pods = w(paths.core('pods'), (_t, p) => {
      const task = p.metadata?.labels?.[LABELS.task];
      if (task) this.queue.add(`task/${p.metadata.namespace}/${task}`);
    }, LABELS.task);
    this.deployments = w(paths.apps('deployments'), (_t, d) => {
      const agent = d.metadata?.labels?.[LABELS.agent];
      if (agent) this.queue.add(`agent/${d.metadata.namespace}/${agent}`);
    }, `${LABELS.component}=server`);
    this.podTemplates = w(paths.core('podtemplates'), () => undefined, `${LABELS.component}=task`);
    this.configs = w(paths.cr('kubeopencodeconfigs'), () => this.queue.add(CLUSTER_KEY));
    if (opts.leaderElection ?? true) {
      this.elector = new LeaderElector(this.rest, {
        namespace: opts.namespace ?? process.env[CONTROLLER_ENV.podNamespace] ?? CONTROLLER.namespace,
        name: CONTROLLER.name,
        identity: opts.identity ?? process.env[CONTROLLER_ENV.podName] ?? `${os.hostname()}-${randomBytes(4).toString('hex')}`,
      }, this.log, {
        onStartedLeading: () => this.startLeading(),
        onStoppedLeading: () => this.stopLeading(),
      });
    }
    if (opts.healthPort !== undefined) {
      this.health = new HealthServer(this.metrics.registry, () => this.synced);
    }
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
    const all = [this.tasks, this.agents, this.templates, this.cronTasks, this.pods, this.deployments, this.podTemplates, this.configs];
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
    await this.elector?.stop();
    await Promise.all([this.tasks, this.agents, this.templates, this.cronTasks, this.pods, this.deployments, this.podTemplates, this.configs].map((x) => x.stop()));
    await this.health?.close();
    this.rest.close();
  }

  /** Resolves when no reconcile is queued or running (tests, benchmarks). */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  /** Reconciles everything once more (tests that move a fake clock past a wake-up). */
  resync(): void {
    if (this.leading) this.enqueueAll();
  }

  private startLeading(): void {
    this.leading = true;
    this.metrics.isLeader.set(1);
    this.enqueueAll();
  }

  private enqueueAll(): void {
    // level-triggered: one pass over all objects catches up with whatever happened before
    for (const a of this.agents.list()) this.queue.add(key('agent', a));
    for (const t of this.tasks.list()) this.queue.add(key('task', t));
    for (const c of this.cronTasks.list()) this.queue.add(key('crontask', c));
    this.queue.add(CLUSTER_KEY);
  }

  private stopLeading(): void {
    this.leading = false;
    this.metrics.isLeader.set(0);
  }

  private onTask(type: string, t: Obj): void {
    const ns = t.metadata.namespace;
    this.queue.add(key('task', t));
    // a Task arriving, finishing or going away changes its Agent's admission and standby
    if (t.spec?.agentRef?.name) this.queue.add(`agent/${ns}/${t.spec.agentRef.name}`);
    const cron = t.metadata.labels?.[LABELS.cronTask];
    if (cron) this.queue.add(`crontask/${ns}/${cron}`);
    if (type !== 'add' && isFinished(toTaskView(t))) this.queue.add(CLUSTER_KEY);
  }

  private onTemplate(tpl: Obj): void {
    // template Tasks held for a missing template start once it exists
    for (const t of this.tasks.list(tpl.metadata.namespace)) {
      if (t.spec?.templateRef?.name === tpl.metadata.name) this.queue.add(key('task', t));
    }
  }

  /** The object as the controller last knew it: its own newer write while the cache has not caught up. */
  private fresh(kind: 'Task' | 'Agent' | 'CronTask', o: Obj): Obj;
  private fresh(kind: 'Task' | 'Agent' | 'CronTask', o: Obj | undefined): Obj | undefined;
  private fresh(kind: 'Task' | 'Agent' | 'CronTask', o: Obj | undefined): Obj | undefined {
    if (!o) return o;
    const k = `${kind}/${o.metadata.namespace}/${o.metadata.name}`;
    const w = this.written.get(k);
    if (!w) return o;
    if (w.obj.metadata.uid !== o.metadata.uid || Date.now() - w.at > 5000 || !olderThan(o.metadata.resourceVersion, w.obj.metadata.resourceVersion)) {
      this.written.delete(k);
      return o;
    }
    return w.obj;
  }

  private async reconcile(k: string): Promise<void> {
    if (!this.leading) return;
    const [kind, ns, name] = k.split('/');
    this.metrics.reconciles.inc({ kind });
    try {
      if (kind === 'agent') await this.reconcileAgent(ns, name);
      else if (kind === 'task') await this.reconcileTask(ns, name);
      else if (kind === 'crontask') await this.reconcileCronTask(ns, name);
      else if (kind === CLUSTER_KEY) await this.reconcileCleanup();
    } catch (e) {
      if (isConflict(e)) {
        // someone (often our own previous write, not yet in the cache) changed the object: decide again shortly
        this.queue.addAt(k, this.now() + 25);
        return;
      }
      throw e;
    }
  }

  // ---- Agents: admission (serialized per Agent: this key runs one at a time), standby, scale, status ----------------

  private async reconcileAgent(ns: string, name: string): Promise<void> {
    const agent = this.fresh('Agent', this.agents.get(ns, name));
    if (!agent) {
      this.gitRollout.forget(ns, name);
      return;
    }
    const deployment = this.deployments.get(ns, NAMES.serverDeployment(name));
    const taskObjs = this.tasks.list(ns).filter((t) => t.spec?.agentRef?.name === name).map((t) => this.fresh('Task', t));
    const tasks = taskObjs.map(toTaskView);
    const now = this.now();
    const view = toAgentView(agent, deployment);

    await this.ensureAgentBelongings(agent);

    // the objects the decisions are made from: their resourceVersions guard the writes
    const seen = snapshot([['Agent', agent], ...taskObjs.map((t): [string, Obj] => ['Task', t])]);
    const admission = admitQueuedTasks(view, tasks, now);
    this.countAdmissions(admission);
    if (await this.run(`agent/${ns}/${name}`, admission, seen)) return; // the written objects come back as events

    const standby = decideStandby(view, tasks, now);
    if (await this.run(`agent/${ns}/${name}`, standby, seen)) return;

    // Rollout-synced Git contexts: after admission and standby, since a remote check may take a few seconds
    if (deployment) {
      const git = await this.gitRollout.reconcile(agent, deployment, taskObjs, now);
      for (const p of git.problems) {
        this.log.warn({ agent: `${ns}/${name}`, context: p.context }, p.message);
        this.events.record({ kind: 'Agent', namespace: ns, name, uid: agent.metadata.uid }, 'Warning', REASONS.gitSyncFailed, p.message);
      }
      if (await this.run(`agent/${ns}/${name}`, git, seen)) return;
    }

    await this.scaleServer(agent, deployment);
    await this.writeAgentStatus(agent, deployment);
    const queued = tasks.filter((t) => isWaiting(t)).length;
    this.metrics.queueDepth.set({ namespace: ns, agent: name }, queued);
    this.metrics.running.set({ namespace: ns, agent: name }, tasks.filter((t) => t.status?.phase === 'Running').length);
  }

  /** Executes a decision; true when it wrote something. Schedules its wake-up. */
  private async run(k: string, d: Decision, seen?: Map<string, Obj>): Promise<boolean> {
    if (d.wakeAt !== undefined) this.queue.addAt(k, d.wakeAt);
    if (d.writes.length === 0) return false;
    this.log.debug({ key: k, writes: d.writes.map((w) => `${w.kind}:${'name' in w ? w.name : 'taskName' in w ? w.taskName : ''}`) }, 'decided');
    const writes = await this.withSessionOutcome(d.writes, seen);
    try {
      const out = await this.executor.execute(writes, this.context(seen));
      const at = Date.now();
      for (const [key, obj] of out) this.written.set(key, { obj, at });
      if (this.written.size > 1000) for (const [key, w] of this.written) if (at - w.at > 5000) this.written.delete(key);
      this.followUp(writes, seen);
    } catch (e) {
      if (e instanceof MissingPodTemplate) {
        await this.failTask(e.task, REASONS.podCreationError, e.message);
        return true;
      }
      throw e;
    }
    return true;
  }

  /**
   * What only the agent's server knows, for agentRef Tasks: a stop aborts the Task's session there (deleting the
   * attach pod alone leaves it running), and a pod that exited 0 is Completed only if the session has no error
   * (`opencode run --attach` exits 0 even when the model or a tool failed). The session id, message count and token
   * usage go onto the status.
   */
  private async withSessionOutcome(writes: readonly Write[], seen?: Map<string, Obj>): Promise<Write[]> {
    const out: Write[] = [];
    for (const w of writes) {
      if (w.kind !== 'patchTaskStatus' || (w.status.phase !== 'Completed' && w.status.phase !== 'Failed')) {
        out.push(w);
        continue;
      }
      // the Task as the decision saw it: the cache may not show it Running yet
      const task = seen?.get(`Task/${w.namespace}/${w.name}`) ?? this.fresh('Task', this.tasks.get(w.namespace, w.name));
      const agent = task?.spec?.agentRef ? this.agents.get(w.namespace, task.spec.agentRef.name) : undefined;
      if (!task || !agent || task.status?.phase !== 'Running') {
        out.push(w);
        continue;
      }
      out.push(await this.sessionOutcome(task, agent, w));
    }
    return out;
  }

  private async sessionOutcome(task: Obj, agent: Obj, w: Extract<Write, { kind: 'patchTaskStatus' }>): Promise<Write> {
    const stopped = w.status.conditions?.find((c) => c.type === CONDITIONS.stopped);
    const title = sessionTitle(task);
    let client: OpencodeClient;
    let session: { id: string; title: string } | undefined;
    try {
      client = await this.serverClient(agent);
      session = await client.findSession(title);
    } catch (e) {
      if (!stopped) return w;
      const note = `; the agent server was unreachable, so its session could not be aborted (${(e as Error).message})`;
      return { ...w, status: { ...w.status, conditions: w.status.conditions!.map((c) => (c === stopped ? { ...c, message: c.message + note } : c)) } };
    }
    if (stopped) {
      let note = '; no session was found on the agent server';
      if (session) {
        try {
          await client.abort(session.id);
          note = `; session ${session.id} on the agent server was aborted`;
        } catch (e) {
          note = `; aborting session ${session.id} failed (${(e as Error).message})`;
        }
      }
      return { ...w, status: { ...w.status, conditions: w.status.conditions!.map((c) => (c === stopped ? { ...c, message: c.message + note } : c)) } };
    }
    if (!session) return w;
    try {
      const sum = await client.summary(session);
      const statusSession = { id: sum.id, title: sum.title, messageCount: sum.messageCount, tokenUsage: sum.tokenUsage };
      if (w.status.phase === 'Completed' && sum.error) {
        const now = this.now();
        return {
          ...w,
          status: {
            ...w.status,
            phase: 'Failed',
            conditions: [{ type: CONDITIONS.ready, status: 'False', reason: REASONS.sessionError, message: `The session reported an error: ${sum.error}`, lastTransitionTime: now }],
            session: statusSession,
          } as typeof w.status,
        };
      }
      return { ...w, status: { ...w.status, session: statusSession } as typeof w.status };
    } catch {
      return w;
    }
  }

  private async serverClient(agent: Obj): Promise<OpencodeClient> {
    const { namespace: ns, name } = agent.metadata;
    const url = this.opts.serverUrl?.(agent) ?? agent.status?.url ?? NAMES.serverUrl(name, ns, agent.spec?.port ?? DEFAULTS.port, this.clusterDomain());
    const auth = agent.spec?.serverAuth;
    let password: string | undefined;
    if (auth?.enabled !== false) {
      const cached = this.passwords.get(agent.metadata.uid);
      if (cached && Date.now() - cached.at < 60_000) {
        password = cached.value;
      } else {
        const secret = await this.rest.get(paths.core('secrets', ns, auth?.secretRef?.name ?? NAMES.serverAuthSecret(name)));
        const data = secret.data?.[auth?.secretRef?.key ?? DEFAULTS.serverAuthKey];
        password = data ? Buffer.from(data, 'base64').toString('utf8') : undefined;
        this.passwords.set(agent.metadata.uid, { value: password, at: Date.now() });
      }
    }
    return new OpencodeClient(url, password);
  }

  private clusterDomain(): string {
    return this.configs.get(undefined, 'cluster')?.spec?.clusterDomain ?? DEFAULTS.clusterDomain;
  }

  /**
   * The next step of a Task's life without waiting for our own write to come back as a watch event: a started Task's
   * pod is created at once, and a finished Task's slot goes to the next one at once. (The reconciles read our writes
   * through fresh(); the watch events still arrive and find nothing left to do.)
   */
  private followUp(writes: readonly Write[], seen?: Map<string, Obj>): void {
    for (const w of writes) {
      if (w.kind !== 'patchTaskStatus') continue;
      if (w.status.phase === 'Running') this.queue.add(`task/${w.namespace}/${w.name}`);
      if (w.status.phase === 'Completed' || w.status.phase === 'Failed') {
        const task = seen?.get(`Task/${w.namespace}/${w.name}`) ?? this.tasks.get(w.namespace, w.name);
        if (task?.spec?.agentRef?.name) this.queue.add(`agent/${w.namespace}/${task.spec.agentRef.name}`);
      }
    }
  }

  /** Reads for the executor: the objects the decision saw (their resourceVersions), else the freshest we know. */
  private context(seen?: Map<string, Obj>): ExecutionContext {
    return {
      objectOf: (kind, ns, name) =>
        seen?.get(`${kind}/${ns}/${name}`) ??
        this.fresh(kind, (kind === 'Task' ? this.tasks : kind === 'Agent' ? this.agents : this.cronTasks).get(ns, name)),
      podTemplate: async (ns, name) => this.podTemplates.get(ns, name) ?? this.rest.tryGet(paths.core('podtemplates', ns, name)),
    };
  }

  private countAdmissions(d: Decision): void {
    for (const w of d.writes) {
      if (w.kind !== 'patchTaskStatus') continue;
      if (w.status.phase === 'Running') this.metrics.admissions.inc({ outcome: REASONS.started });
      const q = w.status.conditions?.find((c) => c.type === CONDITIONS.queued && c.status === 'True');
      if (w.status.phase === 'Queued' && q) this.metrics.admissions.inc({ outcome: q.reason });
    }
  }

  /**
   * Owner references on what synth made for the Agent (uids exist only in the cluster, so synth cannot write them),
   * so deleting the Agent garbage-collects them; and the server password Secret, created once with a random password.
   */
  private async ensureAgentBelongings(agent: Obj): Promise<void> {
    const { namespace: ns, name, uid } = agent.metadata;
    const owner = { apiVersion: API_VERSION, kind: 'Agent', name, uid, controller: false, blockOwnerDeletion: false };
    const deployment = this.deployments.get(ns, NAMES.serverDeployment(name));
    const owned = (o: Obj | undefined) => !o || (o.metadata.ownerReferences ?? []).some((r: Obj) => r.uid === uid);
    if (deployment && !owned(deployment)) {
      // the Deployment is marked last: it is what the cache shows, so this repeats until everything is owned. An object
      // not applied yet (kubectl and GitOps tools apply one by one) is retried shortly.
      const targets = [
        paths.core('services', ns, NAMES.service(name)),
        paths.core('configmaps', ns, NAMES.contextConfigMap(name)),
        paths.core('podtemplates', ns, NAMES.agentTaskPodTemplate(name)),
        ...(agent.spec?.persistence?.sessions ? [paths.core('persistentvolumeclaims', ns, NAMES.sessionsPvc(name))] : []),
        ...(agent.spec?.persistence?.workspace ? [paths.core('persistentvolumeclaims', ns, NAMES.workspacePvc(name))] : []),
      ];
      let missing = 0;
      for (const p of targets) {
        const o = await this.rest.tryGet(p);
        if (!o) missing++;
        else if (!owned(o)) await this.rest.patch(p, { metadata: { resourceVersion: o.metadata.resourceVersion, ownerReferences: [...(o.metadata.ownerReferences ?? []), owner] } });
      }
      if (missing > 0) {
        this.queue.addAt(`agent/${ns}/${name}`, this.now() + 2000);
      } else {
        await this.rest.patch(paths.apps('deployments', ns, deployment.metadata.name), {
          metadata: { resourceVersion: deployment.metadata.resourceVersion, ownerReferences: [...(deployment.metadata.ownerReferences ?? []), owner] },
        });
      }
    }
    const auth = agent.spec?.serverAuth;
    if (auth?.enabled === false || this.authEnsured.has(uid)) return;
    const secretName = auth?.secretRef?.name ?? NAMES.serverAuthSecret(name);
    const secretKey = auth?.secretRef?.key ?? DEFAULTS.serverAuthKey;
    const existing = await this.rest.tryGet(paths.core('secrets', ns, secretName));
    if (!existing) {
      try {
        await this.rest.create(paths.core('secrets', ns), {
          apiVersion: 'v1',
          kind: 'Secret',
          type: 'Opaque',
          metadata: { name: secretName, namespace: ns, labels: { [LABELS.agent]: name, [LABELS.managedBy]: CONTROLLER.name }, ownerReferences: [owner] },
          data: { [secretKey]: Buffer.from(randomBytes(24).toString('base64url')).toString('base64') },
        });
        this.log.info({ agent: `${ns}/${name}`, secret: secretName }, 'created the server password Secret');
      } catch (e) {
        if (!isConflict(e)) throw e;
      }
    }
    this.authEnsured.add(uid);
  }

  /** spec.suspend is the one switch: 0 replicas when suspended, 1 otherwise (PVCs and Service stay). */
  private async scaleServer(agent: Obj, deployment: Obj | undefined): Promise<void> {
    if (!deployment) return;
    const want = agent.spec?.suspend ? 0 : 1;
    if ((deployment.spec?.replicas ?? 1) === want) return;
    await this.rest.patch(paths.apps('deployments', deployment.metadata.namespace, deployment.metadata.name), {
      metadata: { resourceVersion: deployment.metadata.resourceVersion },
      spec: { replicas: want },
    });
    this.log.info({ agent: `${agent.metadata.namespace}/${agent.metadata.name}`, replicas: want }, want ? 'resumed the server' : 'suspended the server');
    this.events.record({ kind: 'Agent', namespace: agent.metadata.namespace, name: agent.metadata.name, uid: agent.metadata.uid },
      'Normal', want ? REASONS.resumed : REASONS.suspended, want ? 'Scaled the server to 1 replica' : 'Scaled the server to 0 replicas (PVCs and Service kept)');
  }

  private async writeAgentStatus(agent: Obj, deployment: Obj | undefined): Promise<void> {
    const { namespace: ns, name } = agent.metadata;
    const port = agent.spec?.port ?? DEFAULTS.port;
    const ready = (deployment?.status?.readyReplicas ?? 0) > 0;
    const suspended = agent.spec?.suspend === true;
    const available = (deployment?.status?.conditions ?? []).find((c: Obj) => c.type === 'Available');
    const progressing = (deployment?.status?.conditions ?? []).find((c: Obj) => c.type === 'Progressing');
    const now = this.now();
    const cond = (type: string, status: boolean, reason: string, message: string) => {
      const prev = (agent.status?.conditions ?? []).find((c: Obj) => c.type === type);
      const s = status ? 'True' : 'False';
      return { type, status: s as 'True' | 'False', reason, message, lastTransitionTime: prev && prev.status === s ? ms(prev.lastTransitionTime)! : now };
    };
    const serverReady = !deployment
      ? cond(CONDITIONS.serverReady, false, REASONS.deploymentMissing, `Deployment ${NAMES.serverDeployment(name)} does not exist`)
      : suspended
        ? cond(CONDITIONS.serverReady, false, REASONS.suspended, 'The server is scaled to 0 (spec.suspend)')
        : ready
          ? cond(CONDITIONS.serverReady, true, REASONS.ready, `${deployment.status.readyReplicas} ready replica(s)`)
          : cond(CONDITIONS.serverReady, false, REASONS.notReady, 'The server has no ready replica yet');
    const healthy = progressing?.reason === REASONS.progressDeadlineExceeded
      ? cond(CONDITIONS.serverHealthy, false, REASONS.progressDeadlineExceeded, progressing.message ?? 'The rollout is stuck')
      : available?.status === 'False' && !suspended
        ? cond(CONDITIONS.serverHealthy, false, REASONS.unavailable, available.message ?? 'The Deployment is not available')
        : cond(CONDITIONS.serverHealthy, true, suspended ? REASONS.suspended : REASONS.healthy, suspended ? REASONS.suspended : 'The Deployment is available');
    const desired: Obj = {
      observedGeneration: agent.metadata.generation,
      deploymentName: NAMES.serverDeployment(name),
      serviceName: NAMES.service(name),
      url: NAMES.serverUrl(name, ns, port, this.clusterDomain()),
      ready,
      suspended,
    };
    const s = agent.status ?? {};
    const changedField = Object.entries(desired).some(([k, v]) => s[k] !== v);
    const changedCond = [serverReady, healthy].some((c) => {
      const prev = (s.conditions ?? []).find((x: Obj) => x.type === c.type);
      return !prev || prev.status !== c.status || prev.reason !== c.reason || prev.message !== c.message;
    });
    if (!changedField && !changedCond) return;
    await this.rest.patch(`${paths.cr('agents', ns, name)}/status`, {
      metadata: { resourceVersion: agent.metadata.resourceVersion },
      status: { ...desired, conditions: mergeConditions(s.conditions, [serverReady, healthy], agent.metadata.generation) },
    });
  }

  // ---- Tasks ---------------------------------------------------------------------------------------------------------

  private async reconcileTask(ns: string, name: string): Promise<void> {
    const task = this.fresh('Task', this.tasks.get(ns, name));
    if (!task) return;
    const view = toTaskView(task);
    const k = `task/${ns}/${name}`;
    const seen = snapshot([['Task', task]]);
    const now = this.now();
    if (task.metadata.deletionTimestamp) {
      await this.finalizeDeletedTask(task);
      return;
    }
    if (isFinished(view)) {
      this.recordFinished(task);
      await this.setFinalizer(task, false);
      return;
    }
    const agentName = task.spec?.agentRef?.name;
    const templateName = task.spec?.templateRef?.name;
    if (isWaiting(view)) {
      const exists = agentName ? !!this.agents.get(ns, agentName) : !!this.templates.get(ns, templateName);
      if (!exists) {
        await this.run(k, holdTasksForMissingReference([view], now), seen);
        return;
      }
      // agentRef Tasks are admitted by their Agent's key (serialized); a stop before the start is handled here
      if (templateName && (await this.run(k, admitTemplateTasks([view], now), seen))) return;
    }
    const pod = view.status?.phase === 'Running'
      ? await this.rest.tryGet(paths.core('pods', ns, NAMES.taskPod(name)))
      : undefined;
    await this.run(k, decideTaskFromPod(view, pod ? toPodView(pod) : undefined, now, this.opts.podStartGraceSeconds ?? CONTROLLER_DEFAULTS.podStartGraceSeconds), seen);
    // after the pod, off the path from a freed slot to the next pod: deleting a running agentRef Task aborts its session
    const after = this.fresh('Task', this.tasks.get(ns, name));
    if (after?.status?.phase === 'Running' && after.spec?.agentRef && !after.metadata.deletionTimestamp) await this.setFinalizer(after, true);
  }

  /** Adds or removes the session-abort finalizer (a JSON patch that tests the list it read: a race is a 409/422). */
  private async setFinalizer(task: Obj, present: boolean): Promise<void> {
    const list: string[] = task.metadata.finalizers ?? [];
    const has = list.includes(SESSION_FINALIZER);
    if (has === present) return;
    const path = paths.cr('tasks', task.metadata.namespace, task.metadata.name);
    const next = present ? [...list, SESSION_FINALIZER] : list.filter((f) => f !== SESSION_FINALIZER);
    await this.rest.patch(path, { metadata: { resourceVersion: task.metadata.resourceVersion, finalizers: next } });
  }

  /**
   * A Task deleted while running: abort its session on the agent server, then let it go. Never blocks the deletion
   * longer than finalizerTimeoutSeconds (the server may be gone with the Agent).
   */
  private async finalizeDeletedTask(task: Obj): Promise<void> {
    if (!(task.metadata.finalizers ?? []).includes(SESSION_FINALIZER)) return;
    const agent = task.spec?.agentRef ? this.agents.get(task.metadata.namespace, task.spec.agentRef.name) : undefined;
    const deadline = (ms(task.metadata.deletionTimestamp) ?? 0) + (this.opts.finalizerTimeoutSeconds ?? CONTROLLER_DEFAULTS.finalizerTimeoutSeconds) * 1000;
    if (agent && this.now() < deadline) {
      try {
        const client = await this.serverClient(agent);
        const session = await client.findSession(sessionTitle(task));
        if (session) await client.abort(session.id);
        this.events.record({ kind: 'Task', namespace: task.metadata.namespace, name: task.metadata.name, uid: task.metadata.uid }, 'Normal', REASONS.sessionAborted,
          session ? `Task deleted: session ${session.id} aborted on the agent server` : 'Task deleted: no session on the agent server');
      } catch (e) {
        this.log.warn({ task: `${task.metadata.namespace}/${task.metadata.name}`, err: String(e) }, 'could not abort the session of a deleted Task; letting it go');
      }
    }
    await this.setFinalizer(task, false);
  }

  private readonly counted = new Set<string>();

  private recordFinished(task: Obj): void {
    const uid = task.metadata.uid;
    if (this.counted.has(uid)) return;
    // only to count each finished Task once in the metrics: bounded, a cleared set at worst recounts old Tasks once
    if (this.counted.size >= 50_000) this.counted.clear();
    this.counted.add(uid);
    const reason = (task.status?.conditions ?? []).find((c: Obj) => c.status === (task.status.phase === 'Failed' ? 'False' : 'True') && c.type !== CONDITIONS.queued)?.reason ?? '';
    this.metrics.tasks.inc({ phase: task.status.phase, reason });
    const start = ms(task.status.startTime);
    const end = ms(task.status.completionTime);
    if (start && end) this.metrics.taskDuration.observe({ phase: task.status.phase }, (end - start) / 1000);
  }

  private async failTask(task: Obj, reason: string, message: string): Promise<void> {
    const now = this.now();
    await this.rest.patch(`${paths.cr('tasks', task.metadata.namespace, task.metadata.name)}/status`, {
      metadata: { uid: task.metadata.uid, resourceVersion: task.metadata.resourceVersion },
      status: {
        phase: 'Failed',
        completionTime: rfc3339(now),
        conditions: mergeConditions(task.status?.conditions, [{ type: CONDITIONS.ready, status: 'False', reason, message, lastTransitionTime: now }], task.metadata.generation),
      },
    });
  }

  // ---- CronTasks and cleanup -----------------------------------------------------------------------------------------

  private async reconcileCronTask(ns: string, name: string): Promise<void> {
    const ct = this.fresh('CronTask', this.cronTasks.get(ns, name));
    if (!ct) return;
    const childObjs = this.tasks.list(ns).filter((t) => t.metadata.labels?.[LABELS.cronTask] === name).map((t) => this.fresh('Task', t));
    const seen = snapshot([['CronTask', ct], ...childObjs.map((t): [string, Obj] => ['Task', t])]);
    if (await this.run(`crontask/${ns}/${name}`, decideCronTask(toCronTaskView(ct), childObjs.map(toTaskView), this.now()), seen)) return;
    await this.mirrorCronJobSuspend(ct);
  }

  /** spec.suspend of the CronTask is mirrored onto its CronJob, so a suspended CronTask fires no job either. */
  private async mirrorCronJobSuspend(ct: Obj): Promise<void> {
    const p = paths.batch('cronjobs', ct.metadata.namespace, ct.metadata.name);
    const job = await this.rest.tryGet(p);
    const want = ct.spec?.suspend === true;
    if (!job || (job.spec?.suspend === true) === want) return;
    await this.rest.patch(p, { metadata: { resourceVersion: job.metadata.resourceVersion }, spec: { suspend: want } });
  }

  private async reconcileCleanup(): Promise<void> {
    const config = this.configs.get(undefined, 'cluster');
    const policy = config?.spec?.cleanup;
    if (!policy) return;
    const byNs = new Map<string, TaskView[]>();
    for (const t of this.tasks.list()) {
      const v = toTaskView(t);
      byNs.set(v.namespace, [...(byNs.get(v.namespace) ?? []), v]);
    }
    for (const tasks of byNs.values()) await this.run(CLUSTER_KEY, decideCleanup(tasks, policy, this.now()));
  }
}

/**
 * Whether resourceVersion `a` is older than `b`. resourceVersions are opaque to clients in general; etcd-backed servers
 * hand out increasing integers, and only then is the cache known to lag behind our write. Anything else: not older.
 */
function olderThan(a: string | undefined, b: string | undefined): boolean {
  if (!a || !b || !/^\d+$/.test(a) || !/^\d+$/.test(b)) return false;
  return a.length < b.length || (a.length === b.length && a < b);
}

function snapshot(entries: Array<[string, Obj]>): Map<string, Obj> {
  return new Map(entries.map(([kind, o]) => [`${kind}/${o.metadata.namespace}/${o.metadata.name}`, o]));
}

function key(kind: string, o: Obj): string {
  return `${kind}/${o.metadata.namespace}/${o.metadata.name}`;
}

function resourceOf(p: string): string {
  const parts = p.split('?')[0].split('/');
  const i = parts.indexOf('namespaces');
  return (i >= 0 ? parts[i + 2] : parts[parts.length - 1]) + (p.includes('/status') ? '/status' : '');
}


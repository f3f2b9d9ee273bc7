/**
 * The Task reconciler: a Task whose reference is missing waits, an AgentTemplate Task is admitted here (agentRef
 * Tasks by their Agent's key), a running Task follows its pod, and deleting a running agentRef Task aborts its session
 * on the agent server (from the DELETE event: no finalizer, so no two writes on every Task; see README "Stop").
 */
import { CONDITIONS, CONTROLLER, CONTROLLER_DEFAULTS, NAMES, REASONS } from '../../api';
import {
  admitTemplateTasks,
  decideSessionFinalizer,
  decideTaskFromPod,
  holdTasksForMissingReference,
  isFinished,
  isStopRequested,
  isWaiting,
} from '../decide';
import { paths } from '../kube/rest';
import { type Obj, ms, toPodView, toTaskView } from '../kube/convert';
import { type Shell, snapshot } from './shell';

export interface TaskReconcilerOptions {
  /** How long a task pod may fail to start before its Task fails. @default 300 */
  readonly podStartGraceSeconds?: number;
  /** A Task being deleted that holds an older controller's finalizer is kept at most this long while its session is aborted. @default 30 */
  readonly finalizerTimeoutSeconds?: number;
}

export class TaskReconciler {
  /** Finished Tasks already counted in the metrics (bounded; a cleared set at worst recounts old Tasks once). */
  private readonly counted = new Set<string>();

  constructor(private readonly shell: Shell, private readonly opts: TaskReconcilerOptions) {}

  async reconcile(ns: string, name: string): Promise<void> {
    const { shell } = this;
    const task = shell.get('Task', ns, name);
    if (!task) return;
    const view = toTaskView(task);
    const k = `task/${ns}/${name}`;
    const seen = snapshot([['Task', task]]);
    const now = shell.now();
    if (task.metadata.deletionTimestamp) {
      await this.finalizeDeleted(task);
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
      const exists = agentName ? !!shell.caches.agents.get(ns, agentName) : !!shell.caches.templates.get(ns, templateName);
      if (!exists) {
        await shell.run(k, holdTasksForMissingReference([view], now), seen);
        return;
      }
      // agentRef Tasks are admitted by their Agent's key (serialized); a stop before the start is handled here
      if (templateName && (await shell.run(k, admitTemplateTasks([view], now, shell.taskPods(ns, [task])), seen))) return;
    }
    // a live GET: a pod missing from the cache may just not have arrived yet (PodLost must be sure); a waiting Task
    // has a pod only if an admission was interrupted, and only a stop needs to know
    const pod = view.status?.phase === 'Running' || isStopRequested(view)
      ? await shell.rest.tryGet(paths.core('pods', ns, NAMES.taskPod(name)))
      : undefined;
    const grace = this.opts.podStartGraceSeconds ?? CONTROLLER_DEFAULTS.podStartGraceSeconds;
    await shell.run(k, decideTaskFromPod(view, pod ? toPodView(pod) : undefined, now, grace), seen);
  }

  /**
   * A Task is gone (its DELETE event): if it was running for an Agent, its session on the agent server is aborted,
   * since the pod going with the Task stops only the attach client. Best effort: a Task deleted while no controller
   * leads keeps its session running to its end.
   */
  async deleted(task: Obj): Promise<void> {
    const { shell } = this;
    if (task.status?.phase !== 'Running' || !task.spec?.agentRef) return;
    const { namespace: ns, name, uid } = task.metadata;
    const agent = shell.caches.agents.get(ns, task.spec.agentRef.name);
    if (!agent) return;
    try {
      const session = await shell.sessions.abort(task, agent);
      shell.events.record({ kind: 'Task', namespace: ns, name, uid }, 'Normal', REASONS.sessionAborted,
        session ? `Task deleted: session ${session} aborted on the agent server` : 'Task deleted: no session on the agent server');
    } catch (e) {
      shell.log.warn({ task: `${ns}/${name}`, err: String(e) }, 'could not abort the session of a deleted Task');
    }
  }

  private async setFinalizer(task: Obj, present: boolean): Promise<void> {
    const { namespace, name } = task.metadata;
    await this.shell.run(`task/${namespace}/${name}`, decideSessionFinalizer({ namespace, name, finalizers: task.metadata.finalizers }, present), snapshot([['Task', task]]));
  }

  /**
   * A Task deleted while it held the session-abort finalizer (set by controllers before this one): abort its session
   * on the agent server, then let it go. Never blocks the deletion longer than finalizerTimeoutSeconds.
   */
  private async finalizeDeleted(task: Obj): Promise<void> {
    const { shell } = this;
    if (!(task.metadata.finalizers ?? []).includes(CONTROLLER.sessionFinalizer)) return;
    const { namespace: ns, name, uid } = task.metadata;
    const agent = task.spec?.agentRef ? shell.caches.agents.get(ns, task.spec.agentRef.name) : undefined;
    const timeout = this.opts.finalizerTimeoutSeconds ?? CONTROLLER_DEFAULTS.finalizerTimeoutSeconds;
    const deadline = (ms(task.metadata.deletionTimestamp) ?? 0) + timeout * 1000;
    if (agent && shell.now() < deadline) {
      try {
        const session = await shell.sessions.abort(task, agent);
        shell.events.record({ kind: 'Task', namespace: ns, name, uid }, 'Normal', REASONS.sessionAborted,
          session ? `Task deleted: session ${session} aborted on the agent server` : 'Task deleted: no session on the agent server');
      } catch (e) {
        shell.log.warn({ task: `${ns}/${name}`, err: String(e) }, 'could not abort the session of a deleted Task; letting it go');
      }
    }
    await this.setFinalizer(task, false);
  }

  private recordFinished(task: Obj): void {
    const uid = task.metadata.uid;
    if (this.counted.has(uid)) return;
    if (this.counted.size >= 50_000) this.counted.clear();
    this.counted.add(uid);
    const { phase } = task.status;
    const reason = (task.status?.conditions ?? []).find((c: Obj) => c.status === (phase === 'Failed' ? 'False' : 'True') && c.type !== CONDITIONS.queued)?.reason ?? '';
    this.shell.metrics.tasks.inc({ phase, reason });
    const start = ms(task.status.startTime);
    const end = ms(task.status.completionTime);
    if (start && end) this.shell.metrics.taskDuration.observe({ phase }, (end - start) / 1000);
  }
}

/**
 * The Agent reconciler: admission (serialized per Agent: its key runs one at a time), standby, Rollout Git contexts,
 * replicas and status; and what synth could not write (owner references, the server password Secret).
 */
import { NAMES, REASONS, CONDITIONS } from '../../api';
import {
  type BelongingsAgentView,
  type Decision,
  admitQueuedTasks,
  agentBelongings,
  decideOwnerReferences,
  decideServerAuthSecret,
  decideServerReplicas,
  decideServerStatus,
  decideStandby,
  isWaiting,
  needsOwnerReferences,
  serverAuthSecretRef,
} from '../decide';
import {
  type Obj,
  serverAgentView,
  serverDeploymentView,
  toAgentView,
  toBelongingsAgentView,
  toOwnableView,
  toTaskView,
} from '../kube/convert';
import { paths } from '../kube/rest';
import type { GitRolloutRuntime } from '../remotes/git-rollout-runtime';
import { type Shell, snapshot } from './shell';

export class AgentReconciler {
  /**
   * When the server password Secret was last seen, by Agent `ns/name` (with its uid): checked again after a minute,
   * so a deleted Secret is recreated. Entries go with their Agent.
   */
  private readonly authEnsured = new Map<string, { uid: string; at: number }>();

  constructor(private readonly shell: Shell, private readonly gitRollout: GitRolloutRuntime) {}

  async reconcile(ns: string, name: string): Promise<void> {
    const { shell } = this;
    const agent = shell.get('Agent', ns, name);
    if (!agent) {
      this.forget(ns, name);
      return;
    }
    const k = `agent/${ns}/${name}`;
    const deployment = shell.caches.deployments.get(ns, NAMES.serverDeployment(name));
    const taskObjs = shell.caches.tasks.list(ns).filter((t) => t.spec?.agentRef?.name === name).map((t) => shell.fresh('Task', t));
    const tasks = taskObjs.map(toTaskView);
    const now = shell.now();
    const view = toAgentView(agent, deployment);

    await this.ensureBelongings(k, agent, deployment);

    const seen = snapshot([['Agent', agent], ...taskObjs.map((t): ['Task', Obj] => ['Task', t])]);
    const admission = admitQueuedTasks(view, tasks, now, shell.taskPods(ns, taskObjs));
    this.countAdmissions(admission);
    if (await shell.run(k, admission, seen)) return; // the written objects come back as events
    if (await shell.run(k, decideStandby(view, tasks, now), seen)) return;

    // Rollout-synced Git contexts: after admission and standby, since a remote check may take a few seconds
    if (deployment) {
      const git = await this.gitRollout.reconcile(agent, deployment, taskObjs, now);
      for (const p of git.problems) {
        shell.log.warn({ agent: `${ns}/${name}`, context: p.context }, p.message);
        shell.events.record({ kind: 'Agent', namespace: ns, name, uid: agent.metadata.uid }, 'Warning', REASONS.gitSyncFailed, p.message);
      }
      if (await shell.run(k, git, seen)) return;
    }

    const server = serverAgentView(agent);
    const serverDeployment = deployment ? serverDeploymentView(deployment) : undefined;
    await shell.run(k, decideServerReplicas(server, serverDeployment), seen);
    await shell.run(k, decideServerStatus(server, serverDeployment, shell.clusterDomain(), now), seen);
    shell.metrics.queueDepth.set({ namespace: ns, agent: name }, tasks.filter((t) => isWaiting(t)).length);
    shell.metrics.running.set({ namespace: ns, agent: name }, tasks.filter((t) => t.status?.phase === 'Running').length);
  }

  /** The Agent's server password Secret is gone (sessions.ts found out): the next reconcile creates it again. */
  secretMissing(ns: string, name: string): void {
    this.authEnsured.delete(`${ns}/${name}`);
    this.shell.queue.add(`agent/${ns}/${name}`);
  }

  /** What the controller keeps per Agent, dropped when the Agent is gone (memory stays bounded by the live Agents). */
  private forget(ns: string, name: string): void {
    this.gitRollout.forget(ns, name);
    this.authEnsured.delete(`${ns}/${name}`);
    this.shell.sessions.forget(ns, name);
    this.shell.metrics.queueDepth.remove({ namespace: ns, agent: name });
    this.shell.metrics.running.remove({ namespace: ns, agent: name });
  }

  private countAdmissions(d: Decision): void {
    for (const w of d.writes) {
      if (w.kind !== 'patchTaskStatus') continue;
      if (w.status.phase === 'Running') this.shell.metrics.admissions.inc({ outcome: REASONS.started });
      const q = w.status.conditions?.find((c) => c.type === CONDITIONS.queued && c.status === 'True');
      if (w.status.phase === 'Queued' && q) this.shell.metrics.admissions.inc({ outcome: q.reason });
    }
  }

  /** What synth could not write (see decide/agent-belongings.ts): owner references, the server password Secret. */
  private async ensureBelongings(k: string, agent: Obj, deployment: Obj | undefined): Promise<void> {
    const view = toBelongingsAgentView(agent);
    await this.ensureOwnerReferences(k, view, deployment);
    await this.ensureServerAuthSecret(k, view);
  }

  /** Read live: the caches hold only the Deployment of what synth made for the Agent. */
  private async ensureOwnerReferences(k: string, agent: BelongingsAgentView, deployment: Obj | undefined): Promise<void> {
    const deploymentView = deployment && { name: deployment.metadata.name, ...toOwnableView(deployment) };
    if (!needsOwnerReferences(agent, deploymentView)) return;
    const belongings = await Promise.all(agentBelongings(agent).map(async (b) => {
      const o = await this.shell.rest.tryGet(paths.core(b.resource, agent.namespace, b.name));
      return { ...b, object: o && toOwnableView(o) };
    }));
    await this.shell.run(k, decideOwnerReferences(agent, deploymentView, belongings, this.shell.now()));
  }

  /** Looked up at most once a minute per Agent (authEnsured). */
  private async ensureServerAuthSecret(k: string, agent: BelongingsAgentView): Promise<void> {
    const { shell } = this;
    const ref = serverAuthSecretRef(agent);
    const key = `${agent.namespace}/${agent.name}`;
    const seen = this.authEnsured.get(key);
    if (!ref || (seen !== undefined && seen.uid === agent.uid && shell.now() - seen.at < 60_000)) return;
    const exists = (await shell.rest.tryGet(paths.core('secrets', agent.namespace, ref.name))) !== undefined;
    await shell.run(k, decideServerAuthSecret(agent, exists));
    this.authEnsured.set(key, { uid: agent.uid, at: shell.now() });
  }
}

/**
 * The Agent reconciler: admission (serialized per Agent: its key runs one at a time), standby, Rollout Git contexts,
 * replicas and status; and what synth could not write (owner references, the server password Secret).
 */
import { randomBytes } from 'crypto';
import { API_VERSION, CONTROLLER, DEFAULTS, LABELS, NAMES, REASONS, CONDITIONS } from '../../api';
import {
  type Decision,
  type ServerAgentView,
  type ServerDeploymentView,
  admitQueuedTasks,
  decideServerReplicas,
  decideServerStatus,
  decideStandby,
  isWaiting,
} from '../decide';
import type { GitRolloutRuntime } from '../git-rollout-runtime';
import { isConflict, paths } from '../kube/rest';
import { type Obj, ms, toAgentView, toTaskView } from '../kube/views';
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

    await this.ensureBelongings(agent);

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

  /**
   * Owner references on what synth made for the Agent (uids exist only in the cluster, so synth cannot write them),
   * so deleting the Agent garbage-collects them; and the server password Secret, created once with a random password.
   */
  private async ensureBelongings(agent: Obj): Promise<void> {
    const { namespace: ns, name, uid } = agent.metadata;
    const owner = { apiVersion: API_VERSION, kind: 'Agent', name, uid, controller: false, blockOwnerDeletion: false };
    await this.ensureOwned(agent, owner);
    const auth = agent.spec?.serverAuth;
    const seen = this.authEnsured.get(`${ns}/${name}`);
    if (auth?.enabled === false || (seen !== undefined && seen.uid === uid && this.shell.now() - seen.at < 60_000)) return;
    await this.ensureServerAuthSecret(agent, owner);
    this.authEnsured.set(`${ns}/${name}`, { uid, at: this.shell.now() });
  }

  private async ensureOwned(agent: Obj, owner: Obj): Promise<void> {
    const { rest, caches, queue } = this.shell;
    const { namespace: ns, name, uid } = agent.metadata;
    const deployment = caches.deployments.get(ns, NAMES.serverDeployment(name));
    const owned = (o: Obj | undefined) => !o || (o.metadata.ownerReferences ?? []).some((r: Obj) => r.uid === uid);
    if (!deployment || owned(deployment)) return;
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
      const o = await rest.tryGet(p);
      if (!o) missing++;
      else if (!owned(o)) await rest.patch(p, { metadata: { resourceVersion: o.metadata.resourceVersion, ownerReferences: [...(o.metadata.ownerReferences ?? []), owner] } });
    }
    if (missing > 0) {
      queue.addAt(`agent/${ns}/${name}`, this.shell.now() + 2000);
    } else {
      await rest.patch(paths.apps('deployments', ns, deployment.metadata.name), {
        metadata: { resourceVersion: deployment.metadata.resourceVersion, ownerReferences: [...(deployment.metadata.ownerReferences ?? []), owner] },
      });
    }
  }

  private async ensureServerAuthSecret(agent: Obj, owner: Obj): Promise<void> {
    const { rest, log } = this.shell;
    const { namespace: ns, name } = agent.metadata;
    const auth = agent.spec?.serverAuth;
    const secretName = auth?.secretRef?.name ?? NAMES.serverAuthSecret(name);
    const secretKey = auth?.secretRef?.key ?? DEFAULTS.serverAuthKey;
    if (await rest.tryGet(paths.core('secrets', ns, secretName))) return;
    try {
      await rest.create(paths.core('secrets', ns), {
        apiVersion: 'v1',
        kind: 'Secret',
        type: 'Opaque',
        metadata: { name: secretName, namespace: ns, labels: { [LABELS.agent]: name, [LABELS.managedBy]: CONTROLLER.name }, ownerReferences: [owner] },
        data: { [secretKey]: Buffer.from(randomBytes(24).toString('base64url')).toString('base64') },
      });
      log.info({ agent: `${ns}/${name}`, secret: secretName }, 'created the server password Secret');
    } catch (e) {
      if (!isConflict(e)) throw e;
    }
  }
}

function serverAgentView(agent: Obj): ServerAgentView {
  const s = agent.status ?? {};
  return {
    namespace: agent.metadata.namespace,
    name: agent.metadata.name,
    uid: agent.metadata.uid,
    generation: agent.metadata.generation,
    suspend: agent.spec?.suspend === true,
    port: agent.spec?.port ?? DEFAULTS.port,
    status: {
      observedGeneration: s.observedGeneration,
      deploymentName: s.deploymentName,
      serviceName: s.serviceName,
      url: s.url,
      ready: s.ready,
      suspended: s.suspended,
      conditions: s.conditions?.map((c: Obj) => ({ type: c.type, status: c.status, reason: c.reason ?? '', message: c.message ?? '', lastTransitionTime: ms(c.lastTransitionTime) ?? 0 })),
    },
  };
}

function serverDeploymentView(d: Obj): ServerDeploymentView {
  const conditions: Obj[] = d.status?.conditions ?? [];
  const available = conditions.find((c) => c.type === 'Available');
  const progressing = conditions.find((c) => c.type === 'Progressing');
  return {
    name: d.metadata.name,
    resourceVersion: d.metadata.resourceVersion,
    replicas: d.spec?.replicas,
    readyReplicas: d.status?.readyReplicas,
    available: available && { status: available.status, message: available.message },
    progressing: progressing && { reason: progressing.reason, message: progressing.message },
  };
}

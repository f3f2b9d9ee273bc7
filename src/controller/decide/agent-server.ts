/**
 * The Agent's server as the controller keeps it: replicas from spec.suspend, and the status that describes it
 * (deploymentName, serviceName, url, ready, suspended, ServerReady, ServerHealthy).
 */
import { CONDITIONS, NAMES, REASONS } from '../../api';
import { conditionChange, findCondition, type ConditionContent } from './conditions';
import type { EpochMs } from './time';
import type { Condition } from './views';
import type { Decision, ServerStatusFields, Write } from './writes';

/** The server Deployment, as far as these decisions read it. */
export interface ServerDeploymentView {
  readonly name: string;
  readonly resourceVersion?: string;
  readonly replicas?: number;
  readonly readyReplicas?: number;
  readonly available?: { readonly status: string; readonly message?: string };
  readonly progressing?: { readonly reason?: string; readonly message?: string };
}

/** The Agent, as far as these decisions read it. */
export interface ServerAgentView {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly generation?: number;
  readonly suspend: boolean;
  readonly port: number;
  /** The status fields this decision owns, as they are now. */
  readonly status: Partial<ServerStatusFields> & { readonly conditions?: readonly Condition[] };
}

/** spec.suspend is the one switch: 0 replicas when suspended, 1 otherwise (PVCs and Service stay). */
export function decideServerReplicas(agent: ServerAgentView, deployment: ServerDeploymentView | undefined): Decision {
  if (!deployment) return { writes: [] };
  const replicas = agent.suspend ? 0 : 1;
  if ((deployment.replicas ?? 1) === replicas) return { writes: [] };
  return {
    writes: [{
      kind: 'scaleServer', namespace: agent.namespace, agentName: agent.name, agentUid: agent.uid,
      deploymentName: deployment.name, resourceVersion: deployment.resourceVersion, replicas,
    }],
  };
}

function serverReady(agent: ServerAgentView, deployment: ServerDeploymentView | undefined): ConditionContent {
  const type = CONDITIONS.serverReady;
  if (!deployment) return { type, status: 'False', reason: REASONS.deploymentMissing, message: `Deployment ${NAMES.serverDeployment(agent.name)} does not exist` };
  if (agent.suspend) return { type, status: 'False', reason: REASONS.suspended, message: 'The server is scaled to 0 (spec.suspend)' };
  if ((deployment.readyReplicas ?? 0) > 0) return { type, status: 'True', reason: REASONS.ready, message: `${deployment.readyReplicas} ready replica(s)` };
  return { type, status: 'False', reason: REASONS.notReady, message: 'The server has no ready replica yet' };
}

function serverHealthy(agent: ServerAgentView, deployment: ServerDeploymentView | undefined): ConditionContent {
  const type = CONDITIONS.serverHealthy;
  const { available, progressing } = deployment ?? {};
  if (progressing?.reason === REASONS.progressDeadlineExceeded) {
    return { type, status: 'False', reason: REASONS.progressDeadlineExceeded, message: progressing.message ?? 'The rollout is stuck' };
  }
  if (available?.status === 'False' && !agent.suspend) {
    return { type, status: 'False', reason: REASONS.unavailable, message: available.message ?? 'The Deployment is not available' };
  }
  return agent.suspend
    ? { type, status: 'True', reason: REASONS.suspended, message: REASONS.suspended }
    : { type, status: 'True', reason: REASONS.healthy, message: 'The Deployment is available' };
}

/** The status fields and conditions that describe the server; nothing when they already do. */
export function decideServerStatus(
  agent: ServerAgentView,
  deployment: ServerDeploymentView | undefined,
  clusterDomain: string,
  now: EpochMs,
): Decision {
  const server: ServerStatusFields = {
    observedGeneration: agent.generation,
    deploymentName: NAMES.serverDeployment(agent.name),
    serviceName: NAMES.service(agent.name),
    url: NAMES.serverUrl(agent.name, agent.namespace, agent.port, clusterDomain),
    ready: (deployment?.readyReplicas ?? 0) > 0,
    suspended: agent.suspend,
  };
  const changedField = (Object.keys(server) as Array<keyof ServerStatusFields>).some((k) => agent.status[k] !== server[k]);
  const desired = [serverReady(agent, deployment), serverHealthy(agent, deployment)];
  const changedCondition = desired.some((c) => conditionChange(agent.status.conditions, c, now) !== undefined);
  if (!changedField && !changedCondition) return { writes: [] };
  // both conditions, each keeping its lastTransitionTime unless its status flips (and taking the new observedGeneration)
  const conditions = desired.map((c): Condition => {
    const prev = findCondition(agent.status.conditions, c.type);
    return { ...c, lastTransitionTime: prev && prev.status === c.status ? prev.lastTransitionTime : now };
  });
  const write: Write = { kind: 'patchAgentStatus', namespace: agent.namespace, name: agent.name, status: { server, conditions } };
  return { writes: [write] };
}

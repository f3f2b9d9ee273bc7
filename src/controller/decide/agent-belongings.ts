/**
 * What synth made for an Agent but could not finish, because it needs what exists only in the cluster: the owner
 * references on its objects (they need the Agent's uid), so that deleting the Agent garbage-collects them; and the
 * server password Secret (a random password must not be in the manifests).
 */
import { API_VERSION, DEFAULTS, NAMES } from '../../api';
import { NOTHING, type Decision, type OwnedResource, type OwnerReference, type Write } from './writes';

/** An Agent as these decisions see it. */
export interface BelongingsAgentView {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  /** spec.persistence: which PVCs synth made. */
  readonly persistence?: { readonly sessions?: unknown; readonly workspace?: unknown };
  /** spec.serverAuth. */
  readonly serverAuth?: { readonly enabled?: boolean; readonly secretRef?: { readonly name?: string; readonly key?: string } };
}

/** An object that may carry owner references; undefined: not in the cluster (yet). */
export interface OwnableView {
  readonly resourceVersion?: string;
  readonly ownerReferences?: readonly OwnerReference[];
}

/** One of the objects synth made for the Agent, and what the cluster has of it. */
export interface Belonging {
  readonly resource: OwnedResource;
  readonly name: string;
  readonly object?: OwnableView;
}

/** How long to wait for an object that is not applied yet (kubectl and GitOps tools apply one by one). */
export const BELONGING_RETRY_MS = 2000;

/** The reference every belonging carries: not the controller, and not blocking the Agent's deletion. */
export function agentOwnerReference(agent: BelongingsAgentView): OwnerReference {
  return { apiVersion: API_VERSION, kind: 'Agent', name: agent.name, uid: agent.uid, controller: false, blockOwnerDeletion: false };
}

/** Whether the object is already owned by the Agent (a missing object counts as done: nothing to mark). */
export function ownedBy(o: OwnableView | undefined, uid: string): boolean {
  return !o || (o.ownerReferences ?? []).some((r) => r.uid === uid);
}

/**
 * Whether the owner references still need work: the server Deployment is marked last, so while it is unowned
 * something may be. (No Deployment: the Agent's manifests are not applied yet; its event brings the Agent back.)
 */
export function needsOwnerReferences(agent: BelongingsAgentView, deployment: OwnableView | undefined): boolean {
  return deployment !== undefined && !ownedBy(deployment, agent.uid);
}

/** The objects besides the server Deployment that synth made for the Agent. */
export function agentBelongings(agent: BelongingsAgentView): Array<Omit<Belonging, 'object'>> {
  const { name } = agent;
  return [
    { resource: 'services', name: NAMES.service(name) },
    { resource: 'configmaps', name: NAMES.contextConfigMap(name) },
    { resource: 'podtemplates', name: NAMES.agentTaskPodTemplate(name) },
    ...(agent.persistence?.sessions ? [{ resource: 'persistentvolumeclaims' as const, name: NAMES.sessionsPvc(name) }] : []),
    ...(agent.persistence?.workspace ? [{ resource: 'persistentvolumeclaims' as const, name: NAMES.workspacePvc(name) }] : []),
  ];
}

/**
 * Owner references onto the Agent's objects, each write guarded by the resourceVersion it was decided from. The
 * Deployment goes last and only once every other object exists and is owned in this decision: it is what the cache
 * shows, so until it is owned the next reconcile looks again. A missing object: decide again shortly.
 */
export function decideOwnerReferences(
  agent: BelongingsAgentView,
  deployment: (OwnableView & { readonly name: string }) | undefined,
  belongings: readonly Belonging[],
  now: number,
): Decision {
  if (!deployment || !needsOwnerReferences(agent, deployment)) return NOTHING;
  const owner = agentOwnerReference(agent);
  const mark = (resource: OwnedResource, name: string, o: OwnableView): Write => ({
    kind: 'setOwnerReferences', namespace: agent.namespace, resource, name,
    resourceVersion: o.resourceVersion, ownerReferences: [...(o.ownerReferences ?? []), owner],
  });
  const writes = belongings.filter((b) => b.object && !ownedBy(b.object, agent.uid)).map((b) => mark(b.resource, b.name, b.object!));
  if (belongings.some((b) => !b.object)) return { writes, wakeAt: now + BELONGING_RETRY_MS };
  return { writes: [...writes, mark('deployments', deployment.name, deployment)] };
}

/** The Secret the server password lives in (the Agent's own or the default), or undefined when auth is off. */
export function serverAuthSecretRef(agent: BelongingsAgentView): { readonly name: string; readonly key: string } | undefined {
  const auth = agent.serverAuth;
  if (auth?.enabled === false) return undefined;
  return { name: auth?.secretRef?.name ?? NAMES.serverAuthSecret(agent.name), key: auth?.secretRef?.key ?? DEFAULTS.serverAuthKey };
}

/** The server password Secret, created once (the executor draws the random password) when it does not exist. */
export function decideServerAuthSecret(agent: BelongingsAgentView, secretExists: boolean): Decision {
  const ref = serverAuthSecretRef(agent);
  if (!ref || secretExists) return NOTHING;
  return {
    writes: [{
      kind: 'createServerAuthSecret', namespace: agent.namespace, agentName: agent.name,
      name: ref.name, key: ref.key, owner: agentOwnerReference(agent),
    }],
  };
}

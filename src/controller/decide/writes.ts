/**
 * What the decision core asks for: an ordered list of writes plus, at most, one instant to decide again at.
 *
 * The adapter's contract:
 * - Execute the writes in order and stop at the first failure; then re-read and decide again. The order is what makes
 *   a crash between any two writes harmless (each decision function documents its order).
 * - Use the resourceVersion of the object the decision was made from as the precondition of the first write to that
 *   object (409 → re-read, decide again). This is what serializes admission per Agent.
 * - Creates are done when they answer AlreadyExists; deletes are done when they answer NotFound.
 * - Status patches are JSON merge patches with two exceptions: instants are EpochMs (render them as RFC 3339), and
 *   `conditions` lists the conditions to upsert by `type`, leaving the object's other conditions as they are.
 * - `wakeAt` is needed only for time itself (quota window end, idle timeout, schedule, TTL...): everything else that
 *   can change a decision arrives as a watch event.
 */
import type { CronTaskSpec, TaskPhase } from '../../api';
import type { EpochMs } from './time';
import type { Condition, CronTaskStatusView, GitSyncStatus, TaskStartRecord } from './views';

export interface TaskStatusPatch {
  readonly phase?: TaskPhase;
  readonly podName?: string;
  readonly startTime?: EpochMs;
  readonly completionTime?: EpochMs;
  /** Upserted by type. */
  readonly conditions?: readonly Condition[];
  /** What the agent server knows of the Task's session (agentRef Tasks, when they finish). */
  readonly session?: TaskSessionStatus;
}

/** status.session of a Task. */
export interface TaskSessionStatus {
  readonly id: string;
  readonly title: string;
  readonly messageCount: number;
  readonly tokenUsage: { readonly input: number; readonly output: number; readonly reasoning: number; readonly cache: number };
}

/** The fields of an Agent's status that describe its server (decide/agent-server.ts). */
export interface ServerStatusFields {
  readonly observedGeneration?: number;
  readonly deploymentName: string;
  readonly serviceName: string;
  readonly url: string;
  readonly ready: boolean;
  readonly suspended: boolean;
}

export interface AgentStatusPatch {
  /** Set as they are. */
  readonly server?: ServerStatusFields;
  /** null removes the field. */
  readonly idleSince?: EpochMs | null;
  /** Replaces the whole ledger. */
  readonly taskStartHistory?: readonly TaskStartRecord[];
  /** Replaces the whole list. */
  readonly gitSyncStatuses?: readonly GitSyncStatus[];
  /** Upserted by type. */
  readonly conditions?: readonly Condition[];
  /** Condition types to remove (after the upserts). */
  readonly removeConditions?: readonly string[];
}

/** The CronTask status fields, set as they are, except: */
export interface CronTaskStatusPatch extends Omit<CronTaskStatusView, 'nextScheduleTime' | 'conditions'> {
  /** null removes the field (a suspended or broken CronTask has no next run). */
  readonly nextScheduleTime?: EpochMs | null;
  /** Upserted by type. */
  readonly conditions?: readonly Condition[];
}

/** An owner reference (metadata.ownerReferences[]). */
export interface OwnerReference {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly uid: string;
  readonly controller: boolean;
  readonly blockOwnerDeletion: boolean;
}

/** The kinds of objects synth makes for an Agent that the controller marks as owned by it. */
export type OwnedResource = 'deployments' | 'services' | 'configmaps' | 'podtemplates' | 'persistentvolumeclaims';

/** A Task to create, complete but for what only the adapter has (nothing: the owner reference is here too). */
export interface NewTask {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly ownerReferences: readonly OwnerReference[];
  readonly spec: CronTaskSpec['taskTemplate']['spec'];
}

export type Write =
  /** Status subresource of a Task; `uid` guards against writing to a newer Task of the same name. */
  | { readonly kind: 'patchTaskStatus'; readonly namespace: string; readonly name: string; readonly uid: string; readonly status: TaskStatusPatch }
  /** metadata.annotations of a Task (merge). */
  | { readonly kind: 'annotateTask'; readonly namespace: string; readonly name: string; readonly uid: string; readonly annotations: Readonly<Record<string, string>> }
  /** Build the pod `podName` from the Agent's or AgentTemplate's task PodTemplate, owned by the Task. */
  | { readonly kind: 'createTaskPod'; readonly namespace: string; readonly taskName: string; readonly taskUid: string; readonly podName: string }
  | { readonly kind: 'deletePod'; readonly namespace: string; readonly name: string }
  | { readonly kind: 'createTask'; readonly namespace: string; readonly task: NewTask }
  /** Delete with a uid precondition. */
  | { readonly kind: 'deleteTask'; readonly namespace: string; readonly name: string; readonly uid: string }
  /** spec of an Agent (merge); only standby writes here, and only `suspend`. */
  | { readonly kind: 'patchAgentSpec'; readonly namespace: string; readonly name: string; readonly spec: { readonly suspend: boolean } }
  | { readonly kind: 'patchAgentStatus'; readonly namespace: string; readonly name: string; readonly status: AgentStatusPatch }
  /** spec.template.metadata.annotations of the server Deployment (merge): a change rolls the pods. */
  | { readonly kind: 'patchServerPodTemplate'; readonly namespace: string; readonly deploymentName: string; readonly annotations: Readonly<Record<string, string>> }
  /** metadata.ownerReferences of an object synth made for an Agent, replaced (guarded by `resourceVersion`). */
  | {
    readonly kind: 'setOwnerReferences'; readonly namespace: string; readonly resource: OwnedResource; readonly name: string;
    readonly resourceVersion?: string; readonly ownerReferences: readonly OwnerReference[];
  }
  /** Create an Agent's server password Secret with a random password under `key` (done on AlreadyExists). */
  | {
    readonly kind: 'createServerAuthSecret'; readonly namespace: string; readonly agentName: string;
    readonly name: string; readonly key: string; readonly owner: OwnerReference;
  }
  /** metadata.annotations of a CronTask (merge; null removes the key). */
  | { readonly kind: 'patchCronTaskAnnotations'; readonly namespace: string; readonly name: string; readonly annotations: Readonly<Record<string, string | null>> }
  | { readonly kind: 'patchCronTaskStatus'; readonly namespace: string; readonly name: string; readonly status: CronTaskStatusPatch }
  /** metadata.finalizers of a Task, replaced by `finalizers` (guarded by the resourceVersion the decision saw). */
  | { readonly kind: 'setTaskFinalizers'; readonly namespace: string; readonly name: string; readonly finalizers: readonly string[] }
  /** spec.replicas of the Agent's server Deployment (an Event on the Agent says why). */
  | {
    readonly kind: 'scaleServer'; readonly namespace: string; readonly agentName: string; readonly agentUid: string;
    readonly deploymentName: string; readonly resourceVersion?: string; readonly replicas: number;
  }
  /** spec.suspend of a CronTask's CronJob. */
  | { readonly kind: 'suspendCronJob'; readonly namespace: string; readonly name: string; readonly resourceVersion?: string; readonly suspend: boolean };

export interface Decision {
  readonly writes: readonly Write[];
  /** Decide again at this instant even if no event arrives; undefined: only events matter. */
  readonly wakeAt?: EpochMs;
}

export const NOTHING: Decision = { writes: [] };

/** A status write: the one kind of write the adapter may leave in flight behind its key (it can predict its result). */
export type StatusWrite = Extract<Write, { kind: 'patchTaskStatus' | 'patchAgentStatus' }>;
export const isStatusWrite = (w: Write): w is StatusWrite => w.kind === 'patchTaskStatus' || w.kind === 'patchAgentStatus';

/**
 * The Task, Agent or CronTask a write changes, as `Kind/namespace/name` (writes to one object keep their order);
 * undefined for pods, Deployments, Secrets, CronJobs and creates.
 */
export function writeTarget(w: Write): string | undefined {
  switch (w.kind) {
    case 'patchTaskStatus':
    case 'annotateTask':
    case 'setTaskFinalizers':
    case 'deleteTask':
      return `Task/${w.namespace}/${w.name}`;
    case 'patchAgentSpec':
    case 'patchAgentStatus':
      return `Agent/${w.namespace}/${w.name}`;
    case 'patchCronTaskAnnotations':
    case 'patchCronTaskStatus':
      return `CronTask/${w.namespace}/${w.name}`;
    default:
      return undefined;
  }
}

/**
 * What the decision core reads: plain snapshots of cluster objects. Specs are the API types derived from the generated
 * imports (src/api), so the adapter passes `object.spec` as it is; statuses are ours because the imports carry no status
 * types, and their instants are EpochMs (see time.ts).
 */
import type { AgentSpec, CronTaskSpec, TaskPhase, TaskSpec } from '../../api';
import type { EpochMs } from './time';

/** A status condition (metav1.Condition without observedGeneration, which the adapter may add). */
export interface Condition {
  readonly type: string;
  readonly status: 'True' | 'False' | 'Unknown';
  readonly reason: string;
  readonly message: string;
  readonly lastTransitionTime: EpochMs;
}

export interface TaskStatusView {
  readonly phase?: TaskPhase;
  /** Set once the pod `{task}-pod` exists: a Running Task without it has its pod still to create. */
  readonly podName?: string;
  readonly startTime?: EpochMs;
  readonly completionTime?: EpochMs;
  readonly conditions?: readonly Condition[];
}

export interface TaskView {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  /** metadata.creationTimestamp: the FIFO order (with the name as tiebreaker). */
  readonly creationTimestamp: EpochMs;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly spec: Pick<TaskSpec, 'agentRef' | 'templateRef' | 'timeout'>;
  readonly status?: TaskStatusView;
}

/** One entry of Agent status.taskStartHistory, the quota ledger. */
export interface TaskStartRecord {
  readonly taskName: string;
  readonly startTime: EpochMs;
}

export interface GitSyncStatus {
  readonly name: string;
  readonly commitHash?: string;
  readonly lastSynced?: EpochMs;
}

export interface AgentStatusView {
  /**
   * The server Deployment has a ready replica. The adapter should fill it from the Deployment it reads rather than
   * from a status it wrote itself earlier, so admission never waits on its own stale write.
   */
  readonly ready?: boolean;
  readonly idleSince?: EpochMs;
  readonly taskStartHistory?: readonly TaskStartRecord[];
  readonly gitSyncStatuses?: readonly GitSyncStatus[];
  readonly conditions?: readonly Condition[];
}

export interface AgentView {
  readonly namespace: string;
  readonly name: string;
  readonly creationTimestamp: EpochMs;
  /** Annotation kubeopencode.io/last-connection-active: an attached client's last heartbeat (unparsable: absent). */
  readonly lastConnectionActive?: EpochMs;
  readonly spec: Pick<AgentSpec, 'suspend' | 'standby' | 'maxConcurrentTasks' | 'quota'>;
  readonly status?: AgentStatusView;
}

/** The parts of core/v1 ContainerStatus the decisions read (the client-node object fits once dates are converted). */
export interface ContainerStatusView {
  readonly name: string;
  readonly state?: {
    readonly waiting?: { readonly reason?: string; readonly message?: string };
    readonly terminated?: {
      readonly exitCode: number;
      readonly reason?: string;
      readonly message?: string;
      readonly finishedAt?: EpochMs;
    };
  };
}

export interface PodConditionView {
  readonly type: string;
  readonly status: string;
  readonly reason?: string;
  readonly message?: string;
  readonly lastTransitionTime?: EpochMs;
}

/** A Task pod as read by a live GET of `{task}-pod`: undefined means 404, never a cache miss. */
export interface PodView {
  readonly name: string;
  /** uid of the controlling Task (ownerReferences); a pod left over from an earlier Task of the same name differs. */
  readonly ownerTaskUid?: string;
  readonly creationTimestamp: EpochMs;
  readonly deletionTimestamp?: EpochMs;
  readonly phase?: 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';
  /** status.reason / status.message of the pod (e.g. Evicted). */
  readonly reason?: string;
  readonly message?: string;
  readonly conditions?: readonly PodConditionView[];
  readonly initContainerStatuses?: readonly ContainerStatusView[];
  readonly containerStatuses?: readonly ContainerStatusView[];
}

export interface CronTaskStatusView {
  readonly lastScheduleTime?: EpochMs;
  readonly lastSuccessfulTime?: EpochMs;
  readonly nextScheduleTime?: EpochMs;
  readonly totalExecutions?: number;
  readonly active?: number;
  readonly activeRefs?: ReadonlyArray<{ readonly name: string }>;
  readonly conditions?: readonly Condition[];
}

export interface CronTaskView {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly creationTimestamp: EpochMs;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly spec: CronTaskSpec;
  readonly status?: CronTaskStatusView;
}

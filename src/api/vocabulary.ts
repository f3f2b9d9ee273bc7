/**
 * The status language, in one place: every condition type the controller sets and every reason it can give (on a
 * condition or an Event). A reader finds all that the system can say here; nothing else in src/ spells a reason.
 * Reasons are from the KubeOpenCode feature guide unless a comment says "ours".
 */

/** Condition types. */
export const CONDITIONS = {
  /** Agent: the server Deployment has a ready replica. */
  serverReady: 'ServerReady',
  /** Agent: the server Deployment is available and its rollout is not stuck. */
  serverHealthy: 'ServerHealthy',
  /** Agent: False (reason Unauthorized) while the Agent's server refuses the controller's password. */
  serverAuthorized: 'ServerAuthorized',
  suspended: 'Suspended',
  gitSyncPending: 'GitSyncPending',
  /** Agent: idleTimeout is shorter than the heartbeat staleness window (reason IdleTimeoutTooShort). */
  standbyConfigWarning: 'StandbyConfigWarning',
  /** Agent: a client is attached (its heartbeat is fresh). Ours: upstream keeps this in the annotation only. */
  connectionActive: 'ConnectionActive',
  queued: 'Queued',
  stopped: 'Stopped',
  ready: 'Ready',
} as const;

/** Every reason, grouped by the condition (or Event) that carries it. Each string is defined here once. */
export const REASONS = {
  // ---- Task Queued (True while waiting; False once it left the queue) ----
  agentAtCapacity: 'AgentAtCapacity',
  quotaExceeded: 'QuotaExceeded',
  agentSuspended: 'AgentSuspended',
  /** The Agent's server has no ready replica yet (e.g. resuming from standby). Ours. */
  agentServerNotReady: 'AgentServerNotReady',
  /** Phase Pending: the referenced Agent / AgentTemplate does not exist (yet). Ours. */
  agentNotFound: 'AgentNotFound',
  agentTemplateNotFound: 'AgentTemplateNotFound',
  started: 'Started',
  // ---- Task Stopped ----
  userStopped: 'UserStopped',
  // ---- Task Ready=False on Failed Tasks (ours, after KubeOpenCode's pod failure handling) ----
  podFailed: 'PodFailed',
  podLost: 'PodLost',
  imagePullFailed: 'ImagePullFailed',
  containerConfigError: 'ContainerConfigError',
  unschedulable: 'Unschedulable',
  /** The task pod could not be built (its PodTemplate is missing). */
  podCreationError: 'PodCreationError',
  /** The pod exited 0 but the session on the agent server reported an error. */
  sessionError: 'SessionError',
  timeout: 'Timeout',
  // ---- Agent Suspended ----
  userRequested: 'UserRequested',
  standby: 'Standby',
  active: 'Active',
  // ---- Agent StandbyConfigWarning / ConnectionActive ----
  idleTimeoutTooShort: 'IdleTimeoutTooShort',
  heartbeatFresh: 'HeartbeatFresh',
  heartbeatStale: 'HeartbeatStale',
  // ---- Agent GitSyncPending ----
  /** True: a new commit waits for active Tasks before the server rolls. */
  waitingForTasks: 'WaitingForTasks',
  upToDate: 'UpToDate',
  // ---- Agent ServerReady / ServerHealthy (ours) ----
  deploymentMissing: 'DeploymentMissing',
  /** ServerReady and ServerHealthy while spec.suspend holds the server at 0; also the Event of scaling to 0. */
  suspended: 'Suspended',
  ready: 'Ready',
  notReady: 'NotReady',
  healthy: 'Healthy',
  /** Kubernetes' own Deployment Progressing reason, passed through. */
  progressDeadlineExceeded: 'ProgressDeadlineExceeded',
  unavailable: 'Unavailable',
  // ---- Agent ServerAuthorized (ours) ----
  unauthorized: 'Unauthorized',
  authorized: 'Authorized',
  // ---- CronTask Ready (KubeOpenCode's own); `suspended` above too ----
  scheduled: 'Scheduled',
  invalidSchedule: 'InvalidSchedule',
  missedDeadline: 'MissedDeadline',
  maxRetainedTasksReached: 'MaxRetainedTasksReached',
  activeTaskExists: 'ActiveTaskExists',
  // ---- Events only (ours) ----
  /** Agent: the server was scaled back to 1 replica. */
  resumed: 'Resumed',
  /** Agent: a Rollout Git context could not be checked. */
  gitSyncFailed: 'GitSyncFailed',
  /** Task: deleted while running, its session on the agent server was aborted. */
  sessionAborted: 'SessionAborted',
} as const;

export type Reason = (typeof REASONS)[keyof typeof REASONS];

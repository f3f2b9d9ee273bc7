/**
 * Condition reasons and defaults the controller needs that src/api does not define yet. They belong in
 * src/api/names.ts (CONDITIONS / REASONS / DEFAULTS); they live here until they move, so decide/ edits nothing else.
 */

export const TASK_REASONS = {
  /** Queued: the Agent's server has no ready replica yet (e.g. resuming from standby). */
  agentServerNotReady: 'AgentServerNotReady',
  /** Queued (phase Pending): the referenced Agent / AgentTemplate does not exist (yet). */
  agentNotFound: 'AgentNotFound',
  agentTemplateNotFound: 'AgentTemplateNotFound',
  /** Queued=False once the Task left the queue. */
  started: 'Started',
  /** Ready=False on Failed Tasks. */
  podFailed: 'PodFailed',
  podLost: 'PodLost',
  imagePullFailed: 'ImagePullFailed',
  containerConfigError: 'ContainerConfigError',
  unschedulable: 'Unschedulable',
} as const;

export const AGENT_REASONS = {
  /** GitSyncPending=True: a new commit waits for active Tasks before the server rolls. */
  waitingForTasks: 'WaitingForTasks',
  /** GitSyncPending=False. */
  upToDate: 'UpToDate',
} as const;

/** Reasons of the CronTask Ready condition (KubeOpenCode's own). */
export const CRONTASK_REASONS = {
  scheduled: 'Scheduled',
  suspended: 'Suspended',
  invalidSchedule: 'InvalidSchedule',
  missedDeadline: 'MissedDeadline',
  maxRetainedTasksReached: 'MaxRetainedTasksReached',
  activeTaskExists: 'ActiveTaskExists',
} as const;

export const DECIDE_DEFAULTS = {
  /**
   * How long a task pod may sit in ImagePullBackOff / CreateContainerConfigError / Unschedulable before the Task fails,
   * instead of holding its capacity slot forever (KubeOpenCode bug (d)).
   */
  podStartGraceSeconds: 300,
} as const;

/** The value of kubeopencode.io/stop and kubeopencode.io/trigger that acts. */
export const ANNOTATION_TRUE = 'true';

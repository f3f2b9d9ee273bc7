/**
 * The controller's own names, environment and defaults: the constructs that install and invoke it
 * (constructs/controller-install.ts, constructs/cron-task.ts) and the bin that reads them (controller/settings.ts,
 * controller/main.ts) import the same constants, so the two sides cannot drift apart.
 */

export const CONTROLLER = {
  /** The bin, the Deployment, the ServiceAccount, the Lease, the field manager and the Event source. */
  name: 'kubeopencode-controller',
  /** Where it is installed and holds its Lease unless told otherwise. */
  namespace: 'kubeopencode-system',
  /** Held by agentRef Tasks while running, so that deleting one aborts its session on the server first. */
  sessionFinalizer: 'kubeopencode.io/session-abort',
} as const;

/** The environment variables the controller bin reads (controller/settings.ts documents each). */
export const CONTROLLER_ENV = {
  logLevel: 'LOG_LEVEL',
  podNamespace: 'POD_NAMESPACE',
  podName: 'POD_NAME',
  leaderElection: 'LEADER_ELECTION',
  podStartGraceSeconds: 'POD_START_GRACE_SECONDS',
  healthPort: 'HEALTH_PORT',
  metricsPort: 'METRICS_PORT',
  cronTaskNamespace: 'CRONTASK_NAMESPACE',
  cronTaskName: 'CRONTASK_NAME',
} as const;

export const CONTROLLER_DEFAULTS = {
  logLevel: 'info',
  /**
   * How long a task pod may sit in ImagePullBackOff / CreateContainerConfigError / Unschedulable before the Task fails,
   * instead of holding its capacity slot forever (KubeOpenCode bug (d)).
   */
  podStartGraceSeconds: 300,
  /** /healthz, /readyz and /metrics. */
  healthPort: 8081,
  /** The metrics Service's port. */
  metricsPort: 8080,
  /** A Task being deleted is kept (finalizer) at most this long while its session is aborted. */
  finalizerTimeoutSeconds: 30,
  /** Reconciles running at once (different keys). */
  concurrency: 8,
} as const;

/** The value of kubeopencode.io/stop and kubeopencode.io/trigger that acts. */
export const ANNOTATION_TRUE = 'true';

import { PACKAGE_VERSION } from '../version';

/**
 * Every name, label, annotation, env var, path and default of the kubeopencode.io API in one place, used by the
 * constructs and the controller alike. Values come from the KubeOpenCode feature guide unless a comment says otherwise.
 */

export const API_GROUP = 'kubeopencode.io';
export const API_VERSION = 'kubeopencode.io/v1alpha1';

/** Labels. */
export const LABELS = {
  agent: 'kubeopencode.io/agent',
  agentTemplate: 'kubeopencode.io/agent-template',
  task: 'kubeopencode.io/task',
  cronTask: 'kubeopencode.io/crontask',
  /** The role of a generated pod: server, task. Ours, for selectors and NetworkPolicies. */
  component: 'app.kubernetes.io/component',
  name: 'app.kubernetes.io/name',
  instance: 'app.kubernetes.io/instance',
  managedBy: 'app.kubernetes.io/managed-by',
} as const;

export const MANAGED_BY = 'cdk8s-kubeopencode';

/** Annotations. */
export const ANNOTATIONS = {
  stop: 'kubeopencode.io/stop',
  trigger: 'kubeopencode.io/trigger',
  /** Hash of the generated ConfigMaps on the server pod template: a content change rolls the pods. */
  contextHash: 'kubeopencode.io/context-hash',
  /** Prefix of the per-context commit annotation that rolls the server for Git contexts with the Rollout policy. */
  gitHashPrefix: 'kubeopencode.io/git-hash-',
  /** On the server Deployment: the Git contexts with policy Rollout (JSON), for the controller. */
  gitRollout: 'kubeopencode.io/git-rollout',
  /**
   * On the Agent: when an attached client (`kubeoc agent attach`) last said it is connected, RFC 3339. Standby never
   * suspends an Agent whose heartbeat is fresher than {@link CONNECTION_HEARTBEAT}.stalenessMs.
   */
  lastConnectionActive: 'kubeopencode.io/last-connection-active',
} as const;

/** The connection heartbeat (upstream's ConnectionHeartbeatInterval and ConnectionHeartbeatStaleness). */
export const CONNECTION_HEARTBEAT = {
  /** How often an attached client writes the annotation. */
  intervalMs: 60_000,
  /** How long after its last write a heartbeat still counts as a live connection. */
  stalenessMs: 120_000,
} as const;

/** Environment variables. */
export const ENV = {
  customCaCertPath: 'CUSTOM_CA_CERT_PATH',
  opencodeConfig: 'OPENCODE_CONFIG',
  opencodeConfigContent: 'OPENCODE_CONFIG_CONTENT',
  opencodeDb: 'OPENCODE_DB',
  opencodeServerPassword: 'OPENCODE_SERVER_PASSWORD',
  opencodeServerUsername: 'OPENCODE_SERVER_USERNAME',
  workspaceDir: 'WORKSPACE_DIR',
  taskName: 'TASK_NAME',
  taskNamespace: 'TASK_NAMESPACE',
  /** The task text; the controller sets it on the task pod (ours: the guide does not say how the text travels). */
  taskDescription: 'TASK_DESCRIPTION',
  /** The session title that identifies the Task on the server: kubeopencode/<namespace>/<task>/<uid8>. */
  taskSessionTitle: 'TASK_SESSION_TITLE',
  serverUrl: 'KUBEOPENCODE_SERVER_URL',
} as const;

/** Always appended to noProxy so in-cluster traffic never goes through the proxy. */
export const ALWAYS_NO_PROXY = ['.svc', '.cluster.local'];

/** Paths. */
export const PATHS = {
  customCaCert: '/etc/ssl/certs/custom-ca/tls.crt',
  customCaDir: '/etc/ssl/certs/custom-ca',
  toolsDir: '/tools',
  opencodeBinary: '/tools/opencode',
  opencodeConfig: '/tools/opencode.json',
  sessionsDir: '/data/sessions',
  opencodeDb: '/data/sessions/opencode.db',
  /** Relative to the workspace. */
  contextFile: '.kubeopencode/context.md',
  skillsDir: '/skills',
  /** Where generated files (context parts, opencode.json) are mounted for the init containers. */
  generatedDir: '/kubeopencode/generated',
  /** Where user ConfigMap and URL contexts bound for context.md are staged. */
  contextSourcesDir: '/kubeopencode/contexts',
  gitCredentialsDir: '/kubeopencode/git-credentials',
  /** The init and sidecar scripts, from the pod's generated ConfigMap (a sibling of the other read-only mounts). */
  scriptsDir: '/kubeopencode/scripts',
  tmp: '/tmp',
} as const;

/** skills source name → mount directory */
export const skillDir = (source: string): string => `${PATHS.skillsDir}/${source}`;

/** Defaults from the guide. */
export const DEFAULTS = {
  port: 4096,
  sessionsSize: '1Gi',
  workspaceSize: '10Gi',
  caConfigMapKey: 'ca-bundle.crt',
  caSecretKey: 'ca.crt',
  gitRef: 'HEAD',
  gitDepth: 1,
  gitSyncInterval: '5m',
  gitSyncPolicy: 'HotReload',
  credentialFileMode: 0o600,
  cronTimeZone: 'UTC',
  cronConcurrencyPolicy: 'Forbid',
  cronMaxRetainedTasks: 10,
  clusterDomain: 'cluster.local',
  /** Rollout policy: force the rollout after this long waiting for Tasks. */
  gitSyncPendingTimeoutSeconds: 3600,
  serverAuthKey: 'password',
  serverUsername: 'opencode',
} as const;

/** The opencode version the test suite runs (the real binary, npm opencode-ai) and the node tier's images carry. */
export const OPENCODE_VERSION = '1.18.33';

/**
 * The upstream KubeOpenCode release whose published images are our defaults. Its release workflow pushes every image
 * with the release tag to ghcr.io/kubeopencode; the guide's examples spell quay.io/kubeopencode/…:latest.
 */
export const UPSTREAM_RELEASE = 'v0.1.7';
/** The opencode version upstream's images of {@link UPSTREAM_RELEASE} carry (its agents/Makefile OPENCODE_VERSION). */
export const UPSTREAM_OPENCODE_VERSION = '1.15.13';

/**
 * Pinned images emitted by default (never :latest), each one a cluster can pull. What a pod needs from each is the
 * upstream image contract (shared by any image that replaces it):
 * - `agent` (agentImage): the binary at /opencode, ENTRYPOINT copies it to ${TOOLS_DIR}/${OPENCODE_BIN}; runs as root
 *   unless told otherwise (an Alpine image with no USER);
 * - `executor` (executorImage): a shell and the tools the agent uses, NO opencode (it runs /tools/opencode);
 * - `attach` (attachImage): opencode at /usr/local/bin/opencode (on PATH), a shell, USER 1000:0.
 */
export const IMAGES = {
  /** The controller and CronTask jobs; built from the Dockerfile at the package root, tagged with this package's version. */
  controller: `ghcr.io/cdk8s-kubeopencode/controller:${PACKAGE_VERSION}`,
  agent: `ghcr.io/kubeopencode/kubeopencode-agent-opencode:${UPSTREAM_RELEASE}`,
  executor: `ghcr.io/kubeopencode/kubeopencode-agent-devbox:${UPSTREAM_RELEASE}`,
  attach: `ghcr.io/kubeopencode/kubeopencode-agent-attach:${UPSTREAM_RELEASE}`,
  git: 'docker.io/alpine/git:v2.47.2',
  curl: 'docker.io/curlimages/curl:8.11.1',
} as const;

/** Generated object names. */
export const NAMES = {
  serverDeployment: (agent: string) => `${agent}-server`,
  service: (agent: string) => agent,
  sessionsPvc: (agent: string) => `${agent}-server-sessions`,
  workspacePvc: (agent: string) => `${agent}-server-workspace`,
  contextConfigMap: (agent: string) => `${agent}-server-context`,
  serverAuthSecret: (agent: string) => `${agent}-server-auth`,
  agentTaskPodTemplate: (agent: string) => `${agent}-task`,
  templateTaskPodTemplate: (template: string) => `${template}-template-task`,
  templateConfigMap: (template: string) => `${template}-template-context`,
  taskPod: (task: string) => `${task}-pod`,
  cronTaskServiceAccount: (cronTask: string) => `${cronTask}-crontask`,
  serverUrl: (agent: string, namespace: string, port: number, clusterDomain: string = DEFAULTS.clusterDomain) =>
    `http://${agent}.${namespace}.svc.${clusterDomain}:${port}`,
  cronTaskChild: (cronTask: string, unixSeconds: number) => `${cronTask}-${unixSeconds}`,
} as const;

/**
 * Size limits of text the pods carry (also in the CRDs). A Task's text reaches its pod as one environment variable
 * (TASK_DESCRIPTION), and Linux refuses an exec whose single argv/env string exceeds MAX_ARG_STRLEN (128 KiB): the
 * description and the Task's Text contexts together stay under half of it in characters, leaving room for multi-byte
 * text and the <context> tags. An Agent's Text contexts go into its generated ConfigMap (at most 1 MiB in all).
 */
export const LIMITS = {
  taskDescription: 32_768,
  taskContextText: 2_048,
  contextText: 262_144,
} as const;

export type TaskPhase = 'Pending' | 'Queued' | 'Running' | 'Completed' | 'Failed';

/**
 * The kubeopencode.io/v1alpha1 API, written once.
 *
 * Why a generator and not five hand-written YAML files: ContextItem, credentials, CA bundle, proxy, pod settings and
 * skills appear in Agent, AgentTemplate, Task and CronTask alike. Written out by hand they would be four copies that
 * drift apart; here each is one function. `npm run import` writes crds/*.yaml from this file (the YAML is committed and
 * is what users apply) and then runs `cdk8s import` on it; a test fails when crds/ is stale.
 */

type Schema = Record<string, unknown>;

const GROUP = 'kubeopencode.io';
const VERSION = 'v1alpha1';

// ---- small builders: each returns a plain openAPIV3Schema node ------------------------------------------------------

const str = (description: string, extra: Schema = {}): Schema => ({ type: 'string', description, ...extra });
const bool = (description: string, extra: Schema = {}): Schema => ({ type: 'boolean', description, ...extra });
const int32 = (description: string, extra: Schema = {}): Schema => ({
  type: 'integer',
  format: 'int32',
  description,
  ...extra,
});
const int64 = (description: string, extra: Schema = {}): Schema => ({
  type: 'integer',
  format: 'int64',
  description,
  ...extra,
});
const time = (description: string): Schema => ({ type: 'string', format: 'date-time', description });
const stringMap = (description: string): Schema => ({
  type: 'object',
  description,
  additionalProperties: { type: 'string' },
});
const arr = (description: string, items: Schema, extra: Schema = {}): Schema => ({
  type: 'array',
  description,
  items,
  ...extra,
});
/** A Kubernetes-native sub-object (securityContext, affinity, …): kept as given; the constructs validate it. */
const native = (description: string): Schema => ({
  type: 'object',
  description,
  'x-kubernetes-preserve-unknown-fields': true,
});
const nativeList = (description: string): Schema =>
  arr(description, { type: 'object', 'x-kubernetes-preserve-unknown-fields': true });

function obj(description: string, properties: Record<string, Schema>, opts: { required?: string[]; rules?: Rule[] } = {}): Schema {
  const o: Schema = { type: 'object', description, properties };
  if (opts.required?.length) o.required = opts.required;
  if (opts.rules?.length) o['x-kubernetes-validations'] = opts.rules;
  return o;
}

interface Rule {
  rule: string;
  message: string;
}

const DNS_LABEL = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
/**
 * Kubernetes' ConfigMap key syntax (IsConfigMapKey: letters, digits, `-`, `_`, `.`, at most 253, not `.`, not starting
 * with `..`) as one pattern: a first character that is not a dot, or a dot followed by one that is not.
 */
const CONFIGMAP_KEY = '^\\.?[-_a-zA-Z0-9][-._a-zA-Z0-9]*$';
const URL_MAX = 2048;
// Patterns rather than CEL: a CEL rule on a string inside the unbounded contexts list exceeds the CRD cost budget.
/** http(s) without `user[:password]@` before the host; ssh users (git@, ssh://git@) are not secrets. */
const HTTP_URL_NO_USERINFO = '^https?://[^/?#@]*([/?#].*)?$';
const GIT_URL = '^(https?://[^/?#@]*([/?#].*)?|ssh://.+|git@.+)$';
/** A Git repository URL: https, http or ssh (git@host:path), never file or another transport, never http credentials. */
const gitRepository = (description: string): Schema => str(description, { minLength: 1, maxLength: URL_MAX, pattern: GIT_URL });
const DURATION = '^([0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$';

const nameRef = (description: string): Schema =>
  obj(description, { name: str('Name of the referenced object in the same namespace.', { minLength: 1 }) }, { required: ['name'] });

const secretNameRef = (description: string): Schema =>
  obj(description, { name: str('Name of the Secret in the same namespace.', { minLength: 1 }) }, { required: ['name'] });

// ---- shared spec pieces --------------------------------------------------------------------------------------------

const gitSync = obj(
  'Keeps the checkout in step with the remote.',
  {
    enabled: bool('Turns syncing on.', { default: false }),
    interval: str('How often to look for a new commit (Go duration).', { default: '5m', pattern: DURATION }),
    policy: str(
      'HotReload: a git-sync sidecar updates the checkout in place (no restart). Rollout: the controller rolls the server Deployment when the ref moves, waiting for active Tasks (at most 1 hour).',
      { enum: ['HotReload', 'Rollout'], default: 'HotReload' },
    ),
  },
);

const gitContext = obj(
  'A Git repository cloned by the git-init init container.',
  {
    repository: gitRepository('Git URL (https://, http:// or git@), without credentials (those go in secretRef).'),
    ref: str('Branch, tag or commit SHA.', { default: 'HEAD' }),
    depth: int32('Clone depth: 1 is shallow, 0 is the full history.', { default: 1, minimum: 0 }),
    recurseSubmodules: bool('Clone submodules recursively.', { default: false }),
    secretRef: secretNameRef('Secret with keys `username` and `password` (a personal access token) for HTTPS auth.'),
    sync: gitSync,
  },
  { required: ['repository'] },
);

const CONTEXT_TYPES = ['Text', 'ConfigMap', 'Git', 'Runtime', 'URL'];
const contextField: Record<string, string> = { Text: 'text', ConfigMap: 'configMap', Git: 'git', URL: 'url' };

const contextItem = obj(
  'A piece of context for the agent. Contexts without mountPath are aggregated into .kubeopencode/context.md.',
  {
    name: str('Identifies the context in logs, in context.md and in status.', { pattern: DNS_LABEL, maxLength: 63 }),
    description: str('What this context is, for humans and for the Runtime context.'),
    type: str('Which of text, configMap, git, url is set (Runtime takes no field).', { enum: CONTEXT_TYPES }),
    text: str('Inline content (type Text). At most 262144 characters: the Agent\'s Text contexts share one ConfigMap (1 MiB); a Task\'s at most 2048 each.', { maxLength: 262_144 }),
    configMap: obj(
      'Content from a ConfigMap (type ConfigMap). With mountPath all keys (or `key`) become files.',
      {
        name: str('ConfigMap name.', { minLength: 1 }),
        key: str('A single key to use; all keys when unset. A ConfigMap key: letters, digits, `-`, `_`, `.`; not `.` and not starting with `..`.', {
          pattern: CONFIGMAP_KEY,
          maxLength: 253,
        }),
        optional: bool('Start even when the ConfigMap is missing.'),
      },
      { required: ['name'] },
    ),
    git: gitContext,
    url: obj(
      'Content fetched over HTTP(S) by the url-fetch init container (type URL).',
      {
        source: str('http:// or https:// URL, without credentials (user:password@) in it.', { pattern: HTTP_URL_NO_USERINFO, maxLength: URL_MAX }),
        timeout: str('Fetch timeout (Go duration).', { default: '30s', pattern: DURATION }),
      },
      { required: ['source'] },
    ),
    mountPath: str('Where the content goes, relative to workspaceDir (or absolute under it). Unset: aggregated into context.md.'),
    fileMode: int32('File mode for mounted ConfigMap files (decimal, e.g. 493 = 0755).', { minimum: 0, maximum: 511 }),
  },
  {
    required: ['type'],
    rules: [
      ...Object.entries(contextField).map(([t, f]) => ({
        rule: `self.type == '${t}' ? has(self.${f}) : !has(self.${f})`,
        message: `${f} must be set when type is ${t}, and only then`,
      })),
      { rule: "self.type != 'Git' || has(self.mountPath)", message: 'a Git context needs mountPath' },
      { rule: "self.type != 'Runtime' || !has(self.mountPath)", message: 'a Runtime context is always aggregated into context.md; it takes no mountPath' },
    ],
  },
);

const credential = obj(
  'A Secret exposed to the agent as an environment variable or a file.',
  {
    name: str('Identifies the credential.', { minLength: 1 }),
    secretRef: obj(
      'The Secret and key.',
      {
        name: str('Secret name.', { minLength: 1 }),
        key: str('Secret key. Required with env; without it and with mountPath, every key becomes a file in mountPath.'),
      },
      { required: ['name'] },
    ),
    env: str('Environment variable that receives the value.', { pattern: '^[A-Za-z_][A-Za-z0-9_]*$' }),
    mountPath: str('Absolute path of the file (or directory, without key).', { pattern: '^/' }),
    fileMode: int32('File mode (decimal, e.g. 256 = 0400).', { minimum: 0, maximum: 511, default: 384 }),
  },
  {
    required: ['name', 'secretRef'],
    rules: [
      { rule: 'has(self.env) || has(self.mountPath)', message: 'a credential needs env or mountPath' },
      { rule: '!has(self.env) || has(self.secretRef.key)', message: 'a credential with env needs secretRef.key' },
    ],
  },
);

const keyedRef = (what: string, defaultKey: string): Schema =>
  obj(
    `${what} holding the PEM CA certificate(s).`,
    { name: str(`${what} name.`, { minLength: 1 }), key: str('Key holding the PEM bundle.', { default: defaultKey }) },
    { required: ['name'] },
  );

const caBundle = obj(
  'Private CA certificates, mounted at /etc/ssl/certs/custom-ca/tls.crt in every container.',
  { configMapRef: keyedRef('ConfigMap', 'ca-bundle.crt'), secretRef: keyedRef('Secret', 'ca.crt') },
  { rules: [{ rule: 'has(self.configMapRef) != has(self.secretRef)', message: 'set exactly one of configMapRef and secretRef' }] },
);

const proxy = obj('HTTP(S) proxy for every container; .svc and .cluster.local are always added to noProxy.', {
  httpProxy: str('Proxy for http:// URLs.'),
  httpsProxy: str('Proxy for https:// URLs.'),
  noProxy: str('Comma-separated hosts, domains and CIDRs that bypass the proxy.'),
});

const systemContainer = (which: string): Schema =>
  obj(`Settings of ${which}`, { resources: native('Its resources (core/v1 ResourceRequirements); replaces systemContainers.resources.') });

const podSpec = obj('Pod-level settings for every pod generated for the agent.', {
  labels: stringMap('Extra labels on the pods (for NetworkPolicy, monitoring, …).'),
  annotations: stringMap('Extra annotations on the pods.'),
  runtimeClassName: str('RuntimeClass (e.g. gvisor, kata).'),
  scheduling: obj('Where the pods may run.', {
    nodeSelector: stringMap('Node labels the pods require.'),
    tolerations: nativeList('Tolerations (core/v1 Toleration).'),
    affinity: native('Affinity (core/v1 Affinity).'),
  }),
  resources: native(
    'Resources of the main container (core/v1 ResourceRequirements); replaces the default (requests cpu 100m, memory 512Mi; limits cpu 2, memory 4Gi).',
  ),
  systemContainers: obj('The containers the library adds around the main one.', {
    resources: native(
      'Resources of every init container and sidecar (core/v1 ResourceRequirements) unless its own entry sets them; replaces the default (requests cpu 50m, memory 64Mi; limits cpu 500m, memory 512Mi).',
    ),
    openCodeInit: systemContainer('opencode-init (copies the opencode binary from agentImage).'),
    contextInit: systemContainer('context-init (writes context.md and the mounted context files).'),
    gitInit: systemContainer('git-init-* (Git contexts and skills checkouts, and the one-time sync of HotReload contexts).'),
    gitSync: systemContainer('git-sync-* (the HotReload sidecar).'),
    urlFetch: systemContainer('url-fetch-* (URL contexts).'),
    attach: obj('The container of the Agent\'s Task pods (opencode run --attach).', {
      resources: native('Its resources; replaces the default (requests cpu 50m, memory 128Mi; limits cpu 500m, memory 1Gi).'),
    }),
  }),
  securityContext: native(
    'Container security context for every container, merged field by field over the restricted default (allowPrivilegeEscalation false, drop ALL, seccomp RuntimeDefault): a field you set wins, the others stay.',
  ),
  podSecurityContext: native(
    'Pod security context (core/v1 PodSecurityContext), merged field by field over the default (runAsNonRoot true). With runAsUser set here, the init containers and sidecars run as that user too (otherwise as 65532).',
  ),
  automountServiceAccountToken: bool(
    'Mount the ServiceAccount token into the server and task pods (for an agent that calls the Kubernetes API with serviceAccountName). Off by default: the agent runs model-chosen commands, and a token it does not need is one it cannot leak.',
    { default: false },
  ),
});

const skillSource = obj(
  'A Git repository of SKILL.md skills, mounted at /skills/{name}/.',
  {
    name: str('Unique name of the source; the mount directory.', { pattern: DNS_LABEL, maxLength: 63 }),
    git: obj(
      'Where the skills are.',
      {
        repository: gitRepository('Git URL (https://, http:// or git@), without credentials (those go in secretRef).'),
        ref: str('Branch, tag or commit SHA.', { default: 'HEAD' }),
        path: str('Base directory of the skills in the repository.'),
        names: arr('Skill directories to include; all when unset.', { type: 'string' }),
        depth: int32('Clone depth: 1 is shallow, 0 is the full history.', { default: 1, minimum: 0 }),
        recurseSubmodules: bool('Clone submodules recursively.', { default: false }),
        secretRef: secretNameRef('Secret with `username` and `password` for HTTPS auth.'),
      },
      { required: ['repository'] },
    ),
  },
  { required: ['name', 'git'] },
);

const serverAuth = obj(
  'HTTP Basic auth on the OpenCode server (OPENCODE_SERVER_PASSWORD): the server is otherwise unsecured. Defaults to enabled, with the password in the Secret {agent}-server-auth (created by the controller when missing).',
  {
    enabled: bool('Require the password on every request.', { default: true }),
    secretRef: obj(
      'Secret holding the password; the controller creates it with a random password when missing.',
      { name: str('Secret name.', { minLength: 1 }), key: str('Key of the password.', { default: 'password' }) },
      { required: ['name'] },
    ),
  },
);

/** Fields shared by Agent and AgentTemplate: the execution environment. */
const environmentFields: Record<string, Schema> = {
  agentImage: str('Image that provides the opencode binary: its ENTRYPOINT copies /opencode to /tools/opencode in the opencode-init init container. Defaults to ghcr.io/kubeopencode/kubeopencode-agent-opencode at the pinned release.'),
  executorImage: str('Image the server and template Tasks run in (a devbox with the tools the agent may use); it runs /tools/opencode. Defaults to ghcr.io/kubeopencode/kubeopencode-agent-devbox at the pinned release.'),
  attachImage: str('Image of the lightweight pods that attach agentRef Tasks to the server; it must have opencode on PATH and a shell. Defaults to ghcr.io/kubeopencode/kubeopencode-agent-attach at the pinned release.'),
  workspaceDir: str('Absolute path of the workspace in the container.', { pattern: '^/' }),
  serviceAccountName: str('ServiceAccount of the generated pods.', { pattern: DNS_LABEL }),
  contexts: arr('Contexts for every Task of this agent.', contextItem),
  credentials: arr('Secrets exposed as env vars or files.', credential),
  skills: arr('Git sources of SKILL.md skills.', skillSource),
  caBundle,
  proxy,
  imagePullSecrets: arr('Registry credentials for every generated pod.', nameRef('A kubernetes.io/dockerconfigjson Secret.')),
  podSpec,
  config: str('OpenCode configuration (JSON), written to /tools/opencode.json; OPENCODE_CONFIG points at it.'),
};

const persistenceVolume = (def: string): Schema =>
  obj('A PersistentVolumeClaim.', {
    storageClassName: str('StorageClass; the cluster default when unset.'),
    size: str('Requested size (a Kubernetes quantity).', { default: def, pattern: '^[0-9]+(\\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$' }),
  });

const agentOnlyFields: Record<string, Schema> = {
  templateRef: nameRef('AgentTemplate to inherit from (scalars: Agent wins; lists: Agent replaces).'),
  profile: str('One-line description shown by kubectl get agents.'),
  port: int32('OpenCode server port.', { default: 4096, minimum: 1, maximum: 65535 }),
  persistence: obj('PVCs that survive pod restarts.', {
    sessions: persistenceVolume('1Gi'),
    workspace: persistenceVolume('10Gi'),
  }),
  suspend: bool('Scale the server to 0 (PVCs and Service stay).', { default: false }),
  standby: obj(
    'Automatic suspend after idleTimeout without Tasks, resume when a Task arrives.',
    { idleTimeout: str('Idle time before suspending (Go duration).', { pattern: DURATION }) },
    { required: ['idleTimeout'] },
  ),
  maxConcurrentTasks: int32('Tasks that may run at once; more are Queued (AgentAtCapacity). Unlimited when unset.', { minimum: 1 }),
  quota: obj(
    'Sliding-window limit on Task starts; over it Tasks are Queued (QuotaExceeded).',
    {
      maxTaskStarts: int32('Starts allowed per window.', { minimum: 1 }),
      windowSeconds: int32('Window length in seconds.', { minimum: 60, maximum: 86400 }),
    },
    { required: ['maxTaskStarts', 'windowSeconds'] },
  ),
  serverAuth,
};

const condition = obj(
  'A status condition (metav1.Condition).',
  {
    type: str('Condition type (CamelCase).'),
    status: str('True, False or Unknown.', { enum: ['True', 'False', 'Unknown'] }),
    reason: str('Machine-readable reason (CamelCase).'),
    message: str('Human-readable message.'),
    lastTransitionTime: time('When status last changed.'),
    observedGeneration: int64('The generation the condition was set for.'),
  },
  { required: ['type', 'status'] },
);
const conditions = {
  ...arr('Conditions.', condition),
  'x-kubernetes-list-type': 'map',
  'x-kubernetes-list-map-keys': ['type'],
};

const taskSpec = obj(
  'What to do and where.',
  {
    agentRef: nameRef('A running Agent: the Task attaches to its server (opencode run --attach).'),
    templateRef: nameRef('An AgentTemplate: the Task runs in an ephemeral pod (opencode run).'),
    description: str('The task, sent to the agent verbatim. At most 32768 characters: it reaches the pod as one environment variable, and Linux caps one at 128 KiB.', { minLength: 1, maxLength: 32_768 }),
    contexts: arr('Text contexts sent ahead of the description (other context types belong on the Agent or AgentTemplate).', contextItem, { maxItems: 16 }),
    timeout: str('Stop the Task (reason Timeout) after this long running (Go duration).', { pattern: DURATION }),
  },
  {
    required: ['description'],
    rules: [
      { rule: 'has(self.agentRef) != has(self.templateRef)', message: 'exactly one of agentRef or templateRef must be set' },
      { rule: "!has(self.contexts) || self.contexts.all(c, c.type == 'Text' && !has(c.mountPath))", message: 'a Task context must be of type Text without mountPath' },
      {
        rule: '!has(self.contexts) || self.contexts.all(c, !has(c.text) || size(c.text) <= 2048)',
        message: 'a Task context text is at most 2048 characters (it travels with the description in one environment variable); put longer text on the Agent',
      },
    ],
  },
);

// ---- the five kinds --------------------------------------------------------------------------------------------------

interface Kind {
  kind: string;
  plural: string;
  shortNames: string[];
  scope: 'Namespaced' | 'Cluster';
  description: string;
  spec: Schema;
  status?: Schema;
  columns: Array<{ name: string; type: string; jsonPath: string; priority?: number; description?: string }>;
  rootRules?: Rule[];
}

const agentStatus = obj('Observed state, written by the controller.', {
  observedGeneration: int64('The generation last reconciled.'),
  deploymentName: str('The server Deployment.'),
  serviceName: str('The server Service.'),
  url: str('In-cluster URL of the server.'),
  ready: bool('The server has a ready replica.'),
  suspended: bool('The server is scaled to 0.'),
  idleSince: time('When the last Task ended (standby).'),
  taskStartHistory: arr(
    'Task starts inside the quota window (the quota ledger).',
    obj('A start.', { taskName: str('Task.'), startTime: time('When it started.') }, { required: ['taskName', 'startTime'] }),
  ),
  gitSyncStatuses: arr(
    'Last synced commit per Git context with sync enabled.',
    obj('A synced context.', { name: str('Context name.'), commitHash: str('Commit.'), lastSynced: time('When.') }, { required: ['name'] }),
  ),
  conditions: {
    ...conditions,
    description:
      'Conditions: ServerReady, ServerHealthy, Suspended, GitSyncPending, StandbyConfigWarning (IdleTimeoutTooShort), and ConnectionActive: True while a client is attached, i.e. its heartbeat annotation kubeopencode.io/last-connection-active is fresher than the staleness window (2m), during which standby never suspends the Agent.',
  },
});

const taskStatus = obj('Observed state, written by the controller.', {
  observedGeneration: int64('The generation last reconciled.'),
  phase: str('Lifecycle phase.', { enum: ['Pending', 'Queued', 'Running', 'Completed', 'Failed'] }),
  podName: str('The pod running the Task.'),
  startTime: time('When the Task started running.'),
  completionTime: time('When the Task finished.'),
  session: obj('The OpenCode session of the Task.', {
    id: str('Session id.'),
    title: str('Session title (identifies the Task on the server).'),
    messageCount: int32('Messages in the session.'),
    tokenUsage: obj('Tokens used.', {
      input: int64('Input tokens.'),
      output: int64('Output tokens.'),
      reasoning: int64('Reasoning tokens.'),
      cache: int64('Cache tokens.'),
    }),
  }),
  conditions,
});

const cronTaskStatus = obj('Observed state, written by the controller.', {
  observedGeneration: int64('The generation last reconciled.'),
  active: int32('Child Tasks that have not finished.'),
  activeRefs: arr('Active child Tasks.', nameRef('A Task.')),
  lastScheduleTime: time('When a Task was last created.'),
  lastSuccessfulTime: time('When a child Task last completed.'),
  nextScheduleTime: time('The next scheduled run in the CronTask time zone.'),
  totalExecutions: int64('Tasks created so far.'),
  conditions,
});

export const KINDS: Kind[] = [
  {
    kind: 'Agent',
    plural: 'agents',
    shortNames: ['ag'],
    scope: 'Namespaced',
    description: 'An always-on OpenCode server (Deployment + Service) that Tasks attach to.',
    spec: obj('Desired state.', { ...agentOnlyFields, ...environmentFields }, { required: ['workspaceDir', 'serviceAccountName'] }),
    status: agentStatus,
    columns: [
      { name: 'Profile', type: 'string', jsonPath: '.spec.profile' },
      { name: 'Status', type: 'string', jsonPath: '.status.conditions[?(@.type=="ServerReady")].reason' },
      { name: 'URL', type: 'string', jsonPath: '.status.url', priority: 1 },
      { name: 'Template', type: 'string', jsonPath: '.spec.templateRef.name', priority: 1 },
      { name: 'Attached', type: 'string', jsonPath: '.status.conditions[?(@.type=="ConnectionActive")].status', priority: 1 },
      { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
    ],
  },
  {
    kind: 'AgentTemplate',
    plural: 'agenttemplates',
    shortNames: ['agt'],
    scope: 'Namespaced',
    description: 'Shared configuration for Agents, and the blueprint of ephemeral template Tasks.',
    spec: obj('Desired state.', environmentFields),
    columns: [
      { name: 'Executor', type: 'string', jsonPath: '.spec.executorImage', priority: 1 },
      { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
    ],
  },
  {
    kind: 'Task',
    plural: 'tasks',
    shortNames: ['tk'],
    scope: 'Namespaced',
    description: 'One unit of work for an Agent (agentRef) or an ephemeral pod from an AgentTemplate (templateRef).',
    spec: taskSpec,
    status: taskStatus,
    columns: [
      { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
      { name: 'Agent', type: 'string', jsonPath: '.spec.agentRef.name' },
      { name: 'Template', type: 'string', jsonPath: '.spec.templateRef.name', priority: 1 },
      { name: 'Reason', type: 'string', jsonPath: '.status.conditions[?(@.type=="Queued")].reason', priority: 1 },
      { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
    ],
  },
  {
    kind: 'CronTask',
    plural: 'crontasks',
    shortNames: ['ct'],
    scope: 'Namespaced',
    description: 'Creates Tasks on a cron schedule.',
    spec: obj(
      'Desired state.',
      {
        schedule: str('Cron expression, 5 fields (minute hour day-of-month month day-of-week).', { minLength: 1 }),
        timeZone: str('IANA time zone of the schedule.', { default: 'UTC' }),
        concurrencyPolicy: str('What to do when a run is due while a child Task is active.', {
          enum: ['Allow', 'Forbid', 'Replace'],
          default: 'Forbid',
        }),
        suspend: bool('Pause scheduling (active Tasks continue).', { default: false }),
        startingDeadlineSeconds: int64('How late a missed run may still start.', { minimum: 0 }),
        maxRetainedTasks: int32('Child Tasks (active and finished) at which creation is blocked.', { default: 10, minimum: 1 }),
        taskTemplate: obj(
          'The Task to create.',
          {
            metadata: obj('Labels and annotations of created Tasks.', {
              labels: stringMap('Labels.'),
              annotations: stringMap('Annotations.'),
            }),
            spec: taskSpec,
          },
          { required: ['spec'] },
        ),
      },
      { required: ['schedule', 'taskTemplate'] },
    ),
    status: cronTaskStatus,
    columns: [
      { name: 'Schedule', type: 'string', jsonPath: '.spec.schedule' },
      { name: 'TimeZone', type: 'string', jsonPath: '.spec.timeZone', priority: 1 },
      { name: 'Suspend', type: 'boolean', jsonPath: '.spec.suspend' },
      { name: 'Active', type: 'integer', jsonPath: '.status.active' },
      { name: 'Last Schedule', type: 'date', jsonPath: '.status.lastScheduleTime' },
      { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
    ],
  },
  {
    kind: 'KubeOpenCodeConfig',
    plural: 'kubeopencodeconfigs',
    shortNames: ['ktc'],
    scope: 'Cluster',
    description: 'Cluster-wide settings (a singleton named "cluster").',
    spec: obj('Desired state.', {
      clusterDomain: str('Cluster DNS domain used in server URLs.', { default: 'cluster.local' }),
      systemImage: obj('Image of the controller and CronTask jobs.', {
        image: str('Image reference.'),
        imagePullPolicy: str('Pull policy.', { enum: ['Always', 'IfNotPresent', 'Never'] }),
      }),
      cleanup: obj('Deletion of finished Tasks (nothing is deleted when unset).', {
        ttlSecondsAfterFinished: int64('Delete a finished Task this long after completionTime.', { minimum: 0 }),
        maxRetainedTasks: int32('Keep at most this many finished Tasks per namespace (oldest deleted first).', { minimum: 0 }),
      }),
      proxy,
    }),
    columns: [{ name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' }],
    rootRules: [{ rule: "self.metadata.name == 'cluster'", message: 'the KubeOpenCodeConfig must be named cluster' }],
  },
];

/**
 * Appends "Defaults to x." to every description whose node has a default, so kubectl explain and the API docs say it
 * (and `cdk8s import` turns that sentence into an `@default` tag on the generated props).
 */
function documentDefaults(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(documentDefaults);
  if (!node || typeof node !== 'object') return node;
  const out: Schema = {};
  for (const [k, v] of Object.entries(node)) out[k] = k === 'default' || k === 'enum' ? v : documentDefaults(v);
  if ('default' in out && typeof out.description === 'string') {
    out.description = `${out.description} Defaults to ${JSON.stringify(out.default)}.`;
  }
  return out;
}

export function crdFor(k: Kind): Schema {
  const properties: Record<string, Schema> = {
    apiVersion: { type: 'string' },
    kind: { type: 'string' },
    metadata: { type: 'object' },
    spec: k.spec,
  };
  if (k.status) properties.status = k.status;
  const root: Schema = { type: 'object', description: k.description, properties };
  if (k.kind !== 'KubeOpenCodeConfig') root.required = ['spec'];
  if (k.rootRules) root['x-kubernetes-validations'] = k.rootRules;
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${k.plural}.${GROUP}` },
    spec: {
      group: GROUP,
      names: {
        kind: k.kind,
        listKind: `${k.kind}List`,
        plural: k.plural,
        singular: k.kind.toLowerCase(),
        shortNames: k.shortNames,
        categories: ['kubeopencode'],
      },
      scope: k.scope,
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          schema: { openAPIV3Schema: documentDefaults(root) },
          ...(k.status ? { subresources: { status: {} } } : {}),
          additionalPrinterColumns: k.columns,
        },
      ],
    },
  };
}

import { ApiObject, ApiObjectMetadata, Chart, Lazy } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import * as gen from '../../imports/kubeopencode.io';
import { kubeletLiteral } from '../common/kubelet';
import type { RolloutContext } from '../common/rollout-context';
import {
  ANNOTATIONS,
  AgentSpec,
  CONTROLLER,
  DEFAULTS,
  ENV,
  Environment,
  IMAGES,
  LABELS,
  MANAGED_BY,
  NAMES,
  PATHS,
  Persistence,
} from '../api';
import { hashOf } from '../hash';
import { contextName, isRollout } from '../pod/contexts';
import { podMountProblems } from '../pod/mounts';
import { buildAgentPod, podLevelSettings } from '../pod/pod-builder';
import { proxyEnv } from '../pod/proxy';
import { caBundleWiring } from '../pod/ca-bundle';
import { runtimeContextText } from '../pod/runtime-context';
import { attachResources } from '../pod/resources';
import { scriptsConfigMap } from '../pod/scripts-configmap';
import { containerSecurityContext } from '../pod/security';
import { SESSIONS_VOLUME, SystemImages, TMP_VOLUME, WORKSPACE_VOLUME, tmpMount } from '../pod/system';
import { taskRunScript } from '../pod/task-run';
import { Problems, durationSeconds, isDuration, isPort, isQuantity } from '../validation';
import { CONTROLLER_SERVICE_ACCOUNT, agentControllerRules } from './controller-install';
import { validateEnvironment, validateObjectName } from './environment-validation';
import { EnvironmentConstruct } from './environment-construct';
import { IAgentTemplate, IClusterConfig, clusterConfigFor, findTemplate, templateNames } from './lookup';
import { mergeTemplate } from './merge';

/**
 * Props of an Agent: exactly the fields of the guide's `spec` (copy a YAML spec here as it is), plus metadata and the
 * construct-only `systemImages`. `templateRef` also takes the AgentTemplate construct itself.
 */
export interface AgentProps extends Omit<AgentSpec, 'templateRef' | 'workspaceDir' | 'serviceAccountName'> {
  /**
   * Name, namespace, labels and annotations of the Agent. The name defaults to the construct id (no hash: it is part
   * of the Service name, the server URL and the PVC names).
   * @default - name: the construct id; namespace: the chart's
   */
  readonly metadata?: ApiObjectMetadata;
  /**
   * AgentTemplate to inherit from: its name, or the construct. Scalars the Agent sets win; lists the Agent sets
   * replace the template's.
   * @default - no template
   */
  readonly templateRef?: { readonly name: string } | IAgentTemplate;
  /**
   * Absolute path of the workspace. Required unless the template sets it.
   * @default - the template's workspaceDir
   */
  readonly workspaceDir?: string;
  /**
   * ServiceAccount of the server and task pods. Required unless the template sets it.
   * @default - the template's serviceAccountName
   */
  readonly serviceAccountName?: string;
  /**
   * Images of the init containers and the git-sync sidecar.
   * @default - pinned alpine/git and curlimages/curl
   */
  readonly systemImages?: SystemImages;
  /**
   * A NetworkPolicy that admits to the server port only the Agent's task pods, the controller and `allowFrom`.
   * @default - enabled, controller in namespace kubeopencode-system
   */
  readonly networkPolicy?: AgentNetworkPolicy;
  /**
   * The KubeOpenCodeConfig whose proxy (for an Agent without its own) and clusterDomain (the server URL) applies at synth.
   * @default - the nearest KubeOpenCodeConfig up the construct tree (this construct's scope, its chart, or above); none
   * when no such scope has one. A config in another chart never applies.
   */
  readonly clusterConfig?: IClusterConfig;
}

/** Who may reach an Agent's OpenCode server. */
export interface AgentNetworkPolicy {
  /** @default true */
  readonly enabled?: boolean;
  /** Extra peers (people attaching, a chat bridge, …), as NetworkPolicy `from` entries. @default - none */
  readonly allowFrom?: k8s.NetworkPolicyPeer[];
  /** Namespace of the controller. @default kubeopencode-system */
  readonly controllerNamespace?: string;
}

const AGENT_ONLY_QUANTITY_FIELDS = ['sessions', 'workspace'] as const;

/**
 * An always-on OpenCode server: the Agent custom resource, a Deployment `{name}-server` running `opencode serve`, a
 * Service `{name}`, optional PVCs for sessions and workspace, a ConfigMap with the generated files, and the PodTemplate
 * the controller uses for the Agent's Task pods.
 */
export class Agent extends EnvironmentConstruct {
  /** The Kubernetes name of the Agent (and of its Service). */
  public readonly name: string;
  /** The namespace, when the chart or metadata sets one. */
  public readonly namespace?: string;
  /** The Agent custom resource. */
  public readonly resource: ApiObject;
  /** The server Deployment. */
  public readonly deployment: k8s.KubeDeployment;
  /** The Service in front of the server. */
  public readonly service: k8s.KubeService;
  /** The PodTemplate of the Agent's Task pods (opencode run --attach). */
  public readonly taskPodTemplate: k8s.KubePodTemplate;
  /** The ConfigMap `{name}-server-context` of generated files (opencode.json, Text and Runtime contexts). */
  public readonly configMap: k8s.KubeConfigMap;
  /** The PVC `{name}-server-sessions`, when persistence.sessions is set. */
  public readonly sessionsPvc?: k8s.KubePersistentVolumeClaim;
  /** The PVC `{name}-server-workspace`, when persistence.workspace is set. */
  public readonly workspacePvc?: k8s.KubePersistentVolumeClaim;
  /** The NetworkPolicy in front of the server, unless networkPolicy.enabled is false. */
  public readonly networkPolicy?: k8s.KubeNetworkPolicy;
  /** The ConfigMap of init and sidecar scripts: one per chart and namespace, shared by its Agents and templates. */
  public readonly scriptsConfigMap: k8s.KubeConfigMap;
  /** The Role in the Agent's namespace that lets the controller read this Agent's own Secrets, by name. */
  public readonly controllerRole: k8s.KubeRole;
  /** Binds {@link controllerRole} to the controller's ServiceAccount. */
  public readonly controllerRoleBinding: k8s.KubeRoleBinding;

  private readonly props: AgentProps;
  private built?: ReturnType<Agent['build']>;
  /** The parts of {@link built} its Lazy values have read since it was built. */
  private taken?: Set<string>;

  constructor(scope: Construct, id: string, props: AgentProps) {
    super(scope, id, 'Agent', props);
    this.props = props;
    this.name = props.metadata?.name ?? id;
    this.namespace = props.metadata?.namespace ?? Chart.of(this).namespace;
    this.validateProps();
    // Cross-object checks (the template must exist; the merged spec must be complete) run at synth.
    this.node.addValidation({ validate: () => this.validateResolved() });

    this.resource = this.createResource();
    this.scriptsConfigMap = scriptsConfigMap(this, this.namespace);
    this.configMap = this.createContextConfigMap();
    this.sessionsPvc = this.createPvc('sessions');
    this.workspacePvc = this.createPvc('workspace');
    this.deployment = this.createDeployment();
    this.service = this.createService();
    this.networkPolicy = this.createNetworkPolicy();
    // RBAC objects carry only the labels that find them (they are not part of the server)
    [this.controllerRole, this.controllerRoleBinding] = this.createControllerRole({
      name: `${this.name}-controller`,
      namespace: this.namespace,
      labels: { [LABELS.managedBy]: MANAGED_BY, [LABELS.agent]: this.name },
    });
    this.taskPodTemplate = this.createTaskPodTemplate();
  }

  /** The checks of the Agent's own props, at construction (the template and the merged spec are checked at synth). */
  private validateProps(): void {
    const problems = new Problems('Agent', this);
    validateObjectName(this.name, problems, 63 - '-server-workspace'.length);
    validateAgentOnlyFields(this.props, problems);
    validateEnvironment(this.ownEnvironment(), problems, { requireCore: !this.props.templateRef });
    problems.throwIfAny();
  }

  /** Metadata of the objects that make up the server: the name given, the server labels plus `extra`. */
  private serverMetadata(name: string, extra?: Record<string, string>): ApiObjectMetadata {
    return { name, namespace: this.namespace, labels: { ...this.labels('server'), ...extra } };
  }

  /** The Agent custom resource; its spec mirrors the props (and what mutators added) at synth. */
  private createResource(): ApiObject {
    return new gen.Agent(this, 'Resource', {
      metadata: {
        ...this.props.metadata,
        name: this.name,
        namespace: this.namespace,
        labels: this.resourceLabels(),
      },
      spec: Lazy.any({ produce: () => this.resourceSpec() }),
    });
  }

  /** `{name}-server-context`: opencode.json and the Text and Runtime contexts. */
  private createContextConfigMap(): k8s.KubeConfigMap {
    return new k8s.KubeConfigMap(this, 'Context', {
      metadata: this.serverMetadata(NAMES.contextConfigMap(this.name)),
      data: Lazy.any({ produce: () => this.take('pod').generated }),
    });
  }

  /** `{name}-server-sessions` or `{name}-server-workspace`, when persistence asks for it. */
  private createPvc(which: typeof AGENT_ONLY_QUANTITY_FIELDS[number]): k8s.KubePersistentVolumeClaim | undefined {
    const p = this.props.persistence?.[which];
    if (!p) return undefined;
    return new k8s.KubePersistentVolumeClaim(this, which === 'sessions' ? 'Sessions' : 'Workspace', {
      metadata: this.serverMetadata(which === 'sessions' ? NAMES.sessionsPvc(this.name) : NAMES.workspacePvc(this.name)),
      spec: {
        accessModes: ['ReadWriteOnce'],
        storageClassName: p.storageClassName,
        resources: {
          requests: {
            storage: k8s.Quantity.fromString(p.size ?? (which === 'sessions' ? DEFAULTS.sessionsSize : DEFAULTS.workspaceSize)),
          },
        },
      },
    });
  }

  /** `{name}-server`, running `opencode serve`; its pod is built at synth, when every context and template exists. */
  private createDeployment(): k8s.KubeDeployment {
    return new k8s.KubeDeployment(this, 'Server', {
      metadata: {
        ...this.serverMetadata(NAMES.serverDeployment(this.name)),
        // Git contexts with the Rollout policy, for the controller (it also sees contexts a template supplied)
        annotations: { [ANNOTATIONS.gitRollout]: Lazy.any({ produce: () => this.take('rollout') }) },
      },
      spec: Lazy.any({ produce: () => this.take('deployment') }),
    });
  }

  /** The Service `{name}` in front of the server. */
  private createService(): k8s.KubeService {
    return new k8s.KubeService(this, 'Service', {
      metadata: this.serverMetadata(NAMES.service(this.name)),
      spec: {
        selector: this.selector('server'),
        ports: [{ name: 'http', port: this.port, targetPort: k8s.IntOrString.fromString('http'), protocol: 'TCP' }],
      },
    });
  }

  /** Admits to the server port only the Agent's task pods, the controller and `allowFrom` (unless disabled). */
  private createNetworkPolicy(): k8s.KubeNetworkPolicy | undefined {
    const np = this.props.networkPolicy;
    if (!(np?.enabled ?? true)) return undefined;
    return new k8s.KubeNetworkPolicy(this, 'NetworkPolicy', {
      metadata: this.serverMetadata(NAMES.serverDeployment(this.name)),
      spec: {
        podSelector: { matchLabels: this.selector('server') },
        policyTypes: ['Ingress'],
        ingress: [{
          ports: [{ port: k8s.IntOrString.fromNumber(this.port), protocol: 'TCP' }],
          from: [
            { podSelector: { matchLabels: this.selector('task') } },
            {
              namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': np?.controllerNamespace ?? CONTROLLER.namespace } },
              podSelector: { matchLabels: { [LABELS.name]: 'kubeopencode', [LABELS.component]: 'controller' } },
            },
            ...(np?.allowFrom ?? []),
          ],
        }],
      },
    });
  }

  /** `{name}-task`: the PodTemplate the controller copies for the Agent's Task pods. */
  private createTaskPodTemplate(): k8s.KubePodTemplate {
    return new k8s.KubePodTemplate(this, 'TaskPodTemplate', {
      metadata: this.serverMetadata(NAMES.agentTaskPodTemplate(this.name), { [LABELS.component]: 'task' }),
      template: Lazy.any({ produce: () => this.take('taskTemplate') }),
    });
  }

  /**
   * A Role in the Agent's namespace for the controller: the Secrets of this Agent it may read (its server password,
   * its Rollout contexts' credentials) by name. The controller's ClusterRole has no Secret access: an Agent CR edited
   * at run time to name another Secret gets a 403 instead of that Secret's content.
   */
  private createControllerRole(meta: { name: string; namespace?: string; labels: Record<string, string> }): [k8s.KubeRole, k8s.KubeRoleBinding] {
    const controllerNs = this.props.networkPolicy?.controllerNamespace ?? 'kubeopencode-system';
    const role = new k8s.KubeRole(this, 'ControllerRole', {
      metadata: meta,
      rules: Lazy.any({ produce: () => agentControllerRules(this.secretsForController()) }),
    });
    const binding = new k8s.KubeRoleBinding(this, 'ControllerRoleBinding', {
      metadata: meta,
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: meta.name },
      subjects: [{ kind: 'ServiceAccount', name: CONTROLLER_SERVICE_ACCOUNT, namespace: controllerNs }],
    });
    return [role, binding];
  }

  /** The Secrets the controller reads for this Agent: the server password and the Rollout contexts' credentials. */
  private secretsForController(): string[] {
    const auth = this.props.serverAuth;
    const names = auth?.enabled === false ? [] : [auth?.secretRef?.name ?? NAMES.serverAuthSecret(this.name)];
    for (const c of this.environment().contexts ?? []) if (isRollout(c) && c.git?.secretRef?.name) names.push(c.git.secretRef.name);
    // an empty resourceNames would mean "every Secret": a name that cannot exist keeps the rule closed
    return names.length ? names : [`${this.name}-no-secrets`];
  }

  /** The OpenCode server port. */
  public get port(): number {
    return this.props.port ?? DEFAULTS.port;
  }

  /** In-cluster URL of the server: http://{name}.{namespace}.svc.cluster.local:{port} (or http://{name}:{port}). */
  public get url(): string {
    return this.namespace
      ? NAMES.serverUrl(this.name, this.namespace, this.port, clusterConfigFor(this, this.props.clusterConfig)?.clusterDomain ?? DEFAULTS.clusterDomain)
      : `http://${this.name}:${this.port}`;
  }

  /** The template's name, when the Agent has one. */
  public get templateName(): string | undefined {
    return this.props.templateRef?.name;
  }

  protected changed(): void {
    this.built = undefined;
  }

  private template(): IAgentTemplate | undefined {
    const ref = this.props.templateRef;
    if (!ref) return undefined;
    if ('environment' in ref && typeof ref.environment === 'function') return ref as IAgentTemplate;
    return findTemplate(this, ref.name, this.namespace);
  }

  /** The environment the pods get: template merged in (Agent wins), cluster proxy as the fallback proxy. */
  public environment(): Environment {
    const own = this.ownEnvironment();
    const t = this.template();
    const merged = t ? mergeTemplate(t.environment(), own) : own;
    return merged.proxy ? merged : { ...merged, proxy: clusterConfigFor(this, this.props.clusterConfig)?.clusterProxy };
  }

  private validateResolved(): string[] {
    const problems = new Problems('Agent', this);
    const ref = this.props.templateRef;
    if (ref && !this.template()) {
      const known = templateNames(this);
      problems.add('templateRef.name', `no AgentTemplate named '${ref.name}'${this.namespace ? ` in namespace '${this.namespace}'` : ''} in this app` +
        (known.length ? ` (known: ${known.join(', ')})` : ' (the app defines none)'));
      return problems.messages();
    }
    if (ref) validateEnvironment(this.environment(), problems, { requireCore: true });
    if (problems.messages().length === 0) {
      const built = this.resolve();
      for (const m of [...podMountProblems(built.pod.spec), ...podMountProblems(built.taskTemplate.spec!)]) problems.add('volumeMounts', m);
    }
    return problems.messages();
  }

  private labels(component: 'server' | 'task'): Record<string, string> {
    return {
      [LABELS.name]: 'kubeopencode',
      [LABELS.instance]: this.name,
      [LABELS.component]: component,
      [LABELS.managedBy]: MANAGED_BY,
      [LABELS.agent]: this.name,
    };
  }

  private selector(component: 'server' | 'task'): Record<string, string> {
    return { [LABELS.agent]: this.name, [LABELS.component]: component };
  }

  private resourceLabels(): Record<string, string> | undefined {
    const labels = { ...(this.props.metadata?.labels ?? {}) };
    if (this.templateName) labels[LABELS.agentTemplate] = this.templateName;
    return Object.keys(labels).length ? labels : undefined;
  }

  /** The Agent CR's spec: what the user wrote (and added), not the merged result — the CR mirrors the input. */
  private resourceSpec(): gen.AgentSpec {
    const p = this.props;
    const own = this.ownEnvironment();
    const spec: Record<string, unknown> = {
      templateRef: p.templateRef ? { name: p.templateRef.name } : undefined,
      profile: p.profile,
      port: p.port,
      persistence: p.persistence,
      suspend: p.suspend,
      standby: p.standby,
      maxConcurrentTasks: p.maxConcurrentTasks,
      quota: p.quota,
      serverAuth: p.serverAuth,
      ...own,
    };
    // The CRD requires these on every Agent (as the guide says: "even with template"); when the Agent leaves them to
    // its template, the CR carries the template's values, resolved at synth.
    if (p.templateRef && (!own.workspaceDir || !own.serviceAccountName)) {
      const merged = this.environment();
      spec.workspaceDir = own.workspaceDir ?? merged.workspaceDir;
      spec.serviceAccountName = own.serviceAccountName ?? merged.serviceAccountName;
    }
    return spec as unknown as gen.AgentSpec;
  }

  private serverAuthEnv(): k8s.EnvVar[] {
    const auth = this.props.serverAuth;
    if (auth?.enabled === false) return [];
    return [{
      name: ENV.opencodeServerPassword,
      valueFrom: {
        secretKeyRef: {
          name: auth?.secretRef?.name ?? NAMES.serverAuthSecret(this.name),
          key: auth?.secretRef?.key ?? DEFAULTS.serverAuthKey,
        },
      },
    }];
  }

  private resolve() {
    return (this.built ??= this.build());
  }

  /**
   * A part of the built pods for one of the four Lazy values that share them. The last of the four to read drops the
   * build: otherwise every Agent of the app would keep its built pods (a copy of what its YAML says) until the whole
   * app is written, the largest share of synth's peak memory above plain ApiObjects at 10,000 Agents. A later synth
   * builds again, to the same result.
   */
  private take<K extends 'pod' | 'rollout' | 'deployment' | 'taskTemplate'>(part: K): ReturnType<Agent['build']>[K] {
    const built = this.resolve();
    const taken = (this.taken ??= new Set());
    taken.add(part);
    if (taken.size === 4) {
      this.built = undefined;
      this.taken = undefined;
    }
    return built[part];
  }

  private build() {
    const env = this.environment();
    const persistence: Persistence | undefined = this.props.persistence;
    const port = this.port;
    const pod = buildAgentPod(
      {
        environment: env,
        opencodeConfig: parseConfigQuietly(env.config),
        systemImages: this.props.systemImages,
        generatedConfigMap: NAMES.contextConfigMap(this.name),
        scriptsConfigMap: this.scriptsConfigMap.name,
        runtimeText: () => runtimeContextText({
          kind: 'Agent',
          name: this.name,
          namespace: this.namespace,
          workspaceDir: env.workspaceDir!,
          url: this.url,
          contexts: env.contexts ?? [],
          skills: env.skills ?? [],
        }),
        workspaceVolume: persistence?.workspace
          ? { name: WORKSPACE_VOLUME, persistentVolumeClaim: { claimName: NAMES.workspacePvc(this.name) } }
          : undefined,
      },
      (opencode) => ({
        name: 'server',
        command: [opencode, 'serve', '--port', String(port), '--hostname', '0.0.0.0'],
        env: [
          ...(persistence?.sessions ? [{ name: ENV.opencodeDb, value: PATHS.opencodeDb }] : []),
          ...this.serverAuthEnv(),
        ],
        mounts: persistence?.sessions ? [{ name: SESSIONS_VOLUME, mountPath: PATHS.sessionsDir }] : [],
        ports: [{ name: 'http', containerPort: port, protocol: 'TCP' }],
        // TCP probes: with the server password set, an HTTP probe would need the secret in the manifest
        startupProbe: tcpProbe({ periodSeconds: 2, failureThreshold: 30 }),
        readinessProbe: tcpProbe({ periodSeconds: 10, failureThreshold: 3 }),
        livenessProbe: tcpProbe({ periodSeconds: 30, failureThreshold: 3 }),
      }),
    );
    if (persistence?.sessions) {
      pod.spec.volumes!.push({ name: SESSIONS_VOLUME, persistentVolumeClaim: { claimName: NAMES.sessionsPvc(this.name) } });
    }

    const podLabels = { ...(env.podSpec?.labels ?? {}), ...this.labels('server') };
    const annotations: Record<string, string> = {
      ...(env.podSpec?.annotations ?? {}),
      // a change of a generated file rolls the server
      [ANNOTATIONS.contextHash]: hashOf(pod.generated),
    };
    const deployment: k8s.DeploymentSpec = {
      // replicas is left to the controller (suspend/standby scale it); Kubernetes defaults it to 1
      selector: { matchLabels: this.selector('server') },
      // a ReadWriteOnce PVC can be attached to one node at a time: never run old and new pods side by side
      strategy: persistence?.sessions || persistence?.workspace ? { type: 'Recreate' } : undefined,
      template: { metadata: { labels: podLabels, annotations }, spec: pod.spec },
    };

    return { pod, deployment, rollout: rolloutContexts(env), taskTemplate: this.buildTaskTemplate(env) };
  }

  /** The lightweight pod of an agentRef Task: opencode run --attach to this Agent's server. */
  private buildTaskTemplate(env: Environment): k8s.PodTemplateSpec {
    const ca = caBundleWiring(env.caBundle);
    const securityContext = containerSecurityContext(env.podSpec);
    return {
      metadata: {
        labels: { ...(env.podSpec?.labels ?? {}), ...this.labels('task') },
        annotations: env.podSpec?.annotations as Record<string, string> | undefined,
      },
      spec: {
        restartPolicy: 'Never',
        ...podLevelSettings(env),
        containers: [{
          name: 'task',
          // the attach image has opencode on PATH (the agent image has it at /opencode only, the executor not at all)
          image: env.attachImage ?? IMAGES.attach,
          command: ['/bin/sh', '-c', kubeletLiteral(taskRunScript())],
          env: [
            { name: 'HOME', value: PATHS.tmp },
            { name: ENV.serverUrl, value: this.url },
            ...this.serverAuthEnv(),
            ...proxyEnv(env.proxy),
            ...(ca ? [ca.env, { name: 'NODE_EXTRA_CA_CERTS', value: PATHS.customCaCert }] : []),
          ],
          volumeMounts: [tmpMount, ...(ca ? [ca.mount] : [])],
          resources: attachResources(env.podSpec),
          securityContext,
        }],
        volumes: [{ name: TMP_VOLUME, emptyDir: {} }, ...(ca ? [ca.volume] : [])],
      },
    };
  }
}

/** The Deployment annotation value that marks Rollout-synced Git contexts for the controller (undefined when none). */
function rolloutContexts(env: Environment): string | undefined {
  const list = (env.contexts ?? []).flatMap((c, i): RolloutContext[] => (isRollout(c) ? [{
    name: contextName(c, i),
    repository: c.git!.repository,
    ref: c.git!.ref ?? DEFAULTS.gitRef,
    interval: c.git!.sync?.interval ?? DEFAULTS.gitSyncInterval,
    secretRef: c.git!.secretRef?.name,
  }] : []));
  return list.length ? JSON.stringify(list) : undefined;
}

function tcpProbe(o: { periodSeconds: number; failureThreshold: number }): k8s.Probe {
  return { tcpSocket: { port: k8s.IntOrString.fromString('http') }, timeoutSeconds: 5, ...o };
}

/** config was validated in the constructor; here only the value matters. */
function parseConfigQuietly(config: string | undefined): Record<string, unknown> | undefined {
  if (config === undefined) return undefined;
  try {
    const v = JSON.parse(config);
    return v && typeof v === 'object' && !Array.isArray(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

function validateAgentOnlyFields(p: AgentProps, problems: Problems): void {
  if (p.port !== undefined) problems.check(isPort(p.port), 'port', `${p.port} is not a port (1 to 65535)`);
  for (const which of AGENT_ONLY_QUANTITY_FIELDS) {
    const size = p.persistence?.[which]?.size;
    if (size !== undefined) {
      problems.check(isQuantity(size), `persistence.${which}.size`, `'${size}' is not a Kubernetes quantity (e.g. ${which === 'sessions' ? '2Gi' : '20Gi'})`);
    }
  }
  if (p.maxConcurrentTasks !== undefined) {
    problems.check(Number.isInteger(p.maxConcurrentTasks) && p.maxConcurrentTasks >= 1, 'maxConcurrentTasks', `${p.maxConcurrentTasks} must be a positive integer (leave it unset for no limit)`);
  }
  if (p.quota) {
    problems.check(Number.isInteger(p.quota.maxTaskStarts) && p.quota.maxTaskStarts >= 1, 'quota.maxTaskStarts', `${p.quota.maxTaskStarts} must be a positive integer`);
    problems.check(Number.isInteger(p.quota.windowSeconds) && p.quota.windowSeconds >= 60 && p.quota.windowSeconds <= 86400, 'quota.windowSeconds', `${p.quota.windowSeconds} must be between 60 and 86400 seconds`);
  }
  if (p.standby) {
    problems.check(isDuration(p.standby.idleTimeout ?? ''), 'standby.idleTimeout', `'${p.standby.idleTimeout}' is not a duration (e.g. 30m)`);
    if (isDuration(p.standby.idleTimeout ?? '')) problems.check(durationSeconds(p.standby.idleTimeout) >= 60, 'standby.idleTimeout', `'${p.standby.idleTimeout}' is shorter than one minute`);
  }
}

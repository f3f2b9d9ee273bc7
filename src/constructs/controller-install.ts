import * as fs from 'fs';
import * as path from 'path';
import { ApiObject, ApiObjectMetadata, Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { parseAllDocuments } from 'yaml';
import { API_GROUP, CONTROLLER, CONTROLLER_DEFAULTS, CONTROLLER_ENV, IMAGES, LABELS, MANAGED_BY } from '../api';
import { packageRoot } from '../assets';
import { DEFAULT_RESOURCES, ResourceSpec, resourcesOr } from '../pod/resources';
import { RESTRICTED_SECURITY_CONTEXT } from '../pod/security';
import { Problems, isDnsLabel } from '../validation';
import { clusterScoped } from './cluster-scoped';

export interface KubeOpenCodeControllerProps {
  /**
   * Namespace of the controller (created unless `createNamespace` is false).
   * @default kubeopencode-system
   */
  readonly namespace?: string;
  /** @default true */
  readonly createNamespace?: boolean;
  /**
   * Controller image (built from the package's Dockerfile).
   * @default ghcr.io/cdk8s-kubeopencode/controller (pinned)
   */
  readonly image?: string;
  /**
   * Replicas; more than one stand by behind the leader-election Lease.
   * @default 1
   */
  readonly replicas?: number;
  /**
   * Install the CRDs from crds/.
   * @default true
   */
  readonly installCrds?: boolean;
  /**
   * How long a Task's pod may fail to start (image pull, config, scheduling) before the Task fails.
   * @default 300
   */
  readonly podStartGraceSeconds?: number;
  /** Log level (pino). @default info */
  readonly logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /**
   * Requests and limits of the controller container (replaces the default as a whole).
   * @default - requests cpu 50m, memory 128Mi; limits cpu 1, memory 512Mi
   */
  readonly resources?: ResourceSpec;
}

const NAME = CONTROLLER.name;
const METRICS_PORT = CONTROLLER_DEFAULTS.metricsPort;
const HEALTH_PORT = CONTROLLER_DEFAULTS.healthPort;

/** The labels of every object of the installation (a fresh object each time: cdk8s keeps what it is given). */
function controllerLabels(): Record<string, string> {
  return { [LABELS.name]: 'kubeopencode', [LABELS.component]: 'controller', [LABELS.managedBy]: MANAGED_BY };
}

/** What the Deployment and the metrics Service select the controller pods by. */
function controllerSelector(): Record<string, string> {
  return { [LABELS.name]: 'kubeopencode', [LABELS.component]: 'controller' };
}

/**
 * Installs the runtime controller: namespace, CRDs, ServiceAccount, least-privilege RBAC (no wildcards), the
 * controller Deployment (restricted security context, probes on /healthz and /readyz), a metrics Service, and the
 * Role for its leader-election Lease.
 */
export class KubeOpenCodeController extends Construct {
  public readonly namespace: string;
  /** The controller Deployment. */
  public readonly deployment: k8s.KubeDeployment;
  /** The Namespace, unless createNamespace is false. */
  public readonly namespaceResource?: k8s.KubeNamespace;
  /** The five CustomResourceDefinitions, unless installCrds is false (empty then). */
  public readonly crds: ApiObject[];
  /** The controller's ServiceAccount. */
  public readonly serviceAccount: k8s.KubeServiceAccount;
  /** The controller's least-privilege ClusterRole and its binding. */
  public readonly clusterRole: k8s.KubeClusterRole;
  public readonly clusterRoleBinding: k8s.KubeClusterRoleBinding;
  /** The Role (and binding) for its own leader-election Lease only. */
  public readonly leaderElectionRole: k8s.KubeRole;
  public readonly leaderElectionRoleBinding: k8s.KubeRoleBinding;
  /** The Service in front of /metrics. */
  public readonly metricsService: k8s.KubeService;

  private readonly props: KubeOpenCodeControllerProps;

  constructor(scope: Construct, id: string, props: KubeOpenCodeControllerProps = {}) {
    super(scope, id);
    this.props = props;
    this.namespace = props.namespace ?? Chart.of(this).namespace ?? CONTROLLER.namespace;
    this.validateProps();

    if (props.createNamespace ?? true) {
      this.namespaceResource = clusterScoped(new k8s.KubeNamespace(this, 'Namespace', { metadata: { name: this.namespace, labels: controllerLabels() } }));
    }
    this.crds = props.installCrds ?? true
      ? loadCrds().map((crd) => clusterScoped(new ApiObject(this, `Crd-${crd.spec.names.kind}`, crd)))
      : [];
    this.serviceAccount = new k8s.KubeServiceAccount(this, 'ServiceAccount', { metadata: this.metadata(NAME) });
    [this.clusterRole, this.clusterRoleBinding] = this.createClusterRbac();
    [this.leaderElectionRole, this.leaderElectionRoleBinding] = this.createLeaderElectionRbac();
    this.deployment = this.createDeployment();
    this.metricsService = new k8s.KubeService(this, 'MetricsService', {
      metadata: this.metadata(`${NAME}-metrics`),
      spec: { selector: controllerSelector(), ports: [{ name: 'metrics', port: METRICS_PORT, targetPort: k8s.IntOrString.fromString('metrics'), protocol: 'TCP' }] },
    });
  }

  private validateProps(): void {
    const props = this.props;
    const problems = new Problems('KubeOpenCodeController', this);
    problems.check(isDnsLabel(this.namespace), 'namespace', `'${this.namespace}' is not a namespace name`);
    if (props.replicas !== undefined) problems.check(Number.isInteger(props.replicas) && props.replicas >= 1, 'replicas', `${props.replicas} must be a positive integer`);
    if (props.podStartGraceSeconds !== undefined) problems.check(Number.isInteger(props.podStartGraceSeconds) && props.podStartGraceSeconds >= 10, 'podStartGraceSeconds', `${props.podStartGraceSeconds} must be an integer of at least 10`);
    problems.throwIfAny();
  }

  private metadata(name: string): ApiObjectMetadata {
    return { name, namespace: this.namespace, labels: controllerLabels() };
  }

  /** The least-privilege ClusterRole (controllerRules) bound to the controller's ServiceAccount. */
  private createClusterRbac(): [k8s.KubeClusterRole, k8s.KubeClusterRoleBinding] {
    const role = clusterScoped(new k8s.KubeClusterRole(this, 'ClusterRole', { metadata: { name: NAME, labels: controllerLabels() }, rules: controllerRules() }));
    const binding = clusterScoped(new k8s.KubeClusterRoleBinding(this, 'ClusterRoleBinding', {
      metadata: { name: NAME, labels: controllerLabels() },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: NAME },
      subjects: [{ kind: 'ServiceAccount', name: NAME, namespace: this.namespace }],
    }));
    return [role, binding];
  }

  /** Leader election: only its own Lease, in its own namespace. */
  private createLeaderElectionRbac(): [k8s.KubeRole, k8s.KubeRoleBinding] {
    const role = new k8s.KubeRole(this, 'LeaderElectionRole', {
      metadata: this.metadata(`${NAME}-leader-election`),
      rules: [
        { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
        { apiGroups: ['coordination.k8s.io'], resources: ['leases'], resourceNames: [NAME], verbs: ['get', 'update', 'patch'] },
      ],
    });
    const binding = new k8s.KubeRoleBinding(this, 'LeaderElectionRoleBinding', {
      metadata: this.metadata(`${NAME}-leader-election`),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: `${NAME}-leader-election` },
      subjects: [{ kind: 'ServiceAccount', name: NAME, namespace: this.namespace }],
    });
    return [role, binding];
  }

  /** The controller Deployment: `kubeopencode-controller run`, restricted, read-only root, metrics and health ports. */
  private createDeployment(): k8s.KubeDeployment {
    return new k8s.KubeDeployment(this, 'Deployment', {
      metadata: this.metadata(NAME),
      spec: {
        replicas: this.props.replicas ?? 1,
        selector: { matchLabels: controllerSelector() },
        template: {
          metadata: { labels: controllerLabels() },
          spec: {
            serviceAccountName: NAME,
            securityContext: { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, seccompProfile: { type: 'RuntimeDefault' } },
            containers: [this.createContainer()],
            volumes: [{ name: 'tmp', emptyDir: { sizeLimit: k8s.Quantity.fromString('64Mi') } }],
          },
        },
      },
    });
  }

  private createContainer(): k8s.Container {
    const props = this.props;
    const httpGet = (p: string, port: number) => ({ httpGet: { path: p, port: k8s.IntOrString.fromNumber(port) } });
    return {
      name: 'controller',
      image: props.image ?? IMAGES.controller,
      command: [CONTROLLER.name, 'run'],
      env: [
        { name: CONTROLLER_ENV.podName, valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        { name: CONTROLLER_ENV.podNamespace, valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
        { name: CONTROLLER_ENV.logLevel, value: props.logLevel ?? CONTROLLER_DEFAULTS.logLevel },
        { name: CONTROLLER_ENV.podStartGraceSeconds, value: String(props.podStartGraceSeconds ?? CONTROLLER_DEFAULTS.podStartGraceSeconds) },
        { name: CONTROLLER_ENV.metricsPort, value: String(METRICS_PORT) },
        { name: CONTROLLER_ENV.healthPort, value: String(HEALTH_PORT) },
      ],
      ports: [
        { name: 'metrics', containerPort: METRICS_PORT, protocol: 'TCP' },
        { name: 'health', containerPort: HEALTH_PORT, protocol: 'TCP' },
      ],
      livenessProbe: { ...httpGet('/healthz', HEALTH_PORT), periodSeconds: 20, failureThreshold: 3 },
      readinessProbe: { ...httpGet('/readyz', HEALTH_PORT), periodSeconds: 10, failureThreshold: 3 },
      resources: resourcesOr(props.resources, DEFAULT_RESOURCES.controller),
      securityContext: { ...RESTRICTED_SECURITY_CONTEXT, readOnlyRootFilesystem: true },
      // git ls-remote (Rollout contexts) writes a credentials file and a CA bundle here
      volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
    };
  }
}

/** The controller's cluster-wide permissions, each verb for a reason; no wildcards. */
export function controllerRules(): k8s.PolicyRule[] {
  return [
    // reads everything it reconciles
    { apiGroups: [API_GROUP], resources: ['agents', 'agenttemplates', 'tasks', 'crontasks', 'kubeopencodeconfigs'], verbs: ['get', 'list', 'watch'] },
    { apiGroups: [API_GROUP], resources: ['agents/status', 'tasks/status', 'crontasks/status'], verbs: ['get', 'update', 'patch'] },
    // standby sets agents' spec.suspend; stop/trigger annotations and the Task finalizer are patched
    { apiGroups: [API_GROUP], resources: ['agents', 'tasks', 'crontasks'], verbs: ['patch', 'update'] },
    // the CronTask trigger creates Tasks; KubeOpenCodeConfig cleanup is the one place that deletes them
    { apiGroups: [API_GROUP], resources: ['tasks'], verbs: ['create', 'delete'] },
    // Task pods from the PodTemplates the constructs synthesized
    { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch', 'create', 'delete'] },
    // owner references on what synth made for an Agent (uids exist only in the cluster), the task PodTemplates included;
    // ConfigMaps also hold a Rollout context's CA bundle
    { apiGroups: [''], resources: ['services', 'configmaps', 'persistentvolumeclaims', 'podtemplates'], verbs: ['get', 'list', 'watch', 'patch'] },
    // no Secrets here: each Agent's manifests carry a Role in its namespace for exactly the Secrets that Agent needs
    // (agentControllerRules), so an Agent CR that names someone else's Secret gets a 403, not its content
    // suspend/standby scale the server; Rollout git sync sets a pod-template annotation
    { apiGroups: ['apps'], resources: ['deployments'], verbs: ['get', 'list', 'watch', 'patch'] },
    // CronTask suspend is mirrored onto the CronJob
    { apiGroups: ['batch'], resources: ['cronjobs'], verbs: ['get', 'list', 'watch', 'patch'] },
    { apiGroups: ['', 'events.k8s.io'], resources: ['events'], verbs: ['create', 'patch'] },
  ];
}

/**
 * What the controller may do with the Secrets of one Agent, in the Agent's namespace (a Role the Agent construct emits,
 * bound to the controller's ServiceAccount): read its server password Secret and the Secrets of its Rollout Git
 * contexts, by name, and create Secrets there (the password Secret when missing; `create` cannot be limited by name).
 */
export function agentControllerRules(secretNames: readonly string[]): k8s.PolicyRule[] {
  return [
    { apiGroups: [''], resources: ['secrets'], resourceNames: [...new Set(secretNames)].sort(), verbs: ['get'] },
    { apiGroups: [''], resources: ['secrets'], verbs: ['create'] },
  ];
}

/** The controller's ServiceAccount name (in the controller's namespace). */
export const CONTROLLER_SERVICE_ACCOUNT = NAME;

let crdCache: any[] | undefined;

/** The CRDs shipped in crds/ (the API's source of truth), parsed once. */
export function loadCrds(): any[] {
  if (crdCache) return crdCache;
  const dir = path.join(packageRoot(), 'crds');
  crdCache = fs.readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort()
    .flatMap((f) => parseAllDocuments(fs.readFileSync(path.join(dir, f), 'utf8')).map((d) => d.toJS()));
  return crdCache;
}

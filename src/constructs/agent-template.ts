import { ApiObject, ApiObjectMetadata, Chart, Lazy } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import * as gen from '../../imports/kubeopencode.io';
import { AgentTemplateSpec, Environment, LABELS, MANAGED_BY, NAMES } from '../api';
import { podMountProblems } from '../pod/mounts';
import { buildAgentPod } from '../pod/pod-builder';
import { runtimeContextText } from '../pod/runtime-context';
import { kubeletLiteral } from '../common/kubelet';
import { SystemImages } from '../pod/system';
import { taskRunScript } from '../pod/task-run';
import { Problems } from '../validation';
import { validateEnvironment, validateObjectName } from './environment-validation';
import { EnvironmentConstruct } from './environment-construct';
import { scriptsConfigMap } from '../pod/scripts-configmap';
import { IAgentTemplate, IClusterConfig, clusterConfigFor, markTemplate } from './lookup';

/** Props of an AgentTemplate: the fields of the guide's AgentTemplate `spec`, plus metadata and `systemImages`. */
export interface AgentTemplateProps extends AgentTemplateSpec {
  /**
   * Name, namespace, labels and annotations.
   * @default - name: the construct id; namespace: the chart's
   */
  readonly metadata?: ApiObjectMetadata;
  /**
   * Images of the init containers of template Task pods.
   * @default - pinned alpine/git and curlimages/curl
   */
  readonly systemImages?: SystemImages;
  /**
   * The KubeOpenCodeConfig whose proxy (for a template without its own) applies at synth.
   * @default - the nearest KubeOpenCodeConfig up the construct tree (this construct's scope, its chart, or above); none
   * when no such scope has one. A config in another chart never applies.
   */
  readonly clusterConfig?: IClusterConfig;
}

/**
 * Shared configuration for Agents (`templateRef`) and the blueprint of ephemeral Tasks: the AgentTemplate custom
 * resource, and a PodTemplate `{name}-template-task` whose pod has everything an Agent's server pod has (contexts,
 * init containers, credentials, CA, proxy, security, pull secrets) but runs `opencode run "<task>"` and exits.
 */
export class AgentTemplate extends EnvironmentConstruct implements IAgentTemplate {
  public readonly name: string;
  public readonly namespace?: string;
  /** The AgentTemplate custom resource. */
  public readonly resource: ApiObject;
  /**
   * The PodTemplate of template Tasks; only when the template sets workspaceDir and serviceAccountName (a template
   * that leaves them to its Agents cannot run Tasks of its own).
   */
  public readonly taskPodTemplate?: k8s.KubePodTemplate;
  /** The ConfigMap `{name}-template-context` of generated files (opencode.json, contexts), with the PodTemplate. */
  public readonly configMap?: k8s.KubeConfigMap;
  /** The ConfigMap of init-container scripts its Task pods mount (one per chart and namespace), with the PodTemplate. */
  public readonly scriptsConfigMap?: k8s.KubeConfigMap;

  private readonly props: AgentTemplateProps;
  private built?: ReturnType<AgentTemplate['build']>;

  constructor(scope: Construct, id: string, props: AgentTemplateProps = {}) {
    super(scope, id, 'AgentTemplate', props);
    this.props = props;
    this.name = props.metadata?.name ?? id;
    this.namespace = props.metadata?.namespace ?? Chart.of(this).namespace;
    markTemplate(this);

    const problems = new Problems('AgentTemplate', this);
    validateObjectName(this.name, problems, 63 - '-template-context'.length);
    validateEnvironment(props, problems, { requireCore: false });
    problems.throwIfAny();
    this.node.addValidation({ validate: () => this.validatePod() });

    const labels = {
      [LABELS.name]: 'kubeopencode',
      [LABELS.instance]: this.name,
      [LABELS.managedBy]: MANAGED_BY,
      [LABELS.agentTemplate]: this.name,
    };
    this.resource = new gen.AgentTemplate(this, 'Resource', {
      metadata: { ...props.metadata, name: this.name, namespace: this.namespace },
      spec: Lazy.any({ produce: () => this.environment() }),
    });
    if (props.workspaceDir && props.serviceAccountName) {
      this.scriptsConfigMap = scriptsConfigMap(this, this.namespace);
      this.configMap = new k8s.KubeConfigMap(this, 'Context', {
        metadata: { name: NAMES.templateConfigMap(this.name), namespace: this.namespace, labels },
        data: Lazy.any({ produce: () => this.resolve().generated }),
      });
      this.taskPodTemplate = new k8s.KubePodTemplate(this, 'TaskPodTemplate', {
        metadata: { name: NAMES.templateTaskPodTemplate(this.name), namespace: this.namespace, labels: { ...labels, [LABELS.component]: 'task' } },
        template: Lazy.any({ produce: () => this.resolve().template }),
      });
    }
  }

  /** The template's spec with everything added by mutators: what Agents referencing it merge from. */
  public environment(): Environment {
    return this.ownEnvironment();
  }

  protected changed(): void {
    this.built = undefined;
  }

  /** The task pod must be one a node can start (only when the template has one). */
  private validatePod(): string[] {
    if (!this.taskPodTemplate) return [];
    const problems = new Problems('AgentTemplate', this);
    for (const m of podMountProblems(this.resolve().template.spec!)) problems.add('volumeMounts', m);
    return problems.messages();
  }

  private resolve() {
    return (this.built ??= this.build());
  }

  private build() {
    const own = this.environment();
    const env: Environment = own.proxy ? own : { ...own, proxy: clusterConfigFor(this, this.props.clusterConfig)?.clusterProxy };
    const pod = buildAgentPod(
      {
        environment: env,
        opencodeConfig: env.config ? JSON.parse(env.config) : undefined,
        systemImages: this.props.systemImages,
        generatedConfigMap: NAMES.templateConfigMap(this.name),
        scriptsConfigMap: this.scriptsConfigMap!.name,
        runtimeText: () => runtimeContextText({
          kind: 'AgentTemplate',
          name: this.name,
          namespace: this.namespace,
          workspaceDir: env.workspaceDir!,
          contexts: env.contexts ?? [],
          skills: env.skills ?? [],
        }),
      },
      (opencode) => ({
        name: 'task',
        command: ['/bin/sh', '-c', kubeletLiteral(taskRunScript())],
        env: [{ name: 'OPENCODE_BIN', value: opencode }],
      }),
    );
    const template: k8s.PodTemplateSpec = {
      metadata: {
        labels: {
          ...(env.podSpec?.labels ?? {}),
          [LABELS.name]: 'kubeopencode',
          [LABELS.managedBy]: MANAGED_BY,
          [LABELS.agentTemplate]: this.name,
          [LABELS.component]: 'task',
        },
        annotations: env.podSpec?.annotations as Record<string, string> | undefined,
      },
      spec: { ...pod.spec, restartPolicy: 'Never' },
    };
    return { generated: pod.generated, template };
  }
}

import { ApiObject, ApiObjectMetadata, Chart, Lazy } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import * as gen from '../../imports/kubeopencode.io';
import { cronFields, cronSyntaxError, isTimeZone } from '../common/cron';
import { API_GROUP, CONTROLLER, CONTROLLER_ENV, CronTaskSpec, DEFAULTS, IMAGES, LABELS, MANAGED_BY, NAMES } from '../api';
import { DEFAULT_RESOURCES, ResourceSpec, resourcesOr } from '../pod/resources';
import { RESTRICTED_SECURITY_CONTEXT } from '../pod/security';
import { Problems, isDnsLabel, quoteValue } from '../validation';
import { IClusterConfig, clusterConfigFor } from './lookup';
import { TaskProps, taskSpecJson, validateTaskSpec } from './task';

/** Props of a CronTask: the guide's CronTask `spec`, plus metadata and the image of the job that creates Tasks. */
export interface CronTaskProps extends Omit<CronTaskSpec, 'taskTemplate'> {
  /**
   * Name, namespace, labels, annotations. The name is at most 52 characters (a CronJob name limit).
   * @default - name: the construct id; namespace: the chart's
   */
  readonly metadata?: ApiObjectMetadata;
  /** The Task to create: optional labels/annotations and the Task spec (refs may be constructs). */
  readonly taskTemplate: {
    /** Labels and annotations of each Task. @default - none */
    readonly metadata?: { readonly labels?: Record<string, string>; readonly annotations?: Record<string, string> };
    readonly spec: Omit<TaskProps, 'metadata'>;
  };
  /**
   * Image of the CronJob's job: the controller image, whose `crontask-fire` command creates one Task.
   * @default - the KubeOpenCodeConfig's systemImage.image (see clusterConfig), else ghcr.io/cdk8s-kubeopencode/controller (pinned)
   */
  readonly controllerImage?: string;
  /**
   * The KubeOpenCodeConfig whose systemImage.image is the job's image when controllerImage is not set.
   * @default - the nearest KubeOpenCodeConfig up the construct tree (this construct's scope, its chart, or above); none
   * when no such scope has one. A config in another chart never applies.
   */
  readonly clusterConfig?: IClusterConfig;
  /**
   * Requests and limits of the CronJob's job container (replaces the default as a whole).
   * @default - requests cpu 10m, memory 64Mi; limits cpu 200m, memory 256Mi
   */
  readonly jobResources?: ResourceSpec;
}

const POLICIES = ['Allow', 'Forbid', 'Replace'];

/** The schedule as Kubernetes CronJobs and our controller read it: exactly five fields, no macros, no seconds. */
export function validateSchedule(schedule: string | undefined, timeZone: string, problems: Problems): void {
  if (typeof schedule !== 'string' || schedule.trim() === '') {
    problems.add('schedule', 'is required (a 5-field cron expression, e.g. "0 9 * * 1-5")');
    return;
  }
  const fields = cronFields(schedule);
  if (fields.length !== 5 || schedule.trim().startsWith('@')) {
    problems.add('schedule', `'${schedule}' must have exactly 5 fields (minute hour day-of-month month day-of-week), got ${schedule.trim().startsWith('@') ? 'a macro' : fields.length}`);
    return;
  }
  const error = cronSyntaxError(schedule, isTimeZone(timeZone) ? timeZone : 'UTC');
  if (error !== undefined) problems.add('schedule', `'${schedule}' is not a valid cron expression: ${error}`);
}

/**
 * A CronTask: the CronTask custom resource plus a Kubernetes CronJob that fires on its schedule (timeZone, suspend and
 * startingDeadlineSeconds carried over) and runs the controller image's `crontask-fire` command, which creates one
 * Task `{name}-{unix-timestamp}` honouring concurrencyPolicy and maxRetainedTasks. With its ServiceAccount and a
 * least-privilege Role: create/list/get/patch Tasks, get this CronTask.
 */
export class CronTask extends Construct {
  /** The Kubernetes name of the CronTask (and the prefix of its CronJob, ServiceAccount and Role). */
  public readonly name: string;
  /** The namespace, when the chart or metadata sets one. */
  public readonly namespace?: string;
  /** The CronTask custom resource. */
  public readonly resource: ApiObject;
  /** The Kubernetes CronJob whose job creates the Tasks. */
  public readonly cronJob: k8s.KubeCronJob;
  /** The job's ServiceAccount, and the Role (with its binding) that lets it create and stop this CronTask's Tasks. */
  public readonly serviceAccount: k8s.KubeServiceAccount;
  /** The Role of the job's ServiceAccount (create/list/get/patch Tasks, get this CronTask). */
  public readonly role: k8s.KubeRole;
  /** Binds {@link role} to {@link serviceAccount}. */
  public readonly roleBinding: k8s.KubeRoleBinding;

  private readonly props: CronTaskProps;

  constructor(scope: Construct, id: string, props: CronTaskProps) {
    super(scope, id);
    this.props = props;
    this.name = props.metadata?.name ?? id;
    this.namespace = props.metadata?.namespace ?? Chart.of(this).namespace;
    this.validateProps();

    this.resource = this.createResource();
    [this.serviceAccount, this.role, this.roleBinding] = this.createJobRbac();
    this.cronJob = this.createCronJob();
  }

  private get timeZone(): string {
    return this.props.timeZone ?? DEFAULTS.cronTimeZone;
  }

  /** Every problem of the props at once, naming the field and what is allowed. */
  private validateProps(): void {
    const props = this.props;
    const timeZone = this.timeZone;
    const problems = new Problems('CronTask', this);
    problems.check(isDnsLabel(this.name) && this.name.length <= 52, 'metadata.name', `'${this.name}' must be a DNS label of at most 52 characters (it names the CronJob)`);
    validateSchedule(props.schedule, timeZone, problems);
    problems.check(isTimeZone(timeZone), 'timeZone', `'${timeZone}' is not an IANA time zone (e.g. UTC, Europe/Berlin, Asia/Shanghai)`);
    if (props.concurrencyPolicy !== undefined) {
      problems.check(POLICIES.includes(props.concurrencyPolicy), 'concurrencyPolicy', `${quoteValue(props.concurrencyPolicy)} must be one of Allow, Forbid, Replace`);
    }
    if (props.maxRetainedTasks !== undefined) {
      problems.check(Number.isInteger(props.maxRetainedTasks) && props.maxRetainedTasks >= 1, 'maxRetainedTasks', `${props.maxRetainedTasks} must be an integer of at least 1`);
    }
    if (props.startingDeadlineSeconds !== undefined) {
      problems.check(Number.isInteger(props.startingDeadlineSeconds) && props.startingDeadlineSeconds >= 0, 'startingDeadlineSeconds', `${props.startingDeadlineSeconds} must be a non-negative integer`);
    }
    if (!props.taskTemplate?.spec) problems.add('taskTemplate.spec', 'is required (the Task to create)');
    else validateTaskSpec(props.taskTemplate.spec as TaskProps, problems, 'taskTemplate.spec');
    problems.throwIfAny();
  }

  private labels(): Record<string, string> {
    return {
      [LABELS.name]: 'kubeopencode',
      [LABELS.instance]: this.name,
      [LABELS.managedBy]: MANAGED_BY,
      [LABELS.cronTask]: this.name,
    };
  }

  private metadata(name: string): ApiObjectMetadata {
    return { name, namespace: this.namespace, labels: this.labels() };
  }

  /** The CronTask custom resource, as the user wrote it. */
  private createResource(): ApiObject {
    const props = this.props;
    return new gen.CronTask(this, 'Resource', {
      metadata: { ...props.metadata, name: this.name, namespace: this.namespace },
      spec: {
        schedule: props.schedule,
        timeZone: props.timeZone,
        concurrencyPolicy: props.concurrencyPolicy as gen.CronTaskSpecConcurrencyPolicy | undefined,
        suspend: props.suspend,
        startingDeadlineSeconds: props.startingDeadlineSeconds,
        maxRetainedTasks: props.maxRetainedTasks,
        taskTemplate: {
          metadata: props.taskTemplate.metadata,
          spec: taskSpecJson(props.taskTemplate.spec as TaskProps) as gen.CronTaskSpecTaskTemplateSpec,
        },
      },
    });
  }

  /** The job's ServiceAccount and a Role (with its binding) to create and stop this CronTask's Tasks. */
  private createJobRbac(): [k8s.KubeServiceAccount, k8s.KubeRole, k8s.KubeRoleBinding] {
    const sa = NAMES.cronTaskServiceAccount(this.name);
    const serviceAccount = new k8s.KubeServiceAccount(this, 'ServiceAccount', { metadata: this.metadata(sa), automountServiceAccountToken: true });
    const role = new k8s.KubeRole(this, 'Role', {
      metadata: this.metadata(sa),
      rules: [
        // Forbid and maxRetainedTasks count the children; Replace stops the active one with the stop annotation
        { apiGroups: [API_GROUP], resources: ['tasks'], verbs: ['get', 'list', 'create', 'patch'] },
        { apiGroups: [API_GROUP], resources: ['crontasks'], resourceNames: [this.name], verbs: ['get'] },
      ],
    });
    const roleBinding = new k8s.KubeRoleBinding(this, 'RoleBinding', {
      metadata: this.metadata(sa),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: sa },
      subjects: [{ kind: 'ServiceAccount', name: sa, namespace: this.namespace }],
    });
    return [serviceAccount, role, roleBinding];
  }

  /** The CronJob that fires on the schedule and runs `crontask-fire`, which creates one Task. */
  private createCronJob(): k8s.KubeCronJob {
    const props = this.props;
    return new k8s.KubeCronJob(this, 'CronJob', {
      metadata: this.metadata(this.name),
      spec: {
        schedule: props.schedule,
        timeZone: this.timeZone,
        suspend: props.suspend ?? false,
        startingDeadlineSeconds: props.startingDeadlineSeconds,
        // one creator job at a time; the CronTask's own concurrencyPolicy is applied to Tasks by crontask-fire
        concurrencyPolicy: 'Forbid',
        successfulJobsHistoryLimit: 1,
        failedJobsHistoryLimit: 3,
        jobTemplate: {
          metadata: { labels: this.labels() },
          spec: {
            backoffLimit: 3,
            activeDeadlineSeconds: 300,
            ttlSecondsAfterFinished: 3600,
            template: {
              metadata: { labels: this.labels() },
              spec: this.createJobPodSpec(),
            },
          },
        },
      },
    });
  }

  /** The job's pod: the controller image's `crontask-fire`, restricted, as uid 65532. */
  private createJobPodSpec(): k8s.PodSpec {
    const props = this.props;
    return {
      restartPolicy: 'OnFailure',
      serviceAccountName: NAMES.cronTaskServiceAccount(this.name),
      securityContext: { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532 },
      containers: [{
        name: 'crontask-fire',
        image: props.controllerImage ?? Lazy.any({ produce: () => clusterConfigFor(this, props.clusterConfig)?.systemImage ?? IMAGES.controller }),
        command: [CONTROLLER.name, 'crontask-fire'],
        env: [
          { name: CONTROLLER_ENV.cronTaskName, value: this.name },
          { name: CONTROLLER_ENV.cronTaskNamespace, valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
        ],
        resources: resourcesOr(props.jobResources, DEFAULT_RESOURCES.cronTaskJob),
        securityContext: { ...RESTRICTED_SECURITY_CONTEXT, readOnlyRootFilesystem: true },
      }],
    };
  }
}

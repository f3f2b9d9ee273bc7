import { ApiObject, ApiObjectMetadata, Chart } from 'cdk8s';
import { Construct } from 'constructs';
import * as gen from '../../imports/kubeopencode.io';
import { LIMITS, TaskSpec } from '../api';
import { validateContexts } from '../pod/contexts';
import { Problems, isDnsSubdomain, isDuration } from '../validation';

/** A reference by name, or the construct itself (anything with a `name`). */
export type NameRef = { readonly name: string };

/** Props of a Task: the guide's Task `spec` (`agentRef` or `templateRef` may also be the construct), plus metadata. */
export interface TaskProps extends Omit<TaskSpec, 'agentRef' | 'templateRef'> {
  /**
   * Name, namespace, labels, annotations.
   * @default - name: the construct id; namespace: the chart's
   */
  readonly metadata?: ApiObjectMetadata;
  /**
   * The Agent to attach to (its name or the Agent construct). Exactly one of agentRef and templateRef.
   * @default - none: templateRef is set
   */
  readonly agentRef?: NameRef;
  /**
   * The AgentTemplate to run an ephemeral pod from (its name or the construct).
   * @default - none: agentRef is set
   */
  readonly templateRef?: NameRef;
}

/** Checks a Task spec (also used for CronTask.taskTemplate.spec). */
export function validateTaskSpec(spec: TaskProps, problems: Problems, field = 'spec'): void {
  const refs = [spec.agentRef, spec.templateRef].filter((r) => r !== undefined).length;
  problems.check(refs === 1, `${field}`, `exactly one of agentRef or templateRef must be set (got ${refs === 0 ? 'neither' : 'both'})`);
  for (const k of ['agentRef', 'templateRef'] as const) {
    const r = spec[k];
    if (r !== undefined) problems.check(isDnsSubdomain(r.name ?? ''), `${field}.${k}.name`, `'${r.name}' is not a valid name`);
  }
  problems.check(typeof spec.description === 'string' && spec.description.trim() !== '', `${field}.description`, 'is required (the task for the agent)');
  if (typeof spec.description === 'string') {
    problems.check(spec.description.length <= LIMITS.taskDescription, `${field}.description`,
      `is ${spec.description.length} characters; at most ${LIMITS.taskDescription} (it reaches the pod as one environment variable, which Linux caps at 128 KiB)`);
  }
  (spec.contexts ?? []).forEach((c, i) => {
    if (typeof c.text === 'string') {
      problems.check(c.text.length <= LIMITS.taskContextText, `${field}.contexts[${i}].text`,
        `is ${c.text.length} characters; a Task context text is at most ${LIMITS.taskContextText} (put longer text on the Agent)`);
    }
  });
  if (spec.timeout !== undefined) problems.check(isDuration(spec.timeout), `${field}.timeout`, `'${spec.timeout}' is not a duration (e.g. 30m)`);
  validateContexts(spec.contexts, undefined, problems, `${field}.contexts`);
  // A Task's pod is a PodTemplate the Agent or template synthesized: it has no init containers of the Task's own, so
  // only inline text can travel with a Task (it is sent ahead of the description). Put the rest on the Agent.
  (spec.contexts ?? []).forEach((c, i) => {
    problems.check(c.type === 'Text' && c.mountPath === undefined, `${field}.contexts[${i}]`,
      `a Task context must be of type Text without mountPath (got ${c.type}${c.mountPath !== undefined ? ' with mountPath' : ''}); Git, ConfigMap, URL and Runtime contexts belong on the Agent or AgentTemplate`);
  });
}

export function taskSpecJson(p: TaskProps): gen.TaskSpec {
  return {
    agentRef: p.agentRef ? { name: p.agentRef.name } : undefined,
    templateRef: p.templateRef ? { name: p.templateRef.name } : undefined,
    description: p.description,
    contexts: p.contexts as gen.TaskSpecContexts[] | undefined,
    timeout: p.timeout,
  };
}

/**
 * A Task custom resource declared in an app. Most Tasks are created at run time (`kubectl apply -f task.yaml`, a
 * CronTask, the API); this construct lets an app declare them too. The controller runs it.
 */
export class Task extends Construct {
  public readonly name: string;
  public readonly namespace?: string;
  public readonly resource: ApiObject;

  constructor(scope: Construct, id: string, props: TaskProps) {
    super(scope, id);
    this.name = props.metadata?.name ?? id;
    this.namespace = props.metadata?.namespace ?? Chart.of(this).namespace;
    const problems = new Problems('Task', this);
    problems.check(isDnsSubdomain(this.name), 'metadata.name', `'${this.name}' is not a valid Kubernetes name (a DNS subdomain)`);
    validateTaskSpec(props, problems, 'spec');
    problems.throwIfAny();
    this.resource = new gen.Task(this, 'Resource', {
      metadata: { ...props.metadata, name: this.name, namespace: this.namespace },
      spec: taskSpecJson(props),
    });
  }
}

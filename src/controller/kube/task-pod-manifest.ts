import { API_VERSION, ENV, LABELS, NAMES } from '../../api';
import { kubeletLiteral } from '../../common/kubelet';

/** The session title that identifies a Task on its Agent's server: kubeopencode/<namespace>/<task>/<uid[:8]>. */
export function sessionTitle(task: { metadata?: { namespace?: string; name?: string; uid?: string } }): string {
  const m = task.metadata ?? {};
  return `kubeopencode/${m.namespace}/${m.name}/${(m.uid ?? '').slice(0, 8)}`;
}

/**
 * The Task's pod, from the PodTemplate the constructs synthesized (the Agent's `{agent}-task` or the template's
 * `{template}-template-task`). Deterministic name `{task}-pod` (a second create is AlreadyExists, never a second run),
 * owned by the Task (garbage-collected with it), with the task text in TASK_DESCRIPTION on the `task` container.
 */
export function taskPodFromTemplate(task: any, podTemplate: any): any {
  const ns = task.metadata.namespace;
  const name = NAMES.taskPod(task.metadata.name);
  const tpl = podTemplate.template ?? {};
  const taskEnv = [
    { name: ENV.taskName, value: task.metadata.name },
    { name: ENV.taskNamespace, value: ns },
    // the kubelet expands $(NAME) in env values: a task text must arrive as written
    { name: ENV.taskDescription, value: kubeletLiteral(taskText(task.spec)) },
    { name: ENV.taskSessionTitle, value: kubeletLiteral(sessionTitle(task)) },
  ];
  const containers = (tpl.spec?.containers ?? []).map((c: any) =>
    c.name === 'task' ? { ...c, env: [...(c.env ?? []).filter((e: any) => !taskEnv.some((t) => t.name === e.name)), ...taskEnv] } : c,
  );
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: ns,
      labels: { ...(tpl.metadata?.labels ?? {}), [LABELS.task]: task.metadata.name },
      annotations: tpl.metadata?.annotations,
      ownerReferences: [{
        apiVersion: API_VERSION,
        kind: 'Task',
        name: task.metadata.name,
        uid: task.metadata.uid,
        controller: true,
        blockOwnerDeletion: true,
      }],
    },
    spec: { ...tpl.spec, restartPolicy: 'Never', containers },
  };
}

/**
 * What the task pod sends: the Task's own Text contexts, each in its <context> tag as in context.md, then the
 * description. (Contexts of other types live on the Agent or template; the Task construct and docs say so.)
 */
export function taskText(spec: { description: string; contexts?: Array<{ name?: string; type: string; text?: string }> }): string {
  const blocks = (spec.contexts ?? [])
    .map((c, i) => (c.type === 'Text' && c.text !== undefined ? `<context name="${xmlAttr(c.name ?? `text-${i}`)}" type="Text">\n${c.text.replace(/\n?$/, '\n')}</context>` : undefined))
    .filter((b): b is string => b !== undefined);
  return blocks.length ? `${blocks.join('\n\n')}\n\n${spec.description}` : spec.description;
}

/** A value inside an XML attribute, as context-init writes it: no name can close the tag or start another block. */
export function xmlAttr(v: string): string {
  return v.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\r?\n/g, '&#10;');
}

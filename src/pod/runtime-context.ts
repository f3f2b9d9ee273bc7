import { ContextItem, SkillSource } from '../api';
import { contextName } from './contexts';

export interface RuntimeFacts {
  readonly kind: 'Agent' | 'AgentTemplate';
  readonly name: string;
  readonly namespace?: string;
  readonly workspaceDir: string;
  readonly url?: string;
  readonly contexts: readonly ContextItem[];
  readonly skills: readonly SkillSource[];
}

/** The Runtime context: a system prompt that tells the agent what platform it runs on. */
export function runtimeContextText(f: RuntimeFacts): string {
  const lines = [
    '# KubeOpenCode runtime',
    '',
    f.kind === 'Agent'
      ? `You are the KubeOpenCode Agent "${f.name}"${f.namespace ? ` in namespace "${f.namespace}"` : ''}, an always-on OpenCode server on Kubernetes.`
      : `You run an ephemeral KubeOpenCode Task from the AgentTemplate "${f.name}"${f.namespace ? ` in namespace "${f.namespace}"` : ''} on Kubernetes; the pod ends with the task.`,
    `Your workspace is ${f.workspaceDir}.`,
    f.kind === 'Agent'
      ? `Tasks reach you as Kubernetes Task objects (spec.agentRef.name: ${f.name}) that attach to your server${f.url ? ` at ${f.url}` : ''}; people may also attach interactively. Sessions are shared, so leave the workspace tidy.`
      : 'The task text is your whole instruction; nobody can answer questions while you work.',
  ];
  if (f.contexts.length > 0) {
    lines.push('', '## Contexts');
    f.contexts.forEach((c, i) => {
      const where = c.mountPath !== undefined ? `at ${c.mountPath} in the workspace` : 'in .kubeopencode/context.md';
      lines.push(`- ${contextName(c, i)} (${c.type}) ${where}${c.description ? `: ${c.description}` : ''}`);
    });
  }
  if (f.skills.length > 0) {
    lines.push('', '## Skills');
    for (const s of f.skills) lines.push(`- ${s.name}: /skills/${s.name}/ (${s.git.names?.join(', ') ?? 'all skills'})`);
  }
  return lines.join('\n') + '\n';
}

import { k8s } from 'cdk8s-plus-28';
import { readAsset } from '../assets';
import { SystemBase, scriptContainer } from './system';
import { stripShellComments } from './scripts';

let script: string | undefined;

/** Assembles .kubeopencode/context.md from the contexts without mountPath, in spec order, each in an XML tag. */
export function contextInitScript(): string {
  return (script ??= `# kubeopencode context-init (cdk8s-kubeopencode assets/scripts/context-init.sh)\n${stripShellComments(readAsset('scripts', 'context-init.sh'))}\n`);
}

export function contextInitContainer(
  base: SystemBase,
  o: { parts: string[]; contextFile: string; mounts: k8s.VolumeMount[] },
): k8s.Container {
  return scriptContainer(
    base,
    'context-init',
    base.images.git,
    { file: 'context-init.sh' },
    [
      ['CONTEXT_FILE', o.contextFile],
      ['CONTEXT_PARTS', o.parts.join('\n')],
    ],
    o.mounts,
  );
}

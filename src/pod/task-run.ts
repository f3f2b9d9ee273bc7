import { readAsset } from '../assets';
import { stripShellComments } from './scripts';

let script: string | undefined;

/** The task pod's command: sends TASK_DESCRIPTION to opencode run (attached to a server or standalone). */
export function taskRunScript(): string {
  return (script ??= `# kubeopencode task-run (cdk8s-kubeopencode assets/scripts/task-run.sh)\n${stripShellComments(readAsset('scripts', 'task-run.sh'))}\n`);
}

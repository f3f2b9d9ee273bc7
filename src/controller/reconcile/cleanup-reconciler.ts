/** The cluster-wide cleanup of finished Tasks (KubeOpenCodeConfig `cluster`, spec.cleanup), namespace by namespace. */
import { type TaskView, decideCleanup } from '../decide';
import { toTaskView } from '../kube/convert';
import type { Shell } from './shell';

/** The queue key of the cleanup (one for the whole cluster). */
export const CLEANUP_KEY = 'cleanup';

export class CleanupReconciler {
  constructor(private readonly shell: Shell) {}

  async reconcile(): Promise<void> {
    const { shell } = this;
    const policy = shell.caches.configs.get(undefined, 'cluster')?.spec?.cleanup;
    if (!policy) return;
    const byNs = new Map<string, TaskView[]>();
    for (const t of shell.caches.tasks.list()) {
      const v = toTaskView(t);
      byNs.set(v.namespace, [...(byNs.get(v.namespace) ?? []), v]);
    }
    for (const tasks of byNs.values()) await shell.run(CLEANUP_KEY, decideCleanup(tasks, policy, shell.now()));
  }
}

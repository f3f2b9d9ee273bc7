/** The CronTask reconciler: concurrency policy, retention, the trigger annotation, status; suspend onto the CronJob. */
import { LABELS } from '../../api';
import { decideCronJobSuspend, decideCronTask } from '../decide';
import { paths } from '../kube/rest';
import { type Obj, toCronTaskView, toTaskView } from '../kube/convert';
import { type Shell, snapshot } from './shell';

export class CronTaskReconciler {
  constructor(private readonly shell: Shell) {}

  async reconcile(ns: string, name: string): Promise<void> {
    const { shell } = this;
    const ct = shell.get('CronTask', ns, name);
    if (!ct) return;
    const k = `crontask/${ns}/${name}`;
    const childObjs = shell.caches.tasks.list(ns).filter((t) => t.metadata.labels?.[LABELS.cronTask] === name).map((t) => shell.fresh('Task', t));
    const seen = snapshot([['CronTask', ct], ...childObjs.map((t): ['Task', Obj] => ['Task', t])]);
    if (await shell.run(k, decideCronTask(toCronTaskView(ct), childObjs.map(toTaskView), shell.now()), seen)) return;
    const job = await shell.rest.tryGet(paths.batch('cronjobs', ns, name));
    const cronJob = job ? { resourceVersion: job.metadata.resourceVersion, suspend: job.spec?.suspend } : undefined;
    await shell.run(k, decideCronJobSuspend({ namespace: ns, name, suspend: ct.spec?.suspend }, cronJob), seen);
  }
}

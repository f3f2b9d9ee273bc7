/**
 * kubeopencode-controller: `run` (the controller), `crontask-fire` (what a CronTask's CronJob runs), `version`.
 */
import * as fs from 'fs';
import * as path from 'path';
import { KubeConfig } from '@kubernetes/client-node';
import { packageRoot } from '../assets';
import { Controller } from './controller';
import { decideCronTask } from './decide';
import { WriteExecutor } from './kube/executor';
import { Rest, isConflict, paths } from './kube/rest';
import { toCronTaskView, toTaskView } from './kube/views';
import { createLogger } from './log';
import { LABELS } from '../api';

function kubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromDefault();
  return kc;
}

export async function run(): Promise<void> {
  const log = createLogger();
  const controller = new Controller({
    kubeConfig: kubeConfig(),
    log,
    podStartGraceSeconds: Number(process.env.POD_START_GRACE_SECONDS ?? 300),
    healthPort: Number(process.env.HEALTH_PORT ?? 8081),
    metricsPort: process.env.METRICS_PORT !== undefined ? Number(process.env.METRICS_PORT) : undefined,
    leaderElection: process.env.LEADER_ELECTION !== 'false',
  });
  const shutdown = async (signal: string) => {
    log.info({ signal }, 'shutting down');
    await controller.stop();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  await controller.start();
}

/**
 * Creates the Task a CronTask is due for (name `{crontask}-{unix seconds of the due time}`, so a retried job never
 * creates a second one), honouring concurrencyPolicy and maxRetainedTasks: the same decision the controller makes.
 */
export async function crontaskFire(namespace: string, name: string, now = Date.now(), log = createLogger()): Promise<string[]> {
  const rest = new Rest(kubeConfig(), { fieldManager: 'kubeopencode-crontask' });
  try {
    // decide from what the server says now; a conflict (the controller wrote a child meanwhile) decides again
    for (let attempt = 1; ; attempt++) {
      const ct = await rest.get(paths.cr('crontasks', namespace, name));
      const children = (await rest.get(`${paths.cr('tasks', namespace)}?labelSelector=${encodeURIComponent(`${LABELS.cronTask}=${name}`)}`)).items;
      const decision = decideCronTask(toCronTaskView(ct), children.map(toTaskView), now);
      // the job only creates and stops Tasks; status and the trigger annotation are the controller's
      const writes = decision.writes.filter((w) => w.kind === 'createTask' || w.kind === 'annotateTask');
      const byName = new Map(children.map((c: any) => [c.metadata.name, c]));
      try {
        await new WriteExecutor(rest).execute(writes, {
          objectOf: (kind, _ns, n) => (kind === 'Task' ? byName.get(n) : kind === 'CronTask' ? ct : undefined),
          podTemplate: async () => undefined,
        });
      } catch (e) {
        if (isConflict(e) && attempt < 5) continue;
        throw e;
      }
      const created = writes.flatMap((w) => (w.kind === 'createTask' ? [w.task.name] : []));
      log.info({ crontask: `${namespace}/${name}`, created }, created.length ? 'created Task' : 'nothing due');
      return created;
    }
  } finally {
    rest.close();
  }
}

export async function main(argv: string[]): Promise<number> {
  const [command] = argv;
  switch (command) {
    case 'run':
    case undefined:
      await run();
      return -1; // keeps running
    case 'crontask-fire': {
      const ns = process.env.CRONTASK_NAMESPACE;
      const name = process.env.CRONTASK_NAME;
      if (!ns || !name) {
        console.error('crontask-fire: CRONTASK_NAMESPACE and CRONTASK_NAME must be set');
        return 2;
      }
      await crontaskFire(ns, name);
      return 0;
    }
    case 'version':
      console.log(JSON.parse(fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')).version);
      return 0;
    default:
      console.error(`usage: kubeopencode-controller [run | crontask-fire | version] (got '${command}')`);
      return 2;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      if (code >= 0) process.exit(code);
    },
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}

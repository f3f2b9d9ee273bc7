/**
 * kubeopencode-controller: `run` (the controller), `crontask-fire` (what a CronTask's CronJob runs), `version`, `help`.
 */
import { parseArgs } from 'node:util';
import { CONTROLLER, CONTROLLER_ENV, SELECTORS } from '../api';
import { PACKAGE_VERSION } from '../version';
import type { Logger } from './runtime/log';
import { ENV_VARS, UsageError, loadKubeConfig, logLevel, runSettings } from './settings';

// The controller's modules (the Kubernetes client, pino, prom-client) load only for the commands that use them, so
// `--help`, `version` and a bad setting answer at once.
const controllerModules = async () => ({
  ...(await import('./controller')),
  ...(await import('./decide')),
  ...(await import('./kube/executor')),
  ...(await import('./kube/rest')),
  ...(await import('./kube/convert')),
  ...(await import('./runtime/log')),
});

const BIN = CONTROLLER.name;

const COMMANDS: Array<[string, string]> = [
  ['run', 'the controller (the default): Tasks, admission, suspend/standby, Git rollouts, CronTasks, cleanup, status'],
  ['crontask-fire', "what a CronTask's CronJob runs: creates the Task due now for CRONTASK_NAMESPACE/CRONTASK_NAME"],
  ['version', "prints this package's version (also the default controller image tag)"],
  ['help', 'prints this text'],
];

/** The --help text: commands, flags and every environment variable with its default. */
export function helpText(): string {
  const pad = (s: string, n: number) => s.padEnd(n);
  const lines = [
    `${BIN} ${PACKAGE_VERSION}: the runtime controller of cdk8s-kubeopencode`,
    '',
    `Usage: ${BIN} [command] [flags]`,
    '',
    'Commands:',
    ...COMMANDS.map(([c, d]) => `  ${pad(c, 15)}${d}`),
    '',
    'Flags:',
    `  ${pad('-h, --help', 15)}prints this text`,
    `  ${pad('-v, --version', 15)}prints the version`,
    '',
    'Environment (unset or empty means the default):',
  ];
  for (const v of ENV_VARS) {
    lines.push(`  ${v.name}`, `      ${v.description}`, `      default: ${v.default}; read by: ${v.commands.join(', ')}`);
  }
  return lines.join('\n') + '\n';
}

function kubeConfig() {
  return loadKubeConfig(process.env);
}

export async function run(): Promise<void> {
  const settings = runSettings(process.env);
  const kc = kubeConfig();
  const { Controller, createLogger } = await controllerModules();
  const log = createLogger(settings.logLevel);
  log.info({ version: PACKAGE_VERSION, cluster: kc.getCurrentCluster()?.server }, 'starting');
  const controller = new Controller({
    kubeConfig: kc,
    log,
    namespace: settings.namespace,
    identity: settings.identity,
    podStartGraceSeconds: settings.podStartGraceSeconds,
    healthPort: settings.healthPort,
    metricsPort: settings.metricsPort,
    leaderElection: settings.leaderElection,
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
export async function crontaskFire(namespace: string, name: string, now = Date.now(), logger?: Logger): Promise<string[]> {
  const { Rest, WriteExecutor, createLogger, decideCronTask, isConflict, paths, toCronTaskView, toTaskView } = await controllerModules();
  const log = logger ?? createLogger(logLevel(process.env));
  const rest = new Rest(kubeConfig(), { fieldManager: 'kubeopencode-crontask' });
  try {
    // decide from what the server says now; a conflict (the controller wrote a child meanwhile) decides again
    for (let attempt = 1; ; attempt++) {
      const ct = await rest.get(paths.cr('crontasks', namespace, name));
      const children = (await rest.get(`${paths.cr('tasks', namespace)}?labelSelector=${encodeURIComponent(SELECTORS.cronTaskChildren(name))}`)).items;
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

/** Runs the bin: returns the exit code, or -1 while the controller keeps running. */
export async function main(argv: string[]): Promise<number> {
  try {
    return await dispatch(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`${BIN}: ${e.message}`);
      return e.exitCode;
    }
    throw e;
  }
}

async function dispatch(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { help: { type: 'boolean', short: 'h' }, version: { type: 'boolean', short: 'v' } },
    });
  } catch (e) {
    throw new UsageError(`${(e as Error).message.split('\n')[0]} (see ${BIN} --help)`);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(helpText());
    return 0;
  }
  if (values.version) {
    console.log(PACKAGE_VERSION);
    return 0;
  }
  if (positionals.length > 1) throw new UsageError(`one command at a time, got '${positionals.join(' ')}' (see ${BIN} --help)`);
  const [command] = positionals;
  switch (command) {
    case 'run':
    case undefined:
      await run();
      return -1; // keeps running
    case 'crontask-fire': {
      const ns = process.env[CONTROLLER_ENV.cronTaskNamespace];
      const name = process.env[CONTROLLER_ENV.cronTaskName];
      if (!ns || !name) throw new UsageError('crontask-fire: CRONTASK_NAMESPACE and CRONTASK_NAME must be set');
      logLevel(process.env);
      await crontaskFire(ns, name);
      return 0;
    }
    case 'version':
      console.log(PACKAGE_VERSION);
      return 0;
    case 'help':
      process.stdout.write(helpText());
      return 0;
    default:
      throw new UsageError(`unknown command '${command}' (commands: ${COMMANDS.map(([c]) => c).join(', ')}; see ${BIN} --help)`);
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      if (code >= 0) process.exit(code);
    },
    (err) => {
      console.error(`${BIN}: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    },
  );
}

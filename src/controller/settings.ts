/**
 * Everything the controller bin reads from its environment, in one table: `--help` prints it, and every value is
 * checked before anything starts, so a bad value is one clear line instead of a NaN deep inside.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { KubeConfig } from '@kubernetes/client-node';
import type { LeanKubeConfig } from './kube/kubeconfig';
import { CONTROLLER, CONTROLLER_DEFAULTS, CONTROLLER_ENV as E } from '../api';
import { goDurationSeconds, isGoDuration } from '../common/go-duration';

/** A bad invocation or environment: the bin prints the message as one line and exits non-zero. */
export class UsageError extends Error {
  constructor(message: string, readonly exitCode = 2) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface EnvVarSpec {
  readonly name: string;
  /** Shown in --help. */
  readonly default: string;
  readonly description: string;
  /** The commands that read it. */
  readonly commands: ReadonlyArray<'run' | 'crontask-fire'>;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export const ENV_VARS: readonly EnvVarSpec[] = [
  { name: 'KUBECONFIG', default: '~/.kube/config, else the in-cluster ServiceAccount', description: 'kubeconfig file(s), separated by ":"; each must exist', commands: ['run', 'crontask-fire'] },
  { name: 'KUBERNETES_SERVICE_HOST', default: 'set by Kubernetes in every pod', description: 'with the ServiceAccount token, the in-cluster configuration (when there is no kubeconfig)', commands: ['run', 'crontask-fire'] },
  { name: E.logLevel, default: CONTROLLER_DEFAULTS.logLevel, description: `JSON log level: ${LOG_LEVELS.join(', ')}`, commands: ['run', 'crontask-fire'] },
  { name: E.podNamespace, default: CONTROLLER.namespace, description: 'namespace of the leader-election Lease', commands: ['run'] },
  { name: E.podName, default: 'hostname and a random suffix', description: "this replica's identity in the Lease", commands: ['run'] },
  { name: E.leaderElection, default: 'true', description: 'true or false; false: act without holding the Lease (one replica only)', commands: ['run'] },
  { name: E.podStartGraceSeconds, default: String(CONTROLLER_DEFAULTS.podStartGraceSeconds), description: 'how long a task pod may fail to start (image pull, config, scheduling) before its Task fails: seconds, or a Go duration (5m)', commands: ['run'] },
  { name: E.healthPort, default: String(CONTROLLER_DEFAULTS.healthPort), description: 'port of /healthz, /readyz and /metrics (0: any free port, logged at start)', commands: ['run'] },
  { name: E.metricsPort, default: 'none (metrics on HEALTH_PORT only)', description: 'a second port serving /metrics (0: any free port)', commands: ['run'] },
  { name: E.cronTaskNamespace, default: 'required', description: 'namespace of the CronTask to fire', commands: ['crontask-fire'] },
  { name: E.cronTaskName, default: 'required', description: 'name of the CronTask to fire', commands: ['crontask-fire'] },
];

export interface RunSettings {
  readonly logLevel: string;
  readonly namespace?: string;
  readonly identity?: string;
  readonly leaderElection: boolean;
  readonly podStartGraceSeconds: number;
  readonly healthPort: number;
  readonly metricsPort?: number;
}

type Env = Record<string, string | undefined>;

/** Unset and empty are the same: a Deployment env entry with an empty value means "not set". */
function get(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

function port(env: Env, name: string, dflt: number | undefined): number | undefined {
  const v = get(env, name);
  if (v === undefined) return dflt;
  if (!/^[0-9]+$/.test(v) || Number(v) > 65535) throw new UsageError(`${name}='${v}' is not a port (an integer from 0, any free port, to 65535)`);
  return Number(v);
}

export function logLevel(env: Env): string {
  const v = get(env, E.logLevel) ?? CONTROLLER_DEFAULTS.logLevel;
  if (!LOG_LEVELS.includes(v)) throw new UsageError(`${E.logLevel}='${v}' is not a log level (${LOG_LEVELS.join(', ')})`);
  return v;
}

/** Reads and checks the `run` command's settings; throws a UsageError naming the variable, the value and what is allowed. */
export function runSettings(env: Env): RunSettings {
  const grace = get(env, E.podStartGraceSeconds);
  let podStartGraceSeconds: number = CONTROLLER_DEFAULTS.podStartGraceSeconds;
  if (grace !== undefined) {
    if (/^[0-9]+$/.test(grace)) podStartGraceSeconds = Number(grace);
    else if (isGoDuration(grace)) podStartGraceSeconds = goDurationSeconds(grace);
    else throw new UsageError(`${E.podStartGraceSeconds}='${grace}' is neither whole seconds (${CONTROLLER_DEFAULTS.podStartGraceSeconds}) nor a Go duration (5m, 1m30s)`);
  }
  const le = get(env, E.leaderElection) ?? 'true';
  if (le !== 'true' && le !== 'false') throw new UsageError(`${E.leaderElection}='${le}' must be true or false`);
  return {
    logLevel: logLevel(env),
    namespace: get(env, E.podNamespace),
    identity: get(env, E.podName),
    leaderElection: le === 'true',
    podStartGraceSeconds,
    healthPort: port(env, E.healthPort, CONTROLLER_DEFAULTS.healthPort)!,
    metricsPort: port(env, E.metricsPort, undefined),
  };
}

const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/**
 * The cluster to talk to, in client-go's order: KUBECONFIG (every file must exist), ~/.kube/config, the in-cluster
 * ServiceAccount. Without any of them this fails at once: client-node would otherwise fall back to
 * http://localhost:8080 and retry forever.
 */
export function loadKubeConfig(env: Env = process.env, home = os.homedir(), serviceAccountDir = SA_DIR): LeanKubeConfig | KubeConfig {
  // loaded here, not at the top: --help and a bad setting need no Kubernetes client
  const lean = () => (require('./kube/kubeconfig') as typeof import('./kube/kubeconfig')).LeanKubeConfig;
  let kc: LeanKubeConfig | KubeConfig | undefined;
  const files = (get(env, 'KUBECONFIG') ?? '').split(path.delimiter).filter((f) => f !== '');
  const fromFiles = (list: string[], origin: string) => {
    for (const f of list) {
      if (!fs.existsSync(f)) throw new UsageError(`${origin} names '${f}', which does not exist`, 1);
    }
    try {
      if (list.length === 1) {
        kc = lean().fromFile(list[0]);
      } else {
        // merging several files is client-node's KubeConfig's job (loaded only then: it costs about 60 MB of RSS)
        const merged: KubeConfig = new (require('@kubernetes/client-node') as typeof import('@kubernetes/client-node')).KubeConfig();
        merged.loadFromDefault({}, false);
        kc = merged;
      }
    } catch (e) {
      throw new UsageError(`${origin} '${list.join(path.delimiter)}' is not a readable kubeconfig: ${(e as Error).message.split('\n')[0]}`, 1);
    }
    if (!kc!.getCurrentCluster()) {
      throw new UsageError(`${origin} '${list.join(path.delimiter)}' has no cluster for its current-context '${kc!.getCurrentContext()}'`, 1);
    }
  };
  if (files.length) {
    fromFiles(files, 'KUBECONFIG');
  } else if (fs.existsSync(path.join(home, '.kube', 'config'))) {
    fromFiles([path.join(home, '.kube', 'config')], 'kubeconfig');
  } else if (get(env, 'KUBERNETES_SERVICE_HOST') && fs.existsSync(path.join(serviceAccountDir, 'token'))) {
    kc = lean().fromServiceAccount(serviceAccountDir, env as NodeJS.ProcessEnv);
  } else {
    throw new UsageError('no cluster to talk to: KUBECONFIG is not set, ~/.kube/config does not exist, and this is not a pod ' +
      '(no KUBERNETES_SERVICE_HOST and ServiceAccount token); set KUBECONFIG or run it in the cluster', 1);
  }
  return kc!;
}

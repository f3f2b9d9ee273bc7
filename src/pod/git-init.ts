import { k8s } from 'cdk8s-plus-28';
import { PATHS } from '../api';
import { GitInitOptions, GitSyncOptions, gitInitEnv, gitSyncEnv } from './scripts';
import { SystemBase, containerName, scriptContainer } from './system';

/** A Git secretRef as a mounted directory the scripts' credential helper reads (never env, argv or URL). */
export interface GitCredentialMount {
  readonly volumes: k8s.Volume[];
  readonly mounts: k8s.VolumeMount[];
  readonly dir?: string;
}

export function gitCredentials(secretName: string | undefined, volume: string, name: string): GitCredentialMount {
  if (!secretName) return { volumes: [], mounts: [] };
  const dir = `${PATHS.gitCredentialsDir}/${name}`;
  return {
    // 0444: the script containers run as uid 65532 and the kubelet makes a Secret's files root's; only the git
    // containers mount this volume, so "others" are their own processes
    volumes: [{ name: volume, secret: { secretName, defaultMode: 0o444 } }],
    mounts: [{ name: volume, mountPath: dir, readOnly: true }],
    dir,
  };
}

/**
 * A git script's container beyond the script's own options: its index (the short container name when the long one
 * is too long), the context or skill name (in the container name and every log line), its volumes and the credentials.
 */
export interface GitContainerPlacement {
  readonly index: number;
  readonly contextName: string;
  readonly credentials: GitCredentialMount;
  readonly mounts: k8s.VolumeMount[];
}

/** git-init: one per Git context (and per skill source); checks out into dest, skipping when already there. */
export function gitInitContainer(
  base: SystemBase,
  o: Omit<GitInitOptions, 'credentialsDir'> & GitContainerPlacement & { readonly prefix?: string },
): k8s.Container {
  return scriptContainer(
    base,
    containerName(o.prefix ?? 'git-init', o.contextName, o.index),
    base.images.git,
    { file: 'git-init.sh' },
    gitInitEnv(gitScriptOptions(o)),
    [...o.mounts, ...o.credentials.mounts],
  );
}

/** HotReload: a one-time sync as init container (the link exists before opencode starts) and the looping sidecar. */
export function gitSyncContainers(
  base: SystemBase,
  o: Omit<GitSyncOptions, 'credentialsDir' | 'oneTime'> & GitContainerPlacement,
): { init: k8s.Container; sidecar: k8s.Container } {
  const make = (prefix: string, oneTime: boolean) =>
    scriptContainer(
      base,
      containerName(prefix, o.contextName, o.index),
      base.images.git,
      { file: 'git-sync.sh' },
      gitSyncEnv({
        ...gitScriptOptions(o),
        intervalSeconds: oneTime ? undefined : o.intervalSeconds,
        oneTime: oneTime ? true : undefined,
      }),
      [...o.mounts, ...o.credentials.mounts],
    );
  return { init: make('git-init', true), sidecar: make('git-sync', false) };
}

/** The script's options: the placement's credentials as the directory the credential helper reads. */
function gitScriptOptions<T extends GitContainerPlacement>(o: T): T & { credentialsDir?: string } {
  return { ...o, credentialsDir: o.credentials.dir };
}

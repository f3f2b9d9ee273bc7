import { k8s } from 'cdk8s-plus-28';
import { PATHS } from '../api';
import { gitInitEnv, gitSyncEnv } from './scripts';
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

export interface GitCheckout {
  readonly index: number;
  readonly name: string;
  readonly repository: string;
  readonly ref: string;
  readonly depth: number;
  readonly recurseSubmodules: boolean;
  readonly credentials: GitCredentialMount;
  readonly mounts: k8s.VolumeMount[];
}

/** git-init: one per Git context (and per skill source); checks out into dest, skipping when already there. */
export function gitInitContainer(
  base: SystemBase,
  o: GitCheckout & { dest: string; refresh?: boolean; prefix?: string },
): k8s.Container {
  return scriptContainer(
    base,
    containerName(o.prefix ?? 'git-init', o.name, o.index),
    base.images.git,
    { file: 'git-init.sh' },
    [
      ...gitInitEnv({
        contextName: o.name,
        repository: o.repository,
        ref: o.ref,
        depth: o.depth,
        recurseSubmodules: o.recurseSubmodules,
        credentialsDir: o.credentials.dir,
        dest: o.dest,
      }),
      // Rollout contexts: a restart exists to pick up the new commit, so an existing checkout is updated
      ['GIT_UPDATE_EXISTING', o.refresh ? 'true' : undefined],
    ],
    [...o.mounts, ...o.credentials.mounts],
  );
}

/** HotReload: a one-time sync as init container (the link exists before opencode starts) and the looping sidecar. */
export function gitSyncContainers(
  base: SystemBase,
  o: GitCheckout & { root: string; link: string; intervalSeconds: number },
): { init: k8s.Container; sidecar: k8s.Container } {
  const make = (prefix: string, oneTime: boolean) =>
    scriptContainer(
      base,
      containerName(prefix, o.name, o.index),
      base.images.git,
      { file: 'git-sync.sh' },
      gitSyncEnv({
        contextName: o.name,
        repository: o.repository,
        ref: o.ref,
        depth: o.depth,
        recurseSubmodules: o.recurseSubmodules,
        credentialsDir: o.credentials.dir,
        root: o.root,
        link: o.link,
        intervalSeconds: oneTime ? undefined : o.intervalSeconds,
        oneTime: oneTime ? true : undefined,
      }),
      [...o.mounts, ...o.credentials.mounts],
    );
  return { init: make('git-init', true), sidecar: make('git-sync', false) };
}

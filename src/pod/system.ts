import { k8s } from 'cdk8s-plus-28';
import { IMAGES, PATHS } from '../api';
import { kubeletLiteral } from '../common/kubelet';

/** Images of the init containers and sidecars. Pinned by default; override for mirrors or air-gapped registries. */
export interface SystemImages {
  /**
   * Image with POSIX sh and git, for git-init, git-sync and context-init.
   * @default docker.io/alpine/git:v2.47.2
   */
  readonly git?: string;
  /**
   * Image with POSIX sh and curl, for url-fetch.
   * @default docker.io/curlimages/curl:8.11.1
   */
  readonly curl?: string;
}

export function resolveSystemImages(images: SystemImages | undefined): Required<SystemImages> {
  return { git: images?.git ?? IMAGES.git, curl: images?.curl ?? IMAGES.curl };
}

export const TMP_VOLUME = 'tmp';
export const WORKSPACE_VOLUME = 'workspace';
export const TOOLS_VOLUME = 'tools';
export const GENERATED_VOLUME = 'generated';
export const CONTEXT_SOURCES_VOLUME = 'context-sources';
export const SKILLS_VOLUME = 'skills';
export const SESSIONS_VOLUME = 'sessions';
export const SCRIPTS_VOLUME = 'scripts';

/** What every init container and sidecar shares: proxy and CA env, the CA and /tmp mounts, the security context. */
export interface SystemBase {
  readonly images: Required<SystemImages>;
  readonly env: k8s.EnvVar[];
  readonly mounts: k8s.VolumeMount[];
  readonly securityContext: k8s.SecurityContext;
  readonly workspaceDir: string;
  /** The script files the pod's containers run (from the scripts ConfigMap, mounted at /kubeopencode/scripts). */
  readonly scripts: Set<string>;
}

/** A script a container runs: its file name under /kubeopencode/scripts (a key of the scripts ConfigMap). */
export interface ScriptFile {
  readonly file: string;
}

/** The scripts volume: the files of the scripts ConfigMap (see scripts-configmap.ts) the pod's containers run. */
export function scriptsVolume(base: SystemBase, configMap: string): k8s.Volume | undefined {
  const files = [...base.scripts].sort();
  if (files.length === 0) return undefined;
  return { name: SCRIPTS_VOLUME, configMap: { name: configMap, items: files.map((f) => ({ key: f, path: f })) } };
}

export const tmpMount: k8s.VolumeMount = { name: TMP_VOLUME, mountPath: PATHS.tmp };

/**
 * A container that runs one of our POSIX shell scripts, `sh /kubeopencode/scripts/<file>`, with the shared wiring. The
 * text is in the scripts ConfigMap once (scripts-configmap.ts), so ten Git contexts do not carry it ten times.
 */
export function scriptContainer(
  base: SystemBase,
  name: string,
  image: string,
  script: ScriptFile,
  env: Array<[string, string | undefined]>,
  mounts: k8s.VolumeMount[],
): k8s.Container {
  base.scripts.add(script.file);
  return {
    name,
    image,
    command: ['sh', `${PATHS.scriptsDir}/${script.file}`],
    env: [
      ...env.filter((e): e is [string, string] => e[1] !== undefined).map(([n, value]) => ({ name: n, value: kubeletLiteral(value) })),
      ...base.env,
    ],
    volumeMounts: [...mounts, ...base.mounts, { name: SCRIPTS_VOLUME, mountPath: PATHS.scriptsDir, readOnly: true }],
    securityContext: base.securityContext,
  };
}

/** Container names are DNS labels of at most 63 characters. */
export function containerName(prefix: string, name: string, index: number): string {
  const n = `${prefix}-${name}`;
  return n.length <= 63 ? n : `${prefix}-${index}`;
}


import { k8s } from 'cdk8s-plus-28';
import { ENV, Environment, IMAGES, PATHS } from '../api';
import { kubeletLiteral } from '../common/kubelet';
import { CaWiring, caBundleWiring } from './ca-bundle';
import { ContextPlan, planContexts, resolveMountPath } from './contexts';
import { credentialWiring } from './credentials';
import { renderOpencodeConfig } from './opencode-config';
import { proxyEnv } from './proxy';
import { mainResources, withSystemResources } from './resources';
import { containerSecurityContext, podSecurityContext, systemSecurityContext } from './security';
import { planSkills } from './skills';
import {
  GENERATED_VOLUME,
  SystemBase,
  SystemImages,
  TMP_VOLUME,
  TOOLS_VOLUME,
  WORKSPACE_VOLUME,
  resolveSystemImages,
  scriptsVolume,
  tmpMount,
} from './system';

const optional = <T>(x: T | undefined): T[] => (x === undefined ? [] : [x]);

export interface AgentPodInput {
  /** The merged execution environment (template + agent + cluster proxy). */
  readonly environment: Environment;
  /** Parsed `config`. */
  readonly opencodeConfig?: Record<string, unknown>;
  readonly systemImages?: SystemImages;
  /** Name of the ConfigMap the caller creates from `generated`. */
  readonly generatedConfigMap: string;
  /** Name of the scripts ConfigMap (scriptsConfigMap()). */
  readonly scriptsConfigMap: string;
  /** Renders the Runtime context's text. */
  readonly runtimeText: () => string;
  /** The workspace volume: an emptyDir unless the caller passes a PVC. */
  readonly workspaceVolume?: k8s.Volume;
}

/** The opencode container, minus what the mode decides (command, ports, probes). */
export interface MainContainerSpec {
  readonly name: string;
  readonly command: string[];
  readonly env?: k8s.EnvVar[];
  readonly mounts?: k8s.VolumeMount[];
  readonly ports?: k8s.ContainerPort[];
  readonly startupProbe?: k8s.Probe;
  readonly readinessProbe?: k8s.Probe;
  readonly livenessProbe?: k8s.Probe;
}

export interface AgentPod {
  readonly spec: k8s.PodSpec;
  /** Files for the generated ConfigMap: opencode.json and the Text/Runtime contexts. */
  readonly generated: Record<string, string>;
  /** The opencode binary to run: /tools/opencode, copied there by opencode-init. */
  readonly opencode: string;
}

/**
 * Builds the pod of an Agent's server or of a template Task: everything that must exist before opencode starts
 * (contexts, skills, CA bundle, proxy, credentials, restricted security, pull secrets) plus the main container.
 */
export function buildAgentPod(input: AgentPodInput, main: (opencode: string) => MainContainerSpec): AgentPod {
  const e = input.environment;
  const ca = caBundleWiring(e.caBundle);
  const base = systemBase(e, ca, input.systemImages);
  const contexts = planContexts({
    contexts: e.contexts ?? [],
    base,
    runtimeText: input.runtimeText,
    generatedVolume: GENERATED_VOLUME,
  });
  const skills = planSkills(e.skills ?? [], base);
  const credentials = credentialWiring(e.credentials);
  const opencodeJson = renderOpencodeConfig(input.opencodeConfig, skills.paths);
  const generated: Record<string, string> = { ...contexts.generated };
  if (opencodeJson) generated['opencode.json'] = opencodeJson;
  const parts: PodParts = { e, base, ca, contexts, skills, credentials, opencodeJson };

  // opencode-init: the agent image's own ENTRYPOINT copies its /opencode to ${TOOLS_DIR}/${OPENCODE_BIN}, so any image
  // that follows the upstream contract works; the executor image then needs no opencode of its own
  const opencode = PATHS.opencodeBinary;
  const initContainers: k8s.Container[] = [opencodeInitContainer(e, base), ...contexts.initContainers, ...skills.initContainers];
  const mainContainer = createMainContainer(parts, main(opencode));
  const volumes: k8s.Volume[] = [
    { name: TOOLS_VOLUME, emptyDir: {} },
    input.workspaceVolume ?? { name: WORKSPACE_VOLUME, emptyDir: {} },
    { name: TMP_VOLUME, emptyDir: {} },
    ...(Object.keys(generated).length > 0 ? [{ name: GENERATED_VOLUME, configMap: { name: input.generatedConfigMap } }] : []),
    ...(ca ? [ca.volume] : []),
    ...optional(scriptsVolume(base, input.scriptsConfigMap)),
    ...contexts.volumes,
    ...skills.volumes,
    ...credentials.volumes,
  ];

  return {
    opencode,
    generated,
    spec: {
      ...podLevelSettings(e),
      initContainers: initContainers.length ? withSystemResources(initContainers, e.podSpec) : undefined,
      containers: [mainContainer, ...withSystemResources(contexts.sidecars, e.podSpec)],
      volumes,
    },
  };
}

/** What buildAgentPod has planned before it assembles the main container. */
interface PodParts {
  readonly e: Environment;
  readonly base: SystemBase;
  readonly ca: CaWiring | undefined;
  readonly contexts: ContextPlan;
  readonly skills: ReturnType<typeof planSkills>;
  readonly credentials: ReturnType<typeof credentialWiring>;
  readonly opencodeJson: string | undefined;
}

/** What every system container (init scripts, git-sync) shares: images, proxy and CA env, /tmp, security. */
function systemBase(e: Environment, ca: CaWiring | undefined, images: SystemImages | undefined): SystemBase {
  return {
    images: resolveSystemImages(images),
    // HOME: the script containers run as a uid their image does not know (HOME would be /)
    env: [{ name: 'HOME', value: PATHS.tmp }, ...proxyEnv(e.proxy), ...(ca ? [ca.env] : [])],
    mounts: [tmpMount, ...(ca ? [ca.mount] : [])],
    securityContext: systemSecurityContext(e.podSpec),
    workspaceDir: e.workspaceDir!,
    scripts: new Set(),
  };
}

/** The opencode container: the mode's command, ports and probes, with the environment's env and mounts. */
function createMainContainer(parts: PodParts, m: MainContainerSpec): k8s.Container {
  const { e, base, contexts, skills, credentials, opencodeJson } = parts;
  const ws = e.workspaceDir!;
  return {
    name: m.name,
    image: e.executorImage ?? IMAGES.executor,
    command: m.command,
    workingDir: ws,
    env: [...mainEnv(parts), ...(m.env ?? []), ...base.env.filter((v) => v.name !== 'HOME'), ...credentials.env],
    ports: m.ports,
    startupProbe: m.startupProbe,
    readinessProbe: m.readinessProbe,
    livenessProbe: m.livenessProbe,
    resources: mainResources(e.podSpec),
    volumeMounts: [
      { name: WORKSPACE_VOLUME, mountPath: ws },
      // writable: /tools/opencode.json is mounted into it, and a mount point below a read-only mount cannot be created
      { name: TOOLS_VOLUME, mountPath: PATHS.toolsDir },
      ...(opencodeJson ? [{ name: GENERATED_VOLUME, mountPath: PATHS.opencodeConfig, subPath: 'opencode.json', readOnly: true }] : []),
      ...base.mounts,
      ...contexts.mainMounts,
      ...skills.mainMounts,
      ...credentials.mounts,
      ...(m.mounts ?? []),
    ],
    securityContext: containerSecurityContext(e.podSpec),
  };
}

/** The main container's own env: HOME, WORKSPACE_DIR, where opencode finds its config and instructions, git safety. */
function mainEnv({ e, ca, contexts, opencodeJson }: PodParts): k8s.EnvVar[] {
  const ws = e.workspaceDir!;
  const env: k8s.EnvVar[] = [
    { name: 'HOME', value: PATHS.tmp },
    { name: ENV.workspaceDir, value: ws },
  ];
  if (opencodeJson) env.push({ name: ENV.opencodeConfig, value: PATHS.opencodeConfig });
  // OpenCode loads AGENTS.md only from its working directory up to the Git worktree root; the server runs in
  // workspaceDir, so a repository checked out below it (mountPath: code) would go unread. Listing each Git context's
  // AGENTS.md as an instruction loads it wherever the repository sits (a missing file is ignored).
  const repoInstructions = (e.contexts ?? [])
    .filter((c) => c.type === 'Git' && c.mountPath !== undefined && resolveMountPath(ws, c.mountPath) !== resolveMountPath(ws, '.'))
    .map((c) => `${resolveMountPath(ws, c.mountPath!)}/AGENTS.md`);
  const instructions = [...(contexts.aggregated ? [`${ws}/${PATHS.contextFile}`] : []), ...repoInstructions];
  if (instructions.length > 0) {
    // absolute paths, so they resolve whatever directory a session runs in
    env.push({ name: ENV.opencodeConfigContent, value: kubeletLiteral(JSON.stringify({ instructions })) });
  }
  if (ca) env.push({ name: 'NODE_EXTRA_CA_CERTS', value: PATHS.customCaCert });
  env.push(...safeDirectoryEnv(contexts.agentCheckouts));
  return env;
}

/**
 * git refuses a repository owned by another uid ("dubious ownership"); git-init writes the checkouts as its own uid, so
 * the agent's git is told these exact directories are safe (command-line config through GIT_CONFIG_*, which git
 * honours for safe.directory; no wildcard).
 */
function safeDirectoryEnv(dirs: string[]): k8s.EnvVar[] {
  if (dirs.length === 0) return [];
  return [
    { name: 'GIT_CONFIG_COUNT', value: String(dirs.length) },
    ...dirs.flatMap((d, i) => [{ name: `GIT_CONFIG_KEY_${i}`, value: 'safe.directory' }, { name: `GIT_CONFIG_VALUE_${i}`, value: kubeletLiteral(d) }]),
  ];
}

/**
 * The init container that puts the opencode binary at /tools/opencode. It runs the agent image's ENTRYPOINT (no
 * command: upstream's image has the binary at /opencode only, not on PATH). The image runs as root by default, so it
 * runs with the system containers' security context (a non-root uid unless the user names one); the proxy and CA env
 * reach it like every container.
 */
function opencodeInitContainer(e: Environment, base: SystemBase): k8s.Container {
  return {
    name: 'opencode-init',
    image: e.agentImage ?? IMAGES.agent,
    // TOOLS_DIR as upstream sets it (OPENCODE_BIN keeps the image's default, opencode); it only copies, so no HOME
    env: [{ name: 'TOOLS_DIR', value: PATHS.toolsDir }, ...base.env.filter((v) => v.name !== 'HOME')],
    volumeMounts: [{ name: TOOLS_VOLUME, mountPath: PATHS.toolsDir }, ...base.mounts],
    securityContext: base.securityContext,
  };
}

/** What every pod generated for an environment shares at pod level: identity, pull secrets, placement, security. */
export function podLevelSettings(e: Environment): Pick<k8s.PodSpec,
'serviceAccountName' | 'automountServiceAccountToken' | 'imagePullSecrets' | 'runtimeClassName' | 'nodeSelector' | 'tolerations' | 'affinity' |
'securityContext'> {
  const scheduling = e.podSpec?.scheduling;
  return {
    serviceAccountName: e.serviceAccountName,
    // the agent runs model-chosen commands: no API token unless the Agent asks for one
    automountServiceAccountToken: e.podSpec?.automountServiceAccountToken ?? false,
    imagePullSecrets: e.imagePullSecrets?.length ? e.imagePullSecrets.map((s) => ({ name: s.name })) : undefined,
    runtimeClassName: e.podSpec?.runtimeClassName,
    nodeSelector: scheduling?.nodeSelector as Record<string, string> | undefined,
    tolerations: scheduling?.tolerations as k8s.Toleration[] | undefined,
    affinity: scheduling?.affinity as k8s.Affinity | undefined,
    securityContext: podSecurityContext(e.podSpec),
  };
}
